"""One benchmark workload in this fresh process; prints its result as JSON.

Run by ``benchmarks/run.py`` (never import this module into a process that
runs another loop: each measurement gets a fresh interpreter so that no loop
inherits another's allocations, caches or hub).

``python benchmarks/workloads.py --loop KIND --workload NAME --size N``

* Loop workloads run entirely in this process and measure its CPU time
  (``time.process_time``) around the work only, loop creation excluded.
* Server workloads start a server, print ``READY <port>`` and serve until
  killed; the client process (``client.py``) drives them and measures this
  process's CPU time through /proc, over its measured window only.
* Memory workloads print the resident-set growth per object.

KIND is ``asyncio`` (stock ``SelectorEventLoop``), ``uvloop``,
``aioeventlet``, ``eventlet`` (plain greenthreads, no asyncio: the
equivalent green program, where one exists), or ``asyncio_hub`` (eventlet's
own asyncio hub, ``EVENTLET_HUB=asyncio``, which runs greenthreads on a stock
asyncio loop: for the bridge workloads, the other way to mix the two).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

KINDS = ("asyncio", "uvloop", "aioeventlet", "eventlet", "asyncio_hub")
MSG = 64  # echo message size, bytes


# -- helpers --------------------------------------------------------------------


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "asyncio":
        return asyncio.SelectorEventLoop()
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    if kind == "aioeventlet":
        import aioeventlet

        return aioeventlet.new_event_loop()
    if kind == "asyncio_hub":
        raise SystemExit(
            "on eventlet's asyncio hub, asyncio code runs on stock asyncio's own "
            "loop: measure that with --loop asyncio (asyncio_hub is for the bridges)"
        )
    raise ValueError(f"{kind!r} is not an asyncio loop")


def import_eventlet() -> Any:
    # aioeventlet filters eventlet's own deprecation warning on import; plain
    # eventlet runs get the same quiet import by going through it (the hub is
    # untouched: importing aioeventlet creates no loop).
    import aioeventlet  # noqa: F401

    # isort: split
    import eventlet
    import eventlet.queue

    return eventlet


def warm_up_allocator() -> None:
    """Put glibc's malloc in the same state in every process under test.

    glibc serves blocks above its mmap threshold (128 KiB at start) with
    mmap(), and raises the threshold the first time such a block is freed.
    asyncio's streams read with 256 KiB buffers: in a process where nothing
    had freed a large block yet, every read cost mmap + mremap + munmap (seen
    with ``strace -c`` on the stock asyncio echo server, and not on
    aioeventlet's, whose imports had raised the threshold): an allocator
    accident, not a loop's cost.  Freeing one 4 MiB block first gives every
    loop the raised threshold.
    """
    block = bytearray(4 * 1024 * 1024)
    del block


def run_async(kind: str, main: Callable[[], Awaitable[dict[str, Any]]]) -> Any:
    loop = new_loop(kind)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


class Meter:
    """Process CPU time and wall time of a block."""

    cpu = wall = 0.0

    def __enter__(self) -> Meter:
        self._c0 = time.process_time()
        self._w0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = time.process_time() - self._c0
        self.wall = time.perf_counter() - self._w0


def result(ops: int, meter: Meter, **extra: Any) -> dict[str, Any]:
    return {"ops": ops, "cpu": meter.cpu, "wall": meter.wall, **extra}


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def ready(port: int) -> None:
    print(f"READY {port}", flush=True)


def report(data: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(data), flush=True)


def listening_socket(kind: str = "tcp") -> socket.socket:
    if kind == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    if kind != "udp":
        sock.listen(4096)
    sock.setblocking(False)
    return sock


# -- loop workloads ---------------------------------------------------------------


def callsoon(kind: str, n: int) -> dict[str, Any]:
    """A chain of n callbacks, each scheduling the next with call_soon."""
    if kind == "eventlet":
        eventlet = import_eventlet()
        hub = eventlet.hubs.get_hub()
        done = eventlet.event.Event()
        count = 0

        def gcb() -> None:
            nonlocal count
            count += 1
            if count >= n:
                done.send(None)
            else:
                hub.schedule_call_global(0, gcb)

        with Meter() as m:
            hub.schedule_call_global(0, gcb)
            done.wait()
        return result(n, m)

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        count = 0

        def cb() -> None:
            nonlocal count
            count += 1
            if count >= n:
                fut.set_result(None)
            else:
                loop.call_soon(cb)

        with Meter() as m:
            loop.call_soon(cb)
            await fut
        return result(n, m)

    return run_async(kind, main)  # type: ignore[no-any-return]


def tasks(kind: str, n: int) -> dict[str, Any]:
    """Create a task and await it, n times."""
    if kind == "eventlet":
        eventlet = import_eventlet()

        def gnoop() -> int:
            return 1

        with Meter() as m:
            total = 0
            for _ in range(n):
                total += eventlet.spawn(gnoop).wait()
        assert total == n
        return result(n, m)

    async def noop() -> int:
        return 1

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        with Meter() as m:
            total = 0
            for _ in range(n):
                total += await loop.create_task(noop())
        assert total == n
        return result(n, m)

    return run_async(kind, main)  # type: ignore[no-any-return]


def sleep0(kind: str, n: int) -> dict[str, Any]:
    """Two tasks taking turns with asyncio.sleep(0); n switches in all."""
    half = n // 2
    if kind == "eventlet":
        eventlet = import_eventlet()

        def gplayer() -> None:
            for _ in range(half):
                eventlet.sleep(0)

        with Meter() as m:
            a, b = eventlet.spawn(gplayer), eventlet.spawn(gplayer)
            a.wait()
            b.wait()
        return result(2 * half, m)

    async def player() -> None:
        for _ in range(half):
            await asyncio.sleep(0)

    async def main() -> dict[str, Any]:
        with Meter() as m:
            await asyncio.gather(player(), player())
        return result(2 * half, m)

    return run_async(kind, main)  # type: ignore[no-any-return]


def _delays(count: int) -> list[float]:
    # A fixed pseudo-random spread of delays in [0, 1 ms): every loop gets the
    # same sequence, and the timer heap sees out-of-order deadlines.
    return [((i * 7919) % 1000) / 1_000_000 for i in range(count)]


def timers(kind: str, n: int) -> dict[str, Any]:
    """1,000 concurrent call_later chains with sub-millisecond delays until n
    timers fired; every fourth timer is cancelled and replaced."""
    chains = min(1000, n)
    delays = _delays(997)
    if kind == "eventlet":
        eventlet = import_eventlet()
        hub = eventlet.hubs.get_hub()
        done = eventlet.event.Event()
        fired = 0

        def gfire(i: int) -> None:
            nonlocal fired
            fired += 1
            if fired == n:
                done.send(None)
            elif fired < n:
                delay = delays[(fired + i) % 997]
                if fired % 4 == 0:
                    hub.schedule_call_global(delay, gfire, i).cancel()
                hub.schedule_call_global(delay, gfire, i)

        with Meter() as m:
            for i in range(chains):
                hub.schedule_call_global(delays[i % 997], gfire, i)
            done.wait()
        return result(n, m)

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        fired = 0

        def fire(i: int) -> None:
            nonlocal fired
            fired += 1
            if fired == n:
                fut.set_result(None)
            elif fired < n:
                delay = delays[(fired + i) % 997]
                if fired % 4 == 0:
                    loop.call_later(delay, fire, i).cancel()
                loop.call_later(delay, fire, i)

        with Meter() as m:
            for i in range(chains):
                loop.call_later(delays[i % 997], fire, i)
            await fut
        return result(n, m)

    return run_async(kind, main)  # type: ignore[no-any-return]


def queue(kind: str, n: int) -> dict[str, Any]:
    """A producer and a consumer passing n items through a bounded queue."""
    if kind == "eventlet":
        eventlet = import_eventlet()
        gq: Any = eventlet.queue.Queue(maxsize=100)

        def gproduce() -> None:
            for i in range(n):
                gq.put(i)

        def gconsume() -> int:
            total = 0
            for _ in range(n):
                total += gq.get()
            return total

        with Meter() as m:
            eventlet.spawn(gproduce)
            total = eventlet.spawn(gconsume).wait()
        assert total == n * (n - 1) // 2
        return result(n, m)

    async def main() -> dict[str, Any]:
        q: asyncio.Queue[int] = asyncio.Queue(maxsize=100)

        async def produce() -> None:
            for i in range(n):
                await q.put(i)

        async def consume() -> int:
            total = 0
            for _ in range(n):
                total += await q.get()
            return total

        with Meter() as m:
            _, total = await asyncio.gather(produce(), consume())
        assert total == n * (n - 1) // 2
        return result(n, m)

    return run_async(kind, main)  # type: ignore[no-any-return]


# -- bridges (aioeventlet only) --------------------------------------------------


def _bridges() -> Any:
    try:
        from aioeventlet import wrap_greenthread, yield_future
    except ImportError as exc:
        raise SystemExit(
            f"aioeventlet's bridges are not available in this checkout ({exc})"
        ) from None
    return yield_future, wrap_greenthread


def _asyncio_hub() -> Any:
    """eventlet on its asyncio hub: main() selected it before any import."""
    import_eventlet()  # imported through aioeventlet: quietly
    import eventlet.asyncio
    import eventlet.hubs

    hub = eventlet.hubs.get_hub()
    if type(hub).__module__ != "eventlet.hubs.asyncio":
        raise SystemExit(f"expected eventlet's asyncio hub, got {hub!r}")
    return eventlet


def yield_future_rt(kind: str, n: int) -> dict[str, Any]:
    """A greenthread calls yield_future(coro) n times, one after the other.

    On eventlet's asyncio hub, the same is ``spawn_for_awaitable(coro).wait()``.
    """

    async def one() -> int:
        return 1

    if kind == "asyncio_hub":
        eventlet = _asyncio_hub()
        total = 0
        with Meter() as m:
            for _ in range(n):
                total += eventlet.asyncio.spawn_for_awaitable(one()).wait()
        assert total == n
        return result(n, m)
    if kind != "aioeventlet":
        raise SystemExit("yield_future exists on aioeventlet and asyncio_hub only")
    yield_future, _ = _bridges()
    eventlet = import_eventlet()

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def green() -> None:
            total = 0
            for _ in range(n):
                total += yield_future(one(), loop=loop)
            loop.call_soon(done.set_result, total)

        with Meter() as m:
            eventlet.spawn(green)
            total = await done
        assert total == n
        return result(n, m)

    return run_async(kind, main)  # type: ignore[no-any-return]


def wrap_greenthread_rt(kind: str, n: int) -> dict[str, Any]:
    """A coroutine awaits wrap_greenthread(eventlet.spawn(f)) n times.

    The equivalents: plain eventlet, a greenthread waits for another
    (``eventlet.spawn(f).wait()``); eventlet's asyncio hub, a coroutine awaits
    a future that the greenthread's ``link()`` completes.
    """

    def one() -> int:
        return 1

    if kind == "eventlet":
        eventlet = import_eventlet()
        total = 0
        with Meter() as m:
            for _ in range(n):
                total += eventlet.spawn(one).wait()
        assert total == n
        return result(n, m)
    if kind == "asyncio_hub":
        eventlet = _asyncio_hub()

        def settle(gt: Any, fut: asyncio.Future[int]) -> None:
            fut.set_result(gt.wait())

        async def linked() -> dict[str, Any]:
            loop = asyncio.get_running_loop()
            total = 0
            with Meter() as m:
                for _ in range(n):
                    fut = loop.create_future()
                    eventlet.spawn(one).link(settle, fut)
                    total += await fut
            assert total == n
            return result(n, m)

        return eventlet.asyncio.spawn_for_awaitable(linked()).wait()  # type: ignore[no-any-return]
    if kind != "aioeventlet":
        raise SystemExit(
            "wrap_greenthread exists on aioeventlet, eventlet and asyncio_hub only"
        )
    _, wrap_greenthread = _bridges()
    eventlet = import_eventlet()

    async def main() -> dict[str, Any]:
        with Meter() as m:
            total = 0
            for _ in range(n):
                total += await wrap_greenthread(eventlet.spawn(one))
        assert total == n
        return result(n, m)

    return run_async(kind, main)  # type: ignore[no-any-return]


# -- memory --------------------------------------------------------------------------


def mem_tasks(kind: str, n: int) -> dict[str, Any]:
    """RSS growth per pending task: n tasks all awaiting one future."""
    if kind == "eventlet":
        eventlet = import_eventlet()
        gate = eventlet.event.Event()

        def gwait() -> None:
            gate.wait()

        gc.collect()
        before = rss_bytes()
        threads = [eventlet.spawn(gwait) for _ in range(n)]
        eventlet.sleep(0)  # let every greenthread start and block
        gc.collect()
        after = rss_bytes()
        gate.send(None)
        for gt in threads:
            gt.wait()
        return {"ops": n, "bytes_per": (after - before) / n}

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        gate = loop.create_future()

        async def wait() -> None:
            await gate

        gc.collect()
        before = rss_bytes()
        pending = [loop.create_task(wait()) for _ in range(n)]
        await asyncio.sleep(0)  # every task runs to its first await
        await asyncio.sleep(0)
        gc.collect()
        after = rss_bytes()
        gate.set_result(None)
        await asyncio.gather(*pending)
        return {"ops": n, "bytes_per": (after - before) / n}

    return run_async(kind, main)  # type: ignore[no-any-return]


class _IdleProtocol(asyncio.Protocol):
    count = 0
    target = 0
    done: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cls = _IdleProtocol
        cls.count += 1
        if cls.count == cls.target and cls.done is not None:
            cls.done.set_result(None)


def mem_conns(kind: str, n: int) -> dict[str, Any]:
    """RSS growth per idle accepted TCP connection (server side), n of them;
    the client process opens them and keeps them open."""
    raise_fd_limit()
    sock = listening_socket()
    port = sock.getsockname()[1]
    if kind == "eventlet":
        eventlet = import_eventlet()
        green = eventlet.green.socket.socket(fileno=sock.detach())
        gate = eventlet.event.Event()
        held: list[Any] = []

        def handle(conn: Any, addr: Any) -> None:
            held.append(conn)
            if len(held) == n:
                gate.send(None)
            conn.recv(1)  # idle: blocked in a read until the client leaves

        gc.collect()
        before = rss_bytes()
        pool = eventlet.spawn(eventlet.serve, green, handle, concurrency=n + 10)
        ready(port)
        gate.wait()
        eventlet.sleep(0.2)
        gc.collect()
        report({"ops": n, "bytes_per": (rss_bytes() - before) / n})
        pool.wait()
        return {}

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        _IdleProtocol.target = n
        _IdleProtocol.done = loop.create_future()
        gc.collect()
        before = rss_bytes()
        server = await loop.create_server(_IdleProtocol, sock=sock, backlog=4096)
        ready(port)
        await _IdleProtocol.done
        await asyncio.sleep(0.2)
        gc.collect()
        report({"ops": n, "bytes_per": (rss_bytes() - before) / n})
        await asyncio.sleep(3600)
        server.close()
        return {}

    return run_async(kind, main)  # type: ignore[no-any-return]


# -- servers (driven by client.py) --------------------------------------------------


class _EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _stream_echo(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


def _green_echo(conn: Any, addr: Any) -> None:
    while True:
        data = conn.recv(65536)
        if not data:
            break
        conn.sendall(data)
    conn.close()


def _serve_forever_async(kind: str, start: Callable[[], Awaitable[Any]]) -> None:
    async def main() -> None:
        await start()
        await asyncio.sleep(3600)

    run_async(kind, main)  # type: ignore[arg-type]


def echo_streams(kind: str, n: int) -> dict[str, Any]:
    sock = listening_socket()
    port = sock.getsockname()[1]
    if kind == "eventlet":
        eventlet = import_eventlet()
        green = eventlet.green.socket.socket(fileno=sock.detach())
        ready(port)
        eventlet.serve(green, _green_echo, concurrency=10000)
        return {}

    async def start() -> None:
        await asyncio.start_server(_stream_echo, sock=sock)
        ready(port)

    _serve_forever_async(kind, start)
    return {}


def echo_protocol(kind: str, n: int) -> dict[str, Any]:
    if kind == "eventlet":
        raise SystemExit("plain eventlet has no protocol API (see echo_streams)")
    sock = listening_socket()
    port = sock.getsockname()[1]

    async def start() -> None:
        await asyncio.get_running_loop().create_server(_EchoProtocol, sock=sock)
        ready(port)

    _serve_forever_async(kind, start)
    return {}


def bulk(kind: str, n: int) -> dict[str, Any]:
    """Receive n MiB through one connection, then answer one byte."""
    sock = listening_socket()
    port = sock.getsockname()[1]
    total = n * 1024 * 1024
    if kind == "eventlet":
        eventlet = import_eventlet()
        green = eventlet.green.socket.socket(fileno=sock.detach())

        def gsink(conn: Any, addr: Any) -> None:
            got = 0
            while got < total:
                data = conn.recv(262144)
                if not data:
                    return
                got += len(data)
            conn.sendall(b"k")

        ready(port)
        eventlet.serve(green, gsink)
        return {}

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = 0
        while got < total:
            data = await reader.read(262144)
            if not data:
                return
            got += len(data)
        writer.write(b"k")
        await writer.drain()

    async def start() -> None:
        await asyncio.start_server(sink, sock=sock)
        ready(port)

    _serve_forever_async(kind, start)
    return {}


class _UdpEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


def udp(kind: str, n: int) -> dict[str, Any]:
    sock = listening_socket("udp")
    port = sock.getsockname()[1]
    if kind == "eventlet":
        eventlet = import_eventlet()
        green = eventlet.green.socket.socket(fileno=sock.detach())
        ready(port)
        while True:
            data, addr = green.recvfrom(65536)
            green.sendto(data, addr)

    async def start() -> None:
        await asyncio.get_running_loop().create_datagram_endpoint(_UdpEcho, sock=sock)
        ready(port)

    _serve_forever_async(kind, start)
    return {}


def mixed(kind: str, n: int) -> dict[str, Any]:
    """A green echo server and an asyncio (protocol) echo server in one process."""
    if kind != "aioeventlet":
        raise SystemExit("only aioeventlet serves green and asyncio code at once")
    eventlet = import_eventlet()
    gsock = listening_socket()
    asock = listening_socket()
    green = eventlet.green.socket.socket(fileno=gsock.detach())

    async def main() -> None:
        eventlet.spawn(eventlet.serve, green, _green_echo, concurrency=10000)
        await asyncio.get_running_loop().create_server(_EchoProtocol, sock=asock)
        print(f"READY {green.getsockname()[1]} {asock.getsockname()[1]}", flush=True)
        await asyncio.sleep(3600)

    run_async(kind, main)  # type: ignore[arg-type]
    return {}


WORKLOADS: dict[str, Callable[[str, int], dict[str, Any]]] = {
    "callsoon": callsoon,
    "tasks": tasks,
    "sleep0": sleep0,
    "timers": timers,
    "queue": queue,
    "yield_future": yield_future_rt,
    "wrap_greenthread": wrap_greenthread_rt,
    "mem_tasks": mem_tasks,
    "mem_conns": mem_conns,
    "echo_streams": echo_streams,
    "echo_protocol": echo_protocol,
    "bulk": bulk,
    "udp": udp,
    "mixed": mixed,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=KINDS, required=True)
    parser.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    parser.add_argument("--size", type=int, required=True)
    args = parser.parse_args()
    if args.loop == "asyncio_hub":
        # eventlet reads it when it creates this thread's hub, on first use.
        os.environ["EVENTLET_HUB"] = "asyncio"
    warm_up_allocator()
    data = WORKLOADS[args.workload](args.loop, args.size)
    if data:
        report(data)


if __name__ == "__main__":
    main()
