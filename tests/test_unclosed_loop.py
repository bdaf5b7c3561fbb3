"""A loop dropped without close() is collected, as on stock asyncio (issue 13).

Stock asyncio collects an unclosed loop that nothing refers to any more: its
``__del__`` warns "unclosed event loop" (``ResourceWarning``, how test suites
find their leaks) and, unless the loop runs, closes it, which closes its
self-pipe and its selector.  Sockets the loop still watches (a server's, a
transport's) are closed by their own finalizers, each with its own
``ResourceWarning``.  aioeventlet must match: eventlet's hub, which holds the
selector's listeners, must not keep a loop alive, and the listeners must be
gone once the loop is collected.  A running loop, or one parked in a
greenthread, stays alive; a closed loop is collected without a word.

Each test runs on both loops with the same body (the ``loop_factory``
fixture): the stock loop shows what aioeventlet must do.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import os
import socket
import subprocess
import sys
import textwrap
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import eventlet
import eventlet.event
import eventlet.hubs
import pytest

import aioeventlet
from aioeventlet import _hub
from aioeventlet._selector import EVENT_READ, EVENT_WRITE, HubSelector

from .conftest import LoopFactory

# Loops are dropped in batches, each followed by gc.collect(): 1,000 unclosed
# loops alive at once would hold some 3,000 fds, past the usual limit of
# 1,024.  asyncio's loops sit in reference cycles (the selector's keys hold
# callbacks bound to the loop), so only the cyclic collector frees them.
DROPPED = 1_000
BATCH = 100


def open_fds() -> dict[int, str]:
    """This process's open fds and what each refers to."""
    fds: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the directory listing's own fd, closed already
    return fds


def hub_listeners() -> dict[tuple[str, int], Any]:
    """The listeners on this thread's eventlet hub: (READ or WRITE, fd) -> listener."""
    hub = eventlet.hubs.get_hub()
    return {
        (evtype, fd): listener
        for evtype in (_hub.READ, _hub.WRITE)
        for fd, listener in hub.listeners[evtype].items()
    }


# -- what a dropped loop did before it was dropped --------------------------------


def never_ran(loop: asyncio.AbstractEventLoop) -> None:
    pass


def ran(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(asyncio.sleep(0))


def with_server(loop: asyncio.AbstractEventLoop) -> None:
    # The Server object is dropped with the loop, its socket still listening.
    loop.run_until_complete(loop.create_server(asyncio.Protocol, "127.0.0.1", 0))


def with_transport(loop: asyncio.AbstractEventLoop) -> None:
    ours, theirs = socket.socketpair()
    loop.run_until_complete(loop.connect_accepted_socket(asyncio.Protocol, ours))
    theirs.close()  # after: the loop never runs again to see the end of file


SCENARIOS: tuple[Callable[[asyncio.AbstractEventLoop], None], ...] = (
    never_ran,
    ran,
    with_server,
    with_transport,
)


def drop_loops(
    loop_factory: LoopFactory, count: int
) -> list[weakref.ref[asyncio.AbstractEventLoop]]:
    """Create *count* loops, one scenario after the other, and drop each
    unclosed; weak references to them, for the caller to check."""
    refs = []
    for i in range(count):
        loop = loop_factory()
        SCENARIOS[i % len(SCENARIOS)](loop)
        refs.append(weakref.ref(loop))
        del loop
    return refs


Recorded = list[tuple[type[Warning], str]]


@contextlib.contextmanager
def recording_warnings() -> Iterator[Recorded]:
    """Every warning, as (category, text).

    Not ``catch_warnings(record=True)``: the WarningMessage it keeps holds the
    warning's source, the loop itself for "unclosed event loop", which would
    bring each collected loop back to life (with its selector, and on stock
    asyncio its epoll fd) for as long as the record lives.
    """
    found: Recorded = []

    def record(  # noqa: PLR0917 - warnings.showwarning's signature
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        found.append((category, str(message)))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        yield found


def classify(caught: Recorded) -> collections.Counter[str]:
    """Count the warnings by what they are about; anything unexpected fails."""
    kinds: collections.Counter[str] = collections.Counter()
    for category, text in caught:
        assert category is ResourceWarning, text
        if text.startswith("unclosed event loop <"):
            kinds["loop"] += 1
        elif text.startswith("unclosed transport <"):
            kinds["transport"] += 1
        elif text.startswith("unclosed <socket.socket") and "'127.0.0.1'" in text:
            kinds["server socket"] += 1
        elif text.startswith("unclosed <socket.socket"):
            kinds["socketpair socket"] += 1  # a transport's, or a self-pipe's
        else:
            raise AssertionError(f"unexpected warning: {text}")
    return kinds


Unraisable = list[tuple[type[BaseException], str]]

# Stock asyncio's own failure when the collector finalizes a loop after its
# self-pipe's sockets (see test_close_after_the_self_pipe_was_finalized):
# "Exception ignored in BaseEventLoop.__del__", the loop half closed.  The
# drop tests meet it now and then on stock asyncio (the order depends on the
# Python version and on allocation); aioeventlet's loop must close anyway.
STOCK_SELF_PIPE_FAILURE = (ValueError, "Invalid file descriptor: -1")


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> Unraisable:
    """Exceptions "ignored" during the test (in finalizers), as (type, text).

    Only those: the exception's traceback holds the frame of ``__del__``, and
    with it the loop, which a hook that kept it would keep alive.
    """
    found: Unraisable = []

    def hook(args: Any) -> None:
        found.append((args.exc_type, str(args.exc_value)))

    monkeypatch.setattr(sys, "unraisablehook", hook)
    return found


def assert_none_ignored(loop_kind: str, found: Unraisable) -> None:
    if loop_kind == "asyncio":
        found = [each for each in found if each != STOCK_SELF_PIPE_FAILURE]
    assert found == []


def snapshot(loop_factory: LoopFactory) -> tuple[dict[int, str], Any]:
    """Open fds and hub listeners, once a first loop has come and gone
    (eventlet creates its hub, and its epoll fd, on first use)."""
    loop_factory().close()
    gc.collect()
    return open_fds(), hub_listeners()


@pytest.fixture
def baseline(loop_factory: LoopFactory) -> tuple[dict[int, str], Any]:
    """Open fds and hub listeners before the test."""
    return snapshot(loop_factory)


# -- dropped loops are collected ----------------------------------------------------


def test_dropped_loops_are_collected_with_a_warning_each(
    loop_kind: str,
    loop_factory: LoopFactory,
    baseline: tuple[dict[int, str], Any],
    unraisable: Unraisable,
) -> None:
    """1,000 loops dropped unclosed: each is collected with its "unclosed event
    loop" warning, and leaves no fd and no hub listener behind; a dropped
    server's socket and a dropped transport warn as they do on stock asyncio."""
    fds, listeners = baseline
    refs = []
    with recording_warnings() as caught:
        for _ in range(DROPPED // BATCH):
            refs += drop_loops(loop_factory, BATCH)
            gc.collect()
        alive = sum(ref() is not None for ref in refs)
        fds_after, listeners_after = open_fds(), hub_listeners()
    assert alive == 0
    assert_none_ignored(loop_kind, unraisable)
    assert fds_after == fds
    assert listeners_after == listeners
    per_scenario = DROPPED // len(SCENARIOS)
    kinds = classify(caught)
    # The collector finalizes the objects of a reference cycle in no set
    # order: a socket warns for itself only if its finalizer runs before
    # that of its owner (the transport, or the loop for its self-pipe).
    assert kinds.pop("socketpair socket", 0) <= per_scenario + 2 * DROPPED
    assert kinds == {
        "loop": DROPPED,
        "server socket": per_scenario,
        "transport": per_scenario,
    }


def test_closed_loop_is_collected_silently(
    loop_factory: LoopFactory, baseline: tuple[dict[int, str], Any]
) -> None:
    fds, listeners = baseline
    refs = []
    with recording_warnings() as caught:
        for i in range(20):
            loop = loop_factory()
            ran(loop)
            if i % 2:
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            refs.append(weakref.ref(loop))
            del loop
        gc.collect()
    assert [ref for ref in refs if ref() is not None] == []
    assert caught == []
    assert open_fds() == fds
    assert hub_listeners() == listeners


def test_unclosed_loop_under_warnings_as_errors(
    loop_factory: LoopFactory,
    baseline: tuple[dict[int, str], Any],
    unraisable: Unraisable,
) -> None:
    """With ResourceWarning an error (``-W error``), stock's ``__del__`` raises
    at its warning and never closes the loop: the error is "ignored" (reported
    to sys.unraisablehook), and the objects' own finalizers release the fds.
    On aioeventlet the hub listeners must go as well."""
    fds, listeners = baseline
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refs = drop_loops(loop_factory, 20)
        gc.collect()
    assert [ref for ref in refs if ref() is not None] == []
    assert {exc_type for exc_type, _ in unraisable} == {ResourceWarning}
    assert sum(text.startswith("unclosed event loop <") for _, text in unraisable) == 20
    assert open_fds() == fds
    assert hub_listeners() == listeners


def test_loop_collected_on_another_os_thread(
    loop_kind: str,
    loop_factory: LoopFactory,
    baseline: tuple[dict[int, str], Any],
    unraisable: Unraisable,
) -> None:
    """The collector runs in whichever thread happens to trigger it: a loop of
    this thread may be finalized in an executor worker.  Its listeners still
    leave this thread's hub."""
    fds, listeners = baseline
    errors: list[BaseException] = []

    def collect() -> None:
        try:
            gc.collect()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    gc.disable()  # only the other thread may collect the dropped loops
    try:
        with recording_warnings() as caught:
            refs = drop_loops(loop_factory, 40)
            thread = _hub.original("threading").Thread(target=collect)
            thread.start()
            thread.join(30)
            assert not thread.is_alive()
    finally:
        gc.enable()
    assert errors == []
    assert [ref for ref in refs if ref() is not None] == []
    assert_none_ignored(loop_kind, unraisable)
    assert classify(caught)["loop"] == 40
    assert open_fds() == fds
    assert hub_listeners() == listeners


def test_loop_run_by_a_greenthread_that_failed_is_collected(
    loop_kind: str,
    loop_factory: LoopFactory,
    baseline: tuple[dict[int, str], Any],
    unraisable: Unraisable,
) -> None:
    """eventlet records, in each hub listener, the greenthread that added it,
    and a finished GreenThread keeps its exception, whose traceback holds the
    frames that held the loop: the hub must not keep that alive either."""
    fds, listeners = baseline

    def run_and_fail() -> None:
        loop = loop_factory()
        with_server(loop)
        raise ValueError("the greenthread failed")

    with recording_warnings() as caught:
        gt = eventlet.spawn(run_and_fail)
        with pytest.raises(ValueError, match="the greenthread failed"):
            gt.wait()
        del gt
        # The hub greenlet holds the exception until its next pass (stock
        # asyncio's loop too is alive until then).
        eventlet.sleep(0.01)
        gc.collect()
    assert_none_ignored(loop_kind, unraisable)
    assert classify(caught) == {"loop": 1, "server socket": 1}
    assert open_fds() == fds
    assert hub_listeners() == listeners


def test_close_after_the_self_pipe_was_finalized() -> None:
    """The collector finalizes a reference cycle's objects in no set order,
    so a dropped loop's __del__ may run after its self-pipe's sockets closed
    themselves.  Stock asyncio's close() then raises ValueError (looking up
    the reader by fileno() -1) before it closes the selector (the drop tests
    above meet that order now and then, on either loop); aioeventlet's
    close() must finish, leaving nothing on the hub."""
    fds, listeners = snapshot(aioeventlet.new_event_loop)
    loop: Any = aioeventlet.new_event_loop()
    ran(loop)
    # What the sockets' own finalizers do, minus their warnings.
    loop._ssock.close()
    loop._csock.close()
    loop.close()
    assert loop.is_closed()
    assert open_fds() == fds
    assert hub_listeners() == listeners


def test_selector_dropped_unclosed_leaves_the_hub() -> None:
    """The selector on its own: collected without close(), it takes its
    listeners off the hub, as stock's epoll selector closes its epoll fd.
    What the hub may still call on its behalf meanwhile (a listener's
    callback or on-closed notice, a resume timer) does nothing once it is
    gone."""
    hub = eventlet.hubs.get_hub()
    rfd, wfd = os.pipe()
    try:
        os.write(wfd, b"x")  # readable: a live callback would record it
        selector = HubSelector(_hub.current_hub())
        selector.register(rfd, EVENT_READ)
        selector.register(wfd, EVENT_WRITE)
        reader = hub.listeners[_hub.READ][rfd]
        on_readable, on_closed = reader.cb, reader.mark_as_closed
        on_writable = hub.listeners[_hub.WRITE][wfd].cb
        resume = selector._resume_cb
        ref = weakref.ref(selector)
        del selector, reader
        gc.collect()
        assert ref() is None
        assert rfd not in hub.listeners[_hub.READ]
        assert wfd not in hub.listeners[_hub.WRITE]
        on_readable(rfd)
        on_writable(wfd)
        on_closed()
        resume()
    finally:
        os.close(rfd)
        os.close(wfd)


# -- loops in use stay alive -----------------------------------------------------------


def test_running_loop_is_not_collected(loop_factory: LoopFactory) -> None:
    async def collect_while_running() -> bool:
        gc.collect()
        return ref() is not None

    loop = loop_factory()
    ref = weakref.ref(loop)
    try:
        with recording_warnings() as caught:
            assert loop.run_until_complete(collect_while_running())
        assert caught == []
    finally:
        loop.close()


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


def test_loop_parked_in_a_greenthread_is_not_collected() -> None:
    """A loop that serves from a greenthread nobody refers to, parked in the
    hub with no timer (nothing but the server's listener would wake it), is
    kept alive by its greenthread: a suspended greenlet's frames hold it.  It
    keeps serving after a collection.  aioeventlet only: a stock loop would
    block the OS thread in its own selector."""
    started = eventlet.event.Event()
    finished = eventlet.event.Event()

    def serve() -> None:
        loop = aioeventlet.new_event_loop()
        try:
            server = loop.run_until_complete(loop.create_server(_Echo, "127.0.0.1", 0))
            started.send((weakref.ref(loop), server.sockets[0].getsockname()[1]))
            loop.run_forever()
            server.close()
            loop.run_until_complete(server.wait_closed())
        finally:
            loop.close()
            finished.send(None)

    eventlet.spawn(serve)  # the GreenThread object is dropped at once
    with eventlet.Timeout(10):
        ref, port = started.wait()
        eventlet.sleep(0.01)  # the loop parks
        gc.collect()
        loop = ref()
        assert loop is not None
        assert loop.is_running()
        del loop
        client = eventlet.connect(("127.0.0.1", port))
        try:
            client.sendall(b"ping")
            assert client.recv(4) == b"ping"
        finally:
            client.close()
        loop = ref()
        assert loop is not None
        loop.call_soon(loop.stop)
        del loop
        finished.wait()


# -- at interpreter exit ------------------------------------------------------------

_AT_EXIT = textwrap.dedent(
    """
    import asyncio, gc, sys
    import aioeventlet

    new_loop = {
        "asyncio": asyncio.SelectorEventLoop,
        "aioeventlet": aioeventlet.new_event_loop,
    }[sys.argv[1]]

    def dropped():
        loop = new_loop()
        loop.run_until_complete(asyncio.sleep(0))

    gc.disable()  # the loops go at exit, not before
    dropped()
    KEPT = new_loop()
    KEPT.run_until_complete(asyncio.sleep(0))
    """
)


def test_unclosed_loops_at_interpreter_exit(loop_kind: str) -> None:
    """Unclosed loops still around at exit are finalized as the interpreter
    shuts down: the same warnings as stock asyncio, and no error."""
    proc = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", _AT_EXIT, loop_kind],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    warned = [line for line in lines if "ResourceWarning" in line]
    assert len(warned) == 2, proc.stderr
    assert all("unclosed event loop <" in line for line in warned), proc.stderr
    # Each warning is followed by the source line it points at, if any.
    assert not [line for line in lines if "Error" in line or "ignored" in line], (
        proc.stderr
    )
