# For existing code that calls asyncio.run() or asyncio.new_event_loop()
# itself and cannot take a loop factory.  Python 3.10 to 3.13 only: asyncio
# deprecates event loop policies in 3.14 (use `python -m aioeventlet app.py`
# or a loop factory there).
import asyncio

import aioeventlet


async def main() -> str:
    return type(asyncio.get_running_loop()).__name__


asyncio.set_event_loop_policy(aioeventlet.EventLoopPolicy())
try:
    print(asyncio.run(main()))
finally:
    asyncio.set_event_loop_policy(None)
