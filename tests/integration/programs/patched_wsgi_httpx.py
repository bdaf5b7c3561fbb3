"""httpx on aioeventlet and an eventlet.wsgi server, in a monkey-patched process.

The WSGI server runs in a greenthread; an httpx.AsyncClient on the loop calls
it.  Two WSGI routes themselves call another route with httpx (green ->
asyncio -> green, one process): one runs a loop per request
(``aioeventlet.run``); the other, the migration case, uses one shared httpx
client on the main loop through ``aioeventlet.yield_future``, called by 100
blocking-style clients (the standard library's http.client, green under the
patch) at once, all 100 calls in flight together.
"""

from _common import GreenWorker, compared, monkey_patch, report

monkey_patch()

import asyncio  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
from typing import Any  # noqa: E402

import eventlet  # noqa: E402
import eventlet.wsgi  # noqa: E402
import greenlet  # noqa: E402
import httpx  # noqa: E402

import aioeventlet  # noqa: E402

CLIENTS = 100  # the clients of the yield_future route, all at once
# Room for every client to be queued before the server's first accept():
# eventlet's default backlog (50) drops the rest, which retry a second later,
# and the clients are then never all in flight together.
LISTEN_BACKLOG = 1024

SHARED: dict[str, Any] = {}
# The yield_future calls in flight right now, and the most there ever were.
IN_FLIGHT: list[str] = []
PEAK = [0]


class QuietLog:
    def write(self, text: str) -> None:
        pass


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path = environ["PATH_INFO"]
    if path.startswith("/hash/"):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        eventlet.sleep(0.001)
        answer = {"name": path[6:], "sha256": hashlib.sha256(body).hexdigest()}
    elif path.startswith("/via-asyncio/"):
        answer = aioeventlet.run(ask_hash(environ["HTTP_HOST"], path[13:]))
    elif path.startswith("/via-shared/"):
        coro = hash_on_shared_client(path[12:])
        answer = {"shared": aioeventlet.yield_future(coro, loop=SHARED["loop"])}
    else:
        start_response("404 Not Found", [])
        return [b""]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(answer).encode()]


async def ask_hash(host: str, name: str) -> Any:
    async with httpx.AsyncClient(base_url=f"http://{host}") as client:
        resp = await client.post(f"/hash/{name}", content=name.encode() * 100)
        return {"relayed": resp.json()}


async def hash_on_shared_client(name: str) -> Any:
    IN_FLIGHT.append(name)
    PEAK[0] = max(PEAK[0], len(IN_FLIGHT))
    try:
        client: httpx.AsyncClient = SHARED["client"]
        resp = await client.post(f"/hash/{name}", content=name.encode() * 100)
        resp.raise_for_status()
        return resp.json()
    finally:
        IN_FLIGHT.remove(name)


def green_get_json(port: int, path: str) -> Any:
    """Legacy blocking-style client: green under monkey-patching."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        return json.loads(body) if resp.status == 200 else (resp.status, body)
    finally:
        conn.close()


def hashed(name: str, body: bytes) -> dict[str, str]:
    return {"name": name, "sha256": hashlib.sha256(body).hexdigest()}


async def main(port: int) -> dict[str, object]:
    base = f"http://127.0.0.1:{port}"
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as client,
        httpx.AsyncClient(
            base_url=base,
            timeout=30,
            limits=httpx.Limits(max_connections=CLIENTS),
        ) as shared,
    ):
        SHARED.update(loop=asyncio.get_running_loop(), client=shared)

        async def direct(n: int) -> Any:
            return (await client.post(f"/hash/d{n}", content=b"x" * n)).json()

        async def relayed(n: int) -> Any:
            return (await client.get(f"/via-asyncio/r{n}")).json()

        direct_answers = await asyncio.gather(*(direct(n) for n in range(30)))
        relayed_answers = await asyncio.gather(*(relayed(n) for n in range(10)))
        # The green clients run from a greenthread of their own, awaited here:
        # GreenPool blocks green-style, which would park this loop's own
        # greenthread, and the loop serves their yield_future calls.
        pool = eventlet.GreenPool(CLIENTS)
        paths = [f"/via-shared/s{n}" for n in range(CLIENTS)]
        shared_answers = await aioeventlet.wrap_greenthread(
            eventlet.spawn(
                lambda: list(pool.imap(green_get_json, [port] * CLIENTS, paths))
            )
        )
    return {
        "direct": compared(
            direct_answers, [hashed(f"d{n}", b"x" * n) for n in range(30)]
        ),
        "relayed": compared(
            relayed_answers,
            [{"relayed": hashed(f"r{n}", f"r{n}".encode() * 100)} for n in range(10)],
        ),
        "shared": compared(
            shared_answers,
            [
                {"shared": hashed(f"s{n}", f"s{n}".encode() * 100)}
                for n in range(CLIENTS)
            ],
        ),
        "shared_peak_in_flight": PEAK[0],
        "shared_left_in_flight": IN_FLIGHT,
    }


sock = eventlet.listen(("127.0.0.1", 0), backlog=LISTEN_BACKLOG)
server = eventlet.spawn(eventlet.wsgi.server, sock, app, log=QuietLog(), max_size=1000)
worker = GreenWorker()
results = aioeventlet.run(main(sock.getsockname()[1]))
results["green_worker_ran"] = worker.stop() > 0
server.kill()
with contextlib.suppress(greenlet.GreenletExit):
    server.wait()  # re-raises the GreenletExit that ended it
report(results)
