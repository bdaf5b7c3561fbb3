"""eventlet.wsgi and asyncio HTTP libraries in one process, both directions.

* httpx.AsyncClient, on an aioeventlet loop, calls an ``eventlet.wsgi`` server
  served by a greenthread of the same process;
* ``eventlet.wsgi`` handlers call asyncio HTTP clients (the migration case:
  a green service adopting asyncio libraries one call at a time), with 100
  concurrent clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import eventlet
import eventlet.wsgi
import greenlet
import httpx
import pytest
from aiohttp import web
from eventlet.green.http import client as green_http

import aioeventlet

from .programs._common import GreenWorker

pytestmark = pytest.mark.integration

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


# Room for every client of a test to be queued before the first accept().
LISTEN_BACKLOG = 1024
CLIENTS = 100


class _QuietLog:
    """eventlet.wsgi's access log, kept instead of printed (pytest captures)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.append(text)


@contextmanager
def green_wsgi_server(app: WSGIApp) -> Iterator[str]:
    """Serve *app* with eventlet.wsgi in a greenthread; yield its base URL."""
    # 100 clients connect at once, before the accept loop first runs: with
    # eventlet's default backlog (50) the kernel drops the rest, which retry a
    # second later, and the "100 concurrent clients" are never 100 at once.
    sock = eventlet.listen(("127.0.0.1", 0), backlog=LISTEN_BACKLOG)
    port = sock.getsockname()[1]
    gt = eventlet.spawn(eventlet.wsgi.server, sock, app, log=_QuietLog(), max_size=1000)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # Killing the server greenthread closes its socket and waits for the
        # connections it serves (eventlet.wsgi.server's own cleanup).
        gt.kill()
        with contextlib.suppress(greenlet.GreenletExit):
            gt.wait()  # re-raises the GreenletExit that ended it


def stream_chunk(i: int) -> bytes:
    return f"chunk {i:04d} ".encode() * 100


def legacy_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """A plain green WSGI app: blocking-style code, green underneath."""
    path = environ["PATH_INFO"]
    if path == "/echo":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        query = parse_qs(environ.get("QUERY_STRING", ""))
        eventlet.sleep(0.001 * (int(query.get("n", ["0"])[0]) % 4))  # green I/O wait
        payload = {
            "method": environ["REQUEST_METHOD"],
            "n": int(query.get("n", ["-1"])[0]),
            "sha256": hashlib.sha256(body).hexdigest(),
            "length": len(body),
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(payload).encode()]
    if path == "/stream":
        count = int(parse_qs(environ.get("QUERY_STRING", ""))["chunks"][0])

        def chunks() -> Iterator[bytes]:
            for i in range(count):
                eventlet.sleep(0)
                yield stream_chunk(i)

        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return chunks()
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


def test_httpx_async_client_calls_green_wsgi_server(green_worker: GreenWorker) -> None:
    upload = bytes(range(256)) * 4000

    async def main() -> tuple[list[Any], dict[str, Any], bytes, int]:
        before = green_worker.rounds
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:

            async def get(n: int) -> Any:
                resp = await client.get("/echo", params={"n": n})
                resp.raise_for_status()
                return resp.json()

            answers = await asyncio.gather(*(get(n) for n in range(50)))
            posted = (await client.post("/echo", content=upload)).json()
            streamed = bytearray()
            async with client.stream("GET", "/stream", params={"chunks": 200}) as resp:
                assert resp.status_code == 200
                async for piece in resp.aiter_bytes():
                    streamed += piece
            missing = await client.get("/nowhere")
            assert missing.status_code == 404
            assert missing.text == "not found"
        return answers, posted, bytes(streamed), green_worker.rounds - before

    with green_wsgi_server(legacy_app) as base:
        answers, posted, streamed, progress = aioeventlet.run(main())

    empty = hashlib.sha256(b"").hexdigest()
    assert answers == [
        {"method": "GET", "n": n, "sha256": empty, "length": 0} for n in range(50)
    ]
    assert posted == {
        "method": "POST",
        "n": -1,
        "sha256": hashlib.sha256(upload).hexdigest(),
        "length": len(upload),
    }
    assert streamed == b"".join(stream_chunk(i) for i in range(200))
    assert progress > 0


# -- the migration case: green handlers calling asyncio code -------------------------


@contextmanager
def aiohttp_backend_on_green_loop() -> Iterator[str]:
    """An aiohttp service on an aioeventlet loop that runs in its own greenthread
    (``run_forever`` parks only that greenthread); yield its base URL."""

    async def compute(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        await asyncio.sleep(0.001 * (n % 3))
        return web.json_response({"n": n, "cube": n**3})

    app = web.Application()
    app.router.add_get("/compute/{n}", compute)
    runner = web.AppRunner(app)
    loop = aioeventlet.new_event_loop()
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    host, port = runner.addresses[0][:2]
    gt = eventlet.spawn(loop.run_forever)
    try:
        yield f"http://{host}:{port}"
    finally:
        loop.call_soon(loop.stop)  # from another greenthread: wakes the parked loop
        gt.wait()
        loop.run_until_complete(runner.cleanup())
        loop.close()


def green_get_json(url: str) -> Any:
    """One blocking-style HTTP GET with eventlet's green http.client."""
    host_port = url.split("/")[2]
    host, port = host_port.split(":")
    conn = green_http.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", "/" + url.split("/", 3)[3])
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, (resp.status, body)
        return json.loads(body)
    finally:
        conn.close()


def test_wsgi_handlers_run_asyncio_clients_per_request() -> None:
    """Each green request handler runs its own short-lived aioeventlet loop
    (``aioeventlet.run``) to call the backend with aiohttp: 100 at once, so 100
    loops are alive together in one OS thread, one per greenthread.

    All 100 are in flight together: the listen backlog queues every client
    before the server's first accept(), the accept loop then takes them all
    without blocking, and every handler reaches its backend call in the next
    hub rounds, well before the first backend answer has made its way back
    (it needs several rounds, and each loop is also held open 20 ms).  With
    eventlet's default backlog of 50, the peak was about 51."""
    running_loops: list[int] = []
    peak: list[int] = [0]

    async def call_backend(backend: str, n: int) -> Any:
        running_loops.append(n)
        peak[0] = max(peak[0], len(running_loops))
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{backend}/compute/{n}") as resp,
            ):
                assert resp.status == 200
                data = await resp.json()
                # Hold this loop open a moment so that the loops overlap.
                await asyncio.sleep(0.02)
                return data
        finally:
            running_loops.remove(n)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        n = int(environ["PATH_INFO"].rsplit("/", 1)[1])
        result = aioeventlet.run(call_backend(backend, n))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"via": "wsgi", **result}).encode()]

    with aiohttp_backend_on_green_loop() as backend, green_wsgi_server(app) as front:
        pool = eventlet.GreenPool(CLIENTS)
        answers = list(
            pool.imap(green_get_json, [f"{front}/ask/{n}" for n in range(CLIENTS)])
        )

    assert answers == [{"via": "wsgi", "n": n, "cube": n**3} for n in range(CLIENTS)]
    assert running_loops == []
    assert peak[0] == CLIENTS, "not every client's loop was alive at once"


@contextmanager
def shared_loop_in_greenthread() -> Iterator[asyncio.AbstractEventLoop]:
    """One aioeventlet loop for the whole green service, in its own greenthread."""
    loop = aioeventlet.new_event_loop()
    gt = eventlet.spawn(loop.run_forever)
    # Let the loop start before anyone calls yield_future(): on a loop that is
    # not running yet, yield_future() would run it in the caller instead.
    running = eventlet.Event()
    loop.call_soon(running.send)
    running.wait()
    try:
        yield loop
    finally:
        loop.call_soon(loop.stop)
        gt.wait()
        loop.close()


def test_wsgi_handlers_call_httpx_through_yield_future(
    green_worker: GreenWorker,
) -> None:
    """The migration case: green WSGI handlers call an asyncio HTTP client
    (one shared httpx.AsyncClient on one shared loop) with yield_future, which
    parks only the handler's greenthread; 100 clients at once, all 100 calls
    in flight together (see the test above for why exactly 100)."""
    in_flight: list[int] = []
    peak = [0]

    async def backend_call(client: httpx.AsyncClient, n: int) -> Any:
        in_flight.append(n)
        peak[0] = max(peak[0], len(in_flight))
        try:
            resp = await client.get(f"/compute/{n}")
            resp.raise_for_status()
            return resp.json()
        finally:
            in_flight.remove(n)

    with (
        aiohttp_backend_on_green_loop() as backend,
        shared_loop_in_greenthread() as loop,
    ):
        limits = httpx.Limits(max_connections=CLIENTS)
        client = aioeventlet.yield_future(_make_client(backend, limits), loop=loop)

        def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            n = int(environ["PATH_INFO"].rsplit("/", 1)[1])
            result = aioeventlet.yield_future(backend_call(client, n), loop=loop)
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"via": "yield_future", **result}).encode()]

        before = green_worker.rounds
        with green_wsgi_server(app) as front:
            pool = eventlet.GreenPool(CLIENTS)
            urls = [f"{front}/ask/{n}" for n in range(CLIENTS)]
            answers = list(pool.imap(green_get_json, urls))
        progress = green_worker.rounds - before
        aioeventlet.yield_future(client.aclose(), loop=loop)

    assert answers == [
        {"via": "yield_future", "n": n, "cube": n**3} for n in range(CLIENTS)
    ]
    assert in_flight == []
    assert peak[0] == CLIENTS, "not every handler's asyncio call was in flight at once"
    assert progress > 0


async def _make_client(base: str, limits: httpx.Limits) -> httpx.AsyncClient:
    # Made on the loop that will use it (httpx binds its pool to that loop).
    return httpx.AsyncClient(base_url=base, limits=limits, timeout=30)
