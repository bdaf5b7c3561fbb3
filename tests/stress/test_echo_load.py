"""Many TCP connections echoing through the loop while greenthreads serve their own.

The aioeventlet loop (this process) runs an asyncio echo server and, in the
same OS thread, greenthreads serve a green echo server.  A child process on
stock asyncio (``_echo_client.py``, the oracle) opens every connection, waits
until this process has accepted all of them (so they are all open at once),
then sends numbered requests and checks each reply.  Both sides count: every
request answered exactly once, nothing missing, nothing hung.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import eventlet
import pytest

import aioeventlet

from ._support import Recorder, nofile_limit, seed, size

ASYNCIO_CONNS = size(1000, 10_000)
GREEN_CONNS = size(200, 1_000)
# select() cannot watch an fd numbered FD_SETSIZE (1024) or above, so on
# eventlet's selects hub the load is cut to fit below it (with room for the
# process's other fds), and the rows say so.  Every other hub takes it whole.
SELECT_FDS = 1024 - 128
CAPPED = type(eventlet.hubs.get_hub()).__module__ == "eventlet.hubs.selects"
if CAPPED and ASYNCIO_CONNS + GREEN_CONNS > SELECT_FDS:
    GREEN_CONNS = SELECT_FDS * GREEN_CONNS // (ASYNCIO_CONNS + GREEN_CONNS)
    ASYNCIO_CONNS = SELECT_FDS - GREEN_CONNS
CAP_NOTE = " (capped: select() watches fds below 1024 only)" if CAPPED else ""
ROUNDS = size(5, 10)
DEADLINE = size(45, 600)
CLIENT = Path(__file__).with_name("_echo_client.py")


class _Stats:
    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self.accepted = 0
        self.seen: Counter[bytes] = Counter()
        self.errors: list[str] = []

    def opened(self) -> None:
        self.accepted += 1
        self.active += 1
        self.peak = max(self.peak, self.active)

    def requests(self, buf: bytes) -> tuple[list[bytes], bytes]:
        *lines, rest = buf.split(b"\n")
        for line in lines:
            tag, index, _ = line.split(b":", 2)
            self.seen[tag + b":" + index] += 1
        return lines, rest


class _EchoProtocol(asyncio.Protocol):
    def __init__(self, stats: _Stats) -> None:
        self.stats = stats
        self.buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.stats.opened()

    def data_received(self, data: bytes) -> None:
        lines, self.buf = self.stats.requests(self.buf + data)
        if lines:
            self.transport.write(b"".join(b"echo " + line + b"\n" for line in lines))

    def eof_received(self) -> bool:
        return False  # close once the replies are flushed

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.active -= 1
        if exc is not None:
            self.stats.errors.append(repr(exc))


def _green_echo(conn: Any, stats: _Stats) -> None:
    stats.opened()
    buf = b""
    try:
        while data := conn.recv(65536):
            lines, buf = stats.requests(buf + data)
            if lines:
                conn.sendall(b"".join(b"echo " + line + b"\n" for line in lines))
    except OSError as exc:
        stats.errors.append(repr(exc))
    finally:
        conn.close()
        stats.active -= 1


def _green_acceptor(listener: Any, count: int, stats: _Stats) -> list[Any]:
    handlers = []
    for _ in range(count):
        conn, _ = listener.accept()
        handlers.append(eventlet.spawn(_green_echo, conn, stats))
    return handlers


async def _run_load() -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    a_stats, g_stats = _Stats(), _Stats()
    server = await loop.create_server(
        lambda: _EchoProtocol(a_stats), "127.0.0.1", 0, backlog=4096
    )
    listener = eventlet.listen(("127.0.0.1", 0), backlog=4096)
    acceptor = eventlet.spawn(_green_acceptor, listener, GREEN_CONNS, g_stats)
    config = {
        "asyncio_port": server.sockets[0].getsockname()[1],
        "green_port": listener.getsockname()[1],
        "asyncio_conns": ASYNCIO_CONNS,
        "green_conns": GREEN_CONNS,
        "rounds": ROUNDS,
        "seed": seed(),
        "timeout": DEADLINE,
        "connect_concurrency": 256,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CLIENT),
        json.dumps(config),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        opened = json.loads(await asyncio.wait_for(proc.stdout.readline(), DEADLINE))
        total = ASYNCIO_CONNS + GREEN_CONNS
        assert opened == {"event": "open", "opened": total}
        # Every connection is open on the client; wait until both servers
        # hold all of them at once before any request flows.
        give_up = loop.time() + DEADLINE
        while a_stats.active + g_stats.active < total and loop.time() < give_up:
            await asyncio.sleep(0.01)
        held = a_stats.active + g_stats.active
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
        done = json.loads(await asyncio.wait_for(proc.stdout.readline(), DEADLINE))
        await asyncio.wait_for(proc.wait(), DEADLINE)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    handlers = acceptor.wait()
    for handler in handlers:
        handler.wait()
    listener.close()
    server.close()
    await server.wait_closed()
    return {
        "client": done,
        "held": held,
        "returncode": proc.returncode,
        "asyncio": a_stats,
        "green": g_stats,
    }


@pytest.mark.timeout(size(90, 1200))
def test_tcp_echo_load(no_leaks: Recorder) -> None:
    total = ASYNCIO_CONNS + GREEN_CONNS
    with nofile_limit(total + 512) as limit:
        assert limit >= total + 512, (
            f"RLIMIT_NOFILE hard limit {limit} is too low for {total} connections"
        )
        out = aioeventlet.run(_run_load())
    client = out["client"]
    a_stats: _Stats = out["asyncio"]
    g_stats: _Stats = out["green"]
    expected = total * ROUNDS
    server_seen = a_stats.seen + g_stats.seen
    duplicated = sum(n - 1 for n in server_seen.values() if n > 1)
    # A request still waiting for its answer at the deadline is hung, not lost.
    hung_requests = client["hung requests"]
    lost = (expected - client["answered"] - hung_requests) + duplicated
    # A connection is delivered when the client completed its whole
    # conversation cleanly: every reply right, then EOF after its own EOF.
    for kind, conns, what in (
        (
            "a",
            ASYNCIO_CONNS,
            "TCP connections open at once, echoing through an asyncio server on "
            "the loop" + CAP_NOTE,
        ),
        (
            "g",
            GREEN_CONNS,
            "green sockets served by greenthreads in the loop's thread meanwhile"
            + CAP_NOTE,
        ),
    ):
        no_leaks(
            "load",
            what,
            conns,
            "connections",
            lost=conns - client[f"completed {kind}"] - client[f"hung {kind}"],
            hung=client[f"hung {kind}"],
        )
    no_leaks(
        "load",
        "echo requests, each answered exactly once",
        expected,
        "round trips",
        lost=lost,
        hung=hung_requests,
    )
    assert out["returncode"] == 0
    assert out["held"] == total
    assert a_stats.peak == ASYNCIO_CONNS
    assert g_stats.peak == GREEN_CONNS
    assert a_stats.accepted == ASYNCIO_CONNS
    assert g_stats.accepted == GREEN_CONNS
    assert client["opened"] == total
    assert client["error_samples"] == []
    assert (client["missing"], client["wrong"], client["hung"], client["errors"]) == (
        0,
        0,
        0,
        0,
    )
    assert client["answered"] == expected
    assert (client["completed a"], client["completed g"]) == (
        ASYNCIO_CONNS,
        GREEN_CONNS,
    )
    assert len(server_seen) == expected
    assert duplicated == 0
    assert a_stats.errors == []
    assert g_stats.errors == []
    assert a_stats.active == 0
    assert g_stats.active == 0
