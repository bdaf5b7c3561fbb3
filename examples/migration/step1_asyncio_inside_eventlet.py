"""Migration, step 1 of 3: asyncio code inside an eventlet service.

    pip install aioeventlet
    python examples/migration/step1_asyncio_inside_eventlet.py

The service is unchanged eventlet code: an eventlet.wsgi app whose order
lookup is green (it stands in for a green database driver).  The *new*
feature, the customer's discount, is written as an asyncio coroutine from the
start.  An aioeventlet loop runs in a greenthread of its own, and the green
handler waits for the coroutine with ``aioeventlet.yield_future()``, which
blocks only the request's greenthread.

Step 2 turns the service itself into asyncio; step 3 drops eventlet.  All three
steps print the same answers.
"""

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

# aioeventlet before eventlet: it imports eventlet without eventlet's
# deprecation notice.
import aioeventlet

# isort: split
import eventlet
import eventlet.wsgi
from eventlet.green.urllib import request as green_urllib

ORDERS = {"ada": [20.0, 15.5, 24.5], "alan": [99.0], "grace": [5.0, 5.0]}
DISCOUNTS = {"ada": 10, "grace": 50}


# Legacy code: green, blocking style.
def load_orders(customer: str) -> list[float]:
    eventlet.sleep(0.01)  # a green database query
    return ORDERS[customer]


# New code: a coroutine (an asyncio client of the pricing service, say).
async def discount_percent(customer: str) -> int:
    await asyncio.sleep(0.01)
    return DISCOUNTS.get(customer, 0)


# The WSGI callable's types, kept loose: eventlet.wsgi is untyped.
StartResponse = Callable[..., object]
WSGIApp = Callable[[dict[str, Any], StartResponse], list[bytes]]


def make_app(loop: aioeventlet.EventLoop) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        customer = environ["PATH_INFO"].rsplit("/", 1)[1]
        orders = load_orders(customer)
        discount = aioeventlet.yield_future(discount_percent(customer), loop=loop)
        total = sum(orders)
        body = {
            "customer": customer,
            "orders": len(orders),
            "total": total,
            "discount": discount,
            "pay": round(total * (100 - discount) / 100, 2),
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return app


def describe(answer: dict[str, Any]) -> str:
    return (
        f"{answer['customer']}: {answer['orders']} orders, total "
        f"{answer['total']:.2f}, discount {answer['discount']}%, "
        f"pay {answer['pay']:.2f}"
    )


class NoAccessLog:
    def write(self, text: str) -> None:
        pass


def main() -> None:
    loop = aioeventlet.new_event_loop()
    loop_gt = eventlet.spawn(loop.run_forever)  # parks only this greenthread

    sock = eventlet.listen(("127.0.0.1", 0))
    app = make_app(loop)
    server = eventlet.spawn(eventlet.wsgi.server, sock, app, log=NoAccessLog())
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/orders/"

    def ask(customer: str) -> dict[str, Any]:
        with green_urllib.urlopen(url + customer, timeout=10) as resp:
            answer: dict[str, Any] = json.loads(resp.read())
            return answer

    pool = eventlet.GreenPool()
    for answer in pool.imap(ask, sorted(ORDERS)):
        print(describe(answer))

    server.kill()
    loop.call_soon(loop.stop)
    loop_gt.wait()
    loop.close()
    uses_eventlet = "eventlet" in sys.modules
    print("runs on:", "eventlet + aioeventlet" if uses_eventlet else "asyncio alone")


if __name__ == "__main__":
    main()
