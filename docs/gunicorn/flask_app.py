"""A Flask app on ``gunicorn -k aioeventlet.gunicorn.Worker flask_app:app``:
green views as under ``-k eventlet``, and one that awaits an asyncio client
shared by every request of the worker."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import eventlet
from flask import Flask, request

import aioeventlet

app = Flask(__name__)


@app.get("/green")
def green() -> dict[str, Any]:
    eventlet.sleep(0.01)  # green code, unchanged
    return {"served_by": "a greenthread"}


# One ClientSession per worker process, made on the worker's loop the first
# time a view needs it, and kept for the worker's life (its pooled
# connections with it): the loop outlives every request.  A task owns it:
# the worker's exit cancels the loop's tasks, and `async with` then closes
# the session before the loop closes.
_session: asyncio.Future[aiohttp.ClientSession] | None = None
_owner: asyncio.Task[None] | None = None


async def _own_session(ready: asyncio.Future[aiohttp.ClientSession]) -> None:
    async with aiohttp.ClientSession() as client:
        ready.set_result(client)
        await asyncio.Event().wait()  # until the worker exits


async def session() -> aiohttp.ClientSession:
    global _session, _owner  # noqa: PLW0603 - one per worker process, on purpose
    if _session is None:
        loop = asyncio.get_running_loop()
        _session = loop.create_future()
        _owner = loop.create_task(_own_session(_session))
    return await _session


async def fetch_green(base: str) -> dict[str, Any]:
    client = await session()
    async with client.get(f"{base}/green") as answer:
        answer.raise_for_status()
        inner: dict[str, Any] = await answer.json()
    loop = type(asyncio.get_running_loop()).__qualname__
    return {"inner": inner, "session": id(client), "loop": loop}


@app.get("/async")
def call_asyncio() -> dict[str, Any]:
    # This greenthread waits; the worker's loop runs the coroutine, and the
    # other requests go on meanwhile.
    base = request.host_url.rstrip("/")
    return aioeventlet.yield_future(fetch_green(base))
