"""aiohttp on aioeventlet in a monkey-patched process, with green HTTP clients.

An aiohttp server and client run on the loop; at the same time greenthreads
call the same server with the standard library's (now green) urllib, and the
coroutine awaits them with wrap_greenthread().
"""

from _common import GreenWorker, compared, monkey_patch, report

monkey_patch()

import asyncio  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import urllib.request  # noqa: E402

import aiohttp  # noqa: E402
import eventlet  # noqa: E402
from aiohttp import web  # noqa: E402

import aioeventlet  # noqa: E402


async def handle_json(request: web.Request) -> web.Response:
    body = await request.json()
    await asyncio.sleep(0.001)
    return web.json_response({"n": body["n"], "square": body["n"] ** 2})


async def handle_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    for i in range(int(request.query["chunks"])):
        await response.write(f"{i:05d}".encode() * 200)
    await response.write_eof()
    return response


async def handle_upload(request: web.Request) -> web.Response:
    data = await request.read()
    return web.json_response({"sha256": hashlib.sha256(data).hexdigest()})


def green_client(base: str, n: int) -> int:
    """Blocking-style urllib call: green under monkey-patching."""
    req = urllib.request.Request(
        f"{base}/json",
        data=json.dumps({"n": n}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        answer: int = json.loads(resp.read())["square"]
        return answer


async def main() -> dict[str, object]:
    app = web.Application()
    app.router.add_post("/json", handle_json)
    app.router.add_get("/stream", handle_stream)
    app.router.add_post("/upload", handle_upload)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    worker = GreenWorker()
    try:
        # Green clients start now and run while the asyncio client works.  The
        # pool is driven from its own greenthread: GreenPool.spawn() blocks when
        # the pool is full, and blocking green calls made from a coroutine
        # would park the loop's greenthread, and with it the server they call.
        pool = eventlet.GreenPool(20)
        green_clients = eventlet.spawn(
            lambda: list(pool.imap(green_client, [base] * 40, range(40)))
        )
        # An asyncio future for the greenthread (wrapped before it starts).
        green_done = aioeventlet.wrap_greenthread(green_clients)
        async with aiohttp.ClientSession() as session:

            async def call(n: int) -> int:
                async with session.post(f"{base}/json", json={"n": n}) as resp:
                    square: int = (await resp.json())["square"]
                    return square

            squares = await asyncio.gather(*(call(n) for n in range(40)))
            async with session.get(f"{base}/stream", params={"chunks": 300}) as resp:
                streamed = await resp.read()
            payload = bytes(range(256)) * 3000
            async with session.post(f"{base}/upload", data=payload) as resp:
                uploaded_sha256 = (await resp.json())["sha256"]
        green_squares = await green_done
    finally:
        await runner.cleanup()
        rounds = worker.stop()
    return {
        "loop": type(asyncio.get_running_loop()).__name__,
        "squares": squares,
        "green_squares": green_squares,
        "stream": compared(
            streamed, b"".join(f"{i:05d}".encode() * 200 for i in range(300))
        ),
        "upload": compared(uploaded_sha256, hashlib.sha256(payload).hexdigest()),
        "green_worker_ran": rounds > 0,
    }


report(aioeventlet.run(main()))
