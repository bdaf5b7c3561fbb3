"""Bad input: wrong types, wrong states and odd values for every public entry.

Each case runs on stock asyncio and on aioeventlet; where asyncio has an error
for it, aioeventlet must raise the same exception type (stock is the oracle),
and where it accepts the value (NaN or infinite delays, say) aioeventlet
must behave the same.  Cases only aioeventlet has (other OS thread, hub
greenlet, the CLI, the bridges) check that the error names the problem.
Counts go to docs/reliability.md (see tests/stress/_support.py).
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import eventlet
import eventlet.hubs
import greenlet
import pytest

import aioeventlet

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
    # A fragment the error message must contain on aioeventlet, if any.
    says: str | None = None
    closed: bool = False  # run on a closed loop
    debug: bool = False
    # Python 3.10's asyncio only asserts here (gone under -O); 3.11+ raises
    # this type, which aioeventlet raises on every version.
    asserts_on_310: str | None = None


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
    """Run each case on both loops; describe each disagreement."""
    problems = []
    for case in cases:
        stock, stock_handler = _outcome(asyncio.SelectorEventLoop, case)
        ours, our_handler = _outcome(aioeventlet.new_event_loop, case)
        if (
            sys.version_info < (3, 11)
            and stock[0] == "AssertionError"
            and case.asserts_on_310 is not None
        ):
            stock = (case.asserts_on_310, stock[1])
        if stock[0] != ours[0]:
            problems.append(f"{case.name}: asyncio {stock}, aioeventlet {ours}")
        elif case.says is not None and case.says not in ours[1]:
            problems.append(f"{case.name}: message {ours[1]!r} lacks {case.says!r}")
        stock_msgs = sorted(c["message"] for c in stock_handler)
        our_msgs = sorted(c["message"] for c in our_handler)
        if len(stock_msgs) != len(our_msgs):
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
    """aioeventlet.run() refuses what asyncio.run() refuses, with the same type."""
    cases: dict[str, Callable[[Callable[..., Any]], object]] = {
        "run(42)": lambda run: run(42),
        "run(None)": lambda run: run(None),
        "run(coroutine function)": lambda run: run(_coro),
        "run(future)": lambda run: run(asyncio.Future),
        "run()": lambda run: run(),
        "run(coro, bogus=1)": lambda run: run(_closing(_coro()), bogus=1),
        "run(coro, 1) (debug is keyword-only)": lambda run: run(_closing(_coro()), 1),
    }
    problems = []
    for name, make in cases.items():
        stock, ours = _run_both(make)
        if stock[0] != ours[0]:
            problems.append(f"{name}: asyncio.run {stock}, aioeventlet.run {ours}")
    no_leaks(
        "bad input",
        "aioeventlet.run() with wrong arguments and states (vs asyncio.run)",
        len(cases),
        "cases",
    )
    assert problems == []


def test_run_inside_running_loop_refuses_cleanly(no_leaks: Recorder) -> None:
    stock, ours = _run_both(_in_running_loop)
    gc.collect()  # a never-awaited coroutine is reported when collected
    no_leaks("bad input", "aioeventlet.run() inside a running loop", 1, "cases")
    assert stock[0] == ours[0] == "RuntimeError"
    assert "running event loop" in ours[1]


def test_factories_and_policy_bad_input(no_leaks: Recorder) -> None:
    policy_cls = aioeventlet.EventLoopPolicy
    stock_policy_cls = type(asyncio.get_event_loop_policy())

    def policy_in_thread(cls: type) -> tuple[str, str]:
        out: list[tuple[str, str]] = []
        thread = threading.Thread(
            target=lambda: out.append(_error(lambda: cls().get_event_loop()))
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
            _error(lambda: policy_cls(1)),
        ),
        "policy.set_event_loop(42)": (
            _error(lambda: stock_policy_cls().set_event_loop(42)),  # type: ignore[arg-type]
            _error(lambda: policy_cls().set_event_loop(42)),
        ),
        "policy.get_event_loop() in a thread without a loop": (
            policy_in_thread(stock_policy_cls),
            policy_in_thread(policy_cls),
        ),
    }
    problems = [
        f"{name}: asyncio {stock}, aioeventlet {ours}"
        for name, (stock, ours) in pairs.items()
        if stock[0] != ours[0]
    ]
    new_loop = policy_cls().new_event_loop()
    is_ours = isinstance(new_loop, aioeventlet.EventLoop)
    new_loop.close()
    no_leaks(
        "bad input",
        "new_event_loop(), EventLoop(), EventLoopPolicy with wrong "
        "arguments and threads (vs stock asyncio)",
        len(pairs),
        "cases",
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
    no_leaks(
        "bad input",
        "aioeventlet-only states: other OS thread, hub greenlet, other greenthread",
        len(messages),
        "cases",
    )
    assert set(messages) == {
        "run_until_complete from another OS thread",
        "run_forever from another OS thread",
        "run_forever inside the hub greenlet",
        "run_forever from another greenthread while running",
    }
    assert messages["run_forever from another greenthread while running"] == (
        "This event loop is already running"
    )
    assert (
        "created in another OS thread"
        in messages["run_until_complete from another OS thread"]
    )
    assert (
        "created in another OS thread" in messages["run_forever from another OS thread"]
    )
    assert (
        "inside eventlet's hub greenlet"
        in messages["run_forever inside the hub greenlet"]
    )


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


_CLI_CASES: dict[str, tuple[list[str], str | None]] = {
    "a script that does not exist": (["no_such_script.py"], "no_such_script.py"),
    "a module that does not exist": (
        ["-m", "no_such_module_xyz"],
        "no_such_module_xyz",
    ),
    "-m without a module name": (["-m"], None),
    "an unknown option": (["--no-such-option"], "--no-such-option"),
    "a script with a syntax error": (["syntax_error.py"], "SyntaxError"),
    "a script that exits with status 3": (["exits3.py"], None),
    "a package without __main__ as -m": (["-m", "pkg"], "pkg"),
}


@pytest.mark.parametrize("name", list(_CLI_CASES))
def test_cli_bad_input(name: str, tmp_path: Any, no_leaks: Recorder) -> None:
    """python -m aioeventlet fails as python itself does: the same exit
    status, a last stderr line that names the problem, and never a hang."""
    (tmp_path / "syntax_error.py").write_text("def (:\n", encoding="utf-8")
    (tmp_path / "exits3.py").write_text("raise SystemExit(3)\n", encoding="utf-8")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    args, says = _CLI_CASES[name]
    ours = _cli(*args, cwd=str(tmp_path))
    python = _python(*args, cwd=str(tmp_path))
    no_leaks(
        "bad input",
        "python -m aioeventlet: missing, broken or wrong targets "
        "and options (vs python itself)",
        1,
        "cases",
    )
    if says is not None:
        assert says in ours.stderr.strip().splitlines()[-1]
    if python.stderr.strip():
        assert ours.stderr.strip(), "failed without a word on stderr"
    assert ours.returncode == python.returncode, ours.stderr


# -- the bridges -----------------------------------------------------------------------


async def _one() -> int:
    await asyncio.sleep(0)
    return 1


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
    expected = {
        "yield_future(42)": ("TypeError", "got int"),
        "yield_future(None)": ("TypeError", "got NoneType"),
        "yield_future(coroutine function)": ("TypeError", "got function"),
        "yield_future(coro) with no loop running": ("RuntimeError", "Pass loop="),
        "yield_future(future of another loop, loop=loop)": ("ValueError", "drop loop="),
        "yield_future(coro, loop=closed loop)": (
            "RuntimeError",
            "Event loop is closed",
        ),
        "wrap_greenthread(42)": ("TypeError", "got int"),
        "wrap_greenthread(finished greenthread)": ("RuntimeError", "already finished"),
        "wrap_greenthread(greenlet without run)": ("TypeError", "without a run"),
        "wrap_greenthread(gt, loop=stock asyncio loop)": (
            "RuntimeError",
            "needs an aioeventlet loop of this OS thread",
        ),
        "wrap_greenthread(gt, loop=closed loop)": (
            "RuntimeError",
            "Event loop is closed",
        ),
        "wrap_greenthread(gt) with no loop running": ("RuntimeError", "Pass loop="),
        "yield_future() in the loop's own greenthread": (
            "RuntimeError",
            "wrap_greenthread",
        ),
        "wrap_greenthread(running greenthread)": ("RuntimeError", "already running"),
        "yield_future() in eventlet's hub greenlet": ("RuntimeError", "hub greenlet"),
        "wrap_greenthread(gt, loop) from another OS thread": (
            "RuntimeError",
            "of this OS thread",
        ),
    }
    no_leaks(
        "bad input",
        "yield_future() / wrap_greenthread(): wrong types, "
        "finished/running greenthreads, closed/stock/foreign loops, loop's own "
        "greenthread, hub greenlet, other OS thread",
        len(got),
        "cases",
    )
    problems = [
        f"{name}: expected {kind} naming {says!r}, got {got.get(name)}"
        for name, (kind, says) in expected.items()
        if got.get(name, ("missing", ""))[0] != kind or says not in got[name][1]
    ]
    assert problems == []
    assert set(got) == set(expected)


def test_yield_future_with_a_non_loop_as_loop(no_leaks: Recorder) -> None:
    def call() -> tuple[str, str]:
        return _error(lambda: aioeventlet.yield_future(_one(), loop=42))  # type: ignore[arg-type]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kind, message = eventlet.spawn(call).wait()
        gc.collect()
    no_leaks("bad input", "yield_future(coro, loop=42)", 1, "cases")
    assert (kind, "loop" in message) == ("TypeError", True), (kind, message)
    assert [str(w.message) for w in caught] == []
