"""Hello World on an aioeventlet loop (the 0.5 documentation's first example).

The loop is asyncio's API running on eventlet's hub: the callback is
scheduled with call_soon() and run by run_forever(), exactly as with asyncio.

    python examples/hello_world.py
"""

import asyncio

import aioeventlet


def hello_world(loop: asyncio.AbstractEventLoop) -> None:
    print("Hello World")
    loop.stop()


loop = aioeventlet.new_event_loop()
loop.call_soon(hello_world, loop)
loop.run_forever()
loop.close()
