"""A coroutine awaits a greenthread with aioeventlet.wrap_greenthread().

The greenthread sleeps for one second (green-blocking, like any eventlet
code doing I/O); the coroutine awaits it as an asyncio future, and the loop
keeps running meanwhile, as the progress() callback shows every half second.
Expected output::

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


def slow_sum(x: int, y: int) -> int:
    eventlet.sleep(1.0)
    return x + y


async def main() -> None:
    loop = asyncio.get_running_loop()
    progress(loop, loop.time())
    gt = eventlet.spawn(slow_sum, 1, 2)
    # Wrap it before it starts (it starts when the loop next waits).
    result = await aioeventlet.wrap_greenthread(gt)
    print(f"1 + 2 = {result}", flush=True)


if __name__ == "__main__":
    aioeventlet.run(main())
