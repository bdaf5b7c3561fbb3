"""gunicorn ``-k eventlet`` serving a Flask app whose views run asyncio code.

gunicorn runs as a child process on 127.0.0.1 and a free port; the clients are
asyncio tasks (httpx) on an aioeventlet loop in the test process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import aioeventlet

from . import servers

# gunicorn's own -k eventlet: the gunicorn session's 25.x cell runs it.
pytestmark = [pytest.mark.integration, pytest.mark.gunicorn_reference]


@pytest.fixture(scope="module")
def gunicorn_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("gunicorn")
    server = servers.start_gunicorn(workdir, servers.PROGRAMS, "gunicorn_app:app")
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()
    log = server.log()
    assert "Traceback" not in log, log
    assert "[ERROR]" not in log, log


def test_app_that_fails_to_import_is_a_start_error(tmp_path: Path) -> None:
    """A worker that cannot import the app stops gunicorn: a ServerStartError
    carrying gunicorn's log (the import's traceback), seen as soon as gunicorn
    exits rather than after the whole start timeout."""
    (tmp_path / "broken_app.py").write_text(
        'raise RuntimeError("broken_app cannot be imported, on purpose")\n'
    )
    with pytest.raises(servers.ServerStartError) as info:
        servers.start_gunicorn(tmp_path, tmp_path, "broken_app:app")
    text = str(info.value)
    # "exited" (not "did not listen ... within"): the exit was seen, not
    # waited out.  The status is not checked: gunicorn's is 3, or 1 when the
    # second worker's failure is reaped while it halts (a race of its own).
    assert text.startswith("gunicorn exited with status ")
    assert "RuntimeError: broken_app cannot be imported, on purpose" in text
    assert "Worker failed to boot." in text


def fetch_all(base: str, paths: list[str]) -> list[Any]:
    async def main() -> list[Any]:
        limits = httpx.Limits(max_connections=len(paths))
        async with httpx.AsyncClient(
            base_url=base, timeout=30, limits=limits
        ) as client:

            async def get(path: str) -> Any:
                resp = await client.get(path)
                assert resp.status_code == 200, (path, resp.status_code, resp.text)
                return resp.json()

            return list(await asyncio.gather(*(get(p) for p in paths)))

    return aioeventlet.run(main())


def test_worker_is_patched_and_runs_aioeventlet(gunicorn_url: str) -> None:
    (info,) = fetch_all(gunicorn_url, ["/info"])
    assert info == {
        "loop": "aioeventlet.EventLoop",
        "socket_patched": True,
        "thread_patched": True,
    }


def test_concurrent_clients_views_run_asyncio(gunicorn_url: str) -> None:
    answers = fetch_all(gunicorn_url, [f"/squares?n={n}" for n in range(60)])
    assert [(a["n"], a["squares"]) for a in answers] == [
        (n, [i * i for i in range(n)]) for n in range(60)
    ]


def test_views_call_async_http_client(gunicorn_url: str) -> None:
    """Each /relay request calls back into the server with aiohttp, from a green
    view: the worker serves the inner request while the outer one waits."""
    answers = fetch_all(gunicorn_url, [f"/relay?n={n}" for n in range(40)])
    assert [a["relayed"] for a in answers] == [True] * 40
    assert [a["inner"]["squares"] for a in answers] == [
        [i * i for i in range(n)] for n in range(40)
    ]


def test_views_share_one_loop_through_yield_future(gunicorn_url: str) -> None:
    """/shared runs the same relay on the worker's long-lived loop, reached
    from each green view with yield_future; 40 requests at once."""
    answers = fetch_all(gunicorn_url, [f"/shared?n={n}" for n in range(40)])
    assert [(a["shared"], a["relayed"]) for a in answers] == [(True, True)] * 40
    assert [a["inner"]["squares"] for a in answers] == [
        [i * i for i in range(n)] for n in range(40)
    ]
