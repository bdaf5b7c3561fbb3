"""Migration, step 3 of 3: no eventlet left.

    pip install aiohttp
    python examples/migration/step3_no_eventlet.py

The last green function is now a coroutine (an asyncio database driver, say),
so nothing needs eventlet or aioeventlet any more: the service runs on
asyncio's own loop with ``asyncio.run()``.  The answers are the same as in
steps 1 and 2.
"""

import asyncio
import sys
from typing import Any

import aiohttp
from aiohttp import web

ORDERS = {"ada": [20.0, 15.5, 24.5], "alan": [99.0], "grace": [5.0, 5.0]}
DISCOUNTS = {"ada": 10, "grace": 50}


async def load_orders(customer: str) -> list[float]:
    await asyncio.sleep(0.01)  # an asyncio database query
    return ORDERS[customer]


async def discount_percent(customer: str) -> int:
    await asyncio.sleep(0.01)
    return DISCOUNTS.get(customer, 0)


async def handle_orders(request: web.Request) -> web.Response:
    customer = request.match_info["customer"]
    orders = await load_orders(customer)
    discount = await discount_percent(customer)
    total = sum(orders)
    return web.json_response(
        {
            "customer": customer,
            "orders": len(orders),
            "total": total,
            "discount": discount,
            "pay": round(total * (100 - discount) / 100, 2),
        }
    )


def describe(answer: dict[str, Any]) -> str:
    return (
        f"{answer['customer']}: {answer['orders']} orders, total "
        f"{answer['total']:.2f}, discount {answer['discount']}%, "
        f"pay {answer['pay']:.2f}"
    )


async def main() -> None:
    app = web.Application()
    app.router.add_get("/orders/{customer}", handle_orders)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]

    async with aiohttp.ClientSession(f"http://{host}:{port}") as session:

        async def ask(customer: str) -> dict[str, Any]:
            async with session.get(f"/orders/{customer}") as resp:
                answer: dict[str, Any] = await resp.json()
                return answer

        for answer in await asyncio.gather(*(ask(c) for c in sorted(ORDERS))):
            print(describe(answer))
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
    uses_eventlet = "eventlet" in sys.modules
    print("runs on:", "eventlet + aioeventlet" if uses_eventlet else "asyncio alone")
