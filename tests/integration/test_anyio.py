"""anyio on an aioeventlet loop, through anyio's ``loop_factory`` option."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import anyio.abc
import pytest
from anyio.streams.memory import MemoryObjectSendStream

import aioeventlet

from .programs._common import GreenWorker

pytestmark = pytest.mark.integration

T = TypeVar("T")


def run_on_aioeventlet(main: Callable[[], Awaitable[T]]) -> T:
    options: dict[str, Any] = {"loop_factory": aioeventlet.new_event_loop}
    return anyio.run(main, backend="asyncio", backend_options=options)


def test_runs_on_an_aioeventlet_loop() -> None:
    async def main() -> tuple[type[asyncio.AbstractEventLoop], str | None]:
        return type(asyncio.get_running_loop()), anyio.get_current_task().name

    loop_type, name = run_on_aioeventlet(main)
    assert loop_type is aioeventlet.EventLoop
    assert name is not None
    assert name.endswith("main")


def test_task_group_and_memory_streams(green_worker: GreenWorker) -> None:
    async def main() -> tuple[list[int], list[str], int]:
        before = green_worker.rounds
        send, receive = anyio.create_memory_object_stream[int](max_buffer_size=4)
        order: list[str] = []
        totals: list[int] = []

        async def producer(start: int, out: MemoryObjectSendStream[int]) -> None:
            async with out:
                for i in range(start, start + 10):
                    await out.send(i)
                    await anyio.sleep(0.001)
            order.append(f"producer {start} done")

        async def consumer() -> None:
            async with receive:
                total = 0
                async for value in receive:
                    total += value
                totals.append(total)
            order.append("consumer done")

        async with anyio.create_task_group() as tg:
            tg.start_soon(consumer)
            async with send:
                for start in (0, 100, 1000):
                    tg.start_soon(producer, start, send.clone())
        return totals, order, green_worker.rounds - before

    totals, order, progress = run_on_aioeventlet(main)
    assert totals == [sum(range(10)) + sum(range(100, 110)) + sum(range(1000, 1010))]
    assert order[-1] == "consumer done"
    assert sorted(order[:-1]) == [
        "producer 0 done",
        "producer 100 done",
        "producer 1000 done",
    ]
    assert progress > 0


def test_task_group_propagates_errors_and_cancels_siblings() -> None:
    async def main() -> tuple[list[str], BaseException]:
        events: list[str] = []

        async def sibling() -> None:
            try:
                await anyio.sleep(30)
            except anyio.get_cancelled_exc_class():
                events.append("sibling cancelled")
                raise

        async def failing() -> None:
            await anyio.sleep(0.01)
            raise ValueError("boom")

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(sibling)
                tg.start_soon(failing)
        except BaseException as exc:  # an ExceptionGroup on every Python here
            return events, exc
        raise AssertionError("the task group did not raise")

    events, exc = run_on_aioeventlet(main)
    assert events == ["sibling cancelled"]
    assert type(exc).__name__ == "ExceptionGroup"
    assert [repr(e) for e in exc.exceptions] == [repr(ValueError("boom"))]  # type: ignore[attr-defined]


def test_to_thread_runs_on_real_threads(green_worker: GreenWorker) -> None:
    def blocking(n: int) -> tuple[int, int]:
        time.sleep(0.05)  # a real, blocking sleep: would freeze a green thread
        return n * n, threading.get_ident()

    async def main() -> tuple[list[tuple[int, int]], int, int]:
        before = green_worker.rounds
        results: list[tuple[int, int]] = []

        async def one(n: int) -> None:
            results.append(await anyio.to_thread.run_sync(blocking, n))

        async with anyio.create_task_group() as tg:
            for n in range(6):
                tg.start_soon(one, n)
        return results, threading.get_ident(), green_worker.rounds - before

    results, loop_thread, progress = run_on_aioeventlet(main)
    assert sorted(value for value, _ in results) == [n * n for n in range(6)]
    assert all(thread != loop_thread for _, thread in results)
    # The greenthread kept running while the loop waited for the threads.
    assert progress > 0


def test_cancel_scopes() -> None:
    async def main() -> dict[str, object]:
        out: dict[str, object] = {}
        with anyio.move_on_after(0.05) as scope:
            await anyio.sleep(30)
            out["not reached"] = True
        out["move_on_after"] = scope.cancelled_caught

        try:
            with anyio.fail_after(0.05):
                await anyio.sleep(30)
        except TimeoutError:
            out["fail_after"] = "TimeoutError"

        async def cancel_soon(scope: anyio.CancelScope) -> None:
            await anyio.sleep(0.01)
            scope.cancel()

        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as manual:
                tg.start_soon(cancel_soon, manual)
                await anyio.sleep(30)
        out["manual"] = manual.cancel_called and manual.cancelled_caught

        with anyio.move_on_after(0.01) as outer:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.05)
                out["shield outlived the deadline"] = True
            await anyio.sleep(30)
        out["outer cancelled after the shield"] = outer.cancelled_caught
        return out

    assert run_on_aioeventlet(main) == {
        "move_on_after": True,
        "fail_after": "TimeoutError",
        "manual": True,
        "shield outlived the deadline": True,
        "outer cancelled after the shield": True,
    }


def test_tcp_streams() -> None:
    async def main() -> list[bytes]:
        async def serve(stream: anyio.abc.SocketStream) -> None:
            async with stream:
                async for data in stream:
                    await stream.send(data[::-1])

        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        replies: list[bytes] = []
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, serve)
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                for word in (b"alpha", b"beta", b"gamma"):
                    await client.send(word)
                    replies.append(await client.receive())
            tg.cancel_scope.cancel()
        return replies

    assert run_on_aioeventlet(main) == [b"ahpla", b"ateb", b"ammag"]
