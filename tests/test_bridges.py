"""The bridges (DESIGN.md section 3, "The bridges"): yield_future(), wrap_greenthread(),
to_green().

These are greenthread behaviours, so they run on aioeventlet only; the tests with
a loop in another OS thread also run with a stock asyncio loop there (the
``loop_factory`` fixture), since yield_future() reaches any loop thread-safely.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import inspect
import sys
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from functools import partial
from typing import Any, TypeVar

import eventlet
import eventlet.event
import eventlet.hubs
import greenlet
import pytest

import aioeventlet
from aioeventlet._bridges import _GreenWake, to_green, wrap_greenthread, yield_future

from .conftest import LoopFactory

_T = TypeVar("_T")

var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")


def run(main: Coroutine[Any, Any, _T]) -> _T:
    return aioeventlet.run(main)


async def in_greenthread(func: Callable[..., _T], *args: Any) -> _T:
    """Run green code in a new greenthread while the loop keeps running."""
    result: _T = await wrap_greenthread(eventlet.spawn(func, *args))
    return result


async def awaiting(fut: Awaitable[_T]) -> _T:
    return await fut


async def slow_add(x: int, y: int, delay: float = 0.01) -> int:
    await asyncio.sleep(delay)
    return x + y


class Awaitable42:
    """An awaitable that is neither a future nor a coroutine."""

    def __await__(self) -> Generator[Any, None, int]:
        yield from asyncio.sleep(0).__await__()
        return 42


# -- yield_future: results and exceptions ------------------------------------------


def test_yield_future_coroutine_future_task_awaitable() -> None:
    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[str] = loop.create_future()
        loop.call_later(0.01, fut.set_result, "future")
        task = asyncio.ensure_future(slow_add(2, 3))

        def green() -> list[object]:
            return [
                yield_future(slow_add(1, 2), loop=loop),
                yield_future(fut),
                yield_future(task),
                yield_future(Awaitable42(), loop=loop),
                yield_future(fut),  # already done: returned at once
            ]

        return await in_greenthread(green)

    assert run(main()) == [3, "future", 5, 42, "future"]


def test_yield_future_blocks_only_the_calling_greenthread() -> None:
    """The coroutine waited for can only finish after another greenthread
    ticked three times: if the wait blocked more than its greenthread, this
    would never end."""
    log: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ticked: asyncio.Future[None] = loop.create_future()

        def ticker() -> None:
            for i in range(3):
                log.append(f"tick{i}")
                eventlet.sleep(0.001)
            loop.call_soon(ticked.set_result, None)

        async def after_the_ticks() -> int:
            await ticked
            return 2

        def waiter() -> None:
            log.append("wait")
            log.append(f"got {yield_future(after_the_ticks(), loop=loop)}")

        waiting = wrap_greenthread(eventlet.spawn(waiter))
        ticking = wrap_greenthread(eventlet.spawn(ticker))
        await waiting
        await ticking

    run(main())
    assert log == ["wait", "tick0", "tick1", "tick2", "got 2"]


@pytest.mark.parametrize(
    "exc", [ValueError("boom"), KeyboardInterrupt(), SystemExit(3)], ids=repr
)
def test_yield_future_raises_the_future_exception(exc: BaseException) -> None:
    async def main() -> BaseException:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        loop.call_soon(fut.set_exception, exc)

        def green() -> BaseException:
            try:
                yield_future(fut)
            except BaseException as caught:
                return caught
            raise AssertionError("no exception")

        return await in_greenthread(green)

    assert run(main()) is exc


def test_yield_future_raises_the_coroutine_exception() -> None:
    async def fails() -> None:
        await asyncio.sleep(0)
        raise LookupError("from the coroutine")

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def green() -> None:
            with pytest.raises(LookupError, match="from the coroutine"):
                yield_future(fails(), loop=loop)

        await in_greenthread(green)

    run(main())


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_keyboardinterrupt_from_a_waited_coroutine_stops_the_loop(
    loop: asyncio.AbstractEventLoop, exc_type: type[BaseException]
) -> None:
    """asyncio's Task re-raises KeyboardInterrupt and SystemExit out of the
    loop, whoever waits for it: run_until_complete() raises it, on stock
    asyncio as on aioeventlet, and the task is done with it.  The greenthread
    waiting in yield_future() gets the same exception once the hub resumes it."""
    raised = exc_type("from the coroutine")
    caught: list[BaseException] = []
    waiting: list[Any] = []

    async def stops() -> None:
        await asyncio.sleep(0)
        raise raised

    def green_waiter() -> None:
        try:
            yield_future(stops(), loop=loop)
        except BaseException as exc:
            # Kept here: eventlet's hub would re-raise a KeyboardInterrupt
            # or SystemExit that ends a greenthread in the main greenlet.
            caught.append(exc)

    async def main() -> None:
        if isinstance(loop, aioeventlet.EventLoop):
            waiting.append(eventlet.spawn(green_waiter))
        else:  # the oracle: the same coroutine in a plain task
            waiting.append(asyncio.ensure_future(stops()))
        await asyncio.sleep(10)

    main_task = loop.create_task(main())
    with pytest.raises(exc_type) as info:
        loop.run_until_complete(main_task)
    assert info.value is raised
    assert not main_task.done()  # the loop stopped under it
    main_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        loop.run_until_complete(main_task)
    if isinstance(loop, aioeventlet.EventLoop):
        waiting[0].wait()
        assert caught == [raised]
    else:
        assert waiting[0].exception() is raised


@pytest.mark.parametrize("runner", ["asyncio.run", "aioeventlet.run"])
def test_keyboardinterrupt_from_a_waited_coroutine_under_run(runner: str) -> None:
    """Under asyncio.run() or aioeventlet.run(), the run raises it, then its
    teardown cancels the tasks left.  On aioeventlet, the coroutine awaiting
    the waiter's wrap_greenthread() future is one: cancelling that future
    kills the waiter (GreenletExit) before the hub could resume it."""
    raised = KeyboardInterrupt("from the coroutine")
    log: list[str] = []

    async def stops() -> None:
        await asyncio.sleep(0)
        raise raised

    def green_waiter() -> None:
        try:
            yield_future(stops())
        except BaseException as exc:
            log.append(f"waiter: {type(exc).__name__}")
            raise

    async def main() -> None:
        awaited: asyncio.Future[Any]
        if runner == "aioeventlet.run":
            awaited = wrap_greenthread(eventlet.spawn(green_waiter))
        else:  # the oracle: a task awaiting the same coroutine's task
            awaited = asyncio.ensure_future(stops())
        try:
            await awaited
        except asyncio.CancelledError:
            log.append("main: CancelledError")
            raise

    run_main = aioeventlet.run if runner == "aioeventlet.run" else asyncio.run
    with pytest.raises(KeyboardInterrupt) as info:
        run_main(main())
    assert info.value is raised
    if runner == "aioeventlet.run":
        assert log == ["waiter: GreenletExit", "main: CancelledError"]
    else:
        assert log == ["main: CancelledError"]


def test_yield_future_of_a_task_cancelled_meanwhile_raises_cancelled() -> None:
    """The first hang of 0.5: a waited-for task cancelled by someone else."""
    outcome: list[str] = []

    async def main() -> None:
        task = asyncio.ensure_future(asyncio.sleep(10))

        def green() -> None:
            try:
                yield_future(task)
            except asyncio.CancelledError:
                outcome.append("cancelled")

        waiting = wrap_greenthread(eventlet.spawn(green))
        await asyncio.sleep(0.01)
        task.cancel()
        await waiting

    run(main())
    assert outcome == ["cancelled"]


def test_yield_future_coroutine_cancelled_inside_raises_cancelled() -> None:
    async def cancels_itself() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(0)

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def green() -> None:
            with pytest.raises(asyncio.CancelledError):
                yield_future(cancels_itself(), loop=loop)

        await in_greenthread(green)

    run(main())


# -- yield_future: refusals and their wording ---------------------------------------


def test_yield_future_in_the_loop_greenthread_refuses_and_closes_coroutine() -> None:
    async def main() -> None:
        coro = slow_add(1, 2)
        with pytest.raises(RuntimeError) as info:
            yield_future(coro)
        message = str(info.value)
        assert "yield_future() was called in the greenthread that runs" in message
        assert "it would block that loop" in message
        assert "await the future or coroutine instead" in message
        assert "aioeventlet.wrap_greenthread(eventlet.spawn(func, ...))" in message
        assert "aioeventlet.to_green(func, ...)" in message
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED

        fut = asyncio.get_running_loop().create_future()
        with pytest.raises(RuntimeError, match="greenthread that runs the event"):
            yield_future(fut)
        assert not fut.done()
        fut.cancel()

    run(main())
    gc.collect()  # a "never awaited" RuntimeWarning would fail the test here


def test_yield_future_in_a_loop_callback_refuses_and_closes_coroutine() -> None:
    """A plain callback runs in the loop's greenthread, like a coroutine."""
    coro = slow_add(1, 2)
    caught: list[BaseException] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def callback() -> None:
            for loop_arg in (None, loop):
                try:
                    yield_future(coro, loop=loop_arg)
                except BaseException as exc:
                    caught.append(exc)
            done.set_result(None)

        loop.call_soon(callback)
        await done

    run(main())
    assert [type(exc) for exc in caught] == [RuntimeError, RuntimeError]
    for exc in caught:
        assert "yield_future() was called in the greenthread that runs" in str(exc)
        assert "aioeventlet.to_green(func, ...)" in str(exc)
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
    gc.collect()  # a "never awaited" RuntimeWarning would fail the test here


def test_yield_future_in_the_hub_greenlet_refuses() -> None:
    caught: list[BaseException] = []
    coro = slow_add(1, 2)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def in_hub() -> None:
            try:
                yield_future(coro, loop=loop)
            except BaseException as exc:
                caught.append(exc)
            loop.call_soon(done.set_result, None)

        eventlet.hubs.get_hub().schedule_call_global(0, in_hub)
        await done

    run(main())
    assert len(caught) == 1
    assert isinstance(caught[0], RuntimeError)
    assert "cannot block eventlet's hub greenlet" in str(caught[0])
    assert "eventlet.spawn()" in str(caught[0])
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


def test_yield_future_rejects_what_is_not_awaitable() -> None:
    with pytest.raises(TypeError) as info:
        yield_future(42)  # type: ignore[arg-type]
    assert str(info.value) == (
        "yield_future() expects an asyncio future or task, a coroutine, or "
        "another awaitable; got int: 42"
    )


def test_loop_argument_must_be_an_event_loop() -> None:
    coro = slow_add(1, 2)
    with pytest.raises(TypeError) as info:
        yield_future(coro, loop=42)  # type: ignore[arg-type]
    assert str(info.value) == (
        "yield_future(): loop= must be an asyncio event loop (or None for the "
        "loop of this thread), got int: 42"
    )
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
    gt = eventlet.spawn(lambda: None)
    try:
        with pytest.raises(TypeError, match=r"wrap_greenthread\(\): loop= must be"):
            wrap_greenthread(gt, loop="loop")  # type: ignore[arg-type]
    finally:
        gt.wait()


def test_yield_future_rejects_a_loop_other_than_the_future_loop() -> None:
    loop_a = aioeventlet.new_event_loop()
    loop_b = aioeventlet.new_event_loop()
    try:
        fut = loop_a.create_future()
        with pytest.raises(ValueError, match="the future belongs to") as info:
            yield_future(fut, loop=loop_b)
        assert "drop loop= or pass its own loop" in str(info.value)
    finally:
        loop_a.close()
        loop_b.close()


def test_yield_future_without_loop_and_no_running_loop() -> None:
    coro = slow_add(1, 2)

    def green() -> None:
        with pytest.raises(RuntimeError) as info:
            yield_future(coro)
        assert str(info.value).startswith(
            "yield_future(): no aioeventlet event loop is running in this OS thread"
        )
        assert "Pass loop=<the loop>" in str(info.value)
        assert "aioeventlet.run(coroutine)" in str(info.value)

    eventlet.spawn(green).wait()
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


def test_yield_future_without_loop_uses_the_loop_of_this_thread() -> None:
    async def main() -> int:
        return await in_greenthread(lambda: yield_future(slow_add(20, 22)))

    assert run(main()) == 42


def test_yield_future_without_loop_with_two_running_loops_is_ambiguous() -> None:
    errors: list[str] = []

    async def inner() -> None:
        def green() -> None:
            coro = slow_add(1, 1)
            try:
                yield_future(coro)
            except RuntimeError as exc:
                errors.append(str(exc))
            assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED

        await in_greenthread(green)

    async def outer() -> None:
        # A second loop, run by another greenthread of this thread.
        await in_greenthread(aioeventlet.run, inner())

    run(outer())
    assert len(errors) == 1
    assert "2 aioeventlet event loops are running in this OS thread" in errors[0]
    assert "pass loop=<the loop> to choose" in errors[0]


# -- yield_future with a loop that is not running ------------------------------------


def test_yield_future_runs_a_stopped_loop_in_the_calling_greenthread() -> None:
    loop = aioeventlet.new_event_loop()
    try:
        assert yield_future(slow_add(1, 2), loop=loop) == 3
        assert not loop.is_running()
        fut = loop.create_future()
        loop.call_soon(fut.set_result, "later")
        assert yield_future(fut) == "later"
        # And from a greenthread, with others running meanwhile: a ticker
        # ticks every millisecond while the coroutine runs for 0.1 s.  Were
        # the loop run so as to block the OS thread, it would see no tick.
        ticks: list[int] = []
        stop = eventlet.event.Event()

        def ticker() -> None:
            while not stop.ready():
                ticks.append(len(ticks))
                eventlet.sleep(0.001)

        async def count_ticks() -> int:
            before = len(ticks)
            for _ in range(10):
                await asyncio.sleep(0.01)
            return len(ticks) - before

        ticking = eventlet.spawn(ticker)
        try:
            ticks_seen = eventlet.spawn(yield_future, count_ticks(), loop).wait()
        finally:
            stop.send()
            ticking.wait()
        # A generous bound: about 100 are due; none if the thread blocked.
        assert ticks_seen >= 3
    finally:
        loop.close()


def test_yield_future_on_a_closed_loop_raises_and_closes_coroutine() -> None:
    loop = aioeventlet.new_event_loop()
    loop.close()
    coro = slow_add(1, 2)
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        yield_future(coro, loop=loop)
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


async def _sleep_noting_cancel(on_cancel: Callable[[], object]) -> None:
    """Sleep long; call *on_cancel* if cancelled, then let the cancel through."""
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        on_cancel()
        raise


def test_killed_while_running_a_stopped_loop_cancels_the_task() -> None:
    loop = aioeventlet.new_event_loop()
    seen: list[str] = []

    try:
        gt = eventlet.spawn(
            yield_future, _sleep_noting_cancel(partial(seen.append, "cancelled")), loop
        )
        eventlet.sleep(0.02)
        gt.kill()
        with pytest.raises(greenlet.GreenletExit):
            gt.wait()
        assert seen == ["cancelled"]
        assert not loop.is_running()
    finally:
        loop.close()


def test_eventlet_timeout_while_running_a_stopped_loop_cancels_the_task() -> None:
    loop = aioeventlet.new_event_loop()
    seen: list[str] = []

    def green() -> str:
        try:
            with eventlet.Timeout(0.02):
                yield_future(
                    _sleep_noting_cancel(partial(seen.append, "cancelled")), loop=loop
                )
        except eventlet.Timeout:
            return "timed out"
        return "no timeout"

    try:
        assert eventlet.spawn(green).wait() == "timed out"
        assert seen == ["cancelled"]
        assert not loop.is_running()
        assert yield_future(slow_add(1, 1), loop=loop) == 2  # still usable
    finally:
        loop.close()


# -- yield_future: kill and eventlet.Timeout in the waiting greenthread --------------


def test_killing_the_waiter_cancels_the_task_it_created() -> None:
    seen: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        gt = eventlet.spawn(
            yield_future,
            _sleep_noting_cancel(partial(seen.append, "task cancelled")),
            loop,
        )
        waiting = wrap_greenthread(gt)
        await asyncio.sleep(0.01)
        gt.kill()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0)  # the cancelled task's last step
        seen.append("after")

    run(main())
    assert seen == ["task cancelled", "after"]


def test_killing_the_waiter_before_the_task_started_closes_the_coroutine() -> None:
    coro = slow_add(1, 2)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        gt = eventlet.spawn(yield_future, coro, loop)
        eventlet.sleep(0)  # gt creates the task and parks: the loop never ran
        gt.kill()
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    run(main())
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
    gc.collect()  # a "never awaited" RuntimeWarning would fail the test here


def test_killing_the_waiter_leaves_a_future_passed_in_alone() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[str] = loop.create_future()
        gate: asyncio.Future[int] = loop.create_future()
        task = asyncio.ensure_future(awaiting(gate))
        for awaited in (fut, task):
            gt = eventlet.spawn(yield_future, awaited)
            await asyncio.sleep(0.01)
            gt.kill()
            assert not awaited.done()
            callbacks = awaited._callbacks or []  # type: ignore[attr-defined, unused-ignore]
            assert not [cb for cb, _ in callbacks if isinstance(cb, _GreenWake)]
        fut.set_result("still usable")
        gate.set_result(3)
        assert await fut == "still usable"
        assert await task == 3

    run(main())


def test_eventlet_timeout_in_the_waiter_cancels_the_task() -> None:
    seen: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def green() -> str:
            try:
                with eventlet.Timeout(0.02):
                    yield_future(
                        _sleep_noting_cancel(partial(seen.append, "task cancelled")),
                        loop=loop,
                    )
            except eventlet.Timeout:
                return "timed out"
            return "no timeout"

        assert await in_greenthread(green) == "timed out"
        await asyncio.sleep(0)

    run(main())
    assert seen == ["task cancelled"]


def test_eventlet_timeout_in_the_waiter_leaves_a_future_passed_in_alone() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[str] = loop.create_future()
        gate: asyncio.Future[int] = loop.create_future()
        task = asyncio.ensure_future(awaiting(gate))

        def green(awaited: asyncio.Future[Any]) -> str:
            try:
                with eventlet.Timeout(0.01):
                    yield_future(awaited)
            except eventlet.Timeout:
                return "timed out"
            return "no timeout"

        for awaited in (fut, task):
            assert await in_greenthread(green, awaited) == "timed out"
            assert not awaited.done()
            callbacks = awaited._callbacks or []  # type: ignore[attr-defined, unused-ignore]
            assert not [cb for cb, _ in callbacks if isinstance(cb, _GreenWake)]
        fut.set_result("still usable")
        gate.set_result(3)
        assert await fut == "still usable"
        assert await task == 3

    run(main())


def test_a_wait_that_ended_early_leaves_no_stale_wakeup() -> None:
    """An exception thrown into the waiter after the future completed, but
    before the waiter was resumed, must not leave the resume timer armed: it
    would later cut short an unrelated wait of the same greenthread."""
    slept: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()

        def green() -> None:
            hub = eventlet.hubs.get_hub()
            me = greenlet.getcurrent()
            # This callback, added before yield_future() adds its own, runs
            # first: its throw is due before the resume timer.
            fut.add_done_callback(
                lambda _: hub.schedule_call_global(
                    0, me.throw, LookupError("interrupted")
                )
            )
            loop.call_soon(fut.set_result, 1)
            with pytest.raises(LookupError):
                yield_future(fut)
            start = hub.clock()
            eventlet.sleep(0.05)  # must not be woken by a leftover timer
            slept.append(hub.clock() - start)

        await in_greenthread(green)

    run(main())
    assert len(slept) == 1
    assert slept[0] >= 0.045


def test_a_stray_switch_does_not_end_the_wait() -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        gt = eventlet.spawn(yield_future, fut)
        waiting = wrap_greenthread(gt)
        await asyncio.sleep(0.01)
        eventlet.hubs.get_hub().schedule_call_global(0, gt.switch)
        await asyncio.sleep(0.01)
        assert not waiting.done()
        fut.set_result(7)
        result: int = await waiting
        return result

    assert run(main()) == 7


# -- yield_future: task factories, contextvars -------------------------------------


def test_yield_future_with_a_task_factory_creates_the_task_in_the_loop() -> None:
    calls: list[bool] = []

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kw: Any
    ) -> asyncio.Future[Any]:
        # Runs in the loop's greenthread: it sees the loop running.
        calls.append(asyncio._get_running_loop() is loop)
        return asyncio.Task(coro, loop=loop, **kw)

    async def needs_running_loop() -> str:
        asyncio.get_running_loop()
        return "ok"

    async def main() -> str:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(factory)  # type: ignore[arg-type]
        try:
            return await in_greenthread(yield_future, needs_running_loop(), loop)
        finally:
            loop.set_task_factory(None)

    assert run(main()) == "ok"
    assert calls[-1] is True


def test_a_failing_task_factory_reaches_the_waiter(
    loop_factory: LoopFactory,
) -> None:
    """Same thread (aioeventlet loop running here) and across threads."""

    def broken(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> Any:
        raise ArithmeticError("no tasks today")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(broken)
        coro = slow_add(1, 2)
        try:
            with pytest.raises(ArithmeticError, match="no tasks today"):
                await in_greenthread(yield_future, coro, loop)
        finally:
            loop.set_task_factory(None)
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED

    run(main())
    with LoopThread(loop_factory) as other:
        other.call_soon_threadsafe(other.set_task_factory, broken)
        coro = slow_add(1, 2)
        try:
            with pytest.raises(ArithmeticError, match="no tasks today"):
                eventlet.spawn(yield_future, coro, other).wait()
        finally:
            other.call_soon_threadsafe(other.set_task_factory, None)
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are 3.12+")
def test_yield_future_with_eager_task_factory() -> None:
    async def first_step_needs_the_loop() -> str:
        # An eager first step run in the waiting greenthread would fail here.
        asyncio.get_running_loop()
        return "eager ok"

    async def main() -> str:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
        try:
            return await in_greenthread(yield_future, first_step_needs_the_loop(), loop)
        finally:
            loop.set_task_factory(None)

    assert run(main()) == "eager ok"


def test_killing_the_waiter_before_the_factory_ran_closes_the_coroutine() -> None:
    coro = slow_add(1, 2)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(
            lambda loop, coro, **kw: asyncio.Task(coro, loop=loop, **kw)  # type: ignore[arg-type, unused-ignore]
        )
        try:
            gt = eventlet.spawn(yield_future, coro, loop)
            # Let the greenthread register its start callback, then kill it
            # before the loop runs that callback.
            eventlet.sleep(0)
            gt.kill()
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        finally:
            loop.set_task_factory(None)

    run(main())
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


def test_yield_future_runs_the_coroutine_in_the_greenthread_context() -> None:
    async def read_and_set() -> str:
        seen = var.get()
        var.set("changed by the coroutine")
        return seen

    async def main() -> tuple[str, str]:
        loop = asyncio.get_running_loop()

        def green() -> tuple[str, str]:
            var.set("green value")
            seen = yield_future(read_and_set(), loop=loop)
            return seen, var.get()

        return await in_greenthread(green)

    # The task runs in a copy: the greenthread's value in, nothing back out.
    assert run(main()) == ("green value", "green value")


def test_yield_future_context_with_a_task_factory_and_on_a_stopped_loop() -> None:
    """The two other ways the task gets made: by the loop calling the factory
    (in a copy of the waiting greenthread's context), and by yield_future()
    itself before it runs the stopped loop."""

    async def read_and_set() -> str:
        seen = var.get()
        var.set("changed by the coroutine")
        return seen

    def green(loop: asyncio.AbstractEventLoop) -> tuple[str, str]:
        var.set("green value")
        seen = yield_future(read_and_set(), loop=loop)
        return seen, var.get()

    async def with_a_factory() -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(
            lambda loop, coro, **kw: asyncio.Task(coro, loop=loop, **kw)  # type: ignore[arg-type, unused-ignore]
        )
        try:
            return await in_greenthread(green, loop)
        finally:
            loop.set_task_factory(None)

    assert run(with_a_factory()) == ("green value", "green value")
    stopped = aioeventlet.new_event_loop()
    try:
        assert eventlet.spawn(green, stopped).wait() == ("green value", "green value")
    finally:
        stopped.close()


# -- yield_future across OS threads ------------------------------------------------


class LoopThread:
    """A loop running in another OS thread, for the thread-safe path."""

    def __init__(self, factory: LoopFactory) -> None:
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, args=(factory,))

    def _run(self, factory: LoopFactory) -> None:
        loop = factory()
        self.loop = loop
        loop.call_soon(self.ready.set)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def __enter__(self) -> asyncio.AbstractEventLoop:
        self.thread.start()
        # A plain Event wait: nothing green runs in this thread yet.
        assert self.ready.wait(10)
        assert self.loop is not None
        return self.loop

    def __exit__(self, *exc: object) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def loop_thread(loop_factory: LoopFactory) -> Iterator[asyncio.AbstractEventLoop]:
    with LoopThread(loop_factory) as loop:
        yield loop


def test_yield_future_reaches_a_loop_of_another_thread(
    loop_thread: asyncio.AbstractEventLoop,
) -> None:
    async def where() -> tuple[int, str]:
        await asyncio.sleep(0.01)
        return threading.get_ident(), var.get()

    log: list[str] = []

    def green() -> tuple[int, str]:
        var.set("from the waiting thread")
        return yield_future(where(), loop=loop_thread)

    def ticker() -> None:
        for _ in range(3):
            log.append("tick")
            eventlet.sleep(0.005)

    ticking = eventlet.spawn(ticker)
    ident, seen = eventlet.spawn(green).wait()
    ticking.wait()
    assert ident != threading.get_ident()
    assert seen == "from the waiting thread"
    assert log == ["tick"] * 3

    fut = asyncio.run_coroutine_threadsafe(slow_add(1, 2), loop_thread)
    assert fut.result(10) == 3
    task_fut: asyncio.Future[Any] = asyncio.run_coroutine_threadsafe(
        _make_failing_future(), loop_thread
    ).result(10)
    with pytest.raises(ValueError, match="cross-thread failure"):
        yield_future(task_fut)


async def _make_failing_future() -> asyncio.Future[Any]:
    fut = asyncio.get_running_loop().create_future()
    fut.set_exception(ValueError("cross-thread failure"))
    return fut


def test_a_stray_switch_does_not_end_a_cross_thread_wait(
    loop_thread: asyncio.AbstractEventLoop,
) -> None:
    release = threading.Event()

    async def gated() -> str:
        while not release.is_set():
            await asyncio.sleep(0.005)
        return "released"

    gt = eventlet.spawn(yield_future, gated(), loop_thread)
    eventlet.sleep(0.02)
    eventlet.hubs.get_hub().schedule_call_global(0, gt.switch)
    eventlet.sleep(0.02)
    assert not gt.dead
    release.set()
    assert gt.wait() == "released"


def test_killing_a_cross_thread_waiter_cancels_the_task(
    loop_thread: asyncio.AbstractEventLoop,
) -> None:
    cancelled = threading.Event()
    gt = eventlet.spawn(yield_future, _sleep_noting_cancel(cancelled.set), loop_thread)
    eventlet.sleep(0.05)
    gt.kill()
    with pytest.raises(greenlet.GreenletExit):
        gt.wait()
    assert cancelled.wait(10)


def test_eventlet_timeout_in_a_cross_thread_waiter_cancels_the_task(
    loop_thread: asyncio.AbstractEventLoop,
) -> None:
    cancelled = threading.Event()

    def green() -> str:
        try:
            with eventlet.Timeout(0.05):
                yield_future(_sleep_noting_cancel(cancelled.set), loop=loop_thread)
        except eventlet.Timeout:
            return "timed out"
        return "no timeout"

    assert eventlet.spawn(green).wait() == "timed out"
    assert cancelled.wait(10)


def test_yield_future_from_a_worker_thread_into_this_loop() -> None:
    """A plain OS thread (the default executor's) waits for a coroutine of
    the loop running in the main thread."""

    async def main() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()

        def worker() -> tuple[int, int]:
            return yield_future(slow_add(1, 2), loop=loop), threading.get_ident()

        value, worker_ident = await asyncio.to_thread(worker)
        return value, worker_ident, threading.get_ident()

    value, worker_ident, main_ident = run(main())
    assert value == 3
    assert worker_ident != main_ident


def test_killing_a_cross_thread_waiter_leaves_a_future_passed_in_alone(
    loop_thread: asyncio.AbstractEventLoop,
) -> None:
    async def make_future() -> asyncio.Future[str]:
        return asyncio.get_running_loop().create_future()

    fut = asyncio.run_coroutine_threadsafe(make_future(), loop_thread).result(10)
    gt = eventlet.spawn(yield_future, fut)
    eventlet.sleep(0.05)
    gt.kill()
    with pytest.raises(greenlet.GreenletExit):
        gt.wait()

    async def still_usable() -> tuple[bool, str]:
        cancelled = fut.cancelled()
        fut.set_result("still usable")
        return cancelled, await fut

    done = asyncio.run_coroutine_threadsafe(still_usable(), loop_thread)
    assert done.result(10) == (False, "still usable")


def test_yield_future_refuses_a_stopped_loop_of_another_thread() -> None:
    made: list[asyncio.AbstractEventLoop] = []
    thread = threading.Thread(target=lambda: made.append(aioeventlet.new_event_loop()))
    thread.start()
    thread.join()
    loop = made[0]
    coro = slow_add(1, 2)
    try:
        with pytest.raises(RuntimeError, match="belongs to another OS thread"):
            yield_future(coro, loop=loop)
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
    finally:
        loop.close()


# -- wrap_greenthread: results, exceptions, refusals --------------------------------


def test_wrap_greenthread_result_and_exception() -> None:
    def fails() -> None:
        eventlet.sleep(0)
        raise KeyError("green failure")

    async def main() -> None:
        assert await wrap_greenthread(eventlet.spawn(lambda: 42)) == 42
        later = eventlet.spawn(lambda: [eventlet.sleep(0.01), "x"][1])
        assert await wrap_greenthread(later) == "x"
        with pytest.raises(KeyError, match="green failure"):
            await wrap_greenthread(eventlet.spawn(fails))

    run(main())


def test_a_finished_greenthread_resumes_the_parked_loop_directly() -> None:
    """The exiting greenthread switches straight into the parked loop (no
    wake-up timer fires): the loop's greenthread is its parent at exit, and
    the hub carries on afterwards, other greenthreads included."""
    parents: list[Any] = []
    ticks: list[int] = []

    def ticker() -> None:
        for i in range(5):
            ticks.append(i)
            eventlet.sleep(0)

    def green() -> int:
        gt = greenlet.getcurrent()
        # At exit, after wrap_greenthread's code ran (links resolved).
        parents.append(lambda: gt.parent)
        return 7

    async def main() -> list[int]:
        loop_greenlet = greenlet.getcurrent()
        ticking = wrap_greenthread(eventlet.spawn(ticker))
        results = [await wrap_greenthread(eventlet.spawn(green)) for _ in range(20)]
        await ticking
        assert parents[0]() is loop_greenlet
        return results

    assert run(main()) == [7] * 20
    assert ticks == [0, 1, 2, 3, 4]


def test_a_loop_blocked_in_green_code_is_not_resumed_by_a_finishing_greenthread() -> (
    None
):
    """Only a loop parked in select() is handed the exiting greenthread: a
    callback that waits in green code (eventlet.sleep) waits its full time."""

    async def main() -> tuple[float, int]:
        loop = asyncio.get_running_loop()
        fut = wrap_greenthread(eventlet.spawn(lambda: [eventlet.sleep(0.01), 5][1]))
        start = loop.time()
        eventlet.sleep(0.1)  # the loop's greenthread blocks here, greenly
        slept = loop.time() - start
        return slept, await fut

    slept, result = run(main())
    assert result == 5
    assert slept >= 0.09


def test_a_later_link_that_switches_does_not_break_the_hand_off() -> None:
    """Links run after wrap_greenthread's may block greenly; the future still
    settles once and the loop still runs on."""
    seen: list[str] = []

    def late_link(gt: Any) -> None:
        eventlet.sleep(0.01)
        seen.append("late link ran")

    def failing_link(gt: Any) -> None:
        raise RuntimeError("a link that fails")

    async def main() -> tuple[int, int]:
        gt = eventlet.spawn(lambda: 1)
        fut = wrap_greenthread(gt)
        gt.link(late_link)
        first = await fut
        gt2 = eventlet.spawn(lambda: 2)
        fut2 = wrap_greenthread(gt2)
        gt2.link(failing_link)
        second = await fut2
        await asyncio.sleep(0.05)
        return first, second

    assert run(main()) == (1, 2)
    assert seen == ["late link ran"]


def test_wrap_raw_greenlet() -> None:
    def add(x: int, y: int) -> int:
        eventlet.sleep(0.01)
        return x + y

    def fails() -> None:
        raise IndexError("raw failure")

    async def main() -> None:
        hub = eventlet.hubs.get_hub()
        g = greenlet.greenlet(add, parent=hub.greenlet)
        fut = wrap_greenthread(g)
        hub.schedule_call_global(0, g.switch, 1, 2)
        assert await fut == 3

        g = greenlet.greenlet(fails, parent=hub.greenlet)
        fut = wrap_greenthread(g)
        hub.schedule_call_global(0, g.switch)
        with pytest.raises(IndexError, match="raw failure"):
            await fut

        spawned_n = eventlet.spawn_n(add, 5, 6)
        assert await wrap_greenthread(spawned_n) == 11

    run(main())


def test_wrap_greenthread_rejects_other_objects() -> None:
    async def main() -> None:
        with pytest.raises(TypeError) as info:
            wrap_greenthread(42)
        assert str(info.value) == (
            "wrap_greenthread() expects an eventlet GreenThread (from "
            "eventlet.spawn()) or a greenlet.greenlet with run set, not yet "
            "started; got int: 42"
        )
        with pytest.raises(TypeError, match="got function: <function"):
            wrap_greenthread(slow_add)
        with pytest.raises(TypeError, match="a greenlet without a run function"):
            wrap_greenthread(greenlet.greenlet())

    run(main())


def test_wrap_greenthread_rejects_started_and_finished_greenthreads() -> None:
    async def main() -> None:
        gt = eventlet.spawn(eventlet.sleep, 0.05)
        await asyncio.sleep(0.01)  # it started and now sleeps
        with pytest.raises(RuntimeError) as info:
            wrap_greenthread(gt)
        assert "is already running; wrap a greenthread before it starts" in str(
            info.value
        )
        gt.wait()
        with pytest.raises(RuntimeError, match="has already finished; wrap a green"):
            wrap_greenthread(gt)

        def wraps_itself() -> None:
            with pytest.raises(RuntimeError, match="is already running"):
                wrap_greenthread(greenlet.getcurrent(), loop=loop)

        loop = asyncio.get_running_loop()
        await wrap_greenthread(eventlet.spawn(wraps_itself))

    run(main())


def test_wrap_greenthread_rejects_started_and_finished_raw_greenlets() -> None:
    """greenlet deletes ``run`` once a greenlet starts: a started raw greenlet
    must still get the RuntimeError, not the TypeError for a greenlet created
    without a function."""
    messages: list[str] = []

    def refused(g: Any, loop: asyncio.AbstractEventLoop) -> str:
        with pytest.raises(RuntimeError) as info:
            wrap_greenthread(g, loop=loop)
        assert type(info.value) is RuntimeError
        return str(info.value)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        finished = greenlet.greenlet(lambda: None)
        finished.switch()
        assert finished.dead
        messages.append(refused(finished, loop))

        # Running: the greenlet wraps itself.
        running = greenlet.greenlet(lambda: refused(greenlet.getcurrent(), loop))
        messages.append(running.switch())

        def pauses_midway() -> None:
            parent = greenlet.getcurrent().parent
            assert parent is not None
            parent.switch()  # back here, for now

        # Started, now suspended: it switched back to its parent midway.
        suspended = greenlet.greenlet(pauses_midway)
        suspended.switch()
        messages.append(refused(suspended, loop))
        suspended.switch()  # let it end
        assert suspended.dead

    run(main())
    assert len(messages) == 3
    assert "has already finished; wrap a greenthread before it starts" in messages[0]
    for message in messages[1:]:
        assert "is already running; wrap a greenthread before it starts" in message


def test_wrap_greenthread_needs_an_aioeventlet_loop_of_this_thread() -> None:
    stock = asyncio.SelectorEventLoop()
    gt = eventlet.spawn(lambda: None)
    try:
        with pytest.raises(RuntimeError) as info:
            wrap_greenthread(gt, loop=stock)
        assert "needs an aioeventlet loop of this OS thread" in str(info.value)
        assert "SelectorEventLoop" in str(info.value)
        with pytest.raises(RuntimeError, match="no aioeventlet event loop is running"):
            wrap_greenthread(gt)
    finally:
        stock.close()
        gt.wait()


def test_wrap_greenthread_on_a_closed_loop() -> None:
    loop = aioeventlet.new_event_loop()
    loop.close()
    gt = eventlet.spawn(lambda: "ran")
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        wrap_greenthread(gt, loop=loop)
    assert gt.wait() == "ran"


def test_wrap_greenthread_on_a_stopped_loop_then_run_it() -> None:
    loop = aioeventlet.new_event_loop()
    try:
        fut = wrap_greenthread(eventlet.spawn(lambda: "done"), loop=loop)
        assert loop.run_until_complete(fut) == "done"
    finally:
        loop.close()


# -- wrap_greenthread: cancel and kill ---------------------------------------------


def test_cancelling_the_future_kills_the_greenthread() -> None:
    seen: list[str] = []

    def sleeper() -> None:
        try:
            eventlet.sleep(10)
        except greenlet.GreenletExit:
            seen.append("GreenletExit")
            raise

    async def main() -> None:
        gt = eventlet.spawn(sleeper)
        fut = wrap_greenthread(gt)
        await asyncio.sleep(0.01)
        assert fut.cancel()
        await asyncio.sleep(0)
        assert gt.dead
        assert fut.cancelled()
        # Cancelled before it started: it never runs.
        ran: list[bool] = []
        gt2 = eventlet.spawn(ran.append, True)
        wrap_greenthread(gt2).cancel()
        await asyncio.sleep(0.01)
        assert gt2.dead
        assert ran == []

    run(main())
    assert seen == ["GreenletExit"]


def test_cancelling_a_raw_greenlet_future_kills_it() -> None:
    seen: list[str] = []

    def sleeper() -> None:
        try:
            eventlet.sleep(10)
        except greenlet.GreenletExit:
            seen.append("GreenletExit")
            raise

    async def main() -> None:
        hub = eventlet.hubs.get_hub()
        g = greenlet.greenlet(sleeper, parent=hub.greenlet)
        fut = wrap_greenthread(g)
        hub.schedule_call_global(0, g.switch)
        await asyncio.sleep(0.01)
        fut.cancel()
        await asyncio.sleep(0)
        assert g.dead
        # Cancelled before it started: it never runs, the relay lets go.
        ran: list[bool] = []
        g2 = greenlet.greenlet(ran.append, parent=hub.greenlet)
        fut2 = wrap_greenthread(g2)
        relay = g2.parent
        assert relay is not None
        assert fut2.cancel()
        await asyncio.sleep(0.01)
        assert g2.dead
        assert relay.dead
        assert fut2.cancelled()
        assert ran == []

    run(main())
    assert seen == ["GreenletExit"]


@pytest.mark.parametrize("when", ["before it starts", "while it runs"])
def test_a_greenthread_killed_from_outside_gives_a_cancelled_future(
    when: str,
) -> None:
    """The second hang of 0.5: awaiting a greenthread that someone killed."""

    async def main() -> str:
        gt = eventlet.spawn(eventlet.sleep, 10)
        fut = wrap_greenthread(gt)
        if when == "while it runs":
            await asyncio.sleep(0.01)
        eventlet.spawn(gt.kill)
        try:
            await fut
        except asyncio.CancelledError as exc:
            assert fut.cancelled()
            return str(exc)
        raise AssertionError("not cancelled")

    assert run(main()) == "the greenthread was killed"


@pytest.mark.parametrize("when", ["before it starts", "while it runs"])
def test_a_raw_greenlet_killed_from_outside_gives_a_cancelled_future(
    when: str,
) -> None:
    async def main() -> str:
        hub = eventlet.hubs.get_hub()
        g = greenlet.greenlet(eventlet.sleep, parent=hub.greenlet)
        fut = wrap_greenthread(g)
        if when == "while it runs":
            hub.schedule_call_global(0, g.switch, 10)
            await asyncio.sleep(0.01)
        eventlet.spawn(eventlet.greenthread.kill, g)
        try:
            await fut
        except asyncio.CancelledError as exc:
            assert g.dead
            return str(exc)
        raise AssertionError("not cancelled")

    assert run(main()) == "the greenlet was killed"


def test_a_raw_greenlet_still_returns_to_its_parent() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        def green() -> tuple[int, asyncio.Future[Any]]:
            g = greenlet.greenlet(lambda x: x * 2)  # its parent: this greenthread
            fut = wrap_greenthread(g, loop=loop)
            returned: int = g.switch(21)  # g runs, ends, and switches back here
            return returned, fut

        returned, fut = await in_greenthread(green)
        assert returned == 42
        assert await fut == 42

    run(main())


@pytest.mark.parametrize("kill_with", [ValueError, greenlet.GreenletExit])
def test_a_raw_greenlet_killed_before_it_starts_with_any_exception(
    kill_with: type[BaseException],
) -> None:
    """greenlet never runs a raw greenlet killed before it starts, and an
    exception other than GreenletExit goes straight to its parent: the relay
    wrap_greenthread() puts there still settles the future, and the old
    parent gets what it would get without wrapping."""

    def outcome(g: Any) -> tuple[str, str, str]:
        try:
            value = g.throw(kill_with("killed early"))
        except ValueError as exc:
            return "raised", type(exc).__name__, str(exc)
        return "returned", type(value).__name__, str(value)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Any]] = []

        def green() -> tuple[tuple[str, str, str], tuple[str, str, str]]:
            # Parent: this greenthread, which throws into them.
            plain = greenlet.greenlet(lambda: "never runs")
            wrapped = greenlet.greenlet(lambda: "never runs")
            futures.append(wrap_greenthread(wrapped, loop=loop))
            results = outcome(plain), outcome(wrapped)
            assert plain.dead
            assert wrapped.dead
            return results

        unwrapped, wrapped = await in_greenthread(green)
        assert wrapped == unwrapped
        if kill_with is ValueError:
            assert unwrapped == ("raised", "ValueError", "killed early")
            with pytest.raises(ValueError, match="killed early"):
                await asyncio.wait_for(futures[0], 10)  # pending would hang
        else:
            assert unwrapped == ("returned", "GreenletExit", "killed early")
            with pytest.raises(asyncio.CancelledError, match="the greenlet was killed"):
                await asyncio.wait_for(futures[0], 10)

    run(main())


def test_a_wrapped_raw_greenlet_that_never_runs_leaves_nothing_behind() -> None:
    """The relay parks as soon as wrap_greenthread() returns; a parked greenlet
    escapes the cycle collector, so it must not keep the future alive."""

    async def main() -> list[weakref.ref[Any]]:
        g = greenlet.greenlet(lambda: "never runs")
        fut = wrap_greenthread(g)
        return [weakref.ref(g), weakref.ref(g.parent), weakref.ref(fut)]

    refs = run(main())  # the loop closes with the future pending
    gc.collect()  # a warning or an unraisable error here fails the test
    assert [ref() for ref in refs] == [None, None, None]


def test_a_raw_greenlet_killed_after_its_loop_closed() -> None:
    """The relay settles nothing on a closed loop, and passes the exception on."""

    async def main() -> tuple[Any, asyncio.Future[Any]]:
        g = greenlet.greenlet(lambda: "never runs")  # parent: this greenlet
        return g, wrap_greenthread(g)

    g, fut = run(main())
    with pytest.raises(LookupError, match="late"):
        g.throw(LookupError("late"))
    assert g.dead
    assert not fut.done()


def test_a_greenthread_killed_by_the_awaiting_coroutine_itself() -> None:
    async def main() -> None:
        gt = eventlet.spawn(eventlet.sleep, 10)
        fut = wrap_greenthread(gt)
        gt.kill()  # from the loop's greenthread, before it started
        with pytest.raises(asyncio.CancelledError):
            await fut

    run(main())


def test_a_greenthread_killed_with_an_exception_gives_that_exception() -> None:
    async def main() -> None:
        gt = eventlet.spawn(eventlet.sleep, 10)
        fut = wrap_greenthread(gt)
        await asyncio.sleep(0.01)
        eventlet.spawn(gt.kill, ZeroDivisionError("killed with this"))
        with pytest.raises(ZeroDivisionError, match="killed with this"):
            await fut

    run(main())


def _sleeper_log(log: list[str], name: str, delay: float) -> Callable[[], str]:
    def sleeper() -> str:
        try:
            eventlet.sleep(delay)
        except greenlet.GreenletExit:
            log.append(f"{name} killed")
            raise
        log.append(f"{name} done")
        return name

    return sleeper


def test_wait_for_timeout_kills_the_greenthread() -> None:
    log: list[str] = []

    async def main() -> None:
        gt = eventlet.spawn(_sleeper_log(log, "slow", 10))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(wrap_greenthread(gt), 0.02)
        assert gt.dead
        fast = eventlet.spawn(_sleeper_log(log, "fast", 0))
        assert await asyncio.wait_for(wrap_greenthread(fast), 5) == "fast"

    run(main())
    assert log == ["slow killed", "fast done"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is 3.11+")
def test_asyncio_timeout_kills_the_greenthread() -> None:
    log: list[str] = []

    async def main() -> None:
        gt = eventlet.spawn(_sleeper_log(log, "slow", 10))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.02):  # type: ignore[attr-defined]
                await wrap_greenthread(gt)
        await asyncio.sleep(0)
        assert gt.dead

    run(main())
    assert log == ["slow killed"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is 3.11+")
def test_taskgroup_failure_kills_the_sibling_greenthread() -> None:
    log: list[str] = []

    async def fails() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("sibling failed")

    async def group(gt: Any) -> None:
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
            group.create_task(awaiting(wrap_greenthread(gt)))
            group.create_task(fails())

    async def main() -> None:
        gt = eventlet.spawn(_sleeper_log(log, "green", 10))
        # An ExceptionGroup (3.11+) holding only the sibling's error.
        with pytest.raises(Exception, match="unhandled errors in a TaskGroup") as info:
            await group(gt)
        assert [type(e) for e in info.value.exceptions] == [ValueError]  # type: ignore[attr-defined]
        await asyncio.sleep(0)
        assert gt.dead

    run(main())
    assert log == ["green killed"]


def test_shield_keeps_the_greenthread_running() -> None:
    async def main() -> str:
        release = eventlet.event.Event()
        gt = eventlet.spawn(release.wait)
        fut = wrap_greenthread(gt)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(fut), 0.01)
        assert not gt.dead
        assert not fut.done()
        release.send("shielded")
        result: str = await fut
        return result

    assert run(main()) == "shielded"


def test_wrapped_greenthread_runs_in_the_callers_context() -> None:
    def green() -> str:
        seen = var.get()
        var.set("changed in the greenthread")
        return seen

    async def main() -> tuple[str, str, str]:
        var.set("coroutine value")
        seen = await wrap_greenthread(eventlet.spawn(green))
        # A greenthread given a context explicitly keeps it.
        own = contextvars.Context()
        gt = eventlet.spawn(green)
        gt.gr_context = own
        seen_own = await wrap_greenthread(gt)
        return seen, seen_own, var.get()

    assert run(main()) == ("coroutine value", "unset", "coroutine value")


def test_a_wrapped_raw_greenlet_runs_in_the_callers_context() -> None:
    def green() -> str:
        seen = var.get()
        var.set("changed in the greenlet")
        return seen

    async def main() -> tuple[str, str, str]:
        var.set("coroutine value")
        # Not wrapped: a new greenlet starts in an empty context.
        seen_plain: str = greenlet.greenlet(green).switch()
        hub = eventlet.hubs.get_hub()
        wrapped = greenlet.greenlet(green, parent=hub.greenlet)
        fut = wrap_greenthread(wrapped)
        hub.schedule_call_global(0, wrapped.switch)
        seen: str = await fut
        return seen_plain, seen, var.get()

    assert run(main()) == ("unset", "coroutine value", "coroutine value")


# -- to_green ----------------------------------------------------------------------


def test_to_green_runs_green_blocking_code_without_freezing_the_loop() -> None:
    """The green function waits for something only the loop provides: were
    the loop frozen while it waits, this would never end."""

    def legacy(event: Any, *, times: int) -> tuple[int, str]:
        value: int = event.wait()  # green-blocking: the loop keeps running
        return value * times, var.get()

    async def main() -> tuple[int, str]:
        var.set("caller")
        event = eventlet.event.Event()
        asyncio.get_running_loop().call_later(0.01, event.send, 21)
        return await to_green(legacy, event, times=2)

    assert run(main()) == (42, "caller")


def test_to_green_exception_and_cancel() -> None:
    log: list[str] = []

    def fails() -> None:
        raise OSError("legacy failure")

    async def main() -> None:
        with pytest.raises(OSError, match="legacy failure"):
            await to_green(fails)
        task = asyncio.ensure_future(to_green(_sleeper_log(log, "legacy", 10)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)

    run(main())
    assert log == ["legacy killed"]


# -- everything at once ------------------------------------------------------------


@pytest.mark.stress
def test_a_thousand_each_way_with_random_cancels_and_kills() -> None:  # noqa: PLR0915 - one scenario, read top to bottom
    """1,000 greenthreads each in yield_future() while 1,000 coroutines each
    await wrap_greenthread(), with seeded random cancels and kills: every call
    ends (result, exception or cancellation) and nothing is left on the hub."""
    import random

    rng = random.Random(20261125)
    count = 1000
    outcomes: dict[str, int] = {}

    def record(kind: str) -> None:
        outcomes[kind] = outcomes.get(kind, 0) + 1

    async def coro_work(i: int) -> int:
        # Long enough that the chaos below finds most calls still waiting.
        await asyncio.sleep(0.3 + rng.random() * 0.3)
        if i % 7 == 0:
            raise ValueError(i)
        if i % 11 == 0:  # the task is cancelled under the waiter's feet
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)
        return i

    def green_waiter(loop: asyncio.AbstractEventLoop, i: int) -> None:
        try:
            value = yield_future(coro_work(i), loop=loop)
        except ValueError:
            record("yield: exception")
        except asyncio.CancelledError:
            record("yield: cancelled")
        except greenlet.GreenletExit:
            record("yield: killed")
            raise
        else:
            assert value == i
            record("yield: result")

    def green_work(i: int) -> int:
        eventlet.sleep(0.3 + rng.random() * 0.3)
        if i % 5 == 0:
            raise LookupError(i)
        return -i

    async def wrapper(i: int, fut: asyncio.Future[int]) -> None:
        try:
            value = await fut
        except LookupError:
            record("wrap: exception")
        except asyncio.CancelledError:
            record("wrap: cancelled")
        else:
            assert value == -i
            record("wrap: result")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        waiters = [eventlet.spawn(green_waiter, loop, i) for i in range(count)]
        wrapped = [eventlet.spawn(green_work, i) for i in range(count)]
        # Wrapped now, before any of them starts; awaited by 1,000 coroutines.
        tasks = [
            asyncio.ensure_future(wrapper(i, wrap_greenthread(gt)))
            for i, gt in enumerate(wrapped)
        ]
        waiter_futs = [wrap_greenthread(gt) for gt in waiters]
        await asyncio.sleep(0.002)
        for _ in range(200):
            choice = rng.randrange(4)
            if choice == 0:
                rng.choice(waiters).kill()  # a waiter blocked in yield_future
            elif choice == 1:
                rng.choice(wrapped).kill()  # a wrapped greenthread
            elif choice == 2:
                rng.choice(tasks).cancel()  # a coroutine awaiting a greenthread
            else:
                rng.choice(waiter_futs).cancel()  # kills a waiter, via its future
            await asyncio.sleep(0)
        _, pending = await asyncio.wait(tasks + waiter_futs, timeout=30)
        assert not pending, f"{len(pending)} calls never ended"
        for fut in waiter_futs:
            if not fut.cancelled() and fut.exception() is not None:
                raise fut.exception()  # type: ignore[misc]
        await asyncio.sleep(0.05)  # the last cancelled tasks' final steps
        assert all(gt.dead for gt in waiters + wrapped)

    run(main())
    yields = sum(n for kind, n in outcomes.items() if kind.startswith("yield"))
    wraps = sum(n for kind, n in outcomes.items() if kind.startswith("wrap"))
    # Waiters killed before they started never record anything.
    assert yields <= count
    assert yields >= count - 200
    assert wraps == count
    for kind in (
        "yield: result",
        "yield: exception",
        "wrap: result",
        "wrap: exception",
    ):
        assert outcomes.get(kind, 0) > 0, outcomes
    for kind in ("yield: cancelled", "yield: killed", "wrap: cancelled"):
        assert outcomes.get(kind, 0) > 0, outcomes


def test_bridges_in_asyncio_debug_mode() -> None:
    """Debug mode checks the thread of every call_soon: the bridges call the
    loop from other greenthreads of its own OS thread, which is allowed."""

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        assert loop.get_debug()
        via_yield = await to_green(yield_future, slow_add(1, 2), loop)
        via_wrap = await wrap_greenthread(eventlet.spawn(lambda: 4))
        return via_yield, via_wrap

    assert aioeventlet.run(main(), debug=True) == (3, 4)


# -- the package exports ------------------------------------------------------------


def test_public_names() -> None:
    for name in ("yield_future", "wrap_greenthread", "to_green"):
        assert name in aioeventlet.__all__
        obj = getattr(aioeventlet, name)
        assert obj.__module__ == "aioeventlet"
        assert inspect.getdoc(obj)
