"""httpx on aioeventlet and an eventlet.wsgi server, in a monkey-patched process.

The WSGI server runs in a greenthread; an httpx.AsyncClient on the loop calls
it.  Two WSGI routes themselves call another route with httpx (green ->
asyncio -> green, one process): one runs a loop per request
(``aioeventlet.run``), the other uses one shared httpx client on the main loop
through ``aioeventlet.yield_future``.
"""

from _common import GreenWorker, monkey_patch, report

monkey_patch()

import asyncio  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
from typing import Any  # noqa: E402

import eventlet  # noqa: E402
import eventlet.wsgi  # noqa: E402
import greenlet  # noqa: E402
import httpx  # noqa: E402

import aioeventlet  # noqa: E402

SHARED: dict[str, Any] = {}


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
        name = path[12:]
        coro = SHARED["client"].post(f"/hash/{name}", content=name.encode() * 100)
        resp = aioeventlet.yield_future(coro, loop=SHARED["loop"])
        answer = {"shared": resp.json()}
    else:
        start_response("404 Not Found", [])
        return [b""]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(answer).encode()]


async def ask_hash(host: str, name: str) -> Any:
    async with httpx.AsyncClient(base_url=f"http://{host}") as client:
        resp = await client.post(f"/hash/{name}", content=name.encode() * 100)
        return {"relayed": resp.json()}


async def main(base: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        SHARED.update(loop=asyncio.get_running_loop(), client=client)

        async def direct(n: int) -> Any:
            return (await client.post(f"/hash/d{n}", content=b"x" * n)).json()

        async def relayed(n: int) -> Any:
            return (await client.get(f"/via-asyncio/r{n}")).json()

        direct_answers = await asyncio.gather(*(direct(n) for n in range(30)))
        relayed_answers = await asyncio.gather(*(relayed(n) for n in range(10)))

        async def shared(n: int) -> Any:
            return (await client.get(f"/via-shared/s{n}")).json()

        shared_answers = await asyncio.gather(*(shared(n) for n in range(30)))
    return {
        "direct_ok": direct_answers
        == [
            {"name": f"d{n}", "sha256": hashlib.sha256(b"x" * n).hexdigest()}
            for n in range(30)
        ],
        "relayed_ok": relayed_answers
        == [
            {
                "relayed": {
                    "name": f"r{n}",
                    "sha256": hashlib.sha256(f"r{n}".encode() * 100).hexdigest(),
                }
            }
            for n in range(10)
        ],
        "shared_ok": shared_answers
        == [
            {
                "shared": {
                    "name": f"s{n}",
                    "sha256": hashlib.sha256(f"s{n}".encode() * 100).hexdigest(),
                }
            }
            for n in range(30)
        ],
        "count": len(direct_answers) + len(relayed_answers) + len(shared_answers),
    }


sock = eventlet.listen(("127.0.0.1", 0))
server = eventlet.spawn(eventlet.wsgi.server, sock, app, log=QuietLog())
worker = GreenWorker()
results = aioeventlet.run(main(f"http://127.0.0.1:{sock.getsockname()[1]}"))
results["green_worker_ran"] = worker.stop() > 0
server.kill()
with contextlib.suppress(greenlet.GreenletExit):
    server.wait()  # re-raises the GreenletExit that ended it
report(results)
