import asyncio
import sys

import aioeventlet


async def main() -> str:
    return type(asyncio.get_running_loop()).__name__


if sys.version_info >= (3, 12):
    # asyncio.run() takes a loop factory from Python 3.12 on.
    print(asyncio.run(main(), loop_factory=aioeventlet.new_event_loop))
if sys.version_info >= (3, 11):
    # asyncio.Runner runs several coroutines on one loop.
    with asyncio.Runner(loop_factory=aioeventlet.new_event_loop) as runner:
        print(runner.run(main()))
# Python 3.10: a loop by hand (aioeventlet.run() does this for you).
loop = aioeventlet.new_event_loop()
try:
    print(loop.run_until_complete(main()))
finally:
    loop.close()
