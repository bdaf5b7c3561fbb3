"""Shared fixtures: one test body, run on stock asyncio and on aioeventlet.

The stock loop is the oracle: a behaviour test passes on both, or the
difference is the point of the test (and is then asserted explicitly).
"""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

import pytest

# Import aioeventlet before eventlet: it imports eventlet with exactly its
# deprecation warning filtered, so ``filterwarnings = error`` holds for the rest.
import aioeventlet
from aioeventlet import _hub

# isort: split
import eventlet.hubs

# A shell without job control starts background commands (`./scripts/test &`,
# nohup) with SIGINT ignored, and an ignored signal stays ignored across exec:
# Python then installs no KeyboardInterrupt handler, nor does asyncio.run(),
# and every test that sends SIGINT to a child (or has CPython's runner tests
# call interrupt_main()) waits for an interrupt that never comes, on stock
# asyncio as on aioeventlet.  Ctrl-C semantics are what those tests check, so
# the suite restores them for itself and, through exec's reset of handled
# signals to the default, for every child it starts.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(trylast=True)  # after pytest's faulthandler plugin, which we replace
def pytest_configure(config: pytest.Config) -> None:
    """Under nox (noxfile.pytest()), a crash's tracebacks go to a file that
    the closing summary prints: CI's log keeps only the end of the run, and a
    crashed run leaves no JUnit report."""
    path = os.environ.get("AIOEVENTLET_CRASH_LOG")
    if path:
        # Kept open for the life of the process: faulthandler writes to its fd.
        config.stash[_crash_log] = crash_log = open(path, "a")  # noqa: SIM115
        faulthandler.enable(file=crash_log, all_threads=True)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # pytest's plugin turns faulthandler off at the end; a crash while the
    # interpreter exits (threads, greenlets, finalizers) is worth a log too.
    if _crash_log in config.stash:
        faulthandler.enable(file=config.stash[_crash_log], all_threads=True)


_crash_log = pytest.StashKey[IO[str]]()

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

LOOP_FACTORIES: dict[str, LoopFactory] = {
    "asyncio": asyncio.SelectorEventLoop,
    "aioeventlet": aioeventlet.new_event_loop,
}


def hub_leftovers() -> dict[str, Any]:
    """What the calling thread's eventlet hub still holds: listeners, live timers."""
    hub = eventlet.hubs.get_hub()
    live_timers = [t for _, t in hub.timers + hub.next_timers if not t.called]
    left: dict[str, Any] = {}
    if hub.listeners[_hub.READ] or hub.listeners[_hub.WRITE]:
        left["listeners"] = {
            "read": dict(hub.listeners[_hub.READ]),
            "write": dict(hub.listeners[_hub.WRITE]),
        }
    if live_timers:
        left["timers"] = live_timers
    return left


@pytest.fixture(autouse=True)
def _hub_left_clean() -> Iterator[None]:
    """Every test leaves the hub as it found it: no listener, no live timer."""
    before = hub_leftovers()
    yield
    after = hub_leftovers()
    assert after == before, f"the test left this on eventlet's hub: {after}"


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def loop_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def loop_factory(loop_kind: str) -> LoopFactory:
    return LOOP_FACTORIES[loop_kind]


class ExceptionHandlerCalls(list[dict[str, Any]]):
    """Calls to the loop's exception handler; a test that expects some says so."""

    expected = False

    def expect(self) -> ExceptionHandlerCalls:
        self.expected = True
        return self


@pytest.fixture
def handler_calls() -> ExceptionHandlerCalls:
    return ExceptionHandlerCalls()


@pytest.fixture
def loop(
    loop_factory: LoopFactory, handler_calls: ExceptionHandlerCalls
) -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh loop of each kind, closed after the test.

    Any call to its exception handler fails the test unless the test called
    ``handler_calls.expect()`` (an error swallowed by the loop is a bug).
    """
    new_loop = loop_factory()
    new_loop.set_exception_handler(lambda _loop, ctx: handler_calls.append(ctx))
    try:
        yield new_loop
    finally:
        if not new_loop.is_closed():
            if not new_loop.is_running():
                new_loop.run_until_complete(new_loop.shutdown_asyncgens())
            new_loop.close()
    if not handler_calls.expected:
        assert not handler_calls, f"unexpected loop errors: {handler_calls}"


def in_new_os_thread(func: Callable[[], None]) -> None:
    """Run *func* in a new OS thread (a fresh eventlet hub); re-raise its error."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            func()
        except BaseException as exc:
            errors.append(exc)
        finally:
            # A hub that has run (the loop parked) keeps its epoll fd once
            # its thread is gone, unless stopped first; one that never ran
            # has nothing to stop (and abort() would start it).
            hub = eventlet.hubs.get_hub()
            if hub.greenlet:
                hub.abort(wait=True)
            del hub
            # Free this thread's cyclic garbage (its loop, its hub's
            # greenlets) while the thread is alive.  Otherwise the next
            # collection frees it, in whatever thread allocates then, and
            # greenlet disposes of the greenlets of a finished thread without
            # it: CI's tests-3.10 crashed (SIGSEGV) in such a collection, in
            # a later test's thread, and it was not reproduced here since.
            gc.collect()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
