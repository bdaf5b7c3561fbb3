"""Property-based: random sequences of schedule/cancel/kill/run/close operations.

Hypothesis draws a program of operations on one aioeventlet loop: callbacks
(call_soon, call_later, call_at), cancels, tasks and task cancels, futures
completed by greenthreads, greenthreads that call back into the loop and
kills of them, short runs of the loop, and a close at the end (after a drain,
or abruptly).  Whatever the sequence, the invariants hold:

* every callback that was not cancelled before it ran runs exactly once; a
  cancelled one never runs; call_soon callbacks run in the order scheduled;
* every task and future settles (after a drain);
* every greenthread's call ends in exactly one way: it ran, it was killed
  first, or the loop was already closed and refused it (never silently lost);
* the hub ends empty: no listener and no timer is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import eventlet
import greenlet
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

import aioeventlet

from .conftest import hub_leftovers
from .stress._support import Recorder, reliability, seed, size

__all__ = ["reliability"]

pytestmark = pytest.mark.stress


@pytest.fixture(autouse=True)
def no_leaks(reliability: Recorder) -> Recorder:
    return reliability


DELAYS = st.sampled_from([0.0, 0.0005, 0.002, 0.01])

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
)

PROGRAMS = st.tuples(st.lists(OPS, max_size=40), st.sampled_from(["drain", "abrupt"]))


@dataclass
class _World:
    loop: aioeventlet.EventLoop
    ran: Counter[int] = field(default_factory=Counter)
    soon_order: list[int] = field(default_factory=list)
    soon_tags: set[int] = field(default_factory=set)
    handles: list[tuple[int, asyncio.Handle]] = field(default_factory=list)
    cancelled: set[int] = field(default_factory=set)
    tasks: list[tuple[int, asyncio.Task[int]]] = field(default_factory=list)
    futures: list[asyncio.Future[int]] = field(default_factory=list)
    greenthreads: list[tuple[int, Any]] = field(default_factory=list)
    killed: set[int] = field(default_factory=set)
    refused: set[int] = field(default_factory=set)
    green_ran: Counter[int] = field(default_factory=Counter)
    handler: list[dict[str, Any]] = field(default_factory=list)
    pending_at_close = 0
    messages: list[str] = field(default_factory=list)
    never_awaited: list[Any] = field(default_factory=list)

    def record(self, tag: int) -> None:
        self.ran[tag] += 1
        if tag in self.soon_tags:
            self.soon_order.append(tag)


async def _sleep_then(delay: float, tag: int) -> int:
    await asyncio.sleep(delay)
    return tag


def _apply(world: _World, tag: int, op: tuple[Any, ...]) -> None:
    loop = world.loop
    kind = op[0]
    if kind == "soon":
        world.soon_tags.add(tag)
        world.handles.append((tag, loop.call_soon(world.record, tag)))
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
        world.tasks.append((tag, loop.create_task(_sleep_then(op[1], tag))))
    elif kind == "cancel_task" and world.tasks:
        world.tasks[op[1] % len(world.tasks)][1].cancel()
    elif kind == "green_future":
        fut: asyncio.Future[int] = loop.create_future()
        world.futures.append(fut)

        def settle(fut: asyncio.Future[int] = fut, delay: float = op[1]) -> None:
            eventlet.sleep(delay)
            if not loop.is_closed():
                # Completed through the loop, as another greenthread must.
                loop.call_soon(fut.set_result, tag)

        world.greenthreads.append((-1, eventlet.spawn(settle)))
    elif kind == "green_call":

        def call(delay: float = op[1]) -> None:
            eventlet.sleep(delay)
            try:
                loop.call_soon(world.record, tag)
            except RuntimeError:
                world.refused.add(tag)  # the loop was closed: said so
            world.green_ran[tag] += 1

        world.greenthreads.append((tag, eventlet.spawn(call)))
    elif kind == "kill" and world.greenthreads:
        victim, gt = world.greenthreads[op[1] % len(world.greenthreads)]
        if victim >= 0 and world.green_ran[victim] == 0:
            world.killed.add(victim)
        gt.kill()
    elif kind == "run":
        loop.run_until_complete(asyncio.sleep(op[1]))


def _drain(world: _World) -> None:
    """Run until every greenthread ended and every task, future and timer
    that can still fire has."""
    loop = world.loop

    async def settle() -> None:
        while any(not gt.dead for _, gt in world.greenthreads):
            await asyncio.sleep(0.001)
        await asyncio.gather(*(t for _, t in world.tasks), return_exceptions=True)
        await asyncio.sleep(0)  # set_result calls the last settlers scheduled
        for fut in world.futures:
            if not fut.done():  # a killed settler: nobody will complete it
                fut.cancel()
        await asyncio.gather(*world.futures, return_exceptions=True)
        # Every timer still scheduled is due within the longest delay.
        await asyncio.sleep(0.02)

    loop.run_until_complete(settle())


def _check(world: _World, program: list[tuple[Any, ...]], ending: str) -> None:
    loop = world.loop
    assert loop.is_closed()
    assert hub_leftovers() == {}, "the hub is not empty after close()"
    assert all(n == 1 for n in world.ran.values()), world.ran
    assert not (set(world.ran) & world.cancelled)
    # call_soon callbacks run in the order they were scheduled.
    assert world.soon_order == sorted(world.soon_order)
    green_tags = {tag for tag, _ in world.greenthreads if tag >= 0}
    for tag in green_tags:
        outcomes = (tag in world.ran) + (tag in world.killed) + (tag in world.refused)
        if ending == "drain":
            assert outcomes == 1, (tag, program)
        else:
            # After an abrupt close a greenthread may still be asleep: it will
            # be refused when it wakes; it must never be counted twice.
            assert outcomes <= 1, (tag, program)
    if ending == "drain":
        callbacks = {tag for tag, _ in world.handles}
        assert callbacks - world.cancelled == set(world.ran) - green_tags
        assert all(t.done() for _, t in world.tasks)
        for tag, task in world.tasks:
            assert task.cancelled() or task.result() == tag
        assert all(f.done() for f in world.futures)


def _run_program(program: list[tuple[Any, ...]], ending: str) -> _World:
    loop = aioeventlet.new_event_loop()
    world = _World(loop)
    loop.set_exception_handler(lambda _l, ctx: world.handler.append(ctx))
    try:
        for tag, op in enumerate(program):
            _apply(world, tag, op)
        if ending == "drain":
            _drain(world)
    finally:
        loop.close()
    if ending == "abrupt":
        # Greenthreads outlive the loop; let them end (refused or killed).
        for _, gt in world.greenthreads:
            with contextlib.suppress(greenlet.GreenletExit):  # killed ones
                gt.wait()
        # Tasks still pending at close() are reported when collected, each
        # once: none is silently lost.
        world.pending_at_close = sum(not t.done() for _, t in world.tasks)
        world.tasks.clear()
        # A task that never got its first step also leaves its coroutine
        # never awaited: Python says so, once per coroutine.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
            # The handler's contexts hold the destroyed tasks: let them go.
            world.messages = [ctx["message"] for ctx in world.handler]
            world.handler.clear()
            gc.collect()
        world.never_awaited = [
            w for w in caught if "was never awaited" in str(w.message)
        ]
        assert len(world.never_awaited) == len(caught), [str(w.message) for w in caught]
        assert len(world.never_awaited) <= world.pending_at_close, [
            (str(w.message), w.source) for w in world.never_awaited
        ]
    return world


_examples = {"programs": 0, "operations": 0}


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
    _check(world, program, ending)
    messages = world.messages + [ctx["message"] for ctx in world.handler]
    assert (
        messages == ["Task was destroyed but it is pending!"] * world.pending_at_close
    )
    _examples["programs"] += 1
    _examples["operations"] += len(program) + 1


def test_random_schedule_cancel_kill_close(no_leaks: Recorder) -> None:
    _examples.update(programs=0, operations=0)
    _property()
    no_leaks(
        "property",
        "random programs of call_soon/call_later/call_at/cancel/task/cancel task/"
        "green future/green call/kill/run, then drain or abrupt close",
        _examples["programs"],
        "programs",
    )
    no_leaks(
        "property",
        "operations in those programs",
        _examples["operations"],
        "operations",
    )
    assert _examples["programs"] > 0
