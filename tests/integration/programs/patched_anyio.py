"""anyio (loop_factory=aioeventlet.new_event_loop) in a monkey-patched process.

anyio's worker threads are ``threading.Thread`` subclasses, which eventlet's
patch turns into greenthreads: under monkey-patching, ``anyio.to_thread``
runs its function in a greenthread of the loop's OS thread.  Code that blocks
through patched calls (sockets, ``time.sleep``) is fine there, and the loop
and other greenthreads keep running; code that blocks the OS thread for real
(an unpatched C call) would block them all.  This program shows both facts.

asyncio's own default executor (``asyncio.to_thread``, ``run_in_executor``)
is aioeventlet's, on real OS threads in every mode: the contrast is shown too.
"""

from _common import GreenWorker, monkey_patch, report

monkey_patch()

import asyncio  # noqa: E402
import time  # noqa: E402

import anyio  # noqa: E402
import eventlet.patcher  # noqa: E402

import aioeventlet  # noqa: E402

real_threading = eventlet.patcher.original("threading")
real_time = eventlet.patcher.original("time")


def blocking(n: int) -> tuple[int, int]:
    time.sleep(0.05)  # patched: a green sleep
    return n * 3, real_threading.get_ident()


def really_blocking(n: int) -> tuple[int, int]:
    real_time.sleep(0.05)  # blocks its OS thread for real
    return n + 1, real_threading.get_ident()


async def main() -> dict[str, object]:
    worker = GreenWorker()
    ticks: list[int] = []

    async def ticker() -> None:
        # An asyncio task that keeps ticking while the "threads" sleep.
        while True:
            ticks.append(len(ticks))
            await anyio.sleep(0.005)

    results: list[tuple[int, int]] = []

    async def one(n: int) -> None:
        results.append(await anyio.to_thread.run_sync(blocking, n))

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        async with anyio.create_task_group() as workers:
            for n in range(4):
                workers.start_soon(one, n)
        tg.cancel_scope.cancel()
    rounds_during_threads = worker.rounds

    before = worker.rounds
    in_executor = await asyncio.gather(
        *(asyncio.to_thread(really_blocking, n) for n in range(4))
    )
    rounds_during_executor = worker.rounds - before

    with anyio.move_on_after(0.05) as scope:
        await anyio.sleep(10)
    rounds = worker.stop()
    return {
        "loop": type(asyncio.get_running_loop()).__name__,
        "values": sorted(v for v, _ in results),
        "anyio_threads_are_greenthreads": all(
            t == real_threading.get_ident() for _, t in results
        ),
        "loop_ticked_during_threads": len(ticks) > 1,
        "greenthreads_ran_during_threads": rounds_during_threads > 0,
        "executor_values": sorted(v for v, _ in in_executor),
        "executor_on_real_os_threads": all(
            t != real_threading.get_ident() for _, t in in_executor
        ),
        "greenthreads_ran_during_executor": rounds_during_executor > 0,
        "move_on_after": scope.cancelled_caught,
        "green_worker_ran": rounds > 0,
    }


report(
    anyio.run(
        main,
        backend="asyncio",
        backend_options={"loop_factory": aioeventlet.new_event_loop},
    )
)
