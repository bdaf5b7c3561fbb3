"""An aiohttp application that calls legacy green (eventlet) code.

    pip install aioeventlet aiohttp
    python examples/aiohttp_calls_green_code.py

The new HTTP front end is aiohttp, on an aioeventlet loop.  The inventory
client it needs is old eventlet code: blocking-style socket calls over a
green connection pool (eventlet.pools.Pool).  A handler runs that code in a
greenthread and awaits it with ``aioeventlet.wrap_greenthread()``: the
greenthread's result becomes an asyncio future's.  Nothing in the legacy code
changes.

To be self-contained, the example also runs the legacy inventory server (a
green TCP server) and sends 12 concurrent requests to the aiohttp app.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web

# aioeventlet before eventlet: it imports eventlet without eventlet's
# deprecation notice.
import aioeventlet

# isort: split
import eventlet
import eventlet.pools

STOCK = {"apple": 12, "pear": 0, "plum": 7, "fig": 3}


# -- legacy green code, unchanged -------------------------------------------------


def inventory_server(listener: Any) -> None:
    """The legacy inventory service: one line in ("apple"), one line out ("12")."""

    def handle(conn: Any) -> None:
        with conn, conn.makefile("rw") as stream:
            for line in stream:
                eventlet.sleep(0.02)  # the legacy service is slow
                stream.write(f"{STOCK.get(line.strip(), -1)}\n")
                stream.flush()

    while True:
        conn, _ = listener.accept()
        eventlet.spawn(handle, conn)


class InventoryClient:
    """Legacy client: green sockets, a green connection pool, blocking style."""

    def __init__(self, address: tuple[str, int], size: int = 4) -> None:
        self.address = address
        self.pool = eventlet.pools.Pool(max_size=size, create=self._connect)

    def _connect(self) -> tuple[Any, Any]:
        sock = eventlet.connect(self.address)
        return sock, sock.makefile("rw")

    def in_stock(self, item: str) -> int:
        with self.pool.item() as (_, stream):
            stream.write(item + "\n")
            stream.flush()
            return int(stream.readline())

    def close(self) -> None:
        while self.pool.free_items:
            sock, stream = self.pool.free_items.popleft()
            stream.close()
            sock.close()


# -- the new aiohttp front end ------------------------------------------------------

INVENTORY = web.AppKey("inventory", InventoryClient)


async def handle_item(request: web.Request) -> web.Response:
    item = request.match_info["item"]
    inventory = request.app[INVENTORY]
    # Run the legacy call in a greenthread, await its result as a future.
    count = await aioeventlet.wrap_greenthread(eventlet.spawn(inventory.in_stock, item))
    return web.json_response({"item": item, "in_stock": count, "available": count > 0})


async def main() -> None:
    listener = eventlet.listen(("127.0.0.1", 0))
    legacy = eventlet.spawn(inventory_server, listener)

    app = web.Application()
    app[INVENTORY] = InventoryClient(listener.getsockname())
    app.router.add_get("/items/{item}", handle_item)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]

    items = ["apple", "pear", "plum", "fig"] * 3
    async with aiohttp.ClientSession(f"http://{host}:{port}") as session:

        async def ask(item: str) -> dict[str, Any]:
            async with session.get(f"/items/{item}") as resp:
                answer: dict[str, Any] = await resp.json()
                return answer

        for answer in await asyncio.gather(*(ask(item) for item in items)):
            state = "available" if answer["available"] else "sold out"
            print(f"{answer['item']}: {answer['in_stock']} in stock ({state})")
    print(f"{len(items)} requests, each served by aiohttp calling legacy green code")

    await runner.cleanup()
    app[INVENTORY].close()
    legacy.kill()
    listener.close()


if __name__ == "__main__":
    aioeventlet.run(main())
