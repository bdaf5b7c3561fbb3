"""The same libraries with ``eventlet.monkey_patch()`` at process start.

Each program under ``programs/`` patches first thing, then runs a library on
an aioeventlet loop next to greenthreads, in a fresh interpreter under
``-W error``, and prints its results as one JSON line that the test compares.
A result the program checks itself reads EQUAL, or else shows what differs
(``programs/_common.compared``).  (gunicorn's eventlet worker is patched too:
see test_gunicorn.py.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from . import servers
from .programs._common import EQUAL

pytestmark = pytest.mark.integration


def run(name: str, *args: str, hub: str = "epolls") -> Any:
    """Run programs/<name>.py on eventlet's *hub*; return its results."""
    out = servers.run_program(
        servers.PROGRAMS / f"{name}.py", *args, env={"EVENTLET_HUB": hub}
    )
    results = json.loads(out.strip().splitlines()[-1])
    assert results.pop("hub") == hub
    return results


# Every hub that polls file descriptors, for the two programs with the most
# kinds of I/O (servers, clients, green and asyncio sockets in one process).
HUBS = ["epolls", "poll", "selects"]


@pytest.mark.parametrize("hub", HUBS)
def test_aiohttp_with_green_urllib_clients(hub: str) -> None:
    assert run("patched_aiohttp", hub=hub) == {
        "loop": "EventLoop",
        "squares": [n * n for n in range(40)],
        "green_squares": [n * n for n in range(40)],
        "stream": EQUAL,
        "upload": EQUAL,
        "green_worker_ran": True,
    }


@pytest.mark.parametrize("hub", HUBS)
def test_httpx_and_eventlet_wsgi(hub: str) -> None:
    assert run("patched_wsgi_httpx", hub=hub) == {
        "direct": EQUAL,
        "relayed": EQUAL,
        "shared": EQUAL,
        # All 100 green clients' yield_future calls were in flight at once
        # (the program's listen backlog queues them all; see test_wsgi.py).
        "shared_peak_in_flight": 100,
        "shared_left_in_flight": [],
        "green_worker_ran": True,
    }


def test_redis_asyncio_next_to_blocking_redis(redis_port: int) -> None:
    assert run("patched_redis", str(redis_port)) == {
        "lengths": [20] * 10,
        "lists": [[str(i) for i in range(20)]] * 10,
        "pipeline": ["200", 1200, "1200"],
        "pubsub": [f"m{i}" for i in range(5)],
        "publish_receivers": [1] * 5,
        "green_worker_ran": True,
    }


def test_asyncpg(postgres_dsn: str) -> None:
    assert run("patched_asyncpg", postgres_dsn) == {
        "rows": EQUAL,
        "sums": [100, 101, 102, 103, 104],
        "pool": list(range(8)),
        "green_worker_ran": True,
    }


def test_websockets_fed_by_green_code() -> None:
    assert run("patched_websockets") == {
        "items": 25,
        "replies": EQUAL,
        "binary": EQUAL,
        "green_worker_ran": True,
    }


def test_anyio_task_groups_threads_and_cancel_scopes() -> None:
    assert run("patched_anyio") == {
        "loop": "EventLoop",
        "values": [0, 3, 6, 9],
        # anyio's worker threads are threading.Thread, which the patch makes
        # green: a documented caveat (see the program's docstring).
        "anyio_threads_are_greenthreads": True,
        "loop_ticked_during_threads": True,
        "greenthreads_ran_during_threads": True,
        # asyncio's default executor is aioeventlet's: real OS threads, so a
        # call that really blocks (unpatched sleep) freezes nothing here.
        "executor_values": [1, 2, 3, 4],
        "executor_on_real_os_threads": True,
        "greenthreads_ran_during_executor": True,
        "move_on_after": True,
        # A failing task cancels its sleeping sibling; the group waits for the
        # (uncancellable) green-run thread, then raises the error.
        "task_group_failure": {
            "raised": "ExceptionGroup",
            "errors": [repr(ValueError("boom"))],
            "events": ["sleeper cancelled", "thread gave 15"],
        },
        "fail_after": "TimeoutError",
        "shielded": {
            "value": 21,
            "after_shield": ["shield done"],
            "outer_cancelled": True,
        },
        "green_worker_ran": True,
    }


def test_tls_with_the_green_ssl_module() -> None:
    """asyncio's TLS (aiohttp server, httpx, wss) with the contexts of the
    patched (green) ssl module, next to blocking-style http.client clients."""
    assert run("patched_tls") == {
        "httpx": EQUAL,
        "green": EQUAL,
        "wss": "eruces dna dehctap",
        "loop": "EventLoop",
        "ssl_module": "eventlet.green.ssl",
    }
