"""The default executor runs on real OS threads in every patching mode."""

from __future__ import annotations

import asyncio
import queue
import threading
import time

import _mode

import aioeventlet

_mode.after_imports()

import eventlet  # noqa: E402
import eventlet.patcher  # noqa: E402

real_threading = eventlet.patcher.original("threading")
real_sleep = eventlet.patcher.original("time").sleep
WORKERS = 4


async def main() -> None:
    loop = asyncio.get_running_loop()
    loop_thread = real_threading.get_native_id()

    # 1. Parallel: every worker must be inside the barrier at once; run one
    # after the other, the first would time out there.
    barrier = real_threading.Barrier(WORKERS, timeout=20)

    def meet() -> int:
        barrier.wait()
        real_sleep(0.05)  # a real blocking call
        native_id: int = real_threading.get_native_id()
        return native_id

    threads = await asyncio.gather(*(asyncio.to_thread(meet) for _ in range(WORKERS)))
    print(f"parallel={len(set(threads))}")
    print(f"off_loop_thread={loop_thread not in threads}")

    # 2. While workers block for real, the loop and other greenthreads run:
    # the workers are only released once both were seen making progress.
    release = real_threading.Event()
    started = real_threading.Semaphore(0)
    green_ticks: list[int] = []

    def blocked() -> bool:
        started.release()
        released: bool = release.wait(20)
        return released

    def green_ticker() -> None:
        while not release.is_set():
            green_ticks.append(1)
            eventlet.sleep(0.01)

    futures = [asyncio.to_thread(blocked) for _ in range(WORKERS)]
    gathered = asyncio.gather(*futures)
    gt = eventlet.spawn(green_ticker)
    loop_ticks = 0
    while len(green_ticks) < 5 or loop_ticks < 5:
        await asyncio.sleep(0.01)
        loop_ticks += 1
    for _ in range(WORKERS):  # all workers are blocked right now
        assert started.acquire(timeout=20)
    release.set()
    print(f"released_in_time={all(await gathered)}")
    gt.wait()

    # 3. The patched time.sleep (eventlet.sleep when patched) in a worker:
    # it runs on the worker thread's own hub, and in parallel as well.
    barrier = real_threading.Barrier(WORKERS, timeout=20)

    def green_meet() -> str:
        barrier.wait()
        time.sleep(0.05)
        return "slept"

    slept = await asyncio.gather(
        *(asyncio.to_thread(green_meet) for _ in range(3)),
        asyncio.to_thread(barrier.wait),
    )
    print(f"patched_sleep={slept[:3] == ['slept'] * 3}")

    # 4. A result wakes the loop at once: nothing else is scheduled but a
    # far-away timer, which must not be what gets the loop going.
    log: list[str] = []
    far = loop.call_later(30, log.append, "timer")
    log.append(await asyncio.to_thread(lambda: (real_sleep(0.05), "result")[1]))
    far.cancel()
    print(f"woke={log}")

    await sync_code_calling_back_into_the_loop()

    await shutdown_joins_the_workers()


async def sync_code_calling_back_into_the_loop() -> None:
    loop = asyncio.get_running_loop()

    # 5. Sync code in a worker calls back into the loop and waits for the
    # answer, with whatever threading primitives the program has (green
    # ones when patched): run_coroutine_threadsafe().result(), and a
    # threading.Event / queue.Queue the loop side sets or fills; an
    # exception raised after such a wait reaches the awaiting coroutine.
    async def double(x: int) -> int:
        await asyncio.sleep(0.01)
        return 2 * x

    def call_back_into_the_loop(x: int) -> int:
        answer: int = asyncio.run_coroutine_threadsafe(double(x), loop).result(20)
        return answer

    answers = await asyncio.gather(
        *(asyncio.to_thread(call_back_into_the_loop, i) for i in range(WORKERS))
    )
    print(f"threadsafe_result={answers}")
    event = threading.Event()
    box: queue.Queue[str] = queue.Queue()

    def wait_for_the_loop() -> str:
        assert event.wait(20)
        return box.get(timeout=20)

    waiting = asyncio.ensure_future(asyncio.to_thread(wait_for_the_loop))
    await asyncio.sleep(0.05)
    event.set()
    await asyncio.sleep(0.05)
    box.put("from the loop")
    print(f"event_and_queue={await waiting}")

    def fail_after_waiting() -> None:
        box.get(timeout=20)
        raise LookupError("raised in the worker")

    failing = asyncio.ensure_future(asyncio.to_thread(fail_after_waiting))
    await asyncio.sleep(0.05)
    box.put("go")
    try:
        await failing
    except LookupError as exc:
        print(f"worker_exception={exc}")


async def shutdown_joins_the_workers() -> None:
    loop = asyncio.get_running_loop()
    # 6. shutdown_default_executor joins the real worker threads.
    executor = loop._default_executor  # type: ignore[attr-defined]
    print(f"executor={type(executor).__name__}")
    await loop.shutdown_default_executor()
    print(f"joined={not any(t.is_alive() for t in executor._workers)}")
    try:
        await asyncio.to_thread(lambda: None)
    except RuntimeError as exc:
        print(f"after_shutdown={exc}")


aioeventlet.run(main())
print("done=1")
