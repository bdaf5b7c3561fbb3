"""TLS in a monkey-patched process: the ssl module is eventlet's green one, and
asyncio's TLS (aiohttp server, httpx client, wss) runs next to blocking-style
HTTPS clients (the standard library's http.client, green under the patch)."""

from _common import compared, monkey_patch, report

monkey_patch()

import asyncio  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import ssl  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from typing import Any  # noqa: E402

import eventlet  # noqa: E402
import httpx  # noqa: E402
import trustme  # noqa: E402
from aiohttp import web  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import ServerConnection, serve  # noqa: E402

import aioeventlet  # noqa: E402

if sys.version_info < (3, 11):
    # websockets' wss close leaves one SSL transport unclosed on Python 3.10's
    # older SSL protocol, on stock asyncio too (see test_tls.test_wss_echo).
    warnings.filterwarnings(
        "ignore",
        message=r"unclosed transport <asyncio\.sslproto\.",
        category=ResourceWarning,
    )

CA = trustme.CA()
SERVER_CONTEXT = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
CA.issue_cert("127.0.0.1").configure_cert(SERVER_CONTEXT)
CLIENT_CONTEXT = ssl.create_default_context()
CA.configure_trust(CLIENT_CONTEXT)


async def handle_digest(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response({"secure": request.secure, "body": body.hex()})


def blocking_client(port: int, n: int) -> Any:
    """Legacy blocking-style HTTPS client: green under monkey-patching."""
    conn = http.client.HTTPSConnection(
        "127.0.0.1", port, context=CLIENT_CONTEXT, timeout=30
    )
    try:
        conn.request("POST", "/digest", body=bytes([n]) * 8)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message[::-1])


async def main() -> dict[str, object]:
    app = web.Application()
    app.router.add_post("/digest", handle_digest)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=SERVER_CONTEXT)
    await site.start()
    port = runner.addresses[0][1]
    try:
        pool = eventlet.GreenPool(10)
        green = aioeventlet.wrap_greenthread(
            eventlet.spawn(
                lambda: list(pool.imap(blocking_client, [port] * 10, range(10)))
            )
        )
        async with httpx.AsyncClient(verify=CLIENT_CONTEXT) as client:
            url = f"https://127.0.0.1:{port}/digest"
            via_httpx = [
                (await client.post(url, content=bytes([n]) * 8)).json()
                for n in range(10)
            ]
        via_green = await green
    finally:
        await runner.cleanup()
    async with serve(echo, "127.0.0.1", 0, ssl=SERVER_CONTEXT) as server:
        ws_port = server.sockets[0].getsockname()[1]
        async with connect(f"wss://127.0.0.1:{ws_port}", ssl=CLIENT_CONTEXT) as ws:
            await ws.send("patched and secure")
            wss_reply = await ws.recv()
    want = [{"secure": True, "body": (bytes([n]) * 8).hex()} for n in range(10)]
    return {
        "httpx": compared(via_httpx, want),
        "green": compared(via_green, want),
        "wss": wss_reply,
        "loop": type(asyncio.get_running_loop()).__name__,
        "ssl_module": ssl.SSLContext.__module__,
    }


report(aioeventlet.run(main()))
