"""Fault injection: the loop under resets, half-closes, stolen fds, raising
callbacks, SIGINT, close() with work pending, fork() and fd exhaustion.

Where stock asyncio can run the same body (the ``loop`` fixture), it is the
oracle: both loops must behave the same.  Every test is checked for leaks
(fds, hub listeners and timers, threads, greenlets) by the reliability
fixture and records the faults it injected, how many of their effects
arrived where they should (the rest are lost) and how many waits hit their
timeout (hung), counted as it goes and recorded even when the test fails
(see :class:`_Faults` and tests/stress/_support.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import eventlet
import eventlet.hubs
import pytest
from eventlet.green import socket as green_socket

import aioeventlet

from .conftest import ExceptionHandlerCalls, hub_leftovers
from .stress._support import Recorder, reliability

__all__ = ["reliability"]

pytestmark = pytest.mark.stress

# The hub this run uses (EVENTLET_HUB), as the child processes will too.
HUB = type(eventlet.hubs.get_hub()).__module__
# How long any one wait of these tests may take before it counts as hung.
BOUND = 5.0

_T = TypeVar("_T")


def _hub_drops_closed_fds(hub: str) -> bool:
    """Whether *hub*, polling an fd that was closed while it watched it,
    notices: poll() flags it POLLNVAL and select() fails with EBADF, and
    eventlet then calls the fd's listeners once (the loop's reader runs and
    meets EBADF) and drops them.  epoll forgets a closed fd silently: nothing
    happens until the number is reused (stock asyncio's EpollSelector too)."""
    known = {
        "eventlet.hubs.epolls": False,
        "eventlet.hubs.poll": True,
        "eventlet.hubs.selects": True,
    }
    if hub not in known:
        raise AssertionError(
            f"how the {hub} hub treats a closed fd is not known here; "
            f"find out and add it to _hub_drops_closed_fds()"
        )
    return known[hub]


class _Faults:
    """The count of one fault test: how many effects of its faults arrived
    where they should (*delivered*), more than once (*extra*), and how many
    waits hit their timeout (*hung*).  What did not arrive is lost."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.delivered = 0
        self.extra = 0
        self.hung = 0

    def deliver(self, arrived: bool | int = True) -> None:
        """*arrived*: whether one effect arrived, or how many did."""
        self.delivered += int(arrived)

    def lost(self) -> int:
        return max(self.count - self.delivered - self.hung, 0) + self.extra

    async def within(self, awaitable: Awaitable[_T], seconds: float = BOUND) -> _T:
        """Await *awaitable* for at most *seconds*; a timeout counts as hung."""
        try:
            return await asyncio.wait_for(awaitable, seconds)
        except asyncio.TimeoutError:
            self.hung += 1
            raise

    def run(self, argv: list[str], seconds: float) -> subprocess.CompletedProcess[str]:
        """Run a child process for at most *seconds*; a timeout counts as hung."""
        try:
            return subprocess.run(
                argv, capture_output=True, text=True, timeout=seconds, check=False
            )
        except subprocess.TimeoutExpired:
            self.hung += 1
            raise


@contextlib.contextmanager
def _faults(recorder: Recorder, what: str, count: int, unit: str) -> Iterator[_Faults]:
    """Count the faults of the block, and record them however it ends."""
    tally = _Faults(count)
    try:
        yield tally
    finally:
        recorder("fault", what, count, unit, lost=tally.lost(), hung=tally.hung)


@pytest.fixture(autouse=True)
def no_leaks(reliability: Recorder) -> Recorder:
    """Set up before ``loop`` (autouse), so it checks after the loop closed."""
    return reliability


def _is_green(loop: asyncio.AbstractEventLoop) -> bool:
    return isinstance(loop, aioeventlet.EventLoop)


def _reset(sock: Any) -> None:
    """Close *sock* so that the peer gets a TCP RST (SO_LINGER 0)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def _tcp_pair(
    loop: asyncio.AbstractEventLoop,
) -> tuple[
    tuple[asyncio.StreamReader, asyncio.StreamWriter],
    tuple[asyncio.StreamReader, asyncio.StreamWriter],
    asyncio.AbstractServer,
]:
    accepted: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
    accepted = loop.create_future()

    async def on_client(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        accepted.set_result((r, w))

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = await asyncio.open_connection("127.0.0.1", port)
    return client, await accepted, server


async def _close_all(
    server: asyncio.AbstractServer, *writers: asyncio.StreamWriter
) -> None:
    for writer in writers:
        writer.close()
        # The reset we injected may be reported once more here.
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    server.close()
    await server.wait_closed()


# -- peer resets -----------------------------------------------------------------------


@pytest.mark.parametrize("side", ["client resets", "server resets"])
def test_peer_reset_mid_stream(
    loop: asyncio.AbstractEventLoop, side: str, no_leaks: Recorder
) -> None:
    """A reader waiting for more data sees ConnectionResetError after the
    data that did arrive, exactly as on stock asyncio."""

    async def main(tally: _Faults) -> tuple[bytes, str]:
        (cr, cw), (sr, sw), server = await _tcp_pair(loop)
        victim_r, culprit_w, victim_w = (
            (sr, cw, sw) if side == "client resets" else (cr, sw, cw)
        )
        culprit_w.write(b"partial line without end")
        await culprit_w.drain()
        got = await tally.within(victim_r.readexactly(7))
        _reset(culprit_w.get_extra_info("socket"))
        culprit_w.transport.abort()
        try:
            more = await tally.within(victim_r.read(1000))
            outcome = f"read {more!r}"
            more2 = await tally.within(victim_r.read(1000))
            outcome += f" then {more2!r}"
        except ConnectionResetError as exc:
            outcome = f"ConnectionResetError errno={exc.errno}"
        await _close_all(server, victim_w, culprit_w)
        return got, outcome

    expected = (b"partial", f"ConnectionResetError errno={errno.ECONNRESET}")
    what = f"TCP reset mid-stream ({side}, asyncio streams)"
    with _faults(no_leaks, what, 1, "resets") as tally:
        got = loop.run_until_complete(main(tally))
        tally.deliver(got == expected)
    assert got == expected


def test_peer_reset_while_writing(
    loop: asyncio.AbstractEventLoop, no_leaks: Recorder
) -> None:
    """A writer blocked in drain() on a full buffer gets a ConnectionError when
    the peer resets, instead of waiting forever."""

    async def main(tally: _Faults) -> str:
        (_, cw), (_, sw), server = await _tcp_pair(loop)
        sw.write(b"x" * (32 << 20))  # far more than the socket buffers hold
        drain = asyncio.ensure_future(sw.drain())
        await asyncio.sleep(0.05)
        assert not drain.done(), "the buffers took 32 MiB: the test lost its point"
        _reset(cw.get_extra_info("socket"))
        cw.transport.abort()
        try:
            await tally.within(drain)
            outcome = "drained"
        except ConnectionError as exc:
            outcome = type(exc).__name__
        await _close_all(server, sw, cw)
        return outcome

    what = "TCP reset while the loop's writer is blocked"
    with _faults(no_leaks, what, 1, "resets") as tally:
        outcome = loop.run_until_complete(main(tally))
        # Which of the two the kernel reports depends on where the RST finds
        # the send: ECONNRESET, or EPIPE once the socket is shut down.
        tally.deliver(outcome in ("ConnectionResetError", "BrokenPipeError"))
    assert outcome in ("ConnectionResetError", "BrokenPipeError")


def test_green_peer_resets_asyncio_reader(no_leaks: Recorder) -> None:
    """A greenthread's socket resets the connection an asyncio stream reads."""
    listener = eventlet.listen(("127.0.0.1", 0))

    def green_peer() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"hello")
        eventlet.sleep(0.02)
        _reset(conn)
        conn.close()

    async def main(tally: _Faults) -> tuple[bytes, str]:
        gt = aioeventlet.wrap_greenthread(eventlet.spawn(green_peer))
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", listener.getsockname()[1]
        )
        got = await tally.within(reader.readexactly(5))
        try:
            await tally.within(reader.read(100))
            outcome = "no error"
        except ConnectionResetError:
            outcome = "reset"
        writer.close()
        with pytest.raises(ConnectionResetError):
            await writer.wait_closed()
        await tally.within(gt)
        return got, outcome

    what = "TCP reset by a green socket under an asyncio reader"
    with _faults(no_leaks, what, 1, "resets") as tally:
        try:
            result = aioeventlet.run(main(tally))
        finally:
            listener.close()
        tally.deliver(result == (b"hello", "reset"))
    assert result == (b"hello", "reset")


# -- half-closed connections -----------------------------------------------------------


@pytest.mark.parametrize("first", ["client", "server"])
def test_half_closed_both_directions(
    loop: asyncio.AbstractEventLoop, first: str, no_leaks: Recorder
) -> None:
    """After write_eof() one way, data still flows the other way, then the
    other side closes its half too."""

    async def main(tally: _Faults) -> list[bytes]:
        (cr, cw), (sr, sw), server = await _tcp_pair(loop)
        if first == "server":
            (cr, cw), (sr, sw) = (sr, sw), (cr, cw)
        cw.write(b"request")
        cw.write_eof()
        request = await tally.within(sr.read())  # up to EOF
        tally.deliver(sr.at_eof() and request == b"request")
        for chunk in (b"reply 1, ", b"reply 2"):
            sw.write(chunk)  # the other half is still open
            await sw.drain()
        sw.write_eof()
        reply = await tally.within(cr.read())
        tally.deliver(cr.at_eof() and reply == b"reply 1, reply 2")
        await _close_all(server, cw, sw)
        return [request, reply]

    what = f"half-closed TCP ({first} shuts down first)"
    with _faults(no_leaks, what, 2, "half-closes") as tally:
        got = loop.run_until_complete(main(tally))
    assert got == [b"request", b"reply 1, reply 2"]
    assert tally.delivered == 2


@pytest.mark.parametrize("first", ["green", "asyncio"])
def test_half_closed_with_green_peer(first: str, no_leaks: Recorder) -> None:
    """shutdown(SHUT_WR) on a green socket and write_eof() on an asyncio
    stream, in both orders, within one thread."""
    listener = eventlet.listen(("127.0.0.1", 0))
    green_got: list[bytes] = []

    def green_side() -> None:
        conn, _ = listener.accept()
        with conn:
            if first == "green":
                conn.sendall(b"green says")
                conn.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := conn.recv(100):
                data += chunk
            green_got.append(data)
            if first == "asyncio":
                conn.sendall(b"green replies")
                conn.shutdown(socket.SHUT_WR)

    async def main(tally: _Faults) -> bytes:
        gt = aioeventlet.wrap_greenthread(eventlet.spawn(green_side))
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", listener.getsockname()[1]
        )
        if first == "green":
            got = await tally.within(reader.read())
            writer.write(b"asyncio replies")
            writer.write_eof()
        else:
            writer.write(b"asyncio says")
            writer.write_eof()
            got = await tally.within(reader.read())
        await tally.within(gt)
        writer.close()
        await writer.wait_closed()
        return got

    if first == "green":
        expected = (b"green says", [b"asyncio replies"])
    else:
        expected = (b"green replies", [b"asyncio says"])
    what = f"half-closed TCP with a green peer ({first} first)"
    with _faults(no_leaks, what, 2, "half-closes") as tally:
        try:
            got = aioeventlet.run(main(tally))
        finally:
            listener.close()
        tally.deliver(got == expected[0])
        tally.deliver(green_got == expected[1])
    assert (got, green_got) == expected


# -- fds closed behind the loop's back -------------------------------------------------


def test_fd_closed_and_reused_by_green_code_is_reported(
    handler_calls: ExceptionHandlerCalls, no_leaks: Recorder
) -> None:
    """os.close() on a registered fd, then a green socket gets the same number:
    the loop's exception handler hears of it (naming the fd), the old reader is
    never called for the new socket's events, and the loop cleans up."""
    loop = aioeventlet.new_event_loop()
    loop.set_exception_handler(lambda _l, ctx: handler_calls.append(ctx))
    handler_calls.expect()
    a, b = socket.socketpair()
    stale_calls: list[int] = []

    async def main() -> tuple[int, bool]:
        fd = a.fileno()
        loop.add_reader(a, stale_calls.append, 1)
        await asyncio.sleep(0.01)
        os.close(fd)
        a.detach()
        green = green_socket.socket()  # takes the lowest free number: fd
        reused = green.fileno() == fd
        other = green_socket.socket()
        # Make the new socket readable (a listener gets a pending connection).
        green.bind(("127.0.0.1", 0))
        green.listen()
        other.connect(green.getsockname())
        await asyncio.sleep(0.05)
        assert loop.remove_reader(fd)
        other.close()
        green.close()
        return fd, reused

    what = "registered fd closed, number reused by a green socket"
    with _faults(no_leaks, what, 1, "fds") as tally:
        try:
            fd, reused = loop.run_until_complete(main())
        finally:
            loop.close()
            b.close()
        messages = [c["message"] for c in handler_calls]
        tally.deliver(
            messages == [_fd_lost_message(fd)] and handler_calls[0]["fileobj"] is a
        )
        tally.extra += len(stale_calls)  # called for the new socket's events
    assert reused
    assert stale_calls == []
    assert messages == [_fd_lost_message(fd)]
    assert handler_calls[0]["fileobj"] is a


def _fd_lost_message(fd: int) -> str:
    """What the loop's exception handler is told of a registered fd lost."""
    return (
        f"fd {fd} was closed while registered with the event loop, and the "
        f"number was reused by a new socket; its reader and writer will not be "
        f"called again. Close the transport (or remove the reader/writer) "
        f"before closing the file."
    )


def test_transport_fd_reused_by_green_code_is_reported(
    handler_calls: ExceptionHandlerCalls, no_leaks: Recorder
) -> None:
    """The same under a live asyncio transport: the handler is told once, the
    transport's protocol never sees the green socket's traffic, and the loop
    winds down without hanging."""
    loop = aioeventlet.new_event_loop()
    loop.set_exception_handler(lambda _l, ctx: handler_calls.append(ctx))
    handler_calls.expect()

    async def main() -> tuple[bool, bytes]:
        (_, cw), (sr, sw), server = await _tcp_pair(loop)
        fd = sw.get_extra_info("socket").fileno()
        os.close(fd)  # behind the transport's back
        green = green_socket.socket()
        reused = green.fileno() == fd
        # Make the green socket readable: a listener with a pending connection.
        green.bind(("127.0.0.1", 0))
        green.listen()
        peer = socket.create_connection(green.getsockname())
        await asyncio.sleep(0.05)
        stolen = sr._buffer  # type: ignore[attr-defined]
        assert not sr.at_eof()
        peer.close()
        green.close()
        # The transport's socket object still believes it owns the number (as
        # a stale socket object would on stock asyncio): give it a file of its
        # own to close, so that closing the transport harms nobody.
        placeholder = os.open(os.devnull, os.O_RDONLY)
        assert placeholder == fd
        sw.transport.abort()
        cw.close()
        await cw.wait_closed()
        server.close()
        await server.wait_closed()
        return reused, bytes(stolen)

    what = "transport's fd closed, number reused by a green socket"
    with _faults(no_leaks, what, 1, "fds") as tally:
        try:
            reused, stolen = loop.run_until_complete(main())
        finally:
            loop.close()
        messages = [c["message"] for c in handler_calls]
        tally.deliver(len(messages) == 1 and stolen == b"")
        tally.extra += max(len(messages) - 1, 0)
    assert reused
    assert stolen == b""
    assert len(messages) == 1, handler_calls
    assert "was closed while registered" in messages[0]


def test_fd_closed_by_os_close_does_not_hang(
    loop: asyncio.AbstractEventLoop, no_leaks: Recorder
) -> None:
    """os.close() behind the loop's back with nothing reusing the number: the
    loop keeps running other work, remove_reader() and close() still work.

    What the reader sees is the multiplexer's business, and there is one
    answer per multiplexer: epoll forgets a closed fd silently (stock
    asyncio's EpollSelector, aioeventlet on the epolls hub): the reader is
    never called; poll and select flag it, and the reader, called once, runs
    into EBADF (aioeventlet on the poll and selects hubs).
    """
    a, b = socket.socketpair()
    fd = a.fileno()
    calls: list[str] = []

    def on_readable() -> None:
        try:
            os.read(fd, 10)
        except OSError as exc:
            calls.append(errno.errorcode[exc.errno or 0])
            loop.remove_reader(fd)

    sees_it = _is_green(loop) and _hub_drops_closed_fds(HUB)
    expected = ["EBADF"] if sees_it else []
    with _faults(no_leaks, "registered fd closed by os.close()", 1, "fds") as tally:
        loop.add_reader(fd, on_readable)
        loop.run_until_complete(asyncio.sleep(0.01))
        os.close(fd)
        a.detach()
        # Other work goes on: a timer, bounded in case the loop is stuck.
        ticked = loop.create_future()
        loop.call_later(0.05, ticked.set_result, "ticked")
        assert loop.run_until_complete(tally.within(ticked)) == "ticked"
        loop.remove_reader(fd)
        b.close()
        tally.deliver(calls == expected)
    assert calls == expected


def test_fd_reused_by_plain_os_call_is_not_a_hang(no_leaks: Recorder) -> None:
    loop = aioeventlet.new_event_loop()
    a, b = socket.socketpair()
    fd = a.fileno()
    loop.add_reader(fd, lambda: None)
    r = w = -1
    what = "registered fd closed, number reused by os.pipe()"
    with _faults(no_leaks, what, 1, "fds") as tally:
        try:
            loop.run_until_complete(asyncio.sleep(0.01))
            os.close(fd)
            a.detach()
            r, w = os.pipe()
            assert r == fd
            fut = loop.create_future()

            def read_once() -> None:
                if not fut.done():
                    fut.set_result(os.read(r, 10))

            loop.add_reader(r, read_once)
            os.write(w, b"new")
            got = loop.run_until_complete(tally.within(fut))
            loop.remove_reader(r)
        finally:
            loop.close()
            b.close()
            for f in (r, w):
                if f >= 0:
                    os.close(f)
        tally.deliver(got == b"new")
    assert got == b"new"


@pytest.mark.parametrize("closer", ["green socket close()", "os.close()"])
@pytest.mark.parametrize("reuse", ["at once", "after a hub pass"])
def test_fd_closed_by_a_greenthread_then_reused(  # noqa: PLR0915 - one scenario
    closer: str,
    reuse: str,
    handler_calls: ExceptionHandlerCalls,
    no_leaks: Recorder,
) -> None:
    """Green code closes a green socket the loop has a reader on (or
    os.close()s its fd), then opens a green socket that gets the same number
    and becomes readable.  The stale reader never runs for the new socket,
    the loss is told exactly once, and nothing hangs.  Who tells depends on
    whether the hub polls between the close and the reuse, as the hubs
    differ (see _hub_drops_closed_fds): the loop's exception handler when
    eventlet learns of the reuse while the loop still watches the fd (always
    when no hub pass comes between; on epoll, which forgets closed fds
    silently, also after one); on poll and select, a hub pass notices the
    closed fd first: the reader runs once, into EBADF, and the hub drops its
    listener, so the reuse has nothing left to report.
    """
    loop = aioeventlet.new_event_loop()
    loop.set_exception_handler(lambda _l, ctx: handler_calls.append(ctx))
    handler_calls.expect()
    a, b = green_socket.socketpair()
    fd = a.fileno()
    phase = ["registered"]
    reader_saw: list[tuple[str, str]] = []

    def stale_reader() -> None:
        try:
            reader_saw.append((phase[0], f"read {os.read(fd, 100)!r}"))
        except OSError as exc:
            reader_saw.append((phase[0], errno.errorcode[exc.errno or 0]))

    def green_closes_and_reuses() -> tuple[Any, Any]:
        if closer == "green socket close()":
            a.close()
        else:
            os.close(fd)
            a.detach()  # the socket object must not close the number again
        phase[0] = "closed"
        if reuse == "after a hub pass":
            eventlet.sleep(0.01)  # the loop is parked: the hub polls
        phase[0] = "reused"
        new = green_socket.socket()
        new.bind(("127.0.0.1", 0))
        new.listen()
        peer = green_socket.socket()
        peer.connect(new.getsockname())  # new is readable from now on
        eventlet.sleep(0.05)  # the loop and the hub run meanwhile
        return new, peer

    async def main(tally: _Faults) -> tuple[int, bool]:
        loop.add_reader(a, stale_reader)
        await asyncio.sleep(0.01)
        gt = eventlet.spawn(green_closes_and_reuses)
        new, peer = await tally.within(aioeventlet.wrap_greenthread(gt))
        await asyncio.sleep(0.02)
        removed = loop.remove_reader(fd)
        reused = new.fileno()
        new.close()
        peer.close()
        return reused, removed

    hub_tells = reuse == "at once" or not _hub_drops_closed_fds(HUB)
    what = f"registered fd closed by a greenthread ({closer}), reused {reuse}"
    with _faults(no_leaks, what, 1, "fds") as tally:
        try:
            reused, removed = loop.run_until_complete(main(tally))
        finally:
            loop.close()
            b.close()
        messages = [c["message"] for c in handler_calls]
        if hub_tells:
            told = messages == [_fd_lost_message(fd)] and reader_saw == []
        else:
            told = messages == [] and reader_saw == [("closed", "EBADF")]
        tally.deliver(told)
        tally.extra += sum(when == "reused" for when, _ in reader_saw)
    assert reused == fd
    assert removed is True
    if hub_tells:
        assert messages == [_fd_lost_message(fd)]
        assert handler_calls[0]["fileobj"] is a
        assert reader_saw == []
    else:
        assert messages == []
        assert reader_saw == [("closed", "EBADF")]


# -- exceptions in every kind of callback ----------------------------------------------


class _Boom(Exception):
    pass


class _BaseBoom(BaseException):
    pass


def test_exceptions_in_callbacks_reach_the_handler(  # noqa: PLR0915 - one scenario
    loop: asyncio.AbstractEventLoop,
    handler_calls: ExceptionHandlerCalls,
    no_leaks: Recorder,
) -> None:
    """Each kind of callback raises once; each exception reaches the exception
    handler exactly once with the message asyncio gives, and the loop keeps
    running the callbacks scheduled after it."""
    handler_calls.expect()
    after: list[str] = []
    rfd, wfd = os.pipe()
    sigs_ok = threading.current_thread() is threading.main_thread()

    def raiser(kind: str) -> Callable[..., None]:
        def boom(*_: object) -> None:
            raise _Boom(kind)

        return boom

    class RaisingProtocol(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            raise _Boom("protocol.data_received")

    kinds = [
        "call_soon",
        "call_later",
        "call_at",
        "call_soon_threadsafe",
        "reader",
        "writer",
        "done callback",
        *(["signal handler"] if sigs_ok else []),
        "protocol.data_received",
    ]

    async def main() -> None:
        loop.call_soon(raiser("call_soon"))
        loop.call_later(0.001, raiser("call_later"))
        loop.call_at(loop.time() + 0.002, raiser("call_at"))
        thread = threading.Thread(
            target=loop.call_soon_threadsafe, args=(raiser("call_soon_threadsafe"),)
        )
        thread.start()
        thread.join()

        def reader() -> None:
            loop.remove_reader(rfd)
            raise _Boom("reader")

        def writer() -> None:
            loop.remove_writer(wfd)
            raise _Boom("writer")

        loop.add_reader(rfd, reader)
        loop.add_writer(wfd, writer)
        os.write(wfd, b"x")
        fut = loop.create_future()
        fut.add_done_callback(raiser("done callback"))
        fut.set_result(None)
        if sigs_ok:
            loop.add_signal_handler(signal.SIGUSR1, raiser("signal handler"))
            os.kill(os.getpid(), signal.SIGUSR1)
        # Protocol method: data arrives, data_received raises.
        server = await loop.create_server(RaisingProtocol, "127.0.0.1", 0)
        _, w = await asyncio.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        w.write(b"data")
        for _ in range(400):  # what has not arrived after 2 s is lost
            await asyncio.sleep(0.005)
            if len(handler_calls) >= len(kinds):
                break
        after.append("still running")
        if sigs_ok:
            loop.remove_signal_handler(signal.SIGUSR1)
        w.close()
        await w.wait_closed()
        server.close()
        await server.wait_closed()

    what = "exceptions raised in each kind of loop callback"
    with _faults(no_leaks, what, len(kinds), "exceptions") as tally:
        try:
            loop.run_until_complete(main())
        finally:
            os.close(rfd)
            os.close(wfd)
        arrived = Counter(str(c["exception"]) for c in handler_calls)
        tally.deliver(sum(arrived[kind] >= 1 for kind in kinds))
        tally.extra += sum(n - 1 for n in arrived.values() if n > 1)
    assert sorted(arrived.elements()) == sorted(kinds)
    assert after == ["still running"]
    assert all(isinstance(c["exception"], _Boom) for c in handler_calls)
    messages = {str(c["exception"]): c["message"] for c in handler_calls}
    assert messages["protocol.data_received"] == (
        "Fatal error: protocol.data_received() call failed."
    )
    assert messages["call_soon"].startswith("Exception in callback ")


def test_unretrieved_task_exception_reaches_handler(
    loop: asyncio.AbstractEventLoop,
    handler_calls: ExceptionHandlerCalls,
    no_leaks: Recorder,
) -> None:
    handler_calls.expect()

    async def fails() -> None:
        raise _Boom("task")

    with _faults(no_leaks, "task exception never retrieved", 1, "exceptions") as tally:
        task = loop.create_task(fails())
        loop.run_until_complete(asyncio.sleep(0.01))
        del task
        gc.collect()
        reports = [
            c["message"] for c in handler_calls if isinstance(c["exception"], _Boom)
        ]
        tally.deliver(len(reports) == 1)
        tally.extra += max(len(reports) - 1, 0)
    assert [c["message"] for c in handler_calls] == [
        "Task exception was never retrieved"
    ]
    assert isinstance(handler_calls[0]["exception"], _Boom)


def test_greenthread_exception_reaches_awaiting_code(no_leaks: Recorder) -> None:
    """A greenthread that raises while the loop runs: the loop is unharmed,
    and the coroutine that waits for it gets the exception."""

    def green_fails() -> None:
        eventlet.sleep(0.01)
        raise _Boom("green")

    async def main() -> str:
        gt = eventlet.spawn(green_fails)
        gt.link(lambda _gt: None)  # linked: eventlet does not print it
        await asyncio.sleep(0.02)  # it raised while the loop was parked
        try:
            gt.wait()
        except _Boom as exc:
            return f"caught {exc}"
        return "nothing raised"

    with _faults(no_leaks, "exception raised in a greenthread", 1, "exceptions") as t:
        caught = aioeventlet.run(main())
        t.deliver(caught == "caught green")
    assert caught == "caught green"


# -- SIGINT during run() ---------------------------------------------------------------

_SIGINT_CHILD = textwrap.dedent(
    """
    import aioeventlet, asyncio, json, sys
    import eventlet
    RUN = aioeventlet.run if sys.argv[1] == "aioeventlet" else asyncio.run
    log = {"cancelled": [], "main_cancelled": False, "keyboard_interrupt": False}

    async def worker(n):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            log["cancelled"].append(n)
            raise

    async def main():
        tasks = [asyncio.ensure_future(worker(n)) for n in range(3)]
        await asyncio.sleep(0.05)
        print("ready", flush=True)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            log["main_cancelled"] = True
            raise

    try:
        RUN(main())
    except KeyboardInterrupt:
        log["keyboard_interrupt"] = True
    log["cancelled"].sort()
    # The hub survived: greenthreads still run after run() returned.
    log["green_after"] = eventlet.spawn(lambda: eventlet.sleep(0.01) or 1).wait()
    print(json.dumps(log), flush=True)
    """
)


def _sigint_child(kind: str, tally: _Faults) -> dict[str, Any]:
    proc = subprocess.Popen(
        [sys.executable, "-W", "error", "-c", _SIGINT_CHILD, kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if not select.select([proc.stdout], [], [], 30)[0]:
            tally.hung += 1
            raise AssertionError(f"the {kind} child never got ready")
        ready = proc.stdout.readline()
        assert ready == "ready\n", proc.stderr.read() if proc.stderr else ready
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            tally.hung += 1
            raise
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert err == ""
    result: dict[str, Any] = json.loads(out)
    return result


def test_sigint_during_run_cancels_tasks(no_leaks: Recorder) -> None:
    """Ctrl-C during aioeventlet.run(): KeyboardInterrupt comes out of run(),
    the tasks were cancelled (their handlers ran), the hub still works, and
    all of it matches asyncio.run() on this Python."""
    what = "SIGINT during aioeventlet.run() (child process, vs asyncio.run())"
    with _faults(no_leaks, what, 1, "signals") as tally:
        green = _sigint_child("aioeventlet", tally)
        stock = _sigint_child("asyncio", tally)
        tally.deliver(
            green["keyboard_interrupt"] is True and green["cancelled"] == [0, 1, 2]
        )
    if sys.version_info < (3, 11):
        # 3.10's asyncio.run() has no SIGINT handler: KeyboardInterrupt lands
        # wherever the signal finds the thread, in select() (main is then
        # cancelled with the other tasks) or in main's own step (it then ends
        # with the exception): either, on stock asyncio as on aioeventlet.
        del green["main_cancelled"], stock["main_cancelled"]
    else:
        # asyncio.Runner cancels the main task on SIGINT.
        assert green["main_cancelled"] is True
    assert green == stock
    assert green["keyboard_interrupt"] is True
    assert green["cancelled"] == [0, 1, 2]
    assert green["green_after"] == 1


# -- close() with work pending ---------------------------------------------------------


def test_close_with_pending_tasks(
    loop: asyncio.AbstractEventLoop,
    handler_calls: ExceptionHandlerCalls,
    no_leaks: Recorder,
) -> None:
    """close() with tasks still pending: the hub is left clean, and the tasks
    are reported destroyed-while-pending on collection, as on stock asyncio."""
    handler_calls.expect()

    async def forever(fut: asyncio.Future[None]) -> None:
        await fut

    with _faults(no_leaks, "loop.close() with pending tasks", 5, "tasks") as tally:
        never: asyncio.Future[None] = loop.create_future()
        tasks = [loop.create_task(forever(never)) for _ in range(5)]
        loop.call_later(3600, lambda: None)
        r, w = socket.socketpair()
        loop.add_reader(r, lambda: None)
        loop.run_until_complete(asyncio.sleep(0.01))
        loop.remove_reader(r)
        r.close()
        w.close()
        loop.close()
        left_on_hub = hub_leftovers()
        still_pending = sum(not t.done() for t in tasks)
        del tasks, never
        gc.collect()
        # Each pending task is reported, once, when collected.
        reports = sum(
            c["message"] == "Task was destroyed but it is pending!"
            for c in handler_calls
        )
        tally.deliver(min(reports, still_pending))
        tally.extra += max(reports - 5, 0)
    assert left_on_hub == {}
    assert still_pending == 5
    assert [c["message"] for c in handler_calls] == [
        "Task was destroyed but it is pending!"
    ] * 5


# -- fork ------------------------------------------------------------------------------

_FORK_CHILD = textwrap.dedent(
    """
    import warnings
    import aioeventlet
    # eventlet warns that fork() is "a bad idea": exactly that warning is the
    # subject here.
    warnings.filterwarnings("ignore", message="Using fork[(][)] is a bad idea")
    import asyncio, json, os, socket, sys, threading, time
    import eventlet
    CHILD_EXIT = sys.argv[1]

    async def child_main():
        a, b = socket.socketpair()
        loop = asyncio.get_running_loop()
        gt = eventlet.spawn(lambda: eventlet.sleep(0.01) or "green")
        await loop.sock_sendall(b, b"child io")
        got = await asyncio.wait_for(loop.sock_recv(a, 100), 5)
        a.close(); b.close()
        return [got.decode(), gt.wait()]

    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        readable = loop.create_future()
        loop.add_reader(a, lambda: readable.done() or readable.set_result(a.recv(100)))
        pid = os.fork()
        if pid == 0:
            result = aioeventlet.run(child_main())
            print(json.dumps({"child": result}), flush=True)
            if CHILD_EXIT == "_exit":
                os._exit(0)
            # Raised inside the parent's loop inherited by the child: the
            # child ends there with this status, without unwinding that loop.
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        # The parent's loop still works: timers, self-pipe wake-ups from a
        # thread, and readiness of the fd registered before the fork.
        woken = loop.create_future()
        t = threading.Thread(
            target=lambda: (time.sleep(0.05), loop.call_soon_threadsafe(
                woken.set_result, "woken")))
        t.start()
        far = loop.call_later(3600, lambda: None)
        out = {"status": os.waitstatus_to_exitcode(status)}
        try:
            out["threadsafe"] = await asyncio.wait_for(woken, 3)
        except asyncio.TimeoutError:
            out["threadsafe"] = "not woken"
        t.join()
        b.send(b"parent io")
        try:
            out["reader"] = (await asyncio.wait_for(readable, 3)).decode()
        except asyncio.TimeoutError:
            out["reader"] = "never called"
        far.cancel()
        loop.remove_reader(a)
        a.close(); b.close()
        return out

    print(json.dumps({"parent": aioeventlet.run(main())}), flush=True)
    """
)


_FORK_EXPECTED = [
    {"child": ["child io", "green"]},
    {"parent": {"status": 0, "threadsafe": "woken", "reader": "parent io"}},
]


def _fork_program(child_exit: str, tally: _Faults) -> list[dict[str, Any]]:
    proc = tally.run([sys.executable, "-W", "error", "-c", _FORK_CHILD, child_exit], 30)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    # The parent's waits that hit their timeout say so instead of a value.
    parent = lines[-1].get("parent", {}) if lines else {}
    tally.hung += sum(v in ("not woken", "never called") for v in parent.values())
    tally.deliver(lines == _FORK_EXPECTED)
    return lines


@pytest.mark.parametrize(
    ("child_exit", "how"),
    [("_exit", "child exits with os._exit"), ("sys.exit", "child unwinds it")],
)
def test_fork_with_a_running_loop(
    child_exit: str, how: str, no_leaks: Recorder
) -> None:
    """The child makes a fresh loop and runs it (I/O and a greenthread); the
    parent's loop keeps its timers, self-pipe wake-ups and registered fds."""
    what = f"os.fork() with a running loop ({how})"
    with _faults(no_leaks, what, 1, "forks") as tally:
        lines = _fork_program(child_exit, tally)
    assert lines == _FORK_EXPECTED


# -- running out of file descriptors ---------------------------------------------------

_EMFILE_CHILD = textwrap.dedent(
    """
    import aioeventlet, asyncio, errno, json, os, resource, socket
    import eventlet

    def nfds():
        return len(os.listdir("/proc/self/fd"))

    async def main():
        loop = asyncio.get_running_loop()
        handler = []
        loop.set_exception_handler(lambda l, c: handler.append(c))
        accepted = []
        server = await asyncio.start_server(
            lambda r, w: accepted.append(w), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        # Leave room for a few more fds only.
        resource.setrlimit(resource.RLIMIT_NOFILE, (nfds() + 12, HARD))
        clients, client_errors = [], []
        for _ in range(40):
            try:
                clients.append(await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), 5))
            except OSError as exc:
                client_errors.append(errno.errorcode.get(exc.errno, str(exc.errno)))
        await asyncio.sleep(0.1)
        out = {
            "client_errors": sorted(set(client_errors)),
            "handler": sorted({c["message"] for c in handler}),
            "handler_errnos": sorted({
                errno.errorcode[c["exception"].errno] for c in handler
                if isinstance(c.get("exception"), OSError)}),
        }
        try:
            aioeventlet.new_event_loop()
            out["new_loop"] = "created"
        except OSError as exc:
            out["new_loop"] = errno.errorcode[exc.errno]
        try:
            eventlet.listen(("127.0.0.1", 0))
            out["green_listen"] = "created"
        except OSError as exc:
            out["green_listen"] = errno.errorcode[exc.errno]
        # Free the fds: the server accepts again (after asyncio's retry
        # delay) and new connections work.
        for r, w in clients:
            w.close()
        for w in accepted:
            w.close()
        accepted.clear()
        await asyncio.sleep(0.05)
        resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        for _ in range(300):
            if accepted:
                break
            await asyncio.sleep(0.01)
        out["recovered"] = bool(accepted)
        w.close()
        for a in accepted:
            a.close()
        server.close()
        await server.wait_closed()
        out["opened_before_limit"] = len(clients)
        return out

    SOFT, HARD = resource.getrlimit(resource.RLIMIT_NOFILE)
    print(json.dumps(aioeventlet.run(main())))
    """
)


def test_out_of_file_descriptors_is_an_error_not_a_hang(no_leaks: Recorder) -> None:
    """Out of fds: each place that needs one says EMFILE (a client's connect,
    the server's accept through the exception handler, a new loop, a green
    listen), nothing hangs, and the server accepts again once fds are free."""
    what = "RLIMIT_NOFILE exhausted under a running loop (child process)"
    with _faults(no_leaks, what, 4, "EMFILE faults") as tally:
        proc = tally.run([sys.executable, "-W", "error", "-c", _EMFILE_CHILD], 50)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        tally.deliver(out["client_errors"] == ["EMFILE"])
        tally.deliver(out["handler_errnos"] == ["EMFILE"])
        tally.deliver(out["new_loop"] == "EMFILE")
        tally.deliver(out["green_listen"] == "EMFILE")
    assert out["client_errors"] == ["EMFILE"]
    assert 0 < out["opened_before_limit"] < 40
    assert out["handler"] == ["socket.accept() out of system resource"]
    assert out["handler_errnos"] == ["EMFILE"]
    assert out["new_loop"] == "EMFILE"
    assert out["green_listen"] == "EMFILE"
    assert out["recovered"] is True


# -- the bridges under faults ---------------------------------------------------------


def test_exceptions_cross_both_bridges(no_leaks: Recorder) -> None:
    """An exception raised in a wrapped greenthread reaches the coroutine that
    awaits it; one raised in a coroutine reaches the greenthread waiting in
    yield_future(); BaseExceptions cross too."""

    def green_fails(exc: BaseException) -> None:
        eventlet.sleep(0.001)
        raise exc

    async def coro_fails(exc: BaseException) -> None:
        await asyncio.sleep(0.001)
        raise exc

    def green_waits(loop: asyncio.AbstractEventLoop, exc: BaseException) -> str:
        try:
            aioeventlet.yield_future(coro_fails(exc), loop=loop)
        except BaseException as got:
            return f"green got {type(got).__name__}({got})"
        return "green got nothing"

    async def main(tally: _Faults) -> list[str]:
        loop = asyncio.get_running_loop()
        seen = []
        # (KeyboardInterrupt and SystemExit stop eventlet's hub or asyncio's
        # loop themselves, by design; other BaseExceptions cross.)
        for exc in (_Boom("g"), _BaseBoom("g")):
            gt = eventlet.spawn(green_fails, exc)
            try:
                await tally.within(aioeventlet.wrap_greenthread(gt))
            except BaseException as got:
                seen.append(f"coroutine got {type(got).__name__}({got})")
        for raised in (_Boom("c"), _BaseBoom("c"), asyncio.CancelledError("c")):
            gt = eventlet.spawn(green_waits, loop, raised)
            seen.append(await tally.within(aioeventlet.wrap_greenthread(gt)))
        return seen

    expected = [
        "coroutine got _Boom(g)",
        "coroutine got _BaseBoom(g)",
        "green got _Boom(c)",
        "green got _BaseBoom(c)",
        "green got CancelledError(c)"
        if sys.version_info >= (3, 11)
        else "green got CancelledError()",
    ]
    what = "exceptions raised across the bridges (both ways, Exception, BaseException)"
    hub = eventlet.hubs.get_hub()
    printed = hub.debug_exceptions
    hub.debug_exceptions = False  # the raising greenthreads are the test
    with _faults(no_leaks, what, len(expected), "exceptions") as tally:
        try:
            seen = aioeventlet.run(main(tally))
        finally:
            hub.debug_exceptions = printed
        # (strict=False: a short list is what this counts, not an error.)
        tally.deliver(
            sum(got == want for got, want in zip(seen, expected, strict=False))
        )
    assert seen == expected


def test_unretrieved_greenthread_exception_reaches_handler(
    handler_calls: ExceptionHandlerCalls, no_leaks: Recorder
) -> None:
    """A wrapped greenthread's exception that nobody retrieves is reported
    to the exception handler, as a task's would be."""
    handler_calls.expect()
    loop = aioeventlet.new_event_loop()
    loop.set_exception_handler(lambda _l, ctx: handler_calls.append(ctx))

    def green_fails() -> None:
        raise _Boom("unretrieved")

    hub = eventlet.hubs.get_hub()
    printed = hub.debug_exceptions
    hub.debug_exceptions = False
    what = "wrapped greenthread's exception never retrieved"
    with _faults(no_leaks, what, 1, "exceptions") as tally:
        try:
            fut = aioeventlet.wrap_greenthread(eventlet.spawn(green_fails), loop=loop)
            loop.run_until_complete(asyncio.sleep(0.01))
            assert fut.done()
            del fut
            gc.collect()
        finally:
            hub.debug_exceptions = printed
            loop.close()
        reports = [c for c in handler_calls if isinstance(c["exception"], _Boom)]
        tally.deliver(len(reports) == 1)
        tally.extra += max(len(reports) - 1, 0)
    assert len(handler_calls) == 1
    assert handler_calls[0]["message"].endswith("exception was never retrieved")
    assert isinstance(handler_calls[0]["exception"], _Boom)


def test_close_with_wrapped_greenthreads_running(no_leaks: Recorder) -> None:
    """close() while wrapped greenthreads still run: they finish normally
    afterwards, their futures stay as they were (nobody can await them on a
    closed loop), nothing raises, and the hub ends clean."""
    loop = aioeventlet.new_event_loop()
    finished: list[int] = []

    def green(n: int) -> int:
        eventlet.sleep(0.01)
        finished.append(n)
        return n

    what = "loop.close() with wrapped greenthreads still running"
    with _faults(no_leaks, what, 5, "greenthreads") as tally:
        gts = [eventlet.spawn(green, n) for n in range(5)]
        futs = [aioeventlet.wrap_greenthread(gt, loop=loop) for gt in gts]
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        results = [_green_wait(gt, tally) for gt in gts]
        tally.deliver(
            sum(
                r == n and not f.done()
                for n, (r, f) in enumerate(zip(results, futs, strict=True))
            )
        )
    assert results == [0, 1, 2, 3, 4]
    assert sorted(finished) == [0, 1, 2, 3, 4]
    assert all(not f.done() for f in futs)
    assert hub_leftovers() == {}


def test_close_with_pending_tasks_cancels_nothing_green(no_leaks: Recorder) -> None:
    """close() with pending tasks that were awaiting greenthreads: the
    greenthreads are not killed behind the user's back (asyncio's close()
    cancels nothing either), and they end on their own."""
    loop = aioeventlet.new_event_loop()
    loop.set_exception_handler(lambda _l, _ctx: None)  # destroyed-pending noise

    def green() -> str:
        eventlet.sleep(0.01)
        return "done"

    gt = eventlet.spawn(green)
    fut = aioeventlet.wrap_greenthread(gt, loop=loop)

    async def awaits() -> str:
        result: str = await fut
        return result

    what = "loop.close() with a task awaiting a greenthread"
    with _faults(no_leaks, what, 1, "tasks") as tally:
        task = loop.create_task(awaits())
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        result = _green_wait(gt, tally)
        task_done = task.done()
        del task
        gc.collect()
        tally.deliver(result == "done" and not task_done)
    assert result == "done"
    assert not task_done


def test_close_wakes_greenthreads_waiting_in_yield_future(no_leaks: Recorder) -> None:
    loop = aioeventlet.new_event_loop()
    loop.set_exception_handler(lambda _l, _ctx: None)  # destroyed-pending noise
    out: list[str] = []

    async def forever() -> None:
        await asyncio.sleep(3600)

    def waiter() -> None:
        try:
            aioeventlet.yield_future(forever(), loop=loop)
            out.append("returned")
        except BaseException as exc:
            out.append(type(exc).__name__)

    async def main() -> Any:
        gt = eventlet.spawn(waiter)
        await asyncio.sleep(0.01)  # it waits now
        return gt

    what = "loop.close() while a greenthread waits in yield_future()"
    with _faults(no_leaks, what, 1, "greenthreads") as tally:
        gt = loop.run_until_complete(main())
        loop.close()
        _green_wait(gt, tally)
        gc.collect()
        tally.deliver(out == ["RuntimeError"])
    assert tally.hung == 0, "the greenthread is still parked after close()"
    assert out == ["RuntimeError"]


def _green_wait(gt: Any, tally: _Faults, seconds: float = BOUND) -> Any:
    """gt.wait() for at most *seconds*; a timeout counts as hung, and the
    greenthread is killed (not left parked for the other tests)."""
    try:
        with eventlet.Timeout(seconds):
            return gt.wait()
    except eventlet.Timeout:
        tally.hung += 1
        gt.kill()
        return None
