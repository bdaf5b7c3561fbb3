"""aiohttp server and client on an aioeventlet loop, greenthreads alive beside."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator

import aiohttp
import eventlet
import pytest
from aiohttp import web

import aioeventlet

from .programs._common import GreenWorker

pytestmark = pytest.mark.integration

CHUNK = 16 * 1024


def chunk_bytes(index: int) -> bytes:
    """The index-th chunk of the streaming endpoint: distinct, checkable data."""
    return hashlib.sha256(str(index).encode()).digest() * (CHUNK // 32)


async def handle_json(request: web.Request) -> web.Response:
    body = await request.json()
    # A real await inside the handler, so requests interleave on the loop.
    await asyncio.sleep(0.001 * (body["n"] % 5))
    return web.json_response(
        {"n": body["n"], "square": body["n"] ** 2, "echo": body["text"][::-1]}
    )


async def handle_stream(request: web.Request) -> web.StreamResponse:
    count = int(request.query["chunks"])
    response = web.StreamResponse()
    response.content_type = "application/octet-stream"
    await response.prepare(request)
    for index in range(count):
        await response.write(chunk_bytes(index))
        await asyncio.sleep(0)
    await response.write_eof()
    return response


async def handle_upload(request: web.Request) -> web.Response:
    digest = hashlib.sha256()
    size = 0
    async for piece in request.content.iter_chunked(CHUNK):
        digest.update(piece)
        size += len(piece)
    return web.json_response({"size": size, "sha256": digest.hexdigest()})


async def handle_form(request: web.Request) -> web.Response:
    reader = await request.multipart()
    files = {}
    while (part := await reader.next()) is not None:
        assert isinstance(part, aiohttp.BodyPartReader)
        data = await part.read()
        files[part.name] = {
            "filename": part.filename,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    return web.json_response(files)


def make_app() -> web.Application:
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_post("/json", handle_json)
    app.router.add_get("/stream", handle_stream)
    app.router.add_post("/upload", handle_upload)
    app.router.add_post("/form", handle_form)
    return app


async def start_server() -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(make_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert runner.addresses, "aiohttp did not report a listening address"
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def test_concurrent_json_requests(green_worker: GreenWorker) -> None:
    async def main() -> tuple[list[object], int, int]:
        assert isinstance(asyncio.get_running_loop(), aioeventlet.EventLoop)
        runner, base = await start_server()
        try:
            rounds_before = green_worker.rounds
            async with aiohttp.ClientSession() as session:

                async def call(n: int) -> object:
                    payload = {"n": n, "text": f"request {n}"}
                    async with session.post(f"{base}/json", json=payload) as resp:
                        assert resp.status == 200
                        return await resp.json()

                results = await asyncio.gather(*(call(n) for n in range(60)))
            return results, rounds_before, green_worker.rounds
        finally:
            await runner.cleanup()

    results, before, after = aioeventlet.run(main())
    assert results == [
        {"n": n, "square": n * n, "echo": f"request {n}"[::-1]} for n in range(60)
    ]
    assert after > before, "the greenthread made no progress during the requests"


def test_streaming_response(green_worker: GreenWorker) -> None:
    chunks = 64

    async def main() -> tuple[bytes, list[int], int]:
        runner, base = await start_server()
        try:
            before = green_worker.rounds
            received = bytearray()
            sizes = []
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{base}/stream", params={"chunks": chunks}) as resp,
            ):
                assert resp.status == 200
                async for piece in resp.content.iter_chunked(CHUNK):
                    received += piece
                    sizes.append(len(piece))
            return bytes(received), sizes, green_worker.rounds - before
        finally:
            await runner.cleanup()

    received, sizes, progress = aioeventlet.run(main())
    assert received == b"".join(chunk_bytes(i) for i in range(chunks))
    assert sum(sizes) == chunks * CHUNK
    assert progress > 0


def test_uploads_streamed_and_multipart(green_worker: GreenWorker) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    files = {"first": os.urandom(100_000), "second": b"plain text\n" * 1000}

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 50_000):
            yield payload[start : start + 50_000]
            await asyncio.sleep(0)

    async def main() -> tuple[object, object, int]:
        runner, base = await start_server()
        try:
            before = green_worker.rounds
            async with aiohttp.ClientSession() as session:
                async with session.post(f"{base}/upload", data=body()) as resp:
                    assert resp.status == 200
                    streamed = await resp.json()
                form = aiohttp.FormData()
                for name, data in files.items():
                    form.add_field(name, data, filename=f"{name}.bin")
                async with session.post(f"{base}/form", data=form) as resp:
                    assert resp.status == 200
                    multipart = await resp.json()
            return streamed, multipart, green_worker.rounds - before
        finally:
            await runner.cleanup()

    streamed, multipart, progress = aioeventlet.run(main())
    assert streamed == {
        "size": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    assert multipart == {
        name: {"filename": f"{name}.bin", "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in files.items()
    }
    assert progress > 0


@pytest.mark.parametrize(
    "name_the_loop",
    [
        pytest.param(True, id="loop-given"),
        pytest.param(False, id="loop-found"),
    ],
)
def test_handlers_await_green_code_that_awaits_asyncio(name_the_loop: bool) -> None:
    """Both bridges in one request: an aiohttp handler awaits legacy green
    code (wrap_greenthread), which itself waits for a coroutine (yield_future,
    given the loop, or finding the one running in this thread) - 30 requests
    at once."""

    async def price_of(item: str) -> int:
        await asyncio.sleep(0.001)
        return len(item) * 10

    def legacy_quote(
        item: str, quantity: int, loop: asyncio.AbstractEventLoop | None
    ) -> dict[str, object]:
        eventlet.sleep(0.002)  # the legacy code's green I/O
        unit = aioeventlet.yield_future(price_of(item), loop=loop)
        return {"item": item, "quantity": quantity, "total": unit * quantity}

    async def handle_quote(request: web.Request) -> web.Response:
        item = request.match_info["item"]
        quantity = int(request.query["q"])
        loop = asyncio.get_running_loop() if name_the_loop else None
        gt = eventlet.spawn(legacy_quote, item, quantity, loop)
        return web.json_response(await aioeventlet.wrap_greenthread(gt))

    async def main() -> list[object]:
        app = web.Application()
        app.router.add_get("/quote/{item}", handle_quote)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            async with aiohttp.ClientSession(f"http://{host}:{port}") as session:

                async def ask(n: int) -> object:
                    path = f"/quote/item{'x' * (n % 4)}"
                    async with session.get(path, params={"q": n}) as resp:
                        assert resp.status == 200
                        return await resp.json()

                return list(await asyncio.gather(*(ask(n) for n in range(30))))
        finally:
            await runner.cleanup()

    answers = aioeventlet.run(main())
    assert answers == [
        {
            "item": f"item{'x' * (n % 4)}",
            "quantity": n,
            "total": len(f"item{'x' * (n % 4)}") * 10 * n,
        }
        for n in range(30)
    ]
