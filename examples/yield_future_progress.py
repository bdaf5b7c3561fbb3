"""A greenthread waits for a coroutine with aioeventlet.yield_future().

The greenthread blocks in yield_future() for the one-second coroutine, but
only the greenthread: the event loop keeps running, as the progress()
callback shows every half second.  Expected output::

    computation in progress...
    computation in progress...
    computation in progress...
    1 + 2 = 3
"""

# aioeventlet before eventlet: it imports eventlet with eventlet's import-time
# deprecation warning silenced, so that the example runs under -W error too.
import asyncio  # noqa: I001

import aioeventlet
import eventlet


def progress(loop: asyncio.AbstractEventLoop, start: float, ticks: int = 0) -> None:
    print("computation in progress...", flush=True)
    # Absolute times, so that the ticks do not drift: the third one is due
    # exactly one second after the first, before the work started after it.
    loop.call_at(start + 0.5 * (ticks + 1), progress, loop, start, ticks + 1)


async def slow_sum(x: int, y: int) -> int:
    await asyncio.sleep(1.0)
    return x + y


def green_sum(loop: asyncio.AbstractEventLoop) -> None:
    progress(loop, loop.time())
    # Blocks this greenthread only, until the coroutine (run as a task of
    # the loop) returns.
    value = aioeventlet.yield_future(slow_sum(1, 2), loop=loop)
    print(f"1 + 2 = {value}", flush=True)
    loop.stop()


def main() -> None:
    loop = aioeventlet.new_event_loop()
    eventlet.spawn(green_sum, loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


if __name__ == "__main__":
    main()
