"""websockets server and client on an aioeventlet loop."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosedOK

import aioeventlet

from .programs._common import GreenWorker

pytestmark = pytest.mark.integration


def test_echo_text_and_binary(green_worker: GreenWorker) -> None:
    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            if isinstance(message, str):
                await ws.send(
                    json.dumps({"upper": message.upper(), "len": len(message)})
                )
            else:
                await ws.send(hashlib.sha256(message).digest())

    async def main() -> tuple[list[Any], list[bytes], int]:
        before = green_worker.rounds
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}", max_size=2**22) as ws:
                texts = []
                for word in ("hello", "wörld", "x" * 10_000):
                    await ws.send(word)
                    texts.append(json.loads(await ws.recv()))
                blobs = []
                for size in (0, 1, 65_536, 1_000_003):
                    await ws.send(
                        bytes(range(256)) * (size // 256) + b"\x07" * (size % 256)
                    )
                    blob = await ws.recv()
                    assert isinstance(blob, bytes)  # a binary frame back
                    blobs.append(blob)
        return texts, blobs, green_worker.rounds - before

    texts, blobs, progress = aioeventlet.run(main())
    assert texts == [
        {"upper": "HELLO", "len": 5},
        {"upper": "WÖRLD", "len": 5},
        {"upper": "X" * 10_000, "len": 10_000},
    ]
    assert blobs == [
        hashlib.sha256(
            bytes(range(256)) * (size // 256) + b"\x07" * (size % 256)
        ).digest()
        for size in (0, 1, 65_536, 1_000_003)
    ]
    assert progress > 0


def test_many_clients_and_broadcast() -> None:
    clients = 20

    async def main() -> tuple[list[list[str]], list[str]]:
        connected: set[ServerConnection] = set()
        everyone_in = asyncio.Event()
        greetings: list[str] = []

        async def handler(ws: ServerConnection) -> None:
            greetings.append(await ws.recv())  # type: ignore[arg-type]
            connected.add(ws)
            if len(connected) == clients:
                everyone_in.set()
            await ws.wait_closed()

        async def client(port: int, n: int) -> list[str]:
            async with connect(f"ws://127.0.0.1:{port}") as ws:
                await ws.send(f"hi from {n}")
                got = [await ws.recv() for _ in range(3)]
                return [g if isinstance(g, str) else g.decode() for g in got]

        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            tasks = [asyncio.ensure_future(client(port, n)) for n in range(clients)]
            await asyncio.wait_for(everyone_in.wait(), 20)
            for i in range(3):
                broadcast(connected, f"news {i}")
            received = await asyncio.wait_for(asyncio.gather(*tasks), 20)
        return received, sorted(greetings)

    received, greetings = aioeventlet.run(main())
    assert received == [["news 0", "news 1", "news 2"]] * clients
    assert greetings == sorted(f"hi from {n}" for n in range(clients))


def test_server_closes_cleanly() -> None:
    async def main() -> tuple[int | None, str]:
        async def handler(ws: ServerConnection) -> None:
            await ws.close(code=1000, reason="done here")

        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}") as ws:
                with pytest.raises(ConnectionClosedOK) as info:
                    await ws.recv()
                assert info.value.rcvd is not None
                return info.value.rcvd.code, info.value.rcvd.reason

    assert aioeventlet.run(main()) == (1000, "done here")
