"""The core loop's behaviour (DESIGN.md section 3, "The loop").

Behaviour tests take the ``loop`` or ``loop_factory`` fixture and run once on
stock asyncio and once on aioeventlet with the same body.  Stock asyncio waits
in its own selector and never switches to eventlet's hub, and greenthreads see
its running loop (asyncio keeps it per OS thread): where that makes it behave
differently, the body asserts the contrast, so the stock loop shows what the
test would see without aioeventlet.  Tests of aioeventlet's own mechanics (hub
listeners and timers, the policy, its errors) run on aioeventlet only.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import pathlib
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import eventlet
import eventlet.debug
import eventlet.hubs
import pytest
from eventlet.greenthread import GreenThread

import aioeventlet
from aioeventlet import _hub
from aioeventlet._selector import HubSelector

from .conftest import LoopFactory, hub_leftovers, in_new_os_thread

TICKS = ["g0", "g1", "g2"]


def green_ticker(log: list[str], name: str, count: int, delay: float) -> None:
    for i in range(count):
        log.append(f"{name}{i}")
        eventlet.sleep(delay)


def is_green(loop: asyncio.AbstractEventLoop) -> bool:
    return isinstance(loop, aioeventlet.EventLoop)


def record_calls(
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    name: str,
    calls: list[tuple[Any, ...]],
) -> None:
    """Wrap the method *owner.name* for the test: each call appends its
    arguments (after self) to *calls*, then runs the real method."""
    real = getattr(owner, name)

    def spy(self: object, *args: Any) -> Any:
        calls.append(args)
        return real(self, *args)

    monkeypatch.setattr(owner, name, spy)


# -- running in the calling greenthread ------------------------------------------


def test_greenthreads_run_while_loop_waits(loop: asyncio.AbstractEventLoop) -> None:
    """While the loop waits, greenthreads run.  Stock asyncio waits in its own
    selector: they starve until something switches to eventlet's hub."""
    log: list[str] = []

    async def main() -> list[str]:
        gt = eventlet.spawn(green_ticker, log, "g", 3, 0.01)
        await asyncio.sleep(0.1)
        # Look before gt.wait(): it switches to the hub, which runs the
        # greenthread to its end on any loop.
        ran_while_waiting = list(log)
        gt.wait()
        return ran_while_waiting

    ran_while_waiting = loop.run_until_complete(main())
    if is_green(loop):
        assert ran_while_waiting == TICKS
    else:
        assert ran_while_waiting == [], "stock asyncio ran eventlet's hub"
    assert log == TICKS


def test_greenthreads_run_while_loop_is_busy(loop: asyncio.AbstractEventLoop) -> None:
    """A loop that never waits (always has ready callbacks) still lets
    greenthreads run: it yields to the hub on every iteration.  A busy stock
    loop never does."""
    log: list[str] = []
    max_spins = 1000

    async def main() -> tuple[int, list[str]]:
        gt = eventlet.spawn(green_ticker, log, "g", 3, 0)
        spins = 0
        while len(log) < 3 and spins < max_spins:
            await asyncio.sleep(0)
            spins += 1
        ran_while_busy = list(log)  # before gt.wait() runs the hub anyway
        gt.wait()
        return spins, ran_while_busy

    spins, ran_while_busy = loop.run_until_complete(main())
    if is_green(loop):
        assert spins < max_spins, "greenthread starved by a busy loop"
        assert ran_while_busy == TICKS
        assert spins < 20
    else:
        assert (spins, ran_while_busy) == (max_spins, []), "stock ran the hub"
    assert log == TICKS


def test_run_forever_runs_in_calling_greenthread(loop_factory: LoopFactory) -> None:
    seen: list[object] = []

    def in_greenthread() -> None:
        loop = loop_factory()
        try:
            loop.call_soon(lambda: seen.append(eventlet.getcurrent()))
            loop.call_soon(loop.stop)
            loop.run_forever()
        finally:
            loop.close()
        seen.append(eventlet.getcurrent())

    gt = eventlet.spawn(in_greenthread)
    gt.wait()
    assert seen == [gt, gt]


def test_hello_world_with_policy() -> None:
    """The seed's hello world, through the (legacy) policy."""
    old_policy = asyncio.get_event_loop_policy()
    out: list[str] = []
    asyncio.set_event_loop_policy(aioeventlet.EventLoopPolicy())
    try:
        loop = asyncio.new_event_loop()
        assert isinstance(loop, aioeventlet.EventLoop)

        def hello_world() -> None:
            out.append("Hello World")
            loop.stop()

        loop.call_soon(hello_world)
        loop.run_forever()
        loop.close()
    finally:
        asyncio.set_event_loop_policy(old_policy)
    assert out == ["Hello World"]


def test_policy_builds_on_the_platform_default_policy() -> None:
    """EventLoopPolicy's base class is the policy class asyncio itself installs
    by default, found without the name that warns on Python 3.14; and importing
    aioeventlet does not load the policy module."""
    proc = _run_python(
        "import asyncio, sys\n"
        "import aioeventlet\n"
        "print('aioeventlet._policy' in sys.modules)\n"
        "from aioeventlet import _policy\n"
        # 3.14 deprecates get_event_loop_policy(); its private twin is silent.
        "get = getattr(asyncio.events, '_get_event_loop_policy', None)\n"
        "default = type((get or asyncio.get_event_loop_policy)())\n"
        "print(default.__module__, default.__qualname__)\n"
        "print(_policy._BasePolicy is default)\n"
        "print(issubclass(_policy.EventLoopPolicy, default))\n"
    )
    assert proc.returncode == 0, proc.stderr
    lazy, default, is_base, subclass = proc.stdout.splitlines()
    assert lazy == "False", "importing aioeventlet loaded the policy module"
    assert default == "asyncio.unix_events _UnixDefaultEventLoopPolicy"
    assert is_base == subclass == "True"
    if sys.version_info < (3, 14):
        from aioeventlet._policy import EventLoopPolicy

        assert EventLoopPolicy.__bases__ == (asyncio.DefaultEventLoopPolicy,)


def test_runner_with_loop_factory(loop_factory: LoopFactory, loop_kind: str) -> None:
    if sys.version_info < (3, 11):
        pytest.skip("asyncio.Runner is new in Python 3.11")
    expected = {
        "asyncio": asyncio.SelectorEventLoop,
        "aioeventlet": aioeventlet.EventLoop,
    }

    async def main() -> type:
        return type(asyncio.get_running_loop())

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        assert runner.run(main()) is expected[loop_kind]


def test_run_returns_result_and_raises(loop_factory: LoopFactory) -> None:
    async def ok() -> int:
        await asyncio.sleep(0)
        return 7

    async def fails() -> None:
        await asyncio.sleep(0)
        raise KeyError("boom")

    loop = loop_factory()
    try:
        assert loop.run_until_complete(ok()) == 7
        with pytest.raises(KeyError, match="boom"):
            loop.run_until_complete(fails())
    finally:
        loop.close()


# -- wake-ups from other greenthreads ---------------------------------------------


@pytest.mark.parametrize(
    "how", ["call_soon", "call_at", "call_later", "stop", "future"]
)
def test_other_greenthread_wakes_parked_loop(
    loop_factory: LoopFactory, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Work scheduled by a greenthread of the same OS thread wakes a loop
    parked with nothing to do at once, without the self-pipe.  Stock asyncio
    sleeps in its own selector until its next timer, and the greenthread does
    not even run before then."""
    loop = loop_factory()
    green = is_green(loop)
    # The loop's only timer, which stops it.  aioeventlet must return long
    # before it (woken, not timed out); stock asyncio sleeps until it, so it
    # is short there to keep the test fast.
    far_delay = 30.0 if green else 0.2
    poked: list[float] = []
    # What the greenthread had done when the far timer fired.
    far_fired: list[list[float]] = []
    fut = loop.create_future()

    def poke() -> None:
        eventlet.sleep(0.01)
        poked.append(time.monotonic())
        if how == "call_soon":
            loop.call_soon(loop.stop)
        elif how == "call_at":
            loop.call_at(loop.time(), loop.stop)
        elif how == "call_later":
            loop.call_later(0, loop.stop)
        elif how == "stop":
            loop.stop()
        else:
            fut.set_result(None)

    def on_far() -> None:
        far_fired.append(list(poked))
        loop.stop()

    if how == "future":
        fut.add_done_callback(lambda _: loop.stop())
    far = loop.call_later(far_delay, on_far)
    writes: list[tuple[Any, ...]] = []
    record_calls(monkeypatch, type(loop), "_write_to_self", writes)
    gt = eventlet.spawn(poke)
    start = time.monotonic()
    try:
        loop.run_forever()
        elapsed = time.monotonic() - start
        ran_while_parked = list(poked)
    finally:
        far.cancel()
        gt.wait()
        loop.close()
    if green:
        assert ran_while_parked, "the greenthread never ran"
        assert far_fired == [], "the loop slept until its own timer"
        # A generous bound: it proves the loop was woken, not that it is fast.
        assert elapsed < 5, f"returned after {elapsed:.1f}s, not woken at once"
    else:
        assert ran_while_parked == [], "stock asyncio ran eventlet's hub"
        assert far_fired == [[]], "stock asyncio returned before its timer"
    assert writes == [], "a same-thread wake-up went through the self-pipe"


def test_call_soon_threadsafe_from_os_thread(loop: asyncio.AbstractEventLoop) -> None:
    result: list[str] = []

    def other_thread() -> None:
        time.sleep(0.02)
        loop.call_soon_threadsafe(result.append, "from thread")
        loop.call_soon_threadsafe(loop.stop)

    far = loop.call_later(3600, lambda: None)
    thread = threading.Thread(target=other_thread)
    thread.start()
    loop.run_forever()
    thread.join()
    far.cancel()
    assert result == ["from thread"]


# -- clock ------------------------------------------------------------------------


def test_loop_time_is_hub_clock(loop: asyncio.AbstractEventLoop) -> None:
    """aioeventlet reads the hub's clock; stock asyncio agrees only because
    both read time.monotonic()."""
    hub = eventlet.hubs.get_hub()
    before = hub.clock()
    now = loop.time()
    after = hub.clock()
    assert before <= now <= after


def test_asyncio_and_eventlet_timers_interleave_in_order(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """On aioeventlet, asyncio and eventlet timers fire in deadline order;
    stock asyncio never runs eventlet's hub, so eventlet's wait for it."""
    order: list[str] = []

    async def main() -> list[str]:
        for delay in (0.03, 0.01):
            loop.call_later(delay, order.append, f"asyncio{delay}")
        for delay in (0.04, 0.02):
            eventlet.spawn_after(delay, order.append, f"eventlet{delay}")
        await asyncio.sleep(0.08)
        return list(order)

    fired_while_running = loop.run_until_complete(main())
    eventlet.sleep(0.01)  # the hub fires what is still due, if anything
    if is_green(loop):
        in_order = ["asyncio0.01", "eventlet0.02", "asyncio0.03", "eventlet0.04"]
        assert fired_while_running == order == in_order
    else:
        assert fired_while_running == ["asyncio0.01", "asyncio0.03"]
        assert order == [*fired_while_running, "eventlet0.02", "eventlet0.04"]


# -- leaving the hub clean -----------------------------------------------------------


def test_close_leaves_hub_clean(loop_factory: LoopFactory) -> None:
    before = hub_leftovers()

    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        asyncio.get_running_loop().call_later(3600, lambda: None)
        await reader.read()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    loop = loop_factory()
    try:
        loop.run_until_complete(main())
        if is_green(loop):
            # While open, the loop's self-pipe has its persistent listener.
            assert "listeners" in hub_leftovers()
        else:
            assert hub_leftovers() == before  # stock asyncio never uses the hub
    finally:
        loop.close()
    assert hub_leftovers() == before


def _timers_of(selector: HubSelector) -> list[Any]:
    """The live hub timers that resume *selector*'s parked loop."""
    hub = eventlet.hubs.get_hub()
    return [
        timer
        for _, timer in hub.timers + hub.next_timers
        if not timer.called
        # A live eventlet Timer keeps (callback, args, kwargs) in .tpl; ours
        # are the selector's _resume_cb.
        and timer.tpl[0] is selector._resume_cb
    ]


@contextlib.contextmanager
def _green_reader() -> Iterator[None]:
    """Another greenthread waits on the hub for a socket, with a hub listener
    that is not the loop's: the loop must park on the hub (where that
    greenthread's fd is polled too) rather than poll its own fds alone."""
    mine, peer = socket.socketpair()
    reader = eventlet.spawn(eventlet.hubs.trampoline, mine, read=True)
    eventlet.sleep(0)  # it starts and waits: its listener is on the hub
    try:
        yield
    finally:
        reader.kill()
        mine.close()
        peer.close()


def test_wait_cancels_its_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wait cut short by I/O cancels the hub timer it set: no timer leak."""
    parks: list[tuple[Any, ...]] = []
    record_calls(monkeypatch, HubSelector, "_park", parks)
    rounds = 50
    left_per_round: list[list[Any]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        selector = loop._selector  # type: ignore[attr-defined]
        # Another greenthread waits on the hub (see _green_reader): select()
        # parks on the hub, and so sets a timer for its timeout each time.
        # Each wait would last an hour but for the I/O that ends it.
        far = loop.call_later(3600, lambda: None)
        a, b = socket.socketpair()
        a.setblocking(False)
        try:
            for _ in range(rounds):
                eventlet.spawn_after(0.001, b.send, b"x")
                assert await loop.sock_recv(a, 1) == b"x"
                left_per_round.append(_timers_of(selector))
        finally:
            far.cancel()
            a.close()
            b.close()

    with _green_reader():
        aioeventlet.run(main())
    long_waits = [t for (t,) in parks if t is not None and t > 3000]
    assert len(long_waits) >= rounds, f"the loop did not park each round: {parks}"
    assert left_per_round == [[]] * rounds, "a wait left its hub timer behind"
    hub = eventlet.hubs.get_hub()
    assert not [t for _, t in hub.timers + hub.next_timers if not t.called]


def _check_listeners_persist(company: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """test_hub_listeners_persist_across_iterations on the calling thread's hub."""
    hub = eventlet.hubs.get_hub()
    added: list[tuple[Any, ...]] = []
    removed: list[tuple[Any, ...]] = []
    parks: list[tuple[Any, ...]] = []
    rounds = 100
    loop = aioeventlet.new_event_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    fd = a.fileno()
    readers: list[object] = []
    writers: list[object] = []

    def on_readable() -> None:
        a.recv(1)
        readers.append(hub.listeners[_hub.READ][fd])
        if len(readers) < rounds:
            b.send(b"x")  # ready again for the next iteration
        else:
            loop.stop()

    def on_writable() -> None:  # a socket is writable on every iteration
        writers.append(hub.listeners[_hub.WRITE][fd])

    try:
        loop.add_reader(fd, on_readable)
        loop.add_writer(fd, on_writable)
        listeners = (hub.listeners[_hub.READ][fd], hub.listeners[_hub.WRITE][fd])
        # On the hub's class: aioeventlet calls them on the instance.
        record_calls(monkeypatch, type(hub), "add", added)
        record_calls(monkeypatch, type(hub), "remove", removed)
        record_calls(monkeypatch, HubSelector, "_park", parks)
        b.send(b"x")
        loop.run_forever()
        assert (added, removed) == ([], []), "listeners re-added or removed"
        loop.remove_reader(fd)
        loop.remove_writer(fd)
        assert [(gone.evtype, gone.fileno) for (gone,) in removed] == [
            (_hub.READ, fd),
            (_hub.WRITE, fd),
        ]
    finally:
        loop.close()
        a.close()
        b.close()
    assert len(readers) == rounds <= len(writers)
    # One listener object per event, the same one on every iteration.
    assert (set(map(id, readers)), set(map(id, writers))) == (
        {id(listeners[0])},
        {id(listeners[1])},
    )
    if company == "alone":
        assert parks == [], "the loop parked although nothing else was on the hub"
    else:
        assert len(parks) >= rounds, "the loop did not wait on the hub"


@pytest.mark.parametrize("company", ["alone", "with_greenthread"])
def test_hub_listeners_persist_across_iterations(
    company: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registered reader and writer keep one hub listener each, whether the
    loop polls its fds itself (alone on the hub) or parks on the hub (another
    greenthread waits there for a socket): nothing is added or removed per
    iteration.  "Alone" runs in a new OS thread, whose eventlet hub holds
    nothing else: the test suite's own hub may still list timers that earlier
    tests cancelled, and the loop rightly gives the hub a pass when one of
    them comes due.
    """
    if company == "alone":
        in_new_os_thread(lambda: _check_listeners_persist(company, monkeypatch))
    else:
        # Started before the spies are set: its listener is not the loop's.
        with _green_reader():
            _check_listeners_persist(company, monkeypatch)


# -- other greenthreads do not see the loop running -----------------------------------


def test_other_greenthreads_see_no_running_loop(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """On stock asyncio the running loop is per OS thread, so a greenthread
    sees the loop and the task of the greenthread that runs it."""
    seen: list[object] = []

    def probe() -> None:
        for ask in (asyncio.get_running_loop, asyncio.current_task):
            try:
                seen.append(ask())
            except RuntimeError as exc:
                seen.append(str(exc))

    async def main() -> object:
        eventlet.spawn(probe).wait()
        seen.append(asyncio.get_running_loop())
        return asyncio.current_task()

    task = loop.run_until_complete(main())
    if is_green(loop):
        assert seen == ["no running event loop", "no running event loop", loop]
    else:
        assert seen == [loop, task, loop]


def test_asyncio_run_inside_greenthread_while_another_loop_runs(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """An eventlet.wsgi-style handler calls aioeventlet.run() (asyncio.run with
    our loop) while the main greenthread runs a loop of its own.  Under a
    stock loop the handler sees that loop running and is refused."""
    results: list[tuple[str, object]] = []
    refusals: list[str] = []

    async def inner(tag: str) -> tuple[str, object]:
        await asyncio.sleep(0.01)
        return tag, asyncio.get_running_loop()

    def handler(tag: str) -> None:
        coro = inner(tag)
        try:
            results.append(aioeventlet.run(coro))
        except RuntimeError as exc:
            coro.close()  # refused before it started: never awaited
            refusals.append(str(exc))

    async def outer() -> object:
        gts = [eventlet.spawn(handler, tag) for tag in ("a", "b")]
        await asyncio.sleep(0.05)
        for gt in gts:
            gt.wait()
        return asyncio.get_running_loop()

    outer_loop = loop.run_until_complete(outer())
    assert outer_loop is loop
    if is_green(loop):
        assert refusals == []
        assert sorted(tag for tag, _ in results) == ["a", "b"]
        loops = {id(inner_loop) for _, inner_loop in results}
        assert len(loops) == 2
        assert id(outer_loop) not in loops
    else:
        assert results == []
        assert len(refusals) == 2
        for refusal in refusals:
            assert "cannot be called from a running event loop" in refusal


def test_asyncio_run_with_policy_in_greenthread() -> None:
    old_policy = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(aioeventlet.EventLoopPolicy())
    try:

        async def inner() -> type:
            await asyncio.sleep(0)
            return type(asyncio.get_running_loop())

        async def outer() -> type:
            loop_class: type = eventlet.spawn(asyncio.run, inner()).wait()
            return loop_class

        assert asyncio.run(outer()) is aioeventlet.EventLoop
    finally:
        asyncio.set_event_loop_policy(old_policy)


# -- I/O ------------------------------------------------------------------------


def test_tcp_echo_with_green_server(loop: asyncio.AbstractEventLoop) -> None:
    """asyncio streams talking to a green server in the same thread (only
    possible on aioeventlet; on stock asyncio the green server never runs, so
    that variant talks to a real thread instead)."""
    listener = eventlet.listen(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one() -> None:
        conn, _ = listener.accept()
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data.upper())

    is_green = isinstance(loop, aioeventlet.EventLoop)
    if is_green:
        gt = eventlet.spawn(serve_one)
    else:
        listener.close()
        real = socket.create_server(("127.0.0.1", 0))
        port = real.getsockname()[1]

        def serve_real() -> None:
            conn, _ = real.accept()
            with conn:
                while data := conn.recv(1024):
                    conn.sendall(data.upper())

        thread = threading.Thread(target=serve_real)
        thread.start()

    async def client() -> list[bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        got = []
        for word in (b"hello\n", b"world\n"):
            writer.write(word)
            got.append(await reader.readline())
        writer.close()
        await writer.wait_closed()
        return got

    try:
        assert loop.run_until_complete(client()) == [b"HELLO\n", b"WORLD\n"]
    finally:
        if is_green:
            gt.wait()
            listener.close()
        else:
            thread.join()
            real.close()


def test_add_reader_on_pipe(loop: asyncio.AbstractEventLoop) -> None:
    rfd, wfd = os.pipe()
    got: list[bytes] = []

    def on_readable() -> None:
        got.append(os.read(rfd, 100))
        loop.remove_reader(rfd)
        loop.stop()

    try:
        loop.add_reader(rfd, on_readable)
        loop.call_later(0.01, os.write, wfd, b"ping")
        loop.run_forever()
    finally:
        os.close(rfd)
        os.close(wfd)
    assert got == [b"ping"]


def test_ready_fd_while_loop_stopped_does_not_spin_the_hub() -> None:
    """A registered fd that becomes ready while the loop is not running must
    not make the hub busy-poll (its listeners are level-triggered)."""
    loop = aioeventlet.new_event_loop()
    rfd, wfd = os.pipe()
    calls: list[int] = []
    try:
        loop.add_reader(rfd, lambda: calls.append(len(os.read(rfd, 100))))
        os.write(wfd, b"x")
        cpu = time.process_time()
        eventlet.sleep(0.2)  # the hub runs; the loop does not
        spent = time.process_time() - cpu
        assert spent < 0.1, f"hub spun for {spent:.3f}s of CPU in 0.2s"
        loop.call_soon(loop.stop)
        loop.run_forever()  # the readiness seen meanwhile is not lost
        assert calls == [1]
        loop.remove_reader(rfd)
    finally:
        loop.close()
        os.close(rfd)
        os.close(wfd)


# -- bad input: the errors asyncio gives ----------------------------------------


def test_call_soon_non_callable(loop: asyncio.AbstractEventLoop) -> None:
    loop.set_debug(True)
    with pytest.raises(TypeError, match="a callable object was expected"):
        loop.call_soon(42)  # type: ignore[arg-type]


def test_use_after_close(loop_factory: LoopFactory) -> None:
    loop = loop_factory()
    loop.close()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.call_soon(lambda: None)
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.run_forever()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.call_later(1, lambda: None)
    loop.close()  # closing twice is allowed


def test_run_forever_while_running(loop: asyncio.AbstractEventLoop) -> None:
    async def nested() -> None:
        coro = asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="This event loop is already running"):
            loop.run_until_complete(coro)
        coro.close()
        # Last: on 3.13.0 stock asyncio's refusal also resets the loop's
        # running state (its cleanup runs even when the setup refused).
        with pytest.raises(RuntimeError, match="This event loop is already running"):
            loop.run_forever()
        stock_reset = sys.version_info[:3] == (3, 13, 0)
        if isinstance(loop, aioeventlet.EventLoop) or not stock_reset:
            assert loop.is_running()

    loop.run_until_complete(nested())


def test_run_forever_from_other_greenthread_while_running(
    loop_factory: LoopFactory,
) -> None:
    loop = loop_factory()
    errors: list[str] = []

    def intruder() -> None:
        try:
            loop.run_forever()
        except RuntimeError as exc:
            errors.append(str(exc))

    async def main() -> None:
        eventlet.spawn(intruder).wait()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert errors == ["This event loop is already running"]


def test_add_reader_on_closed_fd(loop: asyncio.AbstractEventLoop) -> None:
    rfd, wfd = os.pipe()
    os.close(rfd)
    os.close(wfd)
    with pytest.raises(OSError, match="Bad file descriptor") as info:
        loop.add_reader(rfd, lambda: None)
    assert info.value.errno == errno.EBADF  # as epoll reports it


def test_add_reader_invalid_fd(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(ValueError, match="Invalid file"):
        loop.add_reader(-1, lambda: None)
    with pytest.raises(ValueError, match="Invalid file object"):
        loop.add_reader("not a file", lambda: None)  # type: ignore[arg-type]


def test_fd_waited_on_by_green_code_gives_clear_error() -> None:
    loop = aioeventlet.new_event_loop()
    a, b = socket.socketpair()
    fd = a.fileno()
    errors: list[str] = []

    def green_reader() -> None:
        eventlet.hubs.trampoline(a.fileno(), read=True)

    async def main() -> None:
        gt = eventlet.spawn(green_reader)
        await asyncio.sleep(0.01)  # the greenthread now waits on a
        try:
            asyncio.get_running_loop().add_reader(a, lambda: None)
        except RuntimeError as exc:
            errors.append(str(exc))
        b.send(b"x")
        eventlet.sleep(0)
        gt.wait()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
        a.close()
        b.close()
    assert len(errors) == 1
    assert f"fd {fd} is already waited on for reading" in errors[0]
    assert "wrap_greenthread" in errors[0]


def test_run_inside_hub_greenlet_is_refused() -> None:
    loop = aioeventlet.new_event_loop()
    errors: list[str] = []

    def in_hub() -> None:
        coro = asyncio.sleep(0)
        try:
            loop.run_until_complete(coro)
        except RuntimeError as exc:
            errors.append(str(exc))
        coro.close()

    try:
        eventlet.hubs.get_hub().schedule_call_global(0, in_hub)
        eventlet.sleep(0.01)
    finally:
        loop.close()
    assert len(errors) == 1
    assert "inside eventlet's hub greenlet" in errors[0]


def test_loop_from_other_os_thread_is_refused() -> None:
    loop = aioeventlet.new_event_loop()
    errors: list[str] = []

    def other() -> None:
        try:
            loop.run_forever()
        except RuntimeError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    loop.close()
    assert len(errors) == 1
    assert "created in another OS thread" in errors[0]


# -- settings and environment ---------------------------------------------------


def test_creating_a_loop_changes_no_eventlet_setting(loop_factory: LoopFactory) -> None:
    hub = eventlet.hubs.get_hub()
    from eventlet.hubs import hub as hub_module

    def settings() -> tuple[object, ...]:
        return (
            hub.debug_exceptions,
            hub.debug_blocking,
            hub.debug_blocking_resolution,
            hub.lclass,
            hub_module.g_prevent_multiple_readers,
            type(hub),
        )

    before = settings()
    loop = loop_factory()
    try:
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    assert settings() == before


def _run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )


def test_asyncio_hub_is_refused_with_explanation() -> None:
    proc = _run_python(
        "import aioeventlet\n"
        "try:\n"
        "    aioeventlet.new_event_loop()\n"
        "except RuntimeError as exc:\n"
        "    print(exc)\n",
        EVENTLET_HUB="asyncio",
    )
    assert proc.returncode == 0, proc.stderr
    assert "eventlet's asyncio hub" in proc.stdout
    assert "EVENTLET_HUB=epolls" in proc.stdout


@pytest.mark.parametrize("hub_name", ["epolls", "poll", "selects"])
def test_works_on_every_polling_hub(hub_name: str) -> None:
    proc = _run_python(
        "import asyncio, aioeventlet, eventlet\n"
        "srv = eventlet.listen(('127.0.0.1', 0))\n"
        "def serve():\n"
        "    conn, _ = srv.accept()\n"
        "    conn.sendall(conn.recv(100).upper())\n"
        "    conn.close()\n"
        "async def main():\n"
        "    gt = eventlet.spawn(serve)\n"
        "    r, w = await asyncio.open_connection(*srv.getsockname())\n"
        "    w.write(b'green')\n"
        "    data = await r.read()\n"
        "    w.close()\n"
        "    gt.wait()\n"
        "    return data.decode()\n"
        "print(aioeventlet.run(main()), type(eventlet.hubs.get_hub()).__module__)\n",
        EVENTLET_HUB=hub_name,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["GREEN", f"eventlet.hubs.{hub_name}"]


def test_import_is_silent_under_warnings_as_errors() -> None:
    proc = _run_python("import aioeventlet")
    assert proc.returncode == 0
    assert proc.stdout == proc.stderr == ""


def test_hub_module_is_the_only_eventlet_user() -> None:
    """In the core, the untyped dependency stays behind _hub.py (STYLE.md,
    habit 9).  The framework integrations (aioeventlet.gunicorn) sit above
    the core and use eventlet's public API like any eventlet program."""
    src = os.path.dirname(aioeventlet.__file__)
    users = []
    for name in sorted(os.listdir(src)):
        if name.startswith("_") and name.endswith(".py") and name != "_hub.py":
            with open(os.path.join(src, name), encoding="utf-8") as f:
                text = f.read()
            if re.search(r"^\s*(import|from) eventlet\b", text, re.MULTILINE):
                users.append(name)
    assert users == [], f"modules importing eventlet directly: {users}"
    assert _hub.READ == "read"


def test_stock_loop_in_greenthread_keeps_its_running_loop() -> None:
    """A stock asyncio loop whose coroutine blocks greenly outlives an
    aioeventlet loop of the same thread: it must find itself running again."""
    seen: list[bool] = []

    async def stock_main() -> None:
        me = asyncio.get_running_loop()
        eventlet.sleep(0.05)  # green-blocking call inside a coroutine
        seen.append(asyncio.get_running_loop() is me)

    def run_stock() -> None:
        stock = asyncio.SelectorEventLoop()
        try:
            stock.run_until_complete(stock_main())
        finally:
            stock.close()

    async def short() -> GreenThread:
        stock_gt = eventlet.spawn(run_stock)
        await asyncio.sleep(0.01)  # run_stock starts, then blocks greenly
        return stock_gt

    gt = aioeventlet.run(short())  # ends while the stock loop is switched out
    gt.wait()
    assert seen == [True]


def test_add_reader_on_regular_file(
    loop: asyncio.AbstractEventLoop, tmp_path: pathlib.Path
) -> None:
    """epoll refuses regular files (EPERM): the error asyncio gives, and no
    listener left behind on the hub (the autouse check)."""
    if isinstance(loop, aioeventlet.EventLoop) and "epolls" not in repr(loop):
        pytest.skip("poll and select accept regular files (always ready)")
    path = tmp_path / "plain.txt"
    path.write_bytes(b"data")
    with path.open("rb") as f:
        with pytest.raises(PermissionError):
            loop.add_reader(f.fileno(), lambda: None)
        assert not loop.remove_reader(f.fileno())


@pytest.mark.parametrize("kind", ["stock", "aioeventlet"])
def test_selector_map_lookups(kind: str) -> None:
    # asyncio's add_reader()/remove_reader() look fds up with get_map().get():
    # HubSelector's map must answer as selectors' own does, for registered
    # and unregistered fds, file objects, and bad file objects.
    import selectors

    selector: selectors.BaseSelector = (
        selectors.EpollSelector()
        if kind == "stock"
        else HubSelector(_hub.current_hub())
    )
    a, b = socket.socketpair()
    try:
        key = selector.register(a, selectors.EVENT_READ, "data")
        view = selector.get_map()
        assert view.get(a.fileno()) is key
        assert view.get(a) is key
        assert view[a] is key
        assert view.get(b.fileno()) is None
        assert view.get(b, "default") == "default"
        assert b.fileno() not in view
        assert list(view) == [a.fileno()]
        assert len(view) == 1
        with pytest.raises(KeyError, match="is not registered"):
            view[b]
        with pytest.raises(ValueError, match="Invalid file"):
            view.get(-1)
        with pytest.raises(ValueError, match="Invalid file object"):
            view.get("not a file")  # type: ignore[call-overload]
        selector.unregister(a)
        assert view.get(a) is None
    finally:
        selector.close()
        a.close()
        b.close()
