"""Requests per CPU second of gunicorn workers: aioeventlet.gunicorn.Worker
against gunicorn's ``-k eventlet`` (WSGI; needs gunicorn 25.x, the last with
it) and uvicorn's worker (ASGI), on the same gunicorn, client and machine.

    python benchmarks/gunicorn_workers.py                 # 5 rounds
    python benchmarks/gunicorn_workers.py --rounds 3 --requests 5000 --json out.json

Each measurement starts a fresh gunicorn (one worker) on 127.0.0.1; one
client process (asyncio, raw HTTP/1.1 keep-alive, a fixed number of
requests over a fixed number of connections) loads it; the worker's CPU time
over the measured window comes from /proc.  Workers alternate A B A B in each
round; each cell is the median of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from client import server_cpu  # noqa: E402 - the benchmarks' own helper

OURS = "aioeventlet.gunicorn.Worker"
# (workload, app, reference worker class, our worker class)
CASES = [
    ("hello WSGI", "gunicorn_apps:hello_wsgi", "eventlet"),
    ("await WSGI", "gunicorn_apps:awaits_wsgi", "eventlet"),
    ("hello ASGI", "gunicorn_apps:hello_asgi", "uvicorn.workers.UvicornWorker"),
    ("await ASGI", "gunicorn_apps:awaits_asgi", "uvicorn.workers.UvicornWorker"),
]
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(worker: str, app: str, port: int) -> subprocess.Popen[bytes]:
    conf = HERE.parent / "tests" / "integration" / "programs" / "gunicorn_conf.py"
    argv = [
        sys.executable, "-m", "gunicorn",
        "-k", worker, "--workers", "1", "--worker-connections", "1000",
        "--bind", f"127.0.0.1:{port}", "--chdir", str(HERE),
        "--log-level", "warning", "--keep-alive", "30",
        "--config", str(conf),
        app,
    ]  # fmt: skip
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(REQUEST)
                if sock.recv(100).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"gunicorn -k {worker} {app} did not start")


def worker_pid(master: int) -> int:
    with open(f"/proc/{master}/task/{master}/children") as f:
        children = f.read().split()
    return int(children[0])


async def load(port: int, connections: int, requests: int) -> int:
    per_conn = requests // connections

    async def one() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        done = 0
        for _ in range(per_conn):
            writer.write(REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            done += 1
        writer.close()
        return done

    return sum(await asyncio.gather(*(one() for _ in range(connections))))


def measure(worker: str, app: str, connections: int, requests: int) -> dict[str, float]:
    port = free_port()
    proc = start(worker, app, port)
    try:
        pid = worker_pid(proc.pid)
        asyncio.run(load(port, connections, requests // 10))  # warm-up
        cpu0, wall0 = server_cpu(pid), time.monotonic()
        done = asyncio.run(load(port, connections, requests))
        cpu, wall = server_cpu(pid) - cpu0, time.monotonic() - wall0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this script started
            proc.wait(10)
    return {"per_cpu_s": done / cpu, "per_s": done / wall}


def versions() -> dict[str, str]:
    info = {"python": platform.python_version(), "nproc": str(os.cpu_count())}
    info["machine"] = platform.machine()
    for name in ("gunicorn", "uvicorn", "eventlet", "greenlet", "httptools"):
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info[name] = "-"
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    for name, app, reference in CASES:
        cell = results.setdefault(name, {reference: [], OURS: []})
        for _ in range(args.rounds):
            for worker in (reference, OURS):
                cell[worker].append(
                    measure(worker, app, args.connections, args.requests)
                )
    info = versions()
    print("machine:", ", ".join(f"{k} {v}" for k, v in info.items()))
    head = f"{'workload':12} {'reference':32} {'ref req/CPU s':>14} {'ours':>10}"
    print(f"{head} {'ratio':>6}")
    table: list[dict[str, Any]] = []
    for name, _app, reference in CASES:
        cell = results[name]
        ref = statistics.median(r["per_cpu_s"] for r in cell[reference])
        ours = statistics.median(r["per_cpu_s"] for r in cell[OURS])
        print(f"{name:12} {reference:32} {ref:14.0f} {ours:10.0f} {ours / ref:6.2f}")
        table.append(
            {"workload": name, "reference": reference, "reference_per_cpu_s": ref,
             "ours_per_cpu_s": ours, "ratio": ours / ref, "runs": cell}
        )  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": table}, indent=1))


if __name__ == "__main__":
    main()
