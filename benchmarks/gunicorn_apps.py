"""The applications of benchmarks/gunicorn_workers.py, one module per kind of
worker (gunicorn's ``--chdir`` is this directory).

* ``hello_wsgi`` / ``hello_asgi``: hello world;
* ``awaits_wsgi`` / ``awaits_asgi``: a view that awaits one asyncio call
  (``asyncio.sleep(0)``); the WSGI one through ``aioeventlet.yield_future``
  on the worker's loop, or, under ``-k eventlet`` (no worker loop), on a loop
  the app starts in a greenthread of its own on first use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aioeventlet

BODY = b"Hello, world!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]
RAW_HEADERS = [(k.lower().encode(), v.encode()) for k, v in HEADERS]

# The loop awaits_wsgi hands yield_future: [None] once the worker's own loop
# is known to be there (found as the current loop), [a loop of the app's own]
# under -k eventlet; empty until the first request has found out.
_which_loop: list[asyncio.AbstractEventLoop | None] = []


def hello_wsgi(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> list[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]


async def _one_call() -> None:
    await asyncio.sleep(0)


def _loop() -> asyncio.AbstractEventLoop | None:
    # Found out once: a probe on every request would make each of our
    # worker's requests await twice and the reference's once.
    if _which_loop:
        return _which_loop[0]
    try:
        aioeventlet.yield_future(_one_call())  # the worker's loop, if any
    except RuntimeError:
        import eventlet
        import eventlet.event

        loop = aioeventlet.new_event_loop()
        eventlet.spawn(loop.run_forever)
        running = eventlet.event.Event()
        loop.call_soon(running.send)
        running.wait()
        _which_loop.append(loop)
        return loop
    _which_loop.append(None)
    return None


def awaits_wsgi(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> list[bytes]:
    aioeventlet.yield_future(_one_call(), loop=_loop())
    start_response("200 OK", HEADERS)
    return [BODY]


async def hello_asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    await send({"type": "http.response.start", "status": 200, "headers": RAW_HEADERS})
    await send({"type": "http.response.body", "body": BODY})
    return None


async def awaits_asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    await _one_call()
    await send({"type": "http.response.start", "status": 200, "headers": RAW_HEADERS})
    await send({"type": "http.response.body", "body": BODY})
    return None


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return
