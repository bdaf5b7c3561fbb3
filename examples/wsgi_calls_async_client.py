"""An eventlet.wsgi service whose handlers call an asyncio HTTP client (httpx).

    pip install aioeventlet httpx
    python examples/wsgi_calls_async_client.py

The service is ordinary green WSGI code.  One aioeventlet loop runs in a
greenthread of its own (``run_forever()`` parks only that greenthread) and
owns one shared ``httpx.AsyncClient``, so connections to the upstream are
pooled across requests.  A handler calls the client with
``aioeventlet.yield_future(coroutine, loop=loop)``: that blocks only the
request's greenthread, while the loop and every other request keep running.

To be self-contained, the example serves a small "upstream" weather API too
(eventlet.wsgi again) and sends 20 concurrent requests to the service.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx

# aioeventlet before eventlet: it imports eventlet without eventlet's
# deprecation notice.
import aioeventlet

# isort: split
import eventlet
import eventlet.wsgi
from eventlet.green.urllib import request as green_urllib

# The WSGI callable's types, kept loose: eventlet.wsgi is untyped.
Environ = dict[str, Any]
StartResponse = Callable[..., object]
WSGIApp = Callable[[Environ, StartResponse], list[bytes]]

TEMPERATURES = {"paris": 14, "oslo": -3, "lima": 19, "cairo": 31}


class NoAccessLog:
    def write(self, text: str) -> None:
        pass


def upstream_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """The upstream API the service depends on (slow on purpose)."""
    city = environ["PATH_INFO"].strip("/")
    eventlet.sleep(0.05)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"city": city, "celsius": TEMPERATURES[city]}).encode()]


# -- the asyncio part of the service --------------------------------------------


async def fetch_weather(client: httpx.AsyncClient, city: str) -> dict[str, Any]:
    response = await client.get(f"/{city}")
    response.raise_for_status()
    weather: dict[str, Any] = response.json()
    return weather


def make_service(loop: aioeventlet.EventLoop, client: httpx.AsyncClient) -> WSGIApp:
    def service_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        """Green WSGI code; the upstream call is asyncio (httpx)."""
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        city = query["city"][0]
        weather = aioeventlet.yield_future(fetch_weather(client, city), loop=loop)
        fahrenheit = weather["celsius"] * 9 / 5 + 32
        body = f"{city}: {weather['celsius']} C / {fahrenheit:.0f} F\n"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]

    return service_app


def serve(app: WSGIApp) -> tuple[Any, str]:
    sock = eventlet.listen(("127.0.0.1", 0))
    gt = eventlet.spawn(eventlet.wsgi.server, sock, app, log=NoAccessLog())
    return gt, f"http://127.0.0.1:{sock.getsockname()[1]}"


def main() -> None:
    upstream, upstream_url = serve(upstream_app)

    # One loop for the whole service, in its own greenthread.
    loop = aioeventlet.new_event_loop()
    loop_gt = eventlet.spawn(loop.run_forever)
    client = httpx.AsyncClient(base_url=upstream_url)  # used on `loop` only
    service, service_url = serve(make_service(loop, client))

    # 20 concurrent clients of the service (green urllib).
    def ask(city: str) -> str:
        query = urllib.parse.urlencode({"city": city})
        with green_urllib.urlopen(f"{service_url}/?{query}", timeout=10) as resp:
            answer: str = resp.read().decode().strip()
            return answer

    cities = list(TEMPERATURES) * 5
    pool = eventlet.GreenPool(len(cities))
    for answer in pool.imap(ask, cities):
        print(answer)
    print(f"{len(cities)} requests served, each calling httpx through yield_future")

    service.kill()
    upstream.kill()
    aioeventlet.yield_future(client.aclose(), loop=loop)
    loop.call_soon(loop.stop)  # from another greenthread: wakes the loop
    loop_gt.wait()
    loop.close()


if __name__ == "__main__":
    main()
