"""Bad input: wrong types, wrong states and odd values for every public entry.

Each case runs on stock asyncio and on aioeventlet; where asyncio has an error
for it, aioeventlet must raise the same exception with the same message
(stock is the oracle), and where it accepts the value (NaN or infinite
delays, say) aioeventlet must behave the same.  Cases only aioeventlet has
(other OS thread, hub greenlet, the CLI, the bridges, the pytest plugin) and
the few places where it refuses what asyncio accepts (slow_callback_duration)
check that the error names the problem and what to do.  Counts go to
docs/reliability.md (see tests/stress/_support.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import gc
import logging
import math
import os
import re
import selectors
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import eventlet
import eventlet.hubs
import greenlet
import pytest

import aioeventlet
from aioeventlet import _hub

from .stress._support import Recorder, reliability

__all__ = ["reliability"]


@pytest.fixture(autouse=True)
def no_leaks(reliability: Recorder) -> Recorder:
    return reliability


Outcome = tuple[str, str]  # (exception type name or "ok", message or result)


@dataclass
class Case:
    name: str
    run: Callable[[asyncio.AbstractEventLoop], object]
    # A fragment the error message must contain on aioeventlet, if any, on
    # top of being asyncio's own message.
    says: str | None = None
    closed: bool = False  # run on a closed loop
    debug: bool = False
    # Python 3.10's asyncio only asserts here (gone under -O); 3.11+ raises
    # this type, which aioeventlet raises on every version, with 3.11's
    # message (so *says* must be given).
    asserts_on_310: str | None = None
    # Applied to both messages before comparing them: for the parts that
    # differ from run to run (a port number, say).
    normalize: Callable[[str], str] | None = None


def _outcome(
    factory: Callable[[], asyncio.AbstractEventLoop], case: Case
) -> tuple[Outcome, list[dict[str, Any]]]:
    loop = factory()
    handler: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _l, ctx: handler.append(ctx))
    loop.set_debug(case.debug)
    if case.closed:
        loop.close()
    try:
        result = case.run(loop)
        outcome: Outcome = ("ok", repr(result) if not callable(result) else "callable")
    except Exception as exc:
        outcome = (type(exc).__name__, str(exc))
    finally:
        loop.close()
    return outcome, handler


def _compare(cases: list[Case]) -> list[str]:
    """Run each case on both loops; describe each disagreement: of exception
    type, of message (or result), of what reached the exception handler."""
    problems = []
    for case in cases:
        stock, stock_handler = _outcome(asyncio.SelectorEventLoop, case)
        ours, our_handler = _outcome(aioeventlet.new_event_loop, case)
        stock_asserted = (
            sys.version_info < (3, 11)
            and stock[0] == "AssertionError"
            and case.asserts_on_310 is not None
        )
        if stock_asserted:
            # No message of asyncio's to compare with: *says* stands for it.
            assert case.asserts_on_310 is not None
            stock = (case.asserts_on_310, ours[1])
        normalize = case.normalize or (lambda message: message)
        if stock[0] != ours[0]:
            problems.append(f"{case.name}: asyncio {stock}, aioeventlet {ours}")
        elif normalize(stock[1]) != normalize(ours[1]):
            problems.append(
                f"{case.name}: asyncio gave {stock[1]!r}, aioeventlet {ours[1]!r}"
            )
        if case.says is not None and case.says not in ours[1]:
            problems.append(f"{case.name}: message {ours[1]!r} lacks {case.says!r}")
        stock_msgs = sorted(c["message"] for c in stock_handler)
        our_msgs = sorted(c["message"] for c in our_handler)
        if stock_msgs != our_msgs:
            problems.append(
                f"{case.name}: handler calls differ: {stock_msgs} vs {our_msgs}"
            )
    return problems


def _noop() -> None:
    pass


async def _coro() -> int:
    await asyncio.sleep(0)
    return 1


def _closing(coro: Any) -> Any:
    """A coroutine object that the case will refuse: close it afterwards so
    no never-awaited warning is left (that is another test's business)."""
    _made.append(coro)
    return coro


_made: list[Any] = []


@pytest.fixture(autouse=True)
def _close_refused_coroutines() -> Any:
    yield
    while _made:
        _made.pop().close()


def _run_soon(loop: asyncio.AbstractEventLoop, schedule: Callable[[], object]) -> str:
    """Schedule something, then run the loop briefly; report what ran."""
    ran: list[str] = []
    schedule_result = schedule()
    loop.call_later(0.02, ran.append, "later")
    loop.run_until_complete(asyncio.sleep(0.03))
    if isinstance(schedule_result, asyncio.Handle):
        schedule_result.cancel()
    return f"ran={ran}"


def _timer_fired(loop: asyncio.AbstractEventLoop, delay: float) -> str:
    fired: list[float] = []
    handle = loop.call_later(delay, fired.append, 1.0)
    loop.run_until_complete(asyncio.sleep(0.02))
    handle.cancel()
    return f"fired={fired}"


def _at_fired(loop: asyncio.AbstractEventLoop, when: float) -> str:
    fired: list[float] = []
    handle = loop.call_at(when, fired.append, 1.0)
    loop.run_until_complete(asyncio.sleep(0.02))
    handle.cancel()
    return f"fired={fired}"


def _closed_fd() -> int:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    return r


# -- scheduling: wrong types and odd delays --------------------------------------------

SCHEDULING = [
    Case(
        "call_soon(42) in debug",
        lambda lp: lp.call_soon(42),  # type: ignore[arg-type]
        debug=True,
        says="a callable object was expected",
    ),
    Case(
        "call_later(0, 42) in debug",
        lambda lp: lp.call_later(0, 42),  # type: ignore[arg-type]
        debug=True,
        says="a callable object was expected",
    ),
    Case("call_at(0, 42) in debug", lambda lp: lp.call_at(0, 42), debug=True),  # type: ignore[arg-type]
    Case(
        "call_soon(coroutine function) in debug",
        lambda lp: lp.call_soon(_coro),
        debug=True,
        says="coroutines cannot be used",
    ),
    Case(
        "call_soon(42) without debug: the handler hears of it",
        lambda lp: _run_soon(lp, lambda: lp.call_soon(42)),  # type: ignore[arg-type]
    ),
    Case("call_later('1', f)", lambda lp: lp.call_later("1", _noop)),  # type: ignore[arg-type]
    Case("call_later(None, f)", lambda lp: lp.call_later(None, _noop)),  # type: ignore[arg-type]
    Case(
        "call_at(None, f)",
        lambda lp: lp.call_at(None, _noop),  # type: ignore[arg-type]
        asserts_on_310="TypeError",
        says="when cannot be None",
    ),
    Case("call_later(-1, f)", lambda lp: _timer_fired(lp, -1)),
    Case("call_later(-1e308, f)", lambda lp: _timer_fired(lp, -1e308)),
    Case("call_later(nan, f)", lambda lp: _timer_fired(lp, math.nan)),
    Case("call_later(inf, f)", lambda lp: _timer_fired(lp, math.inf)),
    Case("call_later(-inf, f)", lambda lp: _timer_fired(lp, -math.inf)),
    Case("call_later(1e300, f)", lambda lp: _timer_fired(lp, 1e300)),
    Case("call_later(2**100, f)", lambda lp: _timer_fired(lp, 2**100)),
    Case("call_at(nan, f)", lambda lp: _at_fired(lp, math.nan)),
    Case("call_at(inf, f)", lambda lp: _at_fired(lp, math.inf)),
    Case("call_at(0, f): long past", lambda lp: _at_fired(lp, 0)),
    Case(
        "call_soon(f, context=42)",
        lambda lp: _run_soon(
            lp,
            lambda: lp.call_soon(_noop, context=42),  # type: ignore[arg-type]
        ),
    ),
    Case(
        "asyncio.sleep(nan) on the loop",
        lambda lp: lp.run_until_complete(asyncio.sleep(math.nan)),
    ),
    Case(
        "asyncio.sleep(-5) on the loop",
        lambda lp: lp.run_until_complete(asyncio.sleep(-5)),
    ),
    Case(
        "asyncio.wait_for(..., timeout=nan)",
        lambda lp: lp.run_until_complete(asyncio.wait_for(_coro(), math.nan)),
    ),
    Case("set_exception_handler(42)", lambda lp: lp.set_exception_handler(42)),  # type: ignore[arg-type]
    Case("create_task(42)", lambda lp: lp.create_task(42)),  # type: ignore[arg-type]
    Case("run_until_complete(42)", lambda lp: lp.run_until_complete(42)),  # type: ignore[arg-type]
    Case(
        "run_until_complete(future of another loop)",
        lambda lp: lp.run_until_complete(_foreign_future()),
    ),
    Case(
        "call_soon_threadsafe(42) in debug",
        lambda lp: lp.call_soon_threadsafe(42),  # type: ignore[arg-type]
        debug=True,
    ),
]


def _foreign_future() -> asyncio.Future[None]:
    other = asyncio.SelectorEventLoop()
    fut = other.create_future()
    other.close()
    return fut


def test_scheduling_bad_input(no_leaks: Recorder) -> None:
    problems = _compare(SCHEDULING)
    no_leaks(
        "bad input",
        "scheduling: non-callables, wrong types, NaN/inf/negative/"
        "huge delays (vs stock asyncio)",
        len(SCHEDULING),
        "cases",
        lost=len(problems),
    )
    assert problems == []


# -- file descriptors ------------------------------------------------------------------


def _with_pipe(action: Callable[[asyncio.AbstractEventLoop, int, int], object]) -> Any:
    def run(loop: asyncio.AbstractEventLoop) -> object:
        r, w = os.pipe()
        try:
            return action(loop, r, w)
        finally:
            if not loop.is_closed():
                loop.remove_reader(r)
                loop.remove_writer(w)
            os.close(r)
            os.close(w)

    return run


def _blocking_recv(loop: asyncio.AbstractEventLoop) -> object:
    a, b = socket.socketpair()
    try:
        coro = loop.sock_recv(a, 10)
        return loop.run_until_complete(coro)
    finally:
        a.close()
        b.close()


FDS = [
    Case("add_reader(-1)", lambda lp: lp.add_reader(-1, _noop), says="Invalid file"),
    Case("add_writer(-1)", lambda lp: lp.add_writer(-1, _noop), says="Invalid file"),
    Case("add_reader('x')", lambda lp: lp.add_reader("x", _noop)),  # type: ignore[arg-type]
    Case("add_reader(1.5)", lambda lp: lp.add_reader(1.5, _noop)),  # type: ignore[arg-type]
    Case("add_reader(None)", lambda lp: lp.add_reader(None, _noop)),  # type: ignore[arg-type]
    Case("add_reader(closed fd)", lambda lp: lp.add_reader(_closed_fd(), _noop)),
    Case("add_reader(2**20): never opened", lambda lp: lp.add_reader(2**20, _noop)),
    Case("add_reader(2**40)", lambda lp: lp.add_reader(2**40, _noop)),
    Case("add_writer(2**70)", lambda lp: lp.add_writer(2**70, _noop)),
    Case("remove_reader(-1)", lambda lp: lp.remove_reader(-1)),
    Case(
        "remove_reader(never added)", _with_pipe(lambda lp, r, w: lp.remove_reader(r))
    ),
    Case("remove_writer('x')", lambda lp: lp.remove_writer("x")),  # type: ignore[arg-type]
    Case(
        "add_reader(fd, 42) in debug",
        _with_pipe(lambda lp, r, w: lp.add_reader(r, 42)),  # type: ignore[arg-type]
        debug=True,
    ),
    Case(
        "add_reader twice on one fd replaces the callback",
        _with_pipe(lambda lp, r, w: (lp.add_reader(r, _noop), lp.add_reader(r, _noop))),
    ),
    Case(
        "add_reader on a write-only pipe end",
        _with_pipe(lambda lp, r, w: lp.add_reader(w, _noop)),
    ),
    Case(
        "sock_recv on a blocking socket in debug",
        _blocking_recv,
        debug=True,
        says="the socket must be non-blocking",
    ),
    Case("sock_recv(42, 10)", lambda lp: lp.run_until_complete(lp.sock_recv(42, 10))),  # type: ignore[arg-type]
    Case(
        "sock_connect to a closed port",
        lambda lp: lp.run_until_complete(_connect_refused(lp)),
        # Each run probes a port of its own.
        normalize=lambda message: re.sub(r", \d+\)$", ", <port>)", message),
    ),
    Case(
        "create_connection(port=-1)",
        lambda lp: lp.run_until_complete(
            lp.create_connection(asyncio.Protocol, "127.0.0.1", -1)
        ),
    ),
    Case(
        "create_server(port=70000)",
        lambda lp: lp.run_until_complete(
            lp.create_server(asyncio.Protocol, "127.0.0.1", 70000)
        ),
    ),
]


async def _connect_refused(loop: asyncio.AbstractEventLoop) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    sock = socket.socket()
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
    finally:
        sock.close()


def test_fd_bad_input(no_leaks: Recorder) -> None:
    problems = _compare(FDS)
    no_leaks(
        "bad input",
        "fds and sockets: -1, closed, huge, wrong types, blocking "
        "sockets (vs stock asyncio)",
        len(FDS),
        "cases",
        lost=len(problems),
    )
    assert problems == []


# -- wrong states ----------------------------------------------------------------------


async def _close_while_running() -> None:
    asyncio.get_running_loop().close()


def _nested_run(loop: asyncio.AbstractEventLoop) -> object:
    async def outer() -> object:
        coro = _coro()
        try:
            return loop.run_until_complete(coro)
        finally:
            coro.close()

    return loop.run_until_complete(outer())


def _threadsafe_from_thread_in_debug(loop: asyncio.AbstractEventLoop) -> object:
    errors: list[BaseException] = []

    async def main() -> None:
        def other() -> None:
            try:
                loop.call_soon(_noop)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.005)
        thread.join()

    loop.run_until_complete(main())
    if errors:
        raise errors[0]
    return None


STATES = [
    Case(
        "call_soon on a closed loop",
        lambda lp: lp.call_soon(_noop),
        closed=True,
        says="Event loop is closed",
    ),
    Case(
        "call_later on a closed loop", lambda lp: lp.call_later(1, _noop), closed=True
    ),
    Case("call_at on a closed loop", lambda lp: lp.call_at(1, _noop), closed=True),
    Case(
        "call_soon_threadsafe on a closed loop",
        lambda lp: lp.call_soon_threadsafe(_noop),
        closed=True,
    ),
    Case("run_forever on a closed loop", lambda lp: lp.run_forever(), closed=True),
    Case(
        "run_until_complete on a closed loop",
        lambda lp: lp.run_until_complete(_closing(_coro())),
        closed=True,
    ),
    Case(
        "create_task on a closed loop",
        lambda lp: lp.create_task(_closing(_coro())),
        closed=True,
    ),
    Case(
        "add_reader on a closed loop",
        _with_pipe(lambda lp, r, w: lp.add_reader(r, _noop)),
        closed=True,
    ),
    Case(
        "add_writer on a closed loop",
        _with_pipe(lambda lp, r, w: lp.add_writer(w, _noop)),
        closed=True,
    ),
    Case(
        "remove_reader on a closed loop",
        _with_pipe(lambda lp, r, w: lp.remove_reader(r)),
        closed=True,
    ),
    Case("stop on a closed loop", lambda lp: lp.stop(), closed=True),
    Case("close twice", lambda lp: lp.close(), closed=True),
    Case("time on a closed loop", lambda lp: type(lp.time()).__name__, closed=True),
    Case(
        "create_future on a closed loop",
        lambda lp: type(lp.create_future()).__name__,
        closed=True,
    ),
    Case(
        "close() while running",
        lambda lp: lp.run_until_complete(_close_while_running()),
        says="Cannot close a running event loop",
    ),
    Case(
        "run_until_complete inside run_until_complete",
        _nested_run,
        says="already running",
    ),
    Case(
        "call_soon from another OS thread in debug",
        _threadsafe_from_thread_in_debug,
        debug=True,
        says="Non-thread-safe operation",
    ),
    Case(
        "shutdown_asyncgens twice",
        lambda lp: [lp.run_until_complete(lp.shutdown_asyncgens()) for _ in "ab"],
    ),
]


def test_wrong_states(no_leaks: Recorder) -> None:
    problems = _compare(STATES)
    no_leaks(
        "bad input",
        "wrong states: closed loop, running loop, wrong thread (vs stock asyncio)",
        len(STATES),
        "cases",
        lost=len(problems),
    )
    assert problems == []


# -- aioeventlet's own entry points ----------------------------------------------------


def _error(call: Callable[[], object]) -> tuple[str, str]:
    try:
        result = call()
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "ok", repr(result)


def _run_both(make: Callable[[Callable[..., Any]], object]) -> tuple[Any, Any]:
    return _error(lambda: make(asyncio.run)), _error(lambda: make(aioeventlet.run))


def _in_running_loop(runner: Callable[..., Any]) -> object:
    async def outer() -> object:
        coro = _coro()
        try:
            return runner(coro)
        finally:
            coro.close()

    return asyncio.run(outer())


def test_run_bad_input(no_leaks: Recorder) -> None:
    """aioeventlet.run() refuses what asyncio.run() refuses, with the same
    exception and message, and accepts what it accepts."""
    cases: dict[str, Callable[[Callable[..., Any]], object]] = {
        "run(42)": lambda run: run(42),
        "run(None)": lambda run: run(None),
        "run(coroutine function)": lambda run: run(_coro),
        "run(future)": lambda run: run(asyncio.Future),
        "run()": lambda run: run(),
        "run(coro, bogus=1)": lambda run: run(_closing(_coro()), bogus=1),
        "run(coro, 1) (debug is keyword-only)": lambda run: run(_closing(_coro()), 1),
        "run(coro, debug='yes'): any true value": lambda run: run(_coro(), debug="yes"),
    }
    problems = []
    for name, make in cases.items():
        stock, ours = _run_both(make)
        if stock != ours:
            problems.append(f"{name}: asyncio.run {stock}, aioeventlet.run {ours}")
    no_leaks(
        "bad input",
        "aioeventlet.run() with wrong arguments and states (vs asyncio.run)",
        len(cases),
        "cases",
        lost=len(problems),
    )
    assert problems == []


def test_run_inside_running_loop_refuses_cleanly(no_leaks: Recorder) -> None:
    stock, ours = _run_both(_in_running_loop)
    gc.collect()  # a never-awaited coroutine is reported when collected
    assert stock == (
        "RuntimeError",
        "asyncio.run() cannot be called from a running event loop",
    )
    # Its own message: the problem, then what to do instead.
    assert ours[0] == "RuntimeError"
    assert ours[1].startswith(
        "aioeventlet.run() cannot be called from a running event loop: "
        "await the coroutine instead"
    ), ours[1]
    # Reached only when every case above gave the error it should:
    # nothing was lost.
    no_leaks(
        "bad input",
        "aioeventlet.run() inside a running loop",
        1,
        "cases",
        lost=0,
    )


def test_factories_and_policy_bad_input(no_leaks: Recorder) -> None:
    policy_cls = aioeventlet.EventLoopPolicy
    stock_policy_cls = type(asyncio.get_event_loop_policy())

    def policy_in_thread(cls: type) -> tuple[str, str]:
        out: list[tuple[str, str]] = []
        # The same thread name for both: asyncio's message names the thread.
        thread = threading.Thread(
            target=lambda: out.append(_error(lambda: cls().get_event_loop())),
            name="no-loop-here",
        )
        thread.start()
        thread.join()
        return out[0]

    pairs = {
        "new_event_loop(1)": (
            _error(lambda: asyncio.new_event_loop(1)),  # type: ignore[call-arg]
            _error(lambda: aioeventlet.new_event_loop(1)),  # type: ignore[call-arg]
        ),
        "EventLoopPolicy(1)": (
            _error(lambda: stock_policy_cls(1)),  # type: ignore[call-arg]
            _error(lambda: policy_cls(1)),  # type: ignore[call-arg]
        ),
        "policy.set_event_loop(42)": (
            _error(lambda: stock_policy_cls().set_event_loop(42)),  # type: ignore[arg-type]
            _error(lambda: policy_cls().set_event_loop(42)),  # type: ignore[arg-type]
        ),
        "policy.get_event_loop() in a thread without a loop": (
            policy_in_thread(stock_policy_cls),
            policy_in_thread(policy_cls),
        ),
    }
    # Python's own signature errors name the class: the stock policy's there.
    stock_name = f"{stock_policy_cls.__qualname__}.__init__()"
    problems = [
        f"{name}: asyncio {stock}, aioeventlet {ours}"
        for name, (stock, ours) in pairs.items()
        if (stock[0], stock[1].replace(stock_name, "EventLoopPolicy.__init__()"))
        != ours
    ]
    new_loop = policy_cls().new_event_loop()
    is_ours = isinstance(new_loop, aioeventlet.EventLoop)
    new_loop.close()
    no_leaks(
        "bad input",
        "new_event_loop(), EventLoopPolicy with wrong arguments and "
        "threads (vs stock asyncio)",
        len(pairs),
        "cases",
        lost=len(problems),
    )
    assert problems == []
    assert is_ours


def test_aioeventlet_only_states(no_leaks: Recorder) -> None:
    """States stock asyncio has no error for: each error names the problem."""
    messages: dict[str, str] = {}

    loop = aioeventlet.new_event_loop()
    try:
        # A loop run from an OS thread other than its hub's.
        def other_thread() -> None:
            coro = _coro()
            messages["run_until_complete from another OS thread"] = _error(
                lambda: loop.run_until_complete(coro)
            )[1]
            coro.close()
            messages["run_forever from another OS thread"] = _error(loop.run_forever)[1]

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()

        # A loop run inside eventlet's hub greenlet (a hub timer).
        def in_hub() -> None:
            messages["run_forever inside the hub greenlet"] = _error(loop.run_forever)[
                1
            ]

        eventlet.hubs.get_hub().schedule_call_global(0, in_hub)
        eventlet.sleep(0.01)

        # A loop run from another greenthread while it runs.
        async def main() -> None:
            messages["run_forever from another greenthread while running"] = (
                eventlet.spawn(_error, loop.run_forever).wait()[1]
            )

        loop.run_until_complete(main())
    finally:
        loop.close()
    assert set(messages) == {
        "run_until_complete from another OS thread",
        "run_forever from another OS thread",
        "run_forever inside the hub greenlet",
        "run_forever from another greenthread while running",
    }
    assert messages["run_forever from another greenthread while running"] == (
        "This event loop is already running"
    )
    # The problem, then what to do.
    for name in (
        "run_until_complete from another OS thread",
        "run_forever from another OS thread",
    ):
        assert "created in another OS thread" in messages[name]
        assert "Create the loop in the thread that runs it" in messages[name]
    assert (
        "inside eventlet's hub greenlet"
        in messages["run_forever inside the hub greenlet"]
    )
    assert (
        "run it from a greenthread" in messages["run_forever inside the hub greenlet"]
    )
    # Reached only when every case above gave the error it should:
    # nothing was lost.
    no_leaks(
        "bad input",
        "aioeventlet-only states: other OS thread, hub greenlet, other greenthread",
        len(messages),
        "cases",
        lost=0,
    )


# -- EventLoop() -----------------------------------------------------------------------


@contextlib.contextmanager
def _unraisable() -> Iterator[list[str]]:
    """Collect what reaches sys.unraisablehook ("Exception ignored in ...")."""
    seen: list[str] = []
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        seen.append(f"{unraisable.exc_type.__name__}: {unraisable.exc_value}")

    sys.unraisablehook = hook
    try:
        yield seen
        gc.collect()
    finally:
        sys.unraisablehook = previous


# name: (the call, given a selector; what its error must name)
_EVENT_LOOP_CALLS: dict[str, tuple[Callable[[selectors.BaseSelector], object], str]] = {
    "EventLoop(42)": (lambda _sel: aioeventlet.EventLoop(42), "argument"),  # type: ignore[call-arg]
    "EventLoop(None)": (lambda _sel: aioeventlet.EventLoop(None), "argument"),  # type: ignore[call-arg]
    "EventLoop(1, 2)": (lambda _sel: aioeventlet.EventLoop(1, 2), "argument"),  # type: ignore[call-arg]
    "EventLoop(selector=a selector)": (
        lambda sel: aioeventlet.EventLoop(selector=sel),  # type: ignore[call-arg]
        "selector",
    ),
    "EventLoop(debug=True)": (
        lambda _sel: aioeventlet.EventLoop(debug=True),  # type: ignore[call-arg]
        "debug",
    ),
}


def _event_loop_errors() -> tuple[dict[str, tuple[str, str]], list[str]]:
    """EventLoop() with each bad argument list; and what was reported as
    "Exception ignored" meanwhile."""
    got: dict[str, tuple[str, str]] = {}
    with _unraisable() as ignored, selectors.DefaultSelector() as selector:
        for name, (call, _) in _EVENT_LOOP_CALLS.items():
            got[name] = _error(functools.partial(call, selector))
    return got, ignored


def test_event_loop_bad_arguments(no_leaks: Recorder) -> None:
    """EventLoop() takes no argument: it always waits on the hub of the
    calling thread, so unlike asyncio.SelectorEventLoop(selector), which
    takes a selector (a difference by design), it has none to choose; each
    bad call is a TypeError naming the argument."""
    got, _ = _event_loop_errors()
    problems = [
        f"{name}: {got[name]}"
        for name, (_, names) in _EVENT_LOOP_CALLS.items()
        if got[name][0] != "TypeError"
        or "EventLoop" not in got[name][1]
        or names not in got[name][1]
    ]
    assert problems == []
    # Reached only when every case above gave the error it should:
    # nothing was lost.
    no_leaks(
        "bad input",
        "EventLoop() with arguments: positional, selector=, debug=",
        len(got),
        "cases",
        lost=0,
    )


def test_event_loop_bad_arguments_teach_and_leave_no_noise(
    no_leaks: Recorder,
) -> None:
    got, ignored = _event_loop_errors()
    assert ignored == []
    for name, (kind, message) in got.items():
        assert kind == "TypeError", name
        assert "takes no arguments" in message, message
        assert "aioeventlet.new_event_loop()" in message, message
    # Reached only when every case above gave the error it should:
    # nothing was lost.
    no_leaks(
        "bad input",
        "EventLoop() with arguments: what to do, no 'Exception ignored'",
        len(got),
        "cases",
        lost=0,
    )


# -- run_in_executor -------------------------------------------------------------------


def _exactly(message: str) -> str:
    return re.escape(message)


def _in_executor(
    loop: asyncio.AbstractEventLoop,
    executor: concurrent.futures.Executor | None,
    func: Callable[..., object],
    *args: object,
) -> object:
    return loop.run_until_complete(loop.run_in_executor(executor, func, *args))


def _in_debug(loop: asyncio.AbstractEventLoop, func: Callable[..., object]) -> object:
    loop.set_debug(True)
    return loop.run_in_executor(None, func)


def _shut_down_executor() -> concurrent.futures.ThreadPoolExecutor:
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    executor.shutdown()
    return executor


def _on_closed_loop(
    loop: asyncio.AbstractEventLoop, executor: concurrent.futures.Executor | None
) -> object:
    loop.close()
    return loop.run_in_executor(executor, _noop)


def _after_default_shutdown(loop: asyncio.AbstractEventLoop, used: bool) -> object:
    if used:
        _in_executor(loop, None, _noop)
    loop.run_until_complete(loop.shutdown_default_executor())
    return _in_executor(loop, None, _noop)


# name: (the call, its exception type, a pattern its whole message matches)
_EXECUTOR_CASES: dict[
    str,
    tuple[
        Callable[[asyncio.AbstractEventLoop, concurrent.futures.Executor], object],
        str,
        str,
    ],
] = {
    "run_in_executor(None, 42)": (
        lambda lp, _ex: _in_executor(lp, None, 42),  # type: ignore[arg-type]
        "TypeError",
        _exactly("'int' object is not callable"),
    ),
    "run_in_executor(None, 42) in debug": (
        lambda lp, _ex: _in_debug(lp, 42),  # type: ignore[arg-type]
        "TypeError",
        _exactly("a callable object was expected by run_in_executor(), got 42"),
    ),
    "run_in_executor(None, coroutine function) in debug": (
        lambda lp, _ex: _in_debug(lp, _coro),
        "TypeError",
        _exactly("coroutines cannot be used with run_in_executor()"),
    ),
    "run_in_executor(42, f)": (
        lambda lp, _ex: lp.run_in_executor(42, _noop),  # type: ignore[arg-type]
        "AttributeError",
        _exactly("'int' object has no attribute 'submit'"),
    ),
    "run_in_executor(the executor class, f)": (
        lambda lp, _ex: lp.run_in_executor(
            concurrent.futures.ThreadPoolExecutor,  # type: ignore[arg-type]
            _noop,
        ),
        "TypeError",
        # Python 3.10 names the function without its class.
        r"(ThreadPoolExecutor\.)?"
        + _exactly("submit() missing 1 required positional argument: 'fn'"),
    ),
    "run_in_executor(None, f, x=1)": (
        lambda lp, _ex: lp.run_in_executor(None, _noop, x=1),  # type: ignore[call-arg]
        "TypeError",
        # Python names the class that defines the method: asyncio's
        # BaseEventLoop, aioeventlet's ThreadsMixin (none on 3.10).
        r"(\w+\.)?"
        + _exactly("run_in_executor() got an unexpected keyword argument 'x'"),
    ),
    "run_in_executor(executor shut down, f)": (
        lambda lp, _ex: lp.run_in_executor(_shut_down_executor(), _noop),
        "RuntimeError",
        _exactly("cannot schedule new futures after shutdown"),
    ),
    "run_in_executor(None, f) on a closed loop": (
        lambda lp, _ex: _on_closed_loop(lp, None),
        "RuntimeError",
        _exactly("Event loop is closed"),
    ),
    "run_in_executor(executor, f) on a closed loop": (
        _on_closed_loop,
        "RuntimeError",
        _exactly("Event loop is closed"),
    ),
    "run_in_executor(None, f) after shutdown_default_executor()": (
        lambda lp, _ex: _after_default_shutdown(lp, used=False),
        "RuntimeError",
        _exactly("Executor shutdown has been called"),
    ),
    "run_in_executor(None, f) after using and shutting down the default executor": (
        lambda lp, _ex: _after_default_shutdown(lp, used=True),
        "RuntimeError",
        _exactly("Executor shutdown has been called"),
    ),
}


def test_run_in_executor_bad_input(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
    loop_kind: str,
    no_leaks: Recorder,
) -> None:
    """aioeventlet overrides run_in_executor() (its default executor runs OS
    threads even when monkey-patched); each bad call fails as on stock
    asyncio, where the same body runs too, with asyncio's message."""
    problems = []
    handler_calls: list[dict[str, Any]] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        for name, (call, kind, pattern) in _EXECUTOR_CASES.items():
            loop = loop_factory()
            loop.set_exception_handler(lambda _l, ctx: handler_calls.append(ctx))
            try:
                got = _error(functools.partial(call, loop, executor))
            finally:
                if not loop.is_closed():
                    loop.run_until_complete(loop.shutdown_default_executor())
                    loop.close()
            if got[0] != kind or not re.fullmatch(pattern, got[1]):
                problems.append(f"{name}: expected {kind} {pattern!r}, got {got}")
    if loop_kind == "aioeventlet":
        no_leaks(
            "bad input",
            "run_in_executor(): non-callables, coroutine functions, bad and "
            "shut-down executors, closed loop, after shutdown_default_executor() "
            "(vs stock asyncio)",
            len(_EXECUTOR_CASES),
            "cases",
            lost=len(problems),
        )
    assert problems == []
    assert handler_calls == []


# -- slow_callback_duration ------------------------------------------------------------


@contextlib.contextmanager
def _thread_exceptions() -> Iterator[list[str]]:
    """Collect exceptions that end a thread, the debug watchdog's included: it
    is started through eventlet's unpatched copy of ``threading``, which has
    its own ``excepthook``."""
    seen: list[str] = []

    def hook(args: Any) -> None:
        thread = args.thread.name if args.thread is not None else "?"
        seen.append(f"{args.exc_type.__name__}: {args.exc_value} (in {thread})")

    modules: list[Any] = [threading]
    if _hub.original("threading") is not threading:
        modules.append(_hub.original("threading"))
    previous = [module.excepthook for module in modules]
    for module in modules:
        module.excepthook = hook
    try:
        yield seen
    finally:
        for module, saved in zip(modules, previous, strict=True):
            module.excepthook = saved


def _debug_run_reports(
    loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> tuple[str, bool]:
    """Run a 20 ms blocking callback in debug mode; what happened ("ok" or the
    error), and whether it was reported slow (by asyncio or the watchdog)."""

    def blocks() -> None:
        time.sleep(0.02)

    loop.set_debug(True)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        loop.call_soon(blocks)
        task = loop.create_task(asyncio.sleep(0.03))
        outcome = _error(lambda: loop.run_until_complete(task))
    if not task.done():
        # Stock asyncio failed inside its loop iteration: finish the task
        # outside debug mode, which is what compares with the bad value.
        loop.set_debug(False)
        loop.run_until_complete(task)
    # asyncio's "Executing <Handle ...blocks()...> took" or the watchdog's.
    reported = any("blocks()" in record.getMessage() for record in caplog.records)
    return "ok" if outcome[0] == "ok" else f"{outcome[0]}: {outcome[1]}", reported


# name: (the value, aioeventlet's error at the assignment, what its message
# says, what stock asyncio does with the value in a debug run)
_REFUSED_THRESHOLDS: dict[str, tuple[object, str, tuple[str, ...], str]] = {
    "'x'": (
        "x",
        "TypeError",
        ("a number of seconds", "got str: 'x'"),
        "TypeError: '>=' not supported between instances of 'float' and 'str'",
    ),
    "None": (
        None,
        "TypeError",
        ("a number of seconds", "got NoneType: None"),
        "TypeError: '>=' not supported between instances of 'float' and 'NoneType'",
    ),
    "1j": (
        1j,
        "TypeError",
        ("a number of seconds", "got complex: 1j"),
        "TypeError: '>=' not supported between instances of 'float' and 'complex'",
    ),
    "True": (
        True,
        "TypeError",
        ("a number of seconds", "got bool: True"),
        "ok, not reported",  # True is 1 second to asyncio
    ),
    "nan": (
        math.nan,
        "ValueError",
        ("0 or more seconds, got nan", "use math.inf to never report"),
        "ok, not reported",  # no comparison with NaN is ever true
    ),
    "-1": (
        -1,
        "ValueError",
        ("0 or more seconds, got -1", "use math.inf to never report"),
        "ok, reported",  # every callback is slower than that
    ),
    "-inf": (
        -math.inf,
        "ValueError",
        ("0 or more seconds, got -inf", "use math.inf to never report"),
        "ok, reported",
    ),
}


def test_slow_callback_duration_refuses_what_is_not_seconds(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
    loop_kind: str,
    caplog: pytest.LogCaptureFixture,
    no_leaks: Recorder,
) -> None:
    """Stock asyncio takes any value and trips over it later, in debug mode
    only, inside the loop; aioeventlet refuses it at the assignment with an
    error naming it, and its debug watchdog never sees it."""
    problems = []
    with _thread_exceptions() as thread_errors:
        for name, (value, kind, says, stock_does) in _REFUSED_THRESHOLDS.items():
            loop = loop_factory()
            # A threshold no 20 ms callback reaches, whatever the machine's load.
            loop.slow_callback_duration = 10.0
            try:
                assigned = _error(
                    functools.partial(setattr, loop, "slow_callback_duration", value)
                )
                kept = loop.slow_callback_duration
                ran, reported = _debug_run_reports(loop, caplog)
            finally:
                loop.close()
            if loop_kind == "asyncio":
                got = (
                    ran if ran != "ok" else f"ok, {'' if reported else 'not '}reported"
                )
                if assigned != ("ok", "None") or got != stock_does:
                    problems.append(f"{name}: stock asyncio did {assigned}, {got}")
                continue
            if assigned[0] != kind or not all(part in assigned[1] for part in says):
                problems.append(
                    f"{name}: expected {kind} saying {says}, got {assigned}"
                )
            elif not assigned[1].startswith("slow_callback_duration must be"):
                problems.append(f"{name}: the message does not name the setting")
            # Refused, the threshold stays as it was: a 20 ms callback runs
            # unreported.
            if kept != 10.0 or (ran, reported) != ("ok", False):
                problems.append(f"{name}: then {kept}, {ran}, reported={reported}")
    if loop_kind == "aioeventlet":
        no_leaks(
            "bad input",
            "loop.slow_callback_duration = non-number, bool, negative, NaN "
            "(refused at once; stock asyncio fails later or misreports)",
            len(_REFUSED_THRESHOLDS),
            "cases",
            lost=len(problems) + len(thread_errors),
        )
    assert (problems, thread_errors) == ([], [])


# name: (the value, what it reads back as on aioeventlet, whether a 20 ms
# callback is reported slow)
_ACCEPTED_THRESHOLDS: dict[str, tuple[float, float, bool]] = {
    "inf": (math.inf, math.inf, False),
    "1e300": (1e300, 1e300, False),
    "10**400 (past float's range)": (10**400, math.inf, False),
    "0": (0, 0.0, True),
}


def test_slow_callback_duration_odd_values_never_crash_the_watchdog(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
    loop_kind: str,
    caplog: pytest.LogCaptureFixture,
    no_leaks: Recorder,
) -> None:
    """inf (and any value too large to be reached) means "never report", on
    both loops; it used to stop the watchdog thread with OverflowError
    ("timestamp out of range for platform time_t")."""
    problems = []
    with _thread_exceptions() as thread_errors:
        for name, (value, reads_back, slow) in _ACCEPTED_THRESHOLDS.items():
            loop = loop_factory()
            try:
                loop.slow_callback_duration = value
                read = loop.slow_callback_duration
                ran, reported = _debug_run_reports(loop, caplog)
            finally:
                loop.close()
            expected_read = value if loop_kind == "asyncio" else reads_back
            if read != expected_read or type(read) is not type(expected_read):
                problems.append(f"{name}: reads back {read!r}")
            if (ran, reported) != ("ok", slow):
                problems.append(
                    f"{name}: the debug run gave {ran}, reported={reported}"
                )
    if loop_kind == "aioeventlet":
        no_leaks(
            "bad input",
            "loop.slow_callback_duration = inf, 1e300, 10**400, 0 in debug mode "
            "(vs stock asyncio; no watchdog crash)",
            len(_ACCEPTED_THRESHOLDS),
            "cases",
            lost=len(problems) + len(thread_errors),
        )
    assert (problems, thread_errors) == ([], [])


# -- to_green --------------------------------------------------------------------------


def _takes_one(value: object) -> object:
    return value


def _awaited_by(
    runner: Callable[[Any], object], make: Callable[[], Any]
) -> tuple[str, str]:
    async def main() -> object:
        return await make()

    return _error(lambda: runner(main()))


def test_to_green_bad_input(no_leaks: Recorder) -> None:
    """to_green() fails as asyncio.to_thread() does for the same mistakes
    (stock asyncio's counterpart, run on a stock loop in the same body), and
    names the loop it needs when there is none it can use."""
    got: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {}
    loop = aioeventlet.new_event_loop()
    closed = aioeventlet.new_event_loop()
    closed.close()
    stock = asyncio.SelectorEventLoop()
    closed_stock = asyncio.SelectorEventLoop()
    closed_stock.close()
    try:
        # The same mistake with both: (asyncio.to_thread, aioeventlet.to_green).
        mistakes: list[tuple[str, Any, tuple[object, ...]]] = [
            ("(42)", 42, ()),
            ("(None)", None, ()),
            ("(f) with an argument missing", _takes_one, ()),
            ("(f, 1, 2): an argument too many", _takes_one, (1, 2)),
        ]
        for name, func, args in mistakes:
            got[f"to_green{name}"] = (
                _awaited_by(
                    stock.run_until_complete,
                    functools.partial(asyncio.to_thread, func, *args),
                ),
                _awaited_by(
                    loop.run_until_complete,
                    functools.partial(aioeventlet.to_green, func, *args),
                ),
            )
        got["to_green(f) on a closed loop"] = (
            _error(
                lambda: closed_stock.run_until_complete(
                    _closing(asyncio.to_thread(_noop))
                )
            ),
            _error(
                lambda: closed.run_until_complete(_closing(aioeventlet.to_green(_noop)))
            ),
        )
    finally:
        stock.run_until_complete(stock.shutdown_default_executor())
        stock.close()
        loop.close()
    problems = [
        f"{name}: asyncio.to_thread {stock_got}, aioeventlet.to_green {ours}"
        for name, (stock_got, ours) in got.items()
        # to_green's own wording may add what to do, never drop asyncio's.
        if stock_got[0] != ours[0] or stock_got[1] not in ours[1]
    ]
    no_leaks(
        "bad input",
        "to_green(): non-callables, wrong arguments, closed loop "
        "(vs asyncio.to_thread on stock asyncio)",
        len(got),
        "cases",
        lost=len(problems),
    )
    assert problems == []


def test_to_green_needs_an_aioeventlet_loop_of_this_thread(no_leaks: Recorder) -> None:
    """to_green() awaited on a stock asyncio loop, or in no loop at all,
    refuses with an error naming the loop it needs; from another OS thread
    it works on that thread's own aioeventlet loop, or on this thread's loop
    through run_coroutine_threadsafe()."""
    got: dict[str, tuple[str, str]] = {}
    where: dict[str, int] = {}

    def on_stock_loop() -> tuple[str, str]:
        return _error(lambda: asyncio.run(aioeventlet.to_green(_noop)))

    def by_hand() -> tuple[str, str]:
        coro = aioeventlet.to_green(_noop)
        try:
            return _error(lambda: coro.send(None))
        finally:
            coro.close()

    got["on a stock asyncio loop"] = on_stock_loop()
    got["awaited by hand, no loop running"] = by_hand()
    loop = aioeventlet.new_event_loop()

    def other_thread() -> None:
        try:
            got["another OS thread, on a stock asyncio loop"] = on_stock_loop()
            got["another OS thread, awaited by hand"] = by_hand()
            where["on the other thread's own loop"] = aioeventlet.run(
                aioeventlet.to_green(_hub.original("threading").get_ident)
            )
            where["on this thread's loop, run_coroutine_threadsafe()"] = (
                asyncio.run_coroutine_threadsafe(
                    aioeventlet.to_green(_hub.original("threading").get_ident), loop
                ).result(timeout=10)
            )
        finally:
            # Once its hub has run a greenthread, a thread that ends leaves
            # the hub's epoll fd open for good (eventlet: the hub greenlet,
            # parked in its run loop, cannot be freed once its thread is
            # gone); stopping the hub first lets it go.
            eventlet.hubs.get_hub().abort(wait=True)

    async def main() -> int:
        thread = threading.Thread(target=other_thread)
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.005)
        thread.join()
        return thread.ident or 0

    try:
        other_ident = loop.run_until_complete(main())
    finally:
        loop.close()
    # A refused call may have left its greenthread scheduled; let it end
    # (test_to_green_refusals_start_nothing is about that).
    eventlet.sleep(0.01)
    assert where == {
        "on the other thread's own loop": other_ident,
        "on this thread's loop, run_coroutine_threadsafe()": (
            _hub.original("threading").get_ident()
        ),
    }
    problems = []
    for name, (kind, message) in got.items():
        wanted = "aioeventlet loop" if "stock" in name else "aioeventlet"
        if kind != "RuntimeError" or wanted not in message:
            problems.append(f"{name}: {kind}: {message}")
    assert problems == []
    # Reached only when every case above gave the error it should:
    # nothing was lost.
    no_leaks(
        "bad input",
        "to_green(): stock asyncio loop, no loop, other OS thread",
        len(got) + len(where),
        "cases",
        lost=0,
    )


def test_to_green_refusals_start_nothing(no_leaks: Recorder) -> None:
    ran: list[str] = []
    got: dict[str, tuple[str, str]] = {}

    async def coroutine_function() -> None:
        ran.append("coroutine function")

    got["on a stock asyncio loop"] = _error(
        lambda: asyncio.run(aioeventlet.to_green(ran.append, "stock loop"))
    )
    coro = aioeventlet.to_green(ran.append, "no loop")
    got["awaited by hand, no loop running"] = _error(lambda: coro.send(None))
    coro.close()
    got["a coroutine function"] = _awaited_by(
        aioeventlet.run, lambda: aioeventlet.to_green(coroutine_function)
    )
    eventlet.sleep(0.01)  # a greenthread left scheduled would run now
    gc.collect()
    assert ran == []
    assert got["a coroutine function"][0] == "TypeError"
    assert "await it" in got["a coroutine function"][1]
    for name in ("on a stock asyncio loop", "awaited by hand, no loop running"):
        kind, message = got[name]
        assert kind == "RuntimeError", got[name]
        assert message.startswith("to_green()"), message
        assert "loop=" not in message, message
    # Reached only when every case above gave the error it should:
    # nothing was lost.
    no_leaks(
        "bad input",
        "to_green() refused: nothing runs, the error names to_green()",
        len(got),
        "cases",
        lost=0,
    )


# -- the pytest plugin -----------------------------------------------------------------

_PLUGIN_CASES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # name: (pytest.ini's [pytest] lines, command line, what stderr must say)
    "aioeventlet = maybe": (
        "aioeventlet = maybe\n",
        (),
        (
            "'aioeventlet' configuration value must be true or false",
            "invalid truth value 'maybe'",
            "set aioeventlet = true",
        ),
    ),
    "aioeventlet = (empty)": (
        "aioeventlet =\n",
        (),
        (
            "'aioeventlet' configuration value must be true or false",
            "invalid truth value ''",
        ),
    ),
    "-o aioeventlet=2": (
        "",
        ("-o", "aioeventlet=2"),
        (
            "'aioeventlet' configuration value must be true or false",
            "invalid truth value '2'",
        ),
    ),
    "--aioeventlet with aioeventlet = maybe": (
        "aioeventlet = maybe\n",
        ("--aioeventlet",),
        ("'aioeventlet' configuration value must be true or false",),
    ),
    "--aioeventlet=yes": (
        "",
        ("--aioeventlet=yes",),
        ("argument --aioeventlet: ignored explicit argument 'yes'",),
    ),
}


def test_pytest_plugin_bad_settings(tmp_path: Any, no_leaks: Recorder) -> None:
    """A bad --aioeventlet or ``aioeventlet`` setting is a usage error
    (status 4) that names the setting, not a run on the wrong loop."""
    (tmp_path / "test_sample.py").write_text(
        "def test_nothing():\n    pass\n", encoding="utf-8"
    )
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    problems = []
    for name, (ini, args, says) in _PLUGIN_CASES.items():
        (tmp_path / "pytest.ini").write_text(f"[pytest]\n{ini}", encoding="utf-8")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "aioeventlet.pytest_plugin",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
            env=env,
        )
        missing = [part for part in says if part not in result.stderr]
        if result.returncode != pytest.ExitCode.USAGE_ERROR or missing:
            problems.append(
                f"{name}: status {result.returncode}, stderr lacks {missing}: "
                f"{result.stderr!r}"
            )
    no_leaks(
        "bad input",
        "pytest --aioeventlet / aioeventlet = ... with bad values",
        len(_PLUGIN_CASES),
        "cases",
        lost=len(problems),
    )
    assert problems == []


# -- the CLI ---------------------------------------------------------------------------


def _cli(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aioeventlet", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def _python(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


# name: (arguments, what the last stderr line says; "" for no stderr at all)
_CLI_CASES: dict[str, tuple[list[str], str]] = {
    "a script that does not exist": (
        ["no_such_script.py"],
        "can't open file 'no_such_script.py'",
    ),
    "a module that does not exist": (
        ["-m", "no_such_module_xyz"],
        "No module named no_such_module_xyz",
    ),
    "-m without a module name": (["-m"], "argument -m: expected one argument"),
    "an unknown option": (["--no-such-option"], "--no-such-option"),
    "a script with a syntax error": (["syntax_error.py"], "SyntaxError"),
    # The script's own exit: nothing to add to it, as python adds nothing.
    "a script that exits with status 3": (["exits3.py"], ""),
    "a package without __main__ as -m": (
        ["-m", "pkg"],
        "No module named pkg.__main__; 'pkg' is a package and cannot be "
        "directly executed",
    ),
    "a file name as -m": (
        ["-m", "plain.py"],
        "Try using 'plain' instead of 'plain.py' as the module name.",
    ),
    "a relative module name as -m": (
        ["-m", ".pkg"],
        "Relative module names not supported",
    ),
    "a directory without __main__.py": (["pkg"], "can't find '__main__' module in"),
    # Runs, as with python: a directory with a __main__.py.
    "a directory with __main__.py": (["app_dir"], ""),
}


@pytest.mark.parametrize("name", list(_CLI_CASES))
def test_cli_bad_input(name: str, tmp_path: Any, no_leaks: Recorder) -> None:
    """python -m aioeventlet fails as python itself does: the same exit
    status, a last stderr line that names the problem, and never a hang."""
    (tmp_path / "syntax_error.py").write_text("def (:\n", encoding="utf-8")
    (tmp_path / "exits3.py").write_text("raise SystemExit(3)\n", encoding="utf-8")
    (tmp_path / "plain.py").write_text("", encoding="utf-8")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "app_dir").mkdir()
    (tmp_path / "app_dir" / "__main__.py").write_text("pass\n", encoding="utf-8")
    args, says = _CLI_CASES[name]
    ours = _cli(*args, cwd=str(tmp_path))
    python = _python(*args, cwd=str(tmp_path))
    if says:
        assert says in ours.stderr.strip().splitlines()[-1]
    else:
        assert ours.stderr == python.stderr == ""
    if python.stderr.strip():
        assert ours.stderr.strip(), "failed without a word on stderr"
    assert ours.returncode == python.returncode, ours.stderr
    # Reached only when every case above gave the error it should:
    # nothing was lost.
    no_leaks(
        "bad input",
        "python -m aioeventlet: missing, broken or wrong targets "
        "and options (vs python itself)",
        1,
        "cases",
        lost=0,
    )


# -- the bridges -----------------------------------------------------------------------


async def _one() -> int:
    await asyncio.sleep(0)
    return 1


_AWAITABLES = "expects an asyncio future or task, a coroutine, or another awaitable"
_GREENTHREADS = "expects an eventlet GreenThread (from eventlet.spawn())"
_NO_LOOP = "no aioeventlet event loop is running in this OS thread"
_NOT_OURS = "needs an aioeventlet loop of this OS thread"
_USE_OURS = "Use the aioeventlet loop of this thread"
_BEFORE_START = "wrap a greenthread before it starts"
# name: (exception type, what the message says: the problem, then what
# to do); asyncio's own wording ("Event loop is closed") where it has one.
_BRIDGE_ERRORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "yield_future(42)": ("TypeError", ("got int", _AWAITABLES)),
    "yield_future(None)": ("TypeError", ("got NoneType", _AWAITABLES)),
    "yield_future(coroutine function)": ("TypeError", ("got function", _AWAITABLES)),
    "yield_future(coro) with no loop running": (
        "RuntimeError",
        (_NO_LOOP, "Pass loop="),
    ),
    "yield_future(future of another loop, loop=loop)": (
        "ValueError",
        ("the future belongs to", "drop loop="),
    ),
    "yield_future(coro, loop=closed loop)": (
        "RuntimeError",
        ("Event loop is closed",),
    ),
    "wrap_greenthread(42)": ("TypeError", ("got int", _GREENTHREADS)),
    "wrap_greenthread(finished greenthread)": (
        "RuntimeError",
        ("already finished", _BEFORE_START),
    ),
    "wrap_greenthread(greenlet without run)": (
        "TypeError",
        ("without a run function", "greenlet.greenlet(func)"),
    ),
    "wrap_greenthread(gt, loop=stock asyncio loop)": (
        "RuntimeError",
        (_NOT_OURS, _USE_OURS),
    ),
    "wrap_greenthread(gt, loop=closed loop)": (
        "RuntimeError",
        ("Event loop is closed",),
    ),
    "wrap_greenthread(gt) with no loop running": (
        "RuntimeError",
        (_NO_LOOP, "Pass loop="),
    ),
    "yield_future() in the loop's own greenthread": (
        "RuntimeError",
        (
            "called in the greenthread that runs the event loop",
            "await the future or coroutine instead",
            "wrap_greenthread",
        ),
    ),
    "wrap_greenthread(running greenthread)": (
        "RuntimeError",
        ("already running", _BEFORE_START),
    ),
    "yield_future() in eventlet's hub greenlet": (
        "RuntimeError",
        ("cannot block eventlet's hub greenlet", "call it from a greenthread"),
    ),
    "wrap_greenthread(gt, loop) from another OS thread": (
        "RuntimeError",
        (_NOT_OURS, _USE_OURS),
    ),
}


def test_bridges_bad_input(no_leaks: Recorder) -> None:
    """yield_future() and wrap_greenthread() refuse wrong types and states
    with an error of the right type that names the problem and the fix."""
    loop = aioeventlet.new_event_loop()
    closed = aioeventlet.new_event_loop()
    closed.close()
    stock = asyncio.SelectorEventLoop()
    finished = eventlet.spawn(lambda: 1)
    finished.wait()
    got: dict[str, tuple[str, str]] = {}

    def fresh() -> Any:
        return eventlet.spawn(lambda: 1)

    def check(name: str, call: Callable[[], object]) -> None:
        got[name] = _error(call)

    try:
        check("yield_future(42)", lambda: aioeventlet.yield_future(42, loop=loop))  # type: ignore[arg-type]
        check("yield_future(None)", lambda: aioeventlet.yield_future(None))  # type: ignore[arg-type]
        check(
            "yield_future(coroutine function)",
            lambda: aioeventlet.yield_future(_one, loop=loop),  # type: ignore[arg-type]
        )
        check(
            "yield_future(coro) with no loop running",
            lambda: aioeventlet.yield_future(_closing(_one())),
        )
        check(
            "yield_future(future of another loop, loop=loop)",
            lambda: aioeventlet.yield_future(stock.create_future(), loop=loop),
        )
        check(
            "yield_future(coro, loop=closed loop)",
            lambda: aioeventlet.yield_future(_closing(_one()), loop=closed),
        )
        check(
            "wrap_greenthread(42)", lambda: aioeventlet.wrap_greenthread(42, loop=loop)
        )
        check(
            "wrap_greenthread(finished greenthread)",
            lambda: aioeventlet.wrap_greenthread(finished, loop=loop),
        )
        check(
            "wrap_greenthread(greenlet without run)",
            lambda: aioeventlet.wrap_greenthread(greenlet.greenlet(), loop=loop),
        )
        check(
            "wrap_greenthread(gt, loop=stock asyncio loop)",
            lambda: aioeventlet.wrap_greenthread(fresh(), loop=stock),
        )
        check(
            "wrap_greenthread(gt, loop=closed loop)",
            lambda: aioeventlet.wrap_greenthread(fresh(), loop=closed),
        )
        check(
            "wrap_greenthread(gt) with no loop running",
            lambda: aioeventlet.wrap_greenthread(fresh()),
        )

        async def in_loop() -> None:
            check(
                "yield_future() in the loop's own greenthread",
                lambda: aioeventlet.yield_future(_closing(_one())),
            )
            running = eventlet.spawn(eventlet.sleep, 0.01)
            eventlet.sleep(0)  # it runs now
            check(
                "wrap_greenthread(running greenthread)",
                lambda: aioeventlet.wrap_greenthread(running),
            )
            running.wait()

        loop.run_until_complete(in_loop())

        def in_hub() -> None:
            check(
                "yield_future() in eventlet's hub greenlet",
                lambda: aioeventlet.yield_future(_closing(_one()), loop=loop),
            )

        eventlet.hubs.get_hub().schedule_call_global(0, in_hub)
        eventlet.sleep(0.01)

        def other_thread() -> None:
            check(
                "wrap_greenthread(gt, loop) from another OS thread",
                lambda: aioeventlet.wrap_greenthread(fresh(), loop=loop),
            )

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    finally:
        loop.close()
        stock.close()
    problems = [
        f"{name}: expected {kind} saying {says!r}, got {got.get(name)}"
        for name, (kind, says) in _BRIDGE_ERRORS.items()
        if got.get(name, ("missing", ""))[0] != kind
        or not all(part in got[name][1] for part in says)
        # asyncio's wording is reused exactly, not embedded in another.
        or (says == ("Event loop is closed",) and got[name][1] != says[0])
    ]
    assert problems == []
    assert set(got) == set(_BRIDGE_ERRORS)
    # Reached only when every case above gave the error it should:
    # nothing was lost.
    no_leaks(
        "bad input",
        "yield_future() / wrap_greenthread(): wrong types, "
        "finished/running greenthreads, closed/stock/foreign loops, loop's own "
        "greenthread, hub greenlet, other OS thread",
        len(got),
        "cases",
        lost=0,
    )


def test_yield_future_with_a_non_loop_as_loop(no_leaks: Recorder) -> None:
    def call() -> tuple[str, str]:
        return _error(lambda: aioeventlet.yield_future(_one(), loop=42))  # type: ignore[arg-type]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kind, message = eventlet.spawn(call).wait()
        gc.collect()
    assert kind == "TypeError", message
    assert "loop= must be an asyncio event loop" in message, message
    assert "got int: 42" in message, message
    assert [str(w.message) for w in caught] == []
    # Reached only when every case above gave the error it should:
    # nothing was lost.
    no_leaks(
        "bad input",
        "yield_future(coro, loop=42)",
        1,
        "cases",
        lost=0,
    )
