"""A Starlette app for the gunicorn worker tests, served by
``aioeventlet.gunicorn.Worker`` on the worker's loop through uvicorn.

Routes as the Flask app's (gunicorn_worker_wsgi.py) where they apply:
``/hello``, ``/patched`` (a monkey-patched HTTP call to the test's upstream
server, made in a greenthread with ``to_green``), ``/sleep?s=S``
(``asyncio.sleep``), ``/green-sleep?s=S`` (the patched ``time.sleep`` in a
greenthread), ``/block?s=S`` (the unpatched sleep, in the loop: blocks the
hub); ``/ws``, a WebSocket echo.  The
lifespan startup and shutdown write to the file in $GUNICORN_TEST_MARKS.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import eventlet.patcher
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

import aioeventlet

_unpatched_sleep = eventlet.patcher.original("time").sleep


def _mark(text: str) -> None:
    path = os.environ.get("GUNICORN_TEST_MARKS")
    if path:
        with open(path, "a") as marks:
            marks.write(f"{os.getpid()} {text}\n")


def _facts(request: Request, **extra: object) -> JSONResponse:
    client = request.client
    return JSONResponse(
        {"pid": os.getpid(), "port": client.port if client else 0, **extra}
    )


async def hello(request: Request) -> JSONResponse:
    return _facts(request)


def _fetch(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200
        return json.loads(answer.read())


async def patched(request: Request) -> JSONResponse:
    url = os.environ["GUNICORN_TEST_UPSTREAM"]
    return _facts(request, upstream=await aioeventlet.to_green(_fetch, url))


async def sleep(request: Request) -> JSONResponse:
    import asyncio

    await asyncio.sleep(float(request.query_params["s"]))
    return _facts(request, slept=True)


async def green_sleep(request: Request) -> JSONResponse:
    await aioeventlet.to_green(time.sleep, float(request.query_params["s"]))
    return _facts(request, slept=True)


async def block(request: Request) -> JSONResponse:
    _unpatched_sleep(float(request.query_params["s"]))
    return _facts(request, blocked=True)


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        text = await websocket.receive_text()
        if text == "bye":
            await websocket.close()
            return
        await websocket.send_text(f"echo {text} from {os.getpid()}")


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    _mark("lifespan startup")
    yield
    _mark("lifespan shutdown")


app = Starlette(
    routes=[
        Route("/hello", hello),
        Route("/patched", patched),
        Route("/sleep", sleep),
        Route("/green-sleep", green_sleep),
        Route("/block", block),
        WebSocketRoute("/ws", echo),
    ],
    lifespan=lifespan,
)
