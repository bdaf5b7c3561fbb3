"""OS threads: the default executor, loops in several threads (DESIGN.md
section 3, "Threads, patching, executors").

In-process tests run unpatched, on both loops through the fixture; the
isolated programs run each patching mode (plain, patched before import,
patched after import) in a fresh interpreter.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time

import pytest

from aioeventlet._executor import OSThreadPoolExecutor

from .isolated import MODES, results, run_isolated


@pytest.mark.parametrize("mode", MODES)
def test_default_executor_in_every_mode(mode: str) -> None:
    found = results(run_isolated("executor", mode))
    assert found == {
        "parallel": "4",
        "off_loop_thread": "True",
        "released_in_time": "True",
        "patched_sleep": "True",
        "woke": "['result']",
        "threadsafe_result": "[0, 2, 4, 6]",
        "event_and_queue": "from the loop",
        "worker_exception": "raised in the worker",
        "executor": "OSThreadPoolExecutor",
        "joined": "True",
        "after_shutdown": "Executor shutdown has been called",
        "done": "1",
    }


@pytest.mark.parametrize("mode", MODES)
def test_one_loop_per_os_thread_in_every_mode(mode: str) -> None:
    found = results(run_isolated("thread_loops", mode))
    assert found == {
        "loops": "3",
        "distinct_hubs": "3",
        "main_hub_unused": "True",
        "thread0": "green0,from2,0,0",
        "thread1": "green1,from0,1,0",
        "thread2": "green2,from1,2,0",
    }


def test_to_thread_runs_in_parallel(loop: asyncio.AbstractEventLoop) -> None:
    barrier = threading.Barrier(3, timeout=20)

    def meet() -> int:
        barrier.wait()  # all three must be here at once
        return threading.get_ident()

    async def main() -> list[int]:
        return await asyncio.gather(*(asyncio.to_thread(meet) for _ in range(3)))

    idents = loop.run_until_complete(main())
    assert len(set(idents)) == 3
    assert threading.get_ident() not in idents


def test_executor_result_wakes_loop_at_once(loop: asyncio.AbstractEventLoop) -> None:
    log: list[str] = []

    async def main() -> None:
        far = loop.call_later(30, log.append, "timer")

        def blocking() -> str:
            time.sleep(0.02)
            return "result"

        log.append(await asyncio.to_thread(blocking))
        far.cancel()

    loop.run_until_complete(main())
    assert log == ["result"]


def test_shutdown_default_executor(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> object:
        assert await loop.run_in_executor(None, sum, [1, 2]) == 3
        await loop.shutdown_default_executor()
        with pytest.raises(RuntimeError, match="Executor shutdown has been called"):
            loop.run_in_executor(None, sum, [1])
        return type(loop._default_executor)  # type: ignore[attr-defined]

    kind = loop.run_until_complete(main())
    assert issubclass(kind, concurrent.futures.ThreadPoolExecutor)  # type: ignore[arg-type]


def test_run_in_executor_on_closed_loop(loop: asyncio.AbstractEventLoop) -> None:
    loop.close()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.run_in_executor(None, sum, [1])


def test_os_thread_pool_executor_api() -> None:
    pool = OSThreadPoolExecutor(max_workers=2, thread_name_prefix="t")
    assert isinstance(pool, concurrent.futures.ThreadPoolExecutor)
    assert list(pool.map(lambda x: x * 2, range(5))) == [0, 2, 4, 6, 8]
    names = {
        pool.submit(lambda: threading.current_thread().name).result() for _ in range(4)
    }
    assert names <= {"t_0", "t_1"}
    future = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        future.result()
    pool.shutdown(wait=True)
    with pytest.raises(
        RuntimeError, match="cannot schedule new futures after shutdown"
    ):
        pool.submit(lambda: None)
    with pytest.raises(ValueError, match="max_workers must be greater than 0"):
        OSThreadPoolExecutor(max_workers=0)


def test_os_thread_pool_executor_cancel_futures() -> None:
    pool = OSThreadPoolExecutor(max_workers=1)
    gate = threading.Event()
    first = pool.submit(gate.wait, 20)
    queued = [pool.submit(lambda: "never") for _ in range(3)]
    while not first.running():
        time.sleep(0.001)
    gate.set()
    pool.shutdown(wait=True, cancel_futures=True)
    assert first.result() is True
    assert all(f.cancelled() for f in queued)


def test_os_thread_pool_executor_broken_initializer() -> None:
    def fail() -> None:
        raise ValueError("no")

    pool = OSThreadPoolExecutor(max_workers=1, initializer=fail)
    future = pool.submit(lambda: "never")
    with pytest.raises(concurrent.futures.thread.BrokenThreadPool, match="initializer"):
        future.result(timeout=20)
    with pytest.raises(concurrent.futures.thread.BrokenThreadPool):
        pool.submit(lambda: None)
    pool.shutdown()


def test_os_thread_pool_executor_as_a_stock_loops_default() -> None:
    """It passes asyncio's own check (3.11+: a ThreadPoolExecutor is required)."""
    loop = asyncio.new_event_loop()
    pool = OSThreadPoolExecutor()
    try:
        loop.set_default_executor(pool)
        assert loop.run_until_complete(asyncio.to_thread(lambda: 7)) == 7
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
