"""A Flask app for the gunicorn worker tests (``aioeventlet.gunicorn.Worker``,
and gunicorn 25's ``-k eventlet`` as the reference where a route needs no
worker loop).

The worker has monkey-patched the process before importing this module, so
``time.sleep`` and ``urllib`` below are green.  Routes:

* ``/hello``: the worker's pid and the client's port (keep-alive shows as one
  port for a client's successive requests);
* ``/patched``: the same, after a monkey-patched HTTP call (urllib, green
  sockets) to the test's upstream server at $GUNICORN_TEST_UPSTREAM;
* ``/sleep?s=S``: sleeps S seconds with the patched ``time.sleep``;
* ``/block?s=S``: sleeps with the *unpatched* one, blocking the hub: no
  heartbeat, so gunicorn's ``timeout`` kills the worker;
* ``/shared``: awaits, through ``yield_future``, an aiohttp ClientSession
  made once per worker on the worker's loop (aioeventlet worker only);
* ``/leftovers``: leaves a task, an async generator and an executor job on
  the worker's loop; at exit each writes to the file in $GUNICORN_TEST_MARKS
  (aioeventlet worker only).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import eventlet.patcher
from flask import Flask, Response, jsonify, request

app = Flask(__name__)

_unpatched_sleep = eventlet.patcher.original("time").sleep


def _facts(**extra: Any) -> Response:
    return jsonify(
        pid=os.getpid(),
        # No port on a UNIX socket.
        port=int(request.environ.get("REMOTE_PORT") or 0),
        **extra,
    )


@app.get("/hello")
def hello() -> Response:
    return _facts()


@app.get("/patched")
def patched() -> Response:
    url = os.environ["GUNICORN_TEST_UPSTREAM"]
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200
        upstream = json.loads(answer.read())
    return _facts(upstream=upstream)


@app.get("/sleep")
def sleep() -> Response:
    time.sleep(float(request.args["s"]))
    return _facts(slept=True)


@app.get("/block")
def block() -> Response:
    _unpatched_sleep(float(request.args["s"]))
    return _facts(blocked=True)


# -- the worker's loop -------------------------------------------------------------

_session: dict[str, Any] = {}


async def _own_session(ready: asyncio.Future[Any]) -> None:
    import aiohttp

    # Made once, on the worker's loop, and kept for the worker's life: the
    # loop outlives every request, so the session's connections do too.  The
    # worker's exit cancels this task, which closes the session.
    async with aiohttp.ClientSession() as session:
        ready.set_result(session)
        await asyncio.Event().wait()


async def _get_session() -> Any:
    if "session" not in _session:
        loop = asyncio.get_running_loop()
        _session["session"] = loop.create_future()
        _session["owner"] = loop.create_task(_own_session(_session["session"]))
    return await _session["session"]


async def _relay(url: str) -> dict[str, Any]:
    session = await _get_session()
    async with session.get(url) as answer:
        answer.raise_for_status()
        inner: dict[str, Any] = await answer.json()
    return {
        "session": id(session),
        "inner": inner,
        "loop": type(asyncio.get_running_loop()).__qualname__,
    }


@app.get("/shared")
def shared() -> Response:
    import aioeventlet

    return _facts(**aioeventlet.yield_future(_relay(f"{request.host_url}hello")))


def _mark(text: str) -> None:
    with open(os.environ["GUNICORN_TEST_MARKS"], "a") as marks:
        marks.write(f"{os.getpid()} {text}\n")


async def _forever() -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        _mark("task cancelled")
        raise


async def _agen() -> AsyncIterator[int]:
    try:
        yield 1
        await asyncio.sleep(3600)
        yield 2
    finally:
        _mark("async generator closed")


def _in_thread(done: threading.Event) -> None:
    # A real OS thread (the default executor's), outlasting the request: the
    # worker's exit waits for it (shutdown_default_executor).
    _unpatched_sleep(3)
    _mark("executor job finished")
    done.set()


async def _leave_things() -> str:
    loop = asyncio.get_running_loop()
    _session["task"] = loop.create_task(_forever())
    agen = _agen()
    await agen.__anext__()
    _session["agen"] = agen  # suspended at its first yield: needs aclose()
    loop.run_in_executor(None, _in_thread, threading.Event())
    return "left"


@app.get("/leftovers")
def leftovers() -> Response:
    import aioeventlet

    return _facts(done=aioeventlet.yield_future(_leave_things()))
