"""A Flask app for ``gunicorn -k eventlet`` whose views call asyncio code.

gunicorn's eventlet worker calls ``eventlet.monkey_patch()`` before it imports
this module, so aioeventlet is imported into a patched process here.  Views:

* ``/squares?n=N``: runs N asyncio tasks on a per-request aioeventlet loop
  (``aioeventlet.run`` parks only this request's greenthread);
* ``/relay?n=N``: calls ``/squares`` of this same server with an asyncio HTTP
  client (aiohttp), from inside a green request handler;
* ``/shared?n=N``: the same call, made on one loop shared by all requests of
  the worker (running in its own greenthread), through ``yield_future``;
* ``/info``: what the worker looks like (patched? which loop?).
"""

from __future__ import annotations

import asyncio
import os

import aiohttp
import eventlet
import eventlet.event
import eventlet.patcher
import eventlet.semaphore
from flask import Flask, Response, jsonify, request

import aioeventlet

app = Flask(__name__)

_shared: dict[str, asyncio.AbstractEventLoop] = {}
_shared_lock = eventlet.semaphore.Semaphore()


def shared_loop() -> asyncio.AbstractEventLoop:
    """The worker's one long-lived loop, started on first use (after the fork:
    a loop must not cross a fork), in a greenthread of its own."""
    with _shared_lock:
        if "loop" not in _shared:
            loop = aioeventlet.new_event_loop()
            eventlet.spawn(loop.run_forever)
            # Wait until it runs: yield_future() on a loop that is not running
            # yet would run it in the calling greenthread instead.
            running = eventlet.event.Event()
            loop.call_soon(running.send)
            running.wait()
            _shared["loop"] = loop
    return _shared["loop"]


async def squares(n: int) -> list[int]:
    async def square(i: int) -> int:
        await asyncio.sleep(0.001 * (i % 3))
        return i * i

    return list(await asyncio.gather(*(square(i) for i in range(n))))


async def relay(base: str, n: int) -> dict[str, object]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base}/squares", params={"n": n}) as resp,
    ):
        resp.raise_for_status()
        inner: dict[str, object] = await resp.json()
        return {"relayed": True, "inner": inner}


async def loop_facts() -> dict[str, object]:
    loop = asyncio.get_running_loop()
    return {"loop": f"{type(loop).__module__}.{type(loop).__qualname__}"}


@app.get("/squares")
def view_squares() -> Response:
    n = int(request.args["n"])
    eventlet.sleep(0)  # green code in the same view, before the asyncio part
    return jsonify({"n": n, "squares": aioeventlet.run(squares(n)), "pid": os.getpid()})


@app.get("/relay")
def view_relay() -> Response:
    n = int(request.args["n"])
    base = request.host_url.rstrip("/")
    return jsonify(aioeventlet.run(relay(base, n)))


@app.get("/shared")
def view_shared() -> Response:
    n = int(request.args["n"])
    base = request.host_url.rstrip("/")
    answer = aioeventlet.yield_future(relay(base, n), loop=shared_loop())
    return jsonify({"shared": True, **answer})


@app.get("/info")
def view_info() -> Response:
    facts = aioeventlet.run(loop_facts())
    facts["socket_patched"] = eventlet.patcher.is_monkey_patched("socket")
    facts["thread_patched"] = eventlet.patcher.is_monkey_patched("thread")
    return jsonify(facts)
