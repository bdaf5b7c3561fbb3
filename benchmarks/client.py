"""The load generator for the server workloads of ``workloads.py``.

One fixed client for every server under test, in its own process: it runs on
uvloop when installed (the fastest client we have, so that the server is the
side that works hardest), else on stock asyncio, and says which in its result.
It measures the *server* process's CPU time over its measured window from
/proc (the sum of every thread's on-CPU nanoseconds in ``schedstat``), so that
rates can be normalised by the CPU the server really used, whatever else runs
on the machine.

Prints ``RESULT <json>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import time
from typing import Any

MSG = 64


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by every thread of process *pid*."""
    total = 0
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:  # a thread that just exited
            pass
    return total / 1e9


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_us": 0.0, "p99_us": 0.0}
    samples.sort()
    n = len(samples)
    return {
        "p50_us": samples[n // 2] * 1e6,
        "p99_us": samples[min(n - 1, (n * 99) // 100)] * 1e6,
    }


def client_loop() -> tuple[asyncio.AbstractEventLoop, str]:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop(), "asyncio"
    return uvloop.new_event_loop(), "uvloop"


class _EchoClient(asyncio.Protocol):
    """Ping-pong: send one message, wait for all of it back, repeat."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.pending = 0
        self.sent_at = 0.0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )

    def send(self) -> None:
        self.pending = MSG
        self.sent_at = time.perf_counter()
        self.transport.write(b"x" * MSG)

    def connection_lost(self, exc: Exception | None) -> None:
        done = self.state["done"]
        if not self.state["stop"] and not done.done():
            done.set_exception(
                ConnectionError(f"the server closed a connection ({exc})")
            )

    def data_received(self, data: bytes) -> None:
        self.pending -= len(data)
        if self.pending > 0:
            return
        state = self.state
        if state["measuring"]:
            state["count"] += 1
            state["lat"].append(time.perf_counter() - self.sent_at)
        if not state["stop"]:
            self.send()
        else:
            state["idle"] += 1
            if state["idle"] == state["conns"] and not state["done"].done():
                state["done"].set_result(None)


async def echo(
    ports: list[int], conns: int, warmup: float, duration: float, pid: int
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    state: dict[str, Any] = {
        "measuring": False,
        "stop": False,
        "count": 0,
        "lat": [],
        "idle": 0,
        "conns": conns * len(ports),
        "done": loop.create_future(),
    }
    clients = []
    for port in ports:
        for _ in range(conns):
            _, proto = await loop.create_connection(
                lambda: _EchoClient(state), "127.0.0.1", port
            )
            clients.append(proto)
    for c in clients:
        c.send()
    await asyncio.wait([state["done"]], timeout=warmup)
    if state["done"].done():
        state["done"].result()  # the server went away
    state["measuring"] = True
    cpu0, t0 = server_cpu(pid), time.perf_counter()
    await asyncio.sleep(duration)
    state["measuring"] = False
    cpu1, t1 = server_cpu(pid), time.perf_counter()
    state["stop"] = True
    await asyncio.wait_for(state["done"], 10)
    for c in clients:
        c.transport.close()
    return {
        "ops": state["count"],
        "cpu": cpu1 - cpu0,
        "wall": t1 - t0,
        **percentiles(state["lat"]),
    }


def server_page_faults(pid: int) -> int:
    """Minor page faults of process *pid* so far (field 10 of its stat)."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name, field 2, may hold spaces: split after it.
        return int(f.read().rsplit(")", 1)[1].split()[7])


def bulk(port: int, mib: int, pid: int) -> dict[str, Any]:
    chunk = b"\0" * (256 * 1024)
    total = mib * 1024 * 1024
    sock = socket.create_connection(("127.0.0.1", port))
    cpu0, t0 = server_cpu(pid), time.perf_counter()
    faults0 = server_page_faults(pid)
    sent = 0
    while sent < total:
        sock.sendall(chunk)
        sent += len(chunk)
    ack = sock.recv(1)
    cpu1, t1 = server_cpu(pid), time.perf_counter()
    faults1 = server_page_faults(pid)
    sock.close()
    if ack != b"k":
        raise SystemExit(f"bulk: server answered {ack!r}")
    # Page faults per MiB received: how often the server's allocator had to
    # take fresh pages from the kernel for its receive buffers.
    return {
        "ops": mib,
        "cpu": cpu1 - cpu0,
        "wall": t1 - t0,
        "faults_per_op": (faults1 - faults0) / mib,
    }


def udp(port: int, warmup: float, duration: float, pid: int) -> dict[str, Any]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(5)
    payload = b"u" * MSG
    lat: list[float] = []
    end_warmup = time.perf_counter() + warmup
    while time.perf_counter() < end_warmup:
        sock.send(payload)
        sock.recv(65536)
    cpu0, t0 = server_cpu(pid), time.perf_counter()
    end = t0 + duration
    count = 0
    while True:
        s = time.perf_counter()
        if s >= end:
            break
        sock.send(payload)
        if sock.recv(65536) != payload:
            raise SystemExit("udp: wrong echo")
        lat.append(time.perf_counter() - s)
        count += 1
    cpu1, t1 = server_cpu(pid), time.perf_counter()
    return {"ops": count, "cpu": cpu1 - cpu0, "wall": t1 - t0, **percentiles(lat)}


def idle(port: int, n: int) -> None:
    """Open n connections, keep them open until stdin closes."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < n + 100:
        raise SystemExit(
            f"idle: {n} connections need {n + 100} file descriptors; the hard "
            f"limit is {hard} (raise it with ulimit -Hn)"
        )
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    print("CONNECTED", flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["echo", "bulk", "udp", "idle"])
    parser.add_argument("--port", type=int, action="append", required=True)
    parser.add_argument("--pid", type=int, default=0, help="the server's pid")
    parser.add_argument("--conns", type=int, default=1)
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--warmup", type=float, default=0.3)
    parser.add_argument("--duration", type=float, default=2.0)
    args = parser.parse_args()
    if args.mode == "idle":
        idle(args.port[0], args.size)
        return
    loop_name = "blocking sockets"
    if args.mode == "echo":
        loop, loop_name = client_loop()
        try:
            data = loop.run_until_complete(
                echo(args.port, args.conns, args.warmup, args.duration, args.pid)
            )
        finally:
            loop.close()
    elif args.mode == "bulk":
        data = bulk(args.port[0], args.size, args.pid)
    else:
        data = udp(args.port[0], args.warmup, args.duration, args.pid)
    data["client"] = loop_name
    print("RESULT " + json.dumps(data), flush=True)


if __name__ == "__main__":
    main()
