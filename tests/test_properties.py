"""Property-based: random sequences of schedule/cancel/kill/run/close operations.

Hypothesis draws a program of operations on one aioeventlet loop: callbacks
(call_soon, call_later, call_at), cancels, tasks and task cancels, futures
completed by greenthreads, greenthreads that call back into the loop and
kills of them, both bridges (greenthreads in ``yield_future()``, killed at
random; tasks awaiting ``wrap_greenthread()``, cancelled at random), short
runs of the loop, and ``close()`` anywhere in the sequence: after a drain or
abruptly, with operations after it (a program without a close gets one at
the end).  Whatever the sequence, the invariants hold:

* every callback that was not cancelled before it ran runs exactly once; a
  cancelled one never runs; call_soon callbacks run in the order scheduled;
* every task and future settles by the time a drain ends, by running the
  loop, with no cancel on the test's behalf; a future that cannot settle by
  design is named with its reason (:data:`UNSETTLED_BY_DESIGN`);
* ``close()`` freezes the loop: no callback runs, no task, future or wrapped
  greenthread's future changes state afterwards; tasks pending at an abrupt
  close are each reported destroyed-while-pending once; a greenthread parked
  in ``yield_future()`` gets a RuntimeError that says the loop closed, and a
  wrapped greenthread still running is not killed: it runs to its end;
* an operation after ``close()`` raises ``RuntimeError("Event loop is
  closed")`` or is a no-op, exactly as on stock asyncio
  (:data:`AFTER_CLOSE`, checked against stock asyncio by
  :func:`test_operations_after_close_as_on_stock_asyncio`);
* every greenthread's call ends in exactly one way: it ran, it was killed
  first, the closed loop refused it, or an abrupt close dropped it unrun;
* a yield_future() call ends exactly once (result, killed, or refused by a
  closed loop), and a wrapped greenthread whose future was cancelled never
  finished its work;
* the hub ends empty: no listener and no timer is left behind.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import eventlet
import greenlet
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

import aioeventlet

from .conftest import ExceptionHandlerCalls, hub_leftovers
from .stress._support import Recorder, reliability, seed, size

__all__ = ["reliability"]

pytestmark = pytest.mark.stress


@pytest.fixture(autouse=True)
def no_leaks(reliability: Recorder) -> Recorder:
    return reliability


DELAY_VALUES = (0.0, 0.0005, 0.002, 0.01)
DELAYS = st.sampled_from(DELAY_VALUES)
ENDINGS = st.sampled_from(["drain", "abrupt"])
# How long a greenthread or task may take to end before it counts as hung
# (everything in a program is due within the longest delay).
HANG_BOUND = 5.0

OPS = st.one_of(
    st.tuples(st.just("soon")),
    st.tuples(st.just("later"), DELAYS),
    st.tuples(st.just("at"), DELAYS),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("task"), DELAYS),
    st.tuples(st.just("cancel_task"), st.integers(0, 50)),
    st.tuples(st.just("green_future"), DELAYS),
    st.tuples(st.just("green_call"), DELAYS),
    st.tuples(st.just("kill"), st.integers(0, 50)),
    st.tuples(st.just("run"), DELAYS),
    st.tuples(st.just("yield"), DELAYS, st.none() | DELAYS),
    st.tuples(st.just("wrap"), DELAYS, st.none() | DELAYS),
    st.tuples(st.just("close"), ENDINGS),
)

# The operations, and the ending used when the program has no close of its own.
PROGRAMS = st.tuples(st.lists(OPS, max_size=40), ENDINGS)

REFUSED = "RuntimeError: Event loop is closed"
NO_OP = "no-op"
# Each operation after close(), as stock asyncio does it (the API calls are
# asyncio's own; test_operations_after_close_as_on_stock_asyncio runs them on
# both loops).  Scheduling, creating a task, running the loop and wrapping a
# greenthread for the loop are refused.  Cancelling a handle, creating a
# future, closing again and the purely green operations do nothing to the
# loop (what their greenthreads try later is checked on its own).
# Task.cancel() depends on the task: done, or with its first step still to
# run, it only sets a flag; waiting on a future, it cancels that future,
# which schedules a callback on the loop: refused.
AFTER_CLOSE: dict[str, frozenset[str]] = {
    "soon": frozenset({REFUSED}),
    "later": frozenset({REFUSED}),
    "at": frozenset({REFUSED}),
    "task": frozenset({REFUSED}),
    "run": frozenset({REFUSED}),
    "wrap": frozenset({REFUSED}),
    "cancel": frozenset({NO_OP}),
    "green_future": frozenset({NO_OP}),
    "green_call": frozenset({NO_OP}),
    "kill": frozenset({NO_OP}),
    "yield": frozenset({NO_OP}),
    "close": frozenset({NO_OP}),
    "cancel_task": frozenset({REFUSED, NO_OP}),
}

# What became of a future completed by a greenthread ("settler") that is
# still pending at the end, and why that is by design.  Anything else pending
# is a lost completion.
UNSETTLED_BY_DESIGN = {
    "settler killed": "its settler greenthread was killed before completing "
    "it, and nobody else ever will",
    "loop closed": "its settler woke after close(): a closed loop runs no "
    "callback, so nothing can complete it through the loop",
    "scheduled": "its settler scheduled set_result(), but an abrupt close() "
    "came before the loop ran it (close() drops what it has not run, as "
    "asyncio's does)",
}


@dataclass
class _World:
    loop: aioeventlet.EventLoop
    ending: str = "drain"
    # The tag of the close() that closed the loop (len(program) for the one
    # added at the end of a program without its own).
    closed_at: int = 0
    ran: Counter[int] = field(default_factory=Counter)
    soon_order: list[int] = field(default_factory=list)
    soon_tags: set[int] = field(default_factory=set)
    handles: list[tuple[int, asyncio.Handle]] = field(default_factory=list)
    cancelled: set[int] = field(default_factory=set)
    tasks: list[tuple[int, asyncio.Task[int]]] = field(default_factory=list)
    # Futures completed by greenthreads: (tag, future), and how each settler
    # ended (absent: it was killed first).
    futures: list[tuple[int, asyncio.Future[int]]] = field(default_factory=list)
    settlers: dict[int, str] = field(default_factory=dict)
    greenthreads: list[tuple[int, Any]] = field(default_factory=list)
    kill_targets: list[Any] = field(default_factory=list)
    killed: set[int] = field(default_factory=set)
    refused: set[int] = field(default_factory=set)
    green_scheduled: set[int] = field(default_factory=set)
    green_ran: Counter[int] = field(default_factory=Counter)
    handler: list[dict[str, Any]] = field(default_factory=list)
    pending_at_close: int = 0
    # yield_future() from greenthreads: tag -> greenthread, and how each ended.
    yielders: dict[int, Any] = field(default_factory=dict)
    yield_kill_planned: set[int] = field(default_factory=set)
    yield_ends: dict[int, list[str]] = field(default_factory=dict)
    # Their coroutines, what each did ("finished" or "cancelled"; absent: it
    # never ran a step), and its fate when its waiter was killed.
    yield_coros: dict[int, Any] = field(default_factory=dict)
    yield_fates: dict[int, str] = field(default_factory=dict)
    yield_fate_when_killed: dict[int, str] = field(default_factory=dict)
    # wrap_greenthread(): tag -> (greenthread, future, awaiting task), and how
    # many times each greenthread's body finished.
    wrapped: dict[int, tuple[Any, Any, Any]] = field(default_factory=dict)
    # The wrapped greenthreads again, kept once the futures and tasks are let go.
    wrapped_gts: dict[int, Any] = field(default_factory=dict)
    # What the checks need of the greenthreads once the world lets go of them.
    green_tags: set[int] = field(default_factory=set)
    yielders_dead: dict[int, bool] = field(default_factory=dict)
    wrapped_dead: dict[int, bool] = field(default_factory=dict)
    wrapped_kill_targeted: set[int] = field(default_factory=set)
    wrapped_finished: Counter[int] = field(default_factory=Counter)
    # Operations applied to the closed loop: tag -> (kind, outcome).
    after_close: dict[int, tuple[str, str]] = field(default_factory=dict)
    # States at close() and at the very end: nothing may change in between.
    at_close: dict[str, Any] = field(default_factory=dict)
    at_end: dict[str, Any] = field(default_factory=dict)
    hung: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    never_awaited: list[Any] = field(default_factory=list)

    def record(self, tag: int) -> None:
        self.ran[tag] += 1
        if tag in self.soon_tags:
            self.soon_order.append(tag)


async def _sleep_then(delay: float, tag: int) -> int:
    await asyncio.sleep(delay)
    return tag


async def _served(delay: float, tag: int, fates: dict[int, str]) -> int:
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        fates[tag] = "cancelled"
        raise
    fates[tag] = "finished"
    return tag


def _apply(  # noqa: PLR0912, PLR0915 - one dispatch over the operation kinds
    world: _World, tag: int, op: tuple[Any, ...]
) -> None:
    """Apply *op*: inside the running loop before close(), or to the closed
    loop after it (where the loop's own calls raise as they would)."""
    loop = world.loop
    kind = op[0]
    if kind == "soon":
        world.handles.append((tag, loop.call_soon(world.record, tag)))
        world.soon_tags.add(tag)
    elif kind == "later":
        world.handles.append((tag, loop.call_later(op[1], world.record, tag)))
    elif kind == "at":
        world.handles.append(
            (tag, loop.call_at(loop.time() + op[1], world.record, tag))
        )
    elif kind == "cancel" and world.handles:
        victim, handle = world.handles[op[1] % len(world.handles)]
        handle.cancel()
        if world.ran[victim] == 0:
            world.cancelled.add(victim)
    elif kind == "task":
        coro = _sleep_then(op[1], tag)
        try:
            world.tasks.append((tag, loop.create_task(coro)))
        except RuntimeError:
            coro.close()  # refused by a closed loop: it will never run
            raise
    elif kind == "cancel_task" and world.tasks:
        world.tasks[op[1] % len(world.tasks)][1].cancel()
    elif kind == "green_future":
        fut: asyncio.Future[int] = loop.create_future()
        world.futures.append((tag, fut))

        def settle(fut: asyncio.Future[int] = fut, delay: float = op[1]) -> None:
            eventlet.sleep(delay)
            if loop.is_closed():
                world.settlers[tag] = "loop closed"
                return
            # Completed through the loop, as another greenthread must.
            loop.call_soon(fut.set_result, tag)
            world.settlers[tag] = "scheduled"

        world.greenthreads.append((-1, eventlet.spawn(settle)))
    elif kind == "green_call":

        def call(delay: float = op[1]) -> None:
            eventlet.sleep(delay)
            try:
                loop.call_soon(world.record, tag)
            except RuntimeError:
                world.refused.add(tag)  # the loop was closed: said so
            else:
                world.green_scheduled.add(tag)
            world.green_ran[tag] += 1

        world.greenthreads.append((tag, eventlet.spawn(call)))
    elif kind == "kill" and world.greenthreads:
        victim, gt = world.greenthreads[op[1] % len(world.greenthreads)]
        if victim >= 0 and world.green_ran[victim] == 0:
            world.killed.add(victim)
        for tag_, yielder in world.yielders.items():
            if yielder is gt:
                world.yield_kill_planned.add(tag_)
        world.kill_targets.append(gt)
        gt.kill()
    elif kind == "yield":
        ends = world.yield_ends.setdefault(tag, [])

        def yielder(delay: float = op[1]) -> None:
            closed_before = loop.is_closed()
            coro = world.yield_coros[tag] = _served(delay, tag, world.yield_fates)
            try:
                result = aioeventlet.yield_future(coro, loop=loop)
                ends.append("result" if result == tag else f"wrong {result!r}")
            except greenlet.GreenletExit:
                ends.append("killed")
                world.yield_fate_when_killed[tag] = world.yield_fates.get(
                    tag, "pending"
                )
                raise
            except RuntimeError as exc:  # the loop was closed: said so
                when = "after close" if closed_before else "while waiting"
                ends.append(f"refused {when}: {exc}")

        gt = eventlet.spawn(yielder)
        world.yielders[tag] = gt
        world.greenthreads.append((-1, gt))
        if op[2] is not None:
            world.yield_kill_planned.add(tag)
            killer = eventlet.spawn_after(op[2], gt.kill)
            world.kill_targets.append(gt)
            world.greenthreads.append((-1, killer))
    elif kind == "wrap":

        def body(delay: float = op[1]) -> int:
            eventlet.sleep(delay)
            world.wrapped_finished[tag] += 1
            return tag

        gt = eventlet.spawn(body)
        world.greenthreads.append((-1, gt))
        fut = aioeventlet.wrap_greenthread(gt, loop=loop)  # refused once closed

        async def awaiter() -> int:
            result: int = await fut
            return result

        task = loop.create_task(awaiter())
        if op[2] is not None:
            loop.call_later(op[2], fut.cancel)
        world.wrapped[tag] = (gt, fut, task)
        world.wrapped_gts[tag] = gt
    elif kind == "run":  # after close() only; before, _program awaits instead
        waited = loop.create_future()
        try:
            loop.run_until_complete(waited)
        finally:
            eventlet.sleep(op[1])  # the greenthreads get the time anyway
    elif kind == "close":  # after close() only: the first one ends _program
        loop.close()


async def _drain(world: _World) -> None:
    """Run the loop until every greenthread ended and every task, future and
    timer that can still settle or fire has; cancel nothing."""
    loop = world.loop
    give_up = loop.time() + HANG_BOUND
    while any(not gt.dead for _, gt in world.greenthreads):
        if loop.time() > give_up:
            world.hung += [
                f"{gt!r} still running" for _, gt in world.greenthreads if not gt.dead
            ]
            break
        await asyncio.sleep(0.001)
    tasks = [t for _, t in world.tasks] + [t for _, _, t in world.wrapped.values()]
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=HANG_BOUND)
        world.hung += [f"{t!r} not done" for t in pending]
    # Every timer still scheduled is due within the longest delay, and the
    # last settlers' set_result() calls run meanwhile.
    await asyncio.sleep(2 * max(DELAY_VALUES))
    # yield_future()'s own tasks: each ended with its waiter.
    others = asyncio.all_tasks() - {asyncio.current_task()}
    world.hung += [f"{t!r} pending after the drain" for t in others]


async def _program(world: _World, program: list[tuple[Any, ...]]) -> None:
    # The operations before close() run inside the loop, so that greenthreads
    # only ever find it running (yield_future() would otherwise run the loop
    # itself).
    for tag, op in enumerate(program):
        if op[0] == "run":
            await asyncio.sleep(op[1])
        else:
            _apply(world, tag, op)
    if world.ending == "drain":
        await _drain(world)


def _state(fut: asyncio.Future[Any], tag: int) -> str:
    if not fut.done():
        return "pending"
    if fut.cancelled():
        return "cancelled"
    if fut.exception() is not None:
        return f"exception {fut.exception()!r}"
    return "result" if fut.result() == tag else f"wrong result {fut.result()!r}"


def _snapshot(world: _World) -> dict[str, Any]:
    """Everything close() must freeze."""
    return {
        "ran": dict(world.ran),
        "tasks": {tag: _state(t, tag) for tag, t in world.tasks},
        "futures": {tag: _state(f, tag) for tag, f in world.futures},
        "wrapped": {
            tag: (_state(fut, tag), _state(task, tag))
            for tag, (_, fut, task) in world.wrapped.items()
        },
    }


def _outcome_of(apply: Callable[[], object]) -> str:
    try:
        apply()
    except RuntimeError as exc:
        return f"RuntimeError: {exc}"
    return NO_OP


def _wait_for_greenthreads(world: _World) -> None:
    """Greenthreads outlive the loop; let them end (refused, killed, or their
    work done).  Bounded: one still running after this is a hang, and fails
    the example instead of hanging the suite.  (A function of its own, so that
    no local variable keeps the last greenthread alive afterwards.)"""
    for _, gt in world.greenthreads:
        try:
            with eventlet.Timeout(HANG_BOUND):
                gt.wait()
        except greenlet.GreenletExit:
            pass  # killed ones
        except eventlet.Timeout:
            world.hung.append(f"{gt!r} still running after close()")
            gt.kill()


def _run_program(program: list[tuple[Any, ...]], ending: str) -> _World:
    loop = aioeventlet.new_event_loop()
    world = _World(loop)
    loop.set_exception_handler(lambda _l, ctx: world.handler.append(ctx))
    closes = [tag for tag, op in enumerate(program) if op[0] == "close"]
    world.closed_at = closes[0] if closes else len(program)
    world.ending = program[closes[0]][1] if closes else ending
    try:
        loop.run_until_complete(_program(world, program[: world.closed_at]))
    finally:
        loop.close()
    world.at_close = _snapshot(world)
    for tag in range(world.closed_at + 1, len(program)):
        op = program[tag]
        world.after_close[tag] = (
            op[0],
            _outcome_of(functools.partial(_apply, world, tag, op)),
        )
    _wait_for_greenthreads(world)
    # A planned killer (spawn_after) that a "kill" op killed before it started
    # leaves eventlet's own start timer on the hub until its time (at most the
    # longest delay): let it pass; it is not the loop's.
    eventlet.sleep(max(DELAY_VALUES))
    world.at_end = _snapshot(world)
    # Tasks still pending at close() are reported when collected, each once:
    # none is silently lost.
    world.pending_at_close = sum(
        state == "pending" for state in world.at_close["tasks"].values()
    ) + sum(task == "pending" for _, task in world.at_close["wrapped"].values())
    world.tasks.clear()
    world.wrapped.clear()
    # What the checks need of the greenthreads; then let go of them too: a
    # greenthread killed inside a wrapped body keeps its traceback (for
    # wait()), whose frames hold its future and, through it, the awaiting
    # task, which could then not be collected and reported.
    world.green_tags = {tag for tag, _ in world.greenthreads if tag >= 0}
    world.yielders_dead = {tag: gt.dead for tag, gt in world.yielders.items()}
    world.wrapped_dead = {tag: gt.dead for tag, gt in world.wrapped_gts.items()}
    world.wrapped_kill_targeted = {
        tag
        for tag, gt in world.wrapped_gts.items()
        if any(gt is target for target in world.kill_targets)
    }
    world.greenthreads.clear()
    world.yielders.clear()
    world.wrapped_gts.clear()
    world.kill_targets.clear()
    # A task that never got its first step also leaves its coroutine never
    # awaited: Python says so, once per coroutine.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
        # The handler's contexts hold the destroyed tasks: let them go.
        world.messages = [ctx["message"] for ctx in world.handler]
        world.handler.clear()
        gc.collect()
    world.never_awaited = [w for w in caught if "was never awaited" in str(w.message)]
    assert len(world.never_awaited) == len(caught), [str(w.message) for w in caught]
    assert len(world.never_awaited) <= world.pending_at_close, [
        (str(w.message), w.source) for w in world.never_awaited
    ]
    return world


def _check_callbacks(world: _World) -> None:
    ran_at_close: dict[int, int] = world.at_close["ran"]
    assert all(n == 1 for n in world.ran.values()), world.ran
    assert not (set(world.ran) & world.cancelled)
    # call_soon callbacks run in the order they were scheduled.
    assert world.soon_order == sorted(world.soon_order)
    green_tags = world.green_tags
    callbacks = {tag for tag, _ in world.handles}
    unrun = callbacks - world.cancelled - set(world.ran)
    if world.ending == "drain":
        assert not unrun, f"callbacks never run after a drain: {unrun}"
    # What an abrupt close dropped is all that is missing, and nothing ran
    # once the loop was closed.
    assert set(ran_at_close) == set(world.ran)
    dropped = world.green_scheduled - set(world.ran)
    for tag in green_tags:
        ends = [
            tag in world.ran,
            tag in world.killed,
            tag in world.refused,
            tag in dropped,
        ]
        assert sum(ends) == 1, (tag, ends)
        if tag in dropped:
            assert world.ending == "abrupt", (tag, "dropped by a drained close")


def _check_settlement(world: _World) -> None:
    """Every task and future settles, or is named with the reason it cannot;
    and close() froze them all."""
    drained = world.ending == "drain"
    for what, at_close in world.at_close.items():
        # (What was created after close() is checked below.)
        at_end = {key: world.at_end[what][key] for key in at_close}
        assert at_end == at_close, f"{what} changed after close()"
    for tag, state in world.at_close["tasks"].items():
        assert state in ("result", "cancelled", "pending"), (tag, state)
        if drained:
            assert state != "pending", (tag, "pending after a drain")
    for tag, state in world.at_end["futures"].items():
        settler = world.settlers.get(tag, "settler killed")
        if state == "pending":
            reason = UNSETTLED_BY_DESIGN[settler]
            # After a drain, only a killed settler or one that woke after
            # close() leaves its future pending.
            assert not (drained and settler == "scheduled"), (tag, reason)
        else:
            assert (state, settler) == ("result", "scheduled"), (tag, state, settler)
    for tag, (state, task_state) in world.at_close["wrapped"].items():
        assert world.wrapped_dead[tag]
        assert world.wrapped_finished[tag] <= 1
        if state == "result":
            assert world.wrapped_finished[tag] == 1
        if state == "cancelled":
            # Cancelling the future killed the greenthread before it finished.
            assert world.wrapped_finished[tag] == 0, tag
        assert state in ("result", "cancelled", "pending"), state
        if drained:
            assert state != "pending"
            assert task_state in ("result", "cancelled"), task_state


def _check_green_after_close(world: _World) -> None:
    """What close() does to greenthreads: it wakes those parked in
    yield_future() with a RuntimeError, refuses later calls, and kills
    nothing (a wrapped greenthread still running finishes its work)."""
    for tag, dead in world.yielders_dead.items():
        ends = world.yield_ends[tag]
        if not ends and dead and tag in world.yield_kill_planned:
            ends = ["killed"]  # killed before it started: nothing to say
        assert len(ends) == 1, (tag, ends)
        end = ends[0]
        if end == "killed":
            assert tag in world.yield_kill_planned
        elif end.startswith("refused while waiting"):
            # Parked when the loop closed: only an abrupt close does that.
            assert world.ending == "abrupt"
            assert "the event loop was closed while this greenthread waited" in end
        elif end.startswith("refused after close"):
            assert end == f"refused after close: {REFUSED.split(': ', 1)[1]}"
        else:
            assert end == "result", end
    # Killing a waiter cancels its task: a coroutine still running then is
    # cancelled (or closed before its first step), never run to its end.
    # Refused or not, every coroutine handed to yield_future() ends closed.
    for tag, coro in world.yield_coros.items():
        fate = world.yield_fates.get(tag)
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED, (tag, fate)
        if world.yield_fate_when_killed.get(tag, "finished") != "finished":
            assert fate in ("cancelled", None), (tag, "killed, but its task ran on")
    for tag, (state, _) in world.at_close["wrapped"].items():
        if state == "pending" and tag not in world.wrapped_kill_targeted:
            assert world.wrapped_finished[tag] == 1, (tag, "close() stopped it")


def _check(world: _World) -> None:
    assert world.loop.is_closed()
    assert world.hung == []
    assert hub_leftovers() == {}, "the hub is not empty after close()"
    for tag, (kind, outcome) in world.after_close.items():
        assert outcome in AFTER_CLOSE[kind], (tag, kind, outcome)
    _check_callbacks(world)
    _check_settlement(world)
    _check_green_after_close(world)
    assert world.messages == (
        ["Task was destroyed but it is pending!"] * world.pending_at_close
    )


_examples = Counter[str]()


@settings(
    max_examples=size(120, 2_000),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@hypothesis_seed(seed())
@given(PROGRAMS)
def _property(program_and_ending: tuple[list[tuple[Any, ...]], str]) -> None:
    program, ending = program_and_ending
    world = _run_program(program, ending)
    _examples["programs"] += 1
    # A program without a close() of its own gets one at the end.
    _examples["operations"] += len(program) + all(op[0] != "close" for op in program)
    _examples["after close"] += len(world.after_close)
    _examples["refused after close"] += sum(
        outcome == REFUSED for _, outcome in world.after_close.values()
    )
    _examples["hung"] += bool(world.hung)
    _examples["unsettled by design"] += sum(
        state == "pending" for state in world.at_end["futures"].values()
    )
    try:
        _check(world)
    except AssertionError:
        _examples["lost"] += 1
        raise


@pytest.mark.timeout(size(120, 1800))
def test_random_schedule_cancel_kill_close(no_leaks: Recorder) -> None:
    _examples.clear()
    try:
        _property()
    finally:
        # Counted whether or not the property held (hypothesis runs a failing
        # example several times while shrinking it; each counts).
        no_leaks(
            "property",
            "random programs of call_soon/call_later/call_at/cancel/task/cancel "
            "task/green future/green call/kill/yield_future/wrap_greenthread/run"
            "/close, close() anywhere (drained or abrupt) and operations after "
            f"it; lost: programs that broke an invariant; "
            f"{_examples['unsettled by design']} futures left pending by design",
            _examples["programs"],
            "programs",
            lost=_examples["lost"],
            hung=_examples["hung"],
        )
        no_leaks(
            "property",
            f"operations in those programs ({_examples['after close']} after "
            f"close(), {_examples['refused after close']} of them refused with "
            f"RuntimeError, the rest no-ops, as on stock asyncio)",
            _examples["operations"],
            "operations",
            lost=_examples["lost"],
            hung=_examples["hung"],
        )
    assert _examples["programs"] > 0
    assert _examples["after close"] > 0, "no program had operations after close()"


def test_operations_after_close_as_on_stock_asyncio(
    loop: asyncio.AbstractEventLoop,
    handler_calls: ExceptionHandlerCalls,
    no_leaks: Recorder,
) -> None:
    """The operations of AFTER_CLOSE on a closed loop, in each state the
    property test can reach: the same outcome on both loops, and one
    AFTER_CLOSE allows."""
    handler_calls.expect()

    async def quick() -> int:
        return 1

    async def waits() -> None:
        await asyncio.sleep(3600)

    waiting = loop.create_task(waits())
    done = loop.create_task(quick())
    loop.run_until_complete(asyncio.sleep(0.01))
    not_started = loop.create_task(quick())
    handle = loop.call_later(3600, lambda: None)
    loop.close()

    def create_task() -> None:
        coro = quick()
        try:
            loop.create_task(coro)
        finally:
            coro.close()

    def run() -> None:
        loop.run_until_complete(loop.create_future())

    ops: list[tuple[str, str, Callable[[], object]]] = [
        ("soon", "call_soon", lambda: loop.call_soon(lambda: None)),
        ("later", "call_later", lambda: loop.call_later(0, lambda: None)),
        ("at", "call_at", lambda: loop.call_at(loop.time(), lambda: None)),
        ("task", "create_task", create_task),
        ("run", "run_until_complete", run),
        ("cancel", "handle.cancel()", handle.cancel),
        ("green_future", "create_future", loop.create_future),
        ("close", "close() again", loop.close),
        ("cancel_task", "cancel a task waiting on a future", waiting.cancel),
        ("cancel_task", "cancel that task again", waiting.cancel),
        ("cancel_task", "cancel a task before its first step", not_started.cancel),
        ("cancel_task", "cancel a done task", done.cancel),
    ]
    got = {name: _outcome_of(op) for _, name, op in ops}
    not_started.get_coro().close()  # never started: no "never awaited" warning
    allowed = {name: AFTER_CLOSE[kind] for kind, name, _ in ops}
    # The tasks still pending are reported when collected (ops holds them).
    del waiting, not_started, done, ops
    gc.collect()
    no_leaks(
        "fault",
        "operations on a closed loop, in each state the property test reaches",
        len(allowed),
        "operations",
        lost=sum(got[name] not in allowed[name] for name in allowed),
        hung=len(allowed) - len(got),  # an operation that never returned
    )
    assert got == {
        "call_soon": REFUSED,
        "call_later": REFUSED,
        "call_at": REFUSED,
        "create_task": REFUSED,
        "run_until_complete": REFUSED,
        "handle.cancel()": NO_OP,
        "create_future": NO_OP,
        "close() again": NO_OP,
        "cancel a task waiting on a future": REFUSED,
        "cancel that task again": NO_OP,
        "cancel a task before its first step": NO_OP,
        "cancel a done task": NO_OP,
    }
    assert [c["message"] for c in handler_calls] == [
        "Task was destroyed but it is pending!"
    ] * 2
