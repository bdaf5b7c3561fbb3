"""aioeventlet.gunicorn without a gunicorn process: app detection, the WSGI
environ built from an ASGI scope, and GreenWSGI driven by hand on an
aioeventlet loop (tests/integration/test_gunicorn_worker.py runs the worker
under real gunicorn).  Skipped where the gunicorn extra is not installed."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

import pytest

pytest.importorskip("gunicorn")
pytest.importorskip("uvicorn")

import eventlet

import aioeventlet
from aioeventlet.gunicorn import GreenWSGI, is_asgi_app, wsgi_environ


def wsgi_hello(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


async def asgi_hello(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("not called")


class AsgiObject:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")


class WsgiObject:
    def __call__(self, environ: Any, start_response: Any) -> Iterable[bytes]:
        raise AssertionError("not called")


def test_is_asgi_app() -> None:
    assert is_asgi_app(asgi_hello)
    assert is_asgi_app(AsgiObject())
    assert not is_asgi_app(wsgi_hello)
    assert not is_asgi_app(WsgiObject())
    assert not is_asgi_app(AsgiObject)  # a class: ASGI 2, which is not served


def test_importing_the_module_does_not_monkey_patch() -> None:
    """Only gunicorn's loading of the worker class patches (Worker.setup), so
    an app or a test may import GreenWSGI from it.  Nor does the import leave
    eventlet's green copy of an already imported http.server in its place
    (``import eventlet.wsgi`` would: the test process's upstream server hung
    on that copy's green locks)."""
    code = (
        "import warnings; warnings.simplefilter('error');"
        "import http.server, socket, sys;"
        "import aioeventlet.gunicorn, eventlet.patcher;"
        "assert not eventlet.patcher.is_monkey_patched('socket');"
        "assert sys.modules['http'].server is sys.modules['http.server'];"
        "assert http.server.socketserver.socket is socket;"
        "aioeventlet.gunicorn.Worker.setup();"
        "assert eventlet.patcher.is_monkey_patched('socket'); print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout == "ok\n", result.stderr


def scope(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "root_path": "/legacy",
        "path": "/legacy/caf\u00e9",
        "query_string": b"a=1&b=2",
        "headers": [
            (b"host", b"example.org"),
            (b"content-type", b"application/json"),
            (b"content-length", b"7"),
            (b"x-thing", b"one"),
            (b"x-thing", b"two"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
        ],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.2", 5555),
    }
    base.update(extra)
    return base


def test_wsgi_environ() -> None:
    body = io.BytesIO(b'{"n":1}')
    environ = wsgi_environ(scope(), body)
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["SCRIPT_NAME"] == "/legacy"
    # PEP 3333: the path's UTF-8 bytes, as latin-1 characters.
    assert environ["PATH_INFO"] == "/caf\u00e9".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "a=1&b=2"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == "7"
    assert environ["HTTP_HOST"] == "example.org"
    assert environ["HTTP_X_THING"] == "one,two"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("127.0.0.1", "8000")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("127.0.0.2", "5555")
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["wsgi.input"] is body
    assert environ["wsgi.url_scheme"] == "http"


def call_asgi(
    app: Any, the_scope: dict[str, Any], chunks: list[bytes]
) -> list[dict[str, Any]]:
    """Run one ASGI call on an aioeventlet loop; the messages it sent."""
    sent: list[dict[str, Any]] = []

    async def main() -> None:
        incoming = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]

        async def receive() -> dict[str, Any]:
            return incoming.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(dict(message))

        await app(the_scope, receive, send)

    aioeventlet.run(main())
    return sent


def test_green_wsgi_streams_the_response_from_a_greenthread() -> None:
    def app(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterator[bytes]:
        body = environ["wsgi.input"].read()
        start_response("201 Created", [("X-Echo", "yes")])
        eventlet.sleep(0)  # green code: this runs in a greenthread
        yield b"got "
        yield b""
        yield body

    sent = call_asgi(GreenWSGI(app), scope(), [b'{"n"', b":1}"])
    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"x-echo", b"yes")],
        },
        {"type": "http.response.body", "body": b"got ", "more_body": True},
        {"type": "http.response.body", "body": b'{"n":1}', "more_body": True},
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]


def test_green_wsgi_closes_the_iterable_and_passes_errors_on() -> None:
    closed: list[bool] = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            yield b"part"
            raise ValueError("broken body")

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Body:
        start_response("200 OK", [])
        return Body()

    with pytest.raises(ValueError, match="broken body"):
        call_asgi(GreenWSGI(app), scope(), [b""])
    assert closed == [True]


def test_green_wsgi_refuses_an_asgi_app_and_websockets() -> None:
    with pytest.raises(TypeError, match="is an ASGI one"):
        GreenWSGI(asgi_hello)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="serves HTTP only"):
        call_asgi(GreenWSGI(wsgi_hello), {"type": "websocket", "path": "/"}, [b""])


def test_green_wsgi_answers_lifespan() -> None:
    sent: list[dict[str, Any]] = []

    async def main() -> None:
        incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

        async def receive() -> dict[str, Any]:
            return incoming.pop(0)

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(dict(message))

        await GreenWSGI(wsgi_hello)({"type": "lifespan"}, receive, send)

    aioeventlet.run(main())
    assert sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
