"""anyio (loop_factory=aioeventlet.new_event_loop) in a monkey-patched process:
task groups (results and error propagation), ``to_thread`` and cancel scopes
(``move_on_after``, ``fail_after``, shielding).

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
    failure = await task_group_failure()
    try:
        with anyio.fail_after(0.05):
            await anyio.sleep(10)
    except TimeoutError as exc:
        fail_after = type(exc).__name__
    else:
        fail_after = "did not fail"
    shielded = await shielded_thread_outlives_deadline()
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
        "task_group_failure": failure,
        "fail_after": fail_after,
        "shielded": shielded,
        "green_worker_ran": rounds > 0,
    }


async def task_group_failure() -> dict[str, object]:
    """A failing task cancels its siblings (one awaiting a green-run thread,
    one sleeping); the group raises the error, in an ExceptionGroup."""
    events: list[str] = []

    async def sleeper() -> None:
        try:
            await anyio.sleep(30)
        except anyio.get_cancelled_exc_class():
            events.append("sleeper cancelled")
            raise

    async def thread_waiter() -> None:
        # to_thread is not cancellable by default: the group waits for it.
        events.append(f"thread gave {(await anyio.to_thread.run_sync(blocking, 5))[0]}")

    async def failing() -> None:
        await anyio.sleep(0.01)
        raise ValueError("boom")

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(sleeper)
            tg.start_soon(thread_waiter)
            tg.start_soon(failing)
    except BaseException as exc:  # an ExceptionGroup on every Python here
        return {
            "raised": type(exc).__name__,
            "errors": [repr(e) for e in getattr(exc, "exceptions", [exc])],
            "events": sorted(events),
        }
    return {"raised": None, "events": sorted(events)}


async def shielded_thread_outlives_deadline() -> dict[str, object]:
    """Work under a shield finishes (with its result) though the deadline of
    the scope around it passes meanwhile; the scope then cancels what follows."""
    after_shield: list[str] = []
    with anyio.move_on_after(0.01) as outer:
        with anyio.CancelScope(shield=True):
            value, _ = await anyio.to_thread.run_sync(blocking, 7)  # ~50 ms
        after_shield.append("shield done")
        await anyio.sleep(30)
        after_shield.append("not reached")
    return {
        "value": value,
        "after_shield": after_shield,
        "outer_cancelled": outer.cancelled_caught,
    }


report(
    anyio.run(
        main,
        backend="asyncio",
        backend_options={"loop_factory": aioeventlet.new_event_loop},
    )
)
