"""os.fork() while an aioeventlet loop runs, in any patching mode (issue 13).

Usage: ``forking.py MODE SCENARIO``, where SCENARIO says where the fork
happens while the parent's loop runs in the main greenthread:

* ``greenthread``: in a greenthread, while the loop is parked in the hub;
* ``callback``: in a callback of the loop itself;
* ``to_green``: in the greenthread of ``await aioeventlet.to_green(...)``;
* ``multiprocessing``: ``multiprocessing.get_context("fork")``, its Process
  started from a greenthread;
* ``greenthread-sys-exit`` and ``callback-sys-exit``: the child ends with
  ``sys.exit()`` rather than ``os._exit()``, which unwinds the greenthread
  the parent's loop runs in (through the hub, from a greenthread);
* ``green_call``: in a greenthread, while the loop's coroutine waits in
  green code (the loop is not parked: its greenthread is);
* ``callback-return`` and ``to_green-return``: the child returns from the
  forking function into the parent's loop, which refuses to go on (the
  child exits with status 1 and says why).

The child runs a fresh loop of its own and reports through a pipe.  All the
while, the parent sends ticks on a socket (``ours``) from loop timers, as in
the issue (``loop.call_later(0.005, sock.send, b"p3;")``), and echoes data
through a socket pair.  The parent's copy of the loop in the child must run
nothing: its peer (``peer``) receives each tick exactly once, and nothing the
parent would only send if its main task were cancelled.  After the child has
exited, the parent's timers, I/O and self-pipe wake-ups go on.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import warnings
from collections import Counter
from typing import Any

import _mode

import aioeventlet

_mode.after_imports()

import eventlet  # noqa: E402
import eventlet.patcher  # noqa: E402

SCENARIO, _, EXIT = sys.argv[2].partition("-")
# eventlet warns on every fork that "Using fork() is a bad idea": forking is
# this program's subject, so exactly that warning is let through.
warnings.filterwarnings(
    "ignore", message=r"Using fork\(\) is a bad idea", category=DeprecationWarning
)
real_threading = eventlet.patcher.original("threading")
real_time = eventlet.patcher.original("time")
# A loop callback reads what the loop saw readable without waiting: the green
# os.read() of a patched program would wait in the hub on EAGAIN.
real_os = eventlet.patcher.original("os")
PARENT = os.getpid()
TICK = 0.005


# -- the child ----------------------------------------------------------------------


async def child_main() -> dict[str, Any]:
    """The child's own loop: socket I/O, a timer, a greenthread, a wake-up
    from another OS thread, and enough time on the child's hub for many of
    the parent's ticks to fall due."""
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    await loop.sock_sendall(a, b"child io")
    got = await asyncio.wait_for(loop.sock_recv(b, 100), 5)
    green = await aioeventlet.to_green(lambda: eventlet.sleep(0.01) or "green")
    woken: asyncio.Future[str] = loop.create_future()
    thread = real_threading.Thread(
        target=loop.call_soon_threadsafe, args=(woken.set_result, "woken")
    )
    thread.start()
    threadsafe = await asyncio.wait_for(woken, 5)
    thread.join(5)
    # A signal the child receives is the child's: on Python 3.10 and 3.11,
    # the wake-up fd inherited from the parent's loop would pass it on to
    # the parent's signal handler (see Parent.on_signal).
    os.kill(os.getpid(), signal.SIGUSR1)
    await asyncio.sleep(0.1)
    a.close()
    b.close()
    return {
        "io": got.decode(),
        "green": green,
        "threadsafe": threadsafe,
        "own_pid": os.getpid() != PARENT,
    }


def child(write_fd: int) -> None:
    """In the child: run a fresh loop, send its result to the parent."""
    result = aioeventlet.run(child_main())
    os.write(write_fd, json.dumps(result, sort_keys=True).encode())


def fork_and_run_child(write_fd: int) -> int:
    pid = os.fork()
    if pid != 0:
        return pid
    try:
        child(write_fd)
    except BaseException:
        import traceback

        traceback.print_exc()
        os._exit(1)
    if EXIT == "sys-exit":
        sys.exit(0)
    if EXIT == "return":
        return 0
    os._exit(0)


# -- the parent ---------------------------------------------------------------------


class Parent:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.ours, self.peer = socket.socketpair()
        self.echo_a, self.echo_b = socket.socketpair()
        for sock in (self.ours, self.peer, self.echo_a, self.echo_b):
            sock.setblocking(False)
        self.sent: list[bytes] = []
        self.ticks = 0
        self.ticking = True
        self.signals = 0
        loop.add_signal_handler(signal.SIGUSR1, self.on_signal)
        # The peer reads all along (a full socket buffer would make a tick
        # fail), until EOF.
        self.received = asyncio.ensure_future(
            self.read_until_eof(self.peer.fileno(), 60)
        )

    def on_signal(self) -> None:
        self.signals += 1

    def send(self, data: bytes) -> None:
        self.ours.send(data)
        self.sent.append(data)

    def tick(self) -> None:
        if self.ticking:
            self.send(b"t%d;" % self.ticks)
            self.ticks += 1
            self.loop.call_later(TICK, self.tick)

    async def echo(self, count: int) -> int:
        """*count* rounds through the echo socket pair; how many came back."""
        ok = 0
        for i in range(count):
            msg = b"e%d;" % i
            await self.loop.sock_sendall(self.echo_a, msg)
            got = b""
            try:
                while len(got) < len(msg):
                    got += await asyncio.wait_for(
                        self.loop.sock_recv(self.echo_b, 100), 5
                    )
            except asyncio.TimeoutError:
                break
            ok += got == msg
            await asyncio.sleep(TICK)
        return ok

    async def read_until_eof(self, fd: int, timeout: float) -> bytes:
        chunks: list[bytes] = []
        done: asyncio.Future[None] = self.loop.create_future()

        def on_readable() -> None:
            try:
                data = real_os.read(fd, 4096)
            except BlockingIOError:
                return
            if data:
                chunks.append(data)
            elif not done.done():
                done.set_result(None)

        self.loop.add_reader(fd, on_readable)
        try:
            await asyncio.wait_for(done, timeout)
        except asyncio.TimeoutError:
            chunks.append(b"<no EOF>")
        finally:
            self.loop.remove_reader(fd)
        return b"".join(chunks)


async def fork(parent: Parent, write_fd: int) -> tuple[int, Any]:
    """Fork as SCENARIO says, with a send scheduled 5 ms ahead (the issue's);
    returns the child's pid and, for multiprocessing, its Process."""
    loop = parent.loop
    started: asyncio.Future[tuple[int, Any]] = loop.create_future()
    if SCENARIO in ("greenthread", "green_call"):

        def in_greenthread() -> None:
            loop.call_later(0.005, parent.send, b"p3;")
            pid = fork_and_run_child(write_fd)
            loop.call_soon(started.set_result, (pid, None))

        eventlet.spawn(in_greenthread)
        if SCENARIO == "green_call":
            # Green code called from a coroutine: the loop's greenthread waits
            # in the hub inside this callback, and the fork happens then.  In
            # the child, the wait ends and the coroutine goes on, as any
            # greenthread does, up to its next await.
            eventlet.sleep(0.05)
    elif SCENARIO == "callback":

        def in_callback() -> None:
            loop.call_later(0.005, parent.send, b"p3;")
            started.set_result((fork_and_run_child(write_fd), None))

        loop.call_soon(in_callback)
    elif SCENARIO == "to_green":
        loop.call_later(0.005, parent.send, b"p3;")
        pid = await aioeventlet.to_green(fork_and_run_child, write_fd)
        started.set_result((pid, None))
    elif SCENARIO == "multiprocessing":
        import multiprocessing

        def start_process() -> None:
            loop.call_later(0.005, parent.send, b"p3;")
            process = multiprocessing.get_context("fork").Process(
                target=child, args=(write_fd,)
            )
            process.start()
            assert process.pid is not None
            loop.call_soon(started.set_result, (process.pid, process))

        eventlet.spawn(start_process)
    else:
        raise SystemExit(f"unknown scenario {SCENARIO!r}")
    return await asyncio.wait_for(started, 10)


async def reap(pid: int, process: Any) -> int | str:
    """The child's exit status, waiting at most 10 s without blocking the loop."""
    for _ in range(1000):
        if process is not None:
            if process.exitcode is not None:
                return int(process.exitcode)
        else:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
        await asyncio.sleep(0.01)
    os.kill(pid, 9)
    return "hung"


async def after_child(parent: Parent) -> dict[str, Any]:
    """After the child: the parent's timers, I/O, self-pipe wake-ups from
    another OS thread, and its signal handler."""
    loop = parent.loop
    out: dict[str, Any] = {}
    ticks_at_exit = parent.ticks
    woken: asyncio.Future[str] = loop.create_future()
    thread = real_threading.Thread(
        target=lambda: (
            real_time.sleep(0.02),
            loop.call_soon_threadsafe(woken.set_result, "woken"),
        )
    )
    thread.start()
    try:
        out["threadsafe_after"] = await asyncio.wait_for(woken, 5)
    except asyncio.TimeoutError:
        out["threadsafe_after"] = "not woken"
    thread.join(5)
    out["echo_after"] = await parent.echo(3)
    await asyncio.sleep(10 * TICK)
    out["ticks_after"] = parent.ticks > ticks_at_exit
    signals_from_child = out["signals_from_child"] = parent.signals
    os.kill(os.getpid(), signal.SIGUSR1)
    for _ in range(500):
        if parent.signals > signals_from_child:
            break
        await asyncio.sleep(0.01)
    out["signal_after"] = parent.signals - signals_from_child
    return out


async def main() -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    parent = Parent(loop)
    out: dict[str, Any] = {}
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    try:
        parent.tick()
        pid, process = await fork(parent, write_fd)
        os.close(write_fd)
        # The parent keeps doing I/O while the child lives: ticks from
        # timers, and an echo through the loop.
        echo = asyncio.ensure_future(parent.echo(10))
        report = await parent.read_until_eof(read_fd, 20)
        out["child"] = report.decode()
        out["status"] = await reap(pid, process)
        out["echo_during"] = await echo
        out.update(await after_child(parent))
    except asyncio.CancelledError:
        # Never in the parent; in a child that unwound the parent's loop,
        # asyncio's runner cancels this task, and the peer would see it.
        parent.send(b"cancelled;")
        raise
    finally:
        parent.ticking = False
        loop.remove_signal_handler(signal.SIGUSR1)
        os.close(read_fd)
    parent.send(b"end;")
    # Everything the peer got, up to EOF (no other process holds ``ours``).
    parent.ours.close()
    received = await parent.received
    for sock in (parent.peer, parent.echo_a, parent.echo_b):
        sock.close()
    out["peer_got_exactly_what_was_sent"] = received == b"".join(parent.sent)
    out["duplicated"] = sorted(
        token.decode()
        for token, n in Counter(received.split(b";")).items()
        if token and n > 1
    )
    out["p3_sent"] = parent.sent.count(b"p3;")
    out["cancelled_seen"] = b"cancelled;" in received
    return out


for key, value in aioeventlet.run(main()).items():
    print(f"{key}={value}")
