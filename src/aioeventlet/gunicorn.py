"""A gunicorn worker on eventlet's hub with an aioeventlet loop: WSGI and ASGI.

``gunicorn -k aioeventlet.gunicorn.Worker app:application`` replaces the
``-k eventlet`` worker that gunicorn 26 removed, on gunicorn 22 and later.
Like that worker it monkey-patches the master when gunicorn loads the worker
class (before any application import, ``--preload`` included), serves each
connection in a greenthread of a ``GreenPool(worker_connections)`` with
gunicorn's own HTTP parser (``AsyncWorker.handle``), and leaves signals and
the heartbeat to gunicorn's arbiter.

What it adds: one aioeventlet loop per worker process, created with
:func:`aioeventlet.new_event_loop` after the fork, run in a greenthread of its
own for the worker's life and closed in asyncio's runner order on exit.  WSGI
views reach it with :func:`aioeventlet.yield_future`; an ASGI 3 application
(``async def __call__(scope, receive, send)``) is served on it by uvicorn's
protocol classes (``uvicorn.Server.serve(sockets=...)``, as uvicorn-worker
does), and calls green code with :func:`aioeventlet.to_green`.
:class:`GreenWSGI` mounts a WSGI application inside an ASGI one, each request
in a greenthread, so that one worker serves both while routes move over.

Which kind the application is: :class:`Worker` looks (ASGI 3 when the
callable, or its ``__call__``, is a coroutine function, the test uvicorn
uses); :class:`WSGIWorker` and :class:`ASGIWorker` say so, and refuse an
application of the other kind at boot with an error naming both.

Only aioeventlet's public names and gunicorn's worker extension points are
used: the ``setup()`` class hook, ``init_process``, ``load_wsgi``, ``run``,
``handle``, ``handle_request``, ``is_already_handled``, ``handle_exit``,
``handle_quit``, ``handle_usr1`` and ``timeout_ctx``.  Nothing in aioeventlet
imports this module; it needs the ``aioeventlet[gunicorn]`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from functools import partial
from typing import TYPE_CHECKING, Any

# aioeventlet first: it imports eventlet with exactly eventlet's deprecation
# warning filtered.
import aioeventlet

# Not eventlet.wsgi: importing it makes a green copy of http.server
# (eventlet.patcher.inject), and while inject puts sys.modules back, the copy
# stays the ``http`` package's ``server`` attribute.  A process that imported
# http.server before this module (a test run, an app served some other way)
# would then build its HTTP servers on green sockets and green locks from
# real threads, which hang.  Worker.is_already_handled finds eventlet.wsgi
# where the app imported it.
try:
    import eventlet
    import eventlet.event
    import eventlet.greenio
    import eventlet.greenpool
    import eventlet.hubs
    import greenlet
    from gunicorn.arbiter import Arbiter
    from gunicorn.sock import ssl_context, ssl_wrap_socket
    from gunicorn.workers.base_async import AsyncWorker
except ImportError as exc:  # pragma: no cover - the extra is installed in tests
    raise ImportError(
        f"aioeventlet.gunicorn needs gunicorn 22 or later ({exc}); install the "
        f"extra: pip install 'aioeventlet[gunicorn]'"
    ) from exc

if TYPE_CHECKING:
    import uvicorn

__all__ = ("ASGIWorker", "GreenWSGI", "WSGIWorker", "Worker")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
StartResponse = Callable[..., Callable[[bytes], None]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# Seconds.  The arbiter kills a worker whose heartbeat is older than
# ``timeout``; the main greenthread beats this often (as gunicorn's own async
# workers do), so a hub blocked by a non-green call stops the beat.
_HEARTBEAT = 1.0
# How long, at a graceful stop of an ASGI worker, connections accepted just
# before it have to deliver their first request (loopback and LAN clients
# send it with the connection's first packets).
_ACCEPTED_GRACE = 0.5
# How long a quick exit (SIGQUIT, SIGINT) waits for cancelled tasks and the
# default executor's threads before closing the loop anyway.
_QUICK_CLOSE = 1.0


def is_asgi_app(app: object) -> bool:
    """Whether *app* is an ASGI 3 application, by uvicorn's own test: the
    callable, or its ``__call__``, is a coroutine function.  A WSGI callable
    is a plain function, method or object (Flask, Django, Pyramid)."""
    if inspect.isclass(app):
        return False
    if inspect.iscoroutinefunction(app):
        return True
    # The __call__ attribute itself is the test (B004 would have callable()).
    call = getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)


class Worker(AsyncWorker):  # type: ignore[misc]
    """The gunicorn worker: serves a WSGI or an ASGI 3 application, detected
    when the application is loaded (see :func:`is_asgi_app`)."""

    #: "wsgi", "asgi", or None to detect; subclasses fix it.
    interface: str | None = None

    alive: bool
    loop: asyncio.AbstractEventLoop
    _wakeup: Any
    _loop_gt: Any = None
    _asgi: Any = None
    _wsgi_app: Any = None
    _server: uvicorn.Server | None = None

    @classmethod
    def setup(cls) -> None:
        # gunicorn calls this in the master when it loads the worker class,
        # before it imports the application (also with --preload): the moment
        # the eventlet worker of gunicorn 25 and older patched, at its import.
        # Patching is idempotent, and importing this module does not patch, so
        # an application may import GreenWSGI from here.
        eventlet.monkey_patch()

    # -- process start ---------------------------------------------------------

    def init_process(self) -> None:
        # A fresh hub after the fork: the master's hub holds an epoll fd and
        # listeners of the parent.  Then the loop, before the application is
        # loaded, so that the application may use it at import.
        eventlet.hubs.use_hub()
        if not hasattr(eventlet.greenio.GreenSocket, "sendfile"):
            # Gunicorn's wsgi.file_wrapper calls socket.sendfile(), which a
            # GreenSocket lacks on older eventlet; socket.socket's own,
            # falling back to send(), is green through self.send.
            eventlet.greenio.GreenSocket.sendfile = _green_sendfile
        self._wakeup = eventlet.event.Event()
        self._start_loop()
        super().init_process()

    def _start_loop(self) -> None:
        self.loop = aioeventlet.new_event_loop()
        # Green code that names no loop (yield_future(coro),
        # asyncio.get_event_loop()) finds this one.
        asyncio.set_event_loop(self.loop)
        self._loop_gt = eventlet.spawn(self.loop.run_forever)
        # Wait until it runs: yield_future() on a loop that is not running yet
        # would run it in the calling greenthread instead.
        running = eventlet.event.Event()
        self.loop.call_soon(running.send)
        running.wait()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        app = self.wsgi
        asgi = is_asgi_app(app)
        name = self.cfg.worker_class_str
        target = getattr(self.app, "app_uri", None) or "the application"
        if self.interface == "wsgi" and asgi:
            raise RuntimeError(
                f"gunicorn -k {name} serves WSGI applications, and {target} "
                f"({app!r}) is an ASGI one (its __call__ is a coroutine "
                f"function). Use -k aioeventlet.gunicorn.Worker (detects) or "
                f"aioeventlet.gunicorn.ASGIWorker to serve it, or call it from "
                f"a WSGI view with aioeventlet.yield_future()."
            )
        if self.interface == "asgi" and not asgi:
            raise RuntimeError(
                f"gunicorn -k {name} serves ASGI 3 applications (async def "
                f"__call__(scope, receive, send)), and {target} ({app!r}) is "
                f"not one: a WSGI application? Use -k "
                f"aioeventlet.gunicorn.Worker (detects) or WSGIWorker, or mount "
                f"it in an ASGI app with aioeventlet.gunicorn.GreenWSGI(app)."
            )
        if asgi:
            self._asgi = app
        else:
            self._wsgi_app = app

    # -- serving ---------------------------------------------------------------

    def run(self) -> None:
        quick = True
        try:
            if self._asgi is not None:
                self._serve_asgi()
            else:
                self._serve_wsgi()
            quick = False
        finally:
            # Also on SystemExit (SIGQUIT, SIGINT, the reloader): the loop is
            # closed in every exit, only faster on a quick one.
            self._close_loop(quick=quick)

    def _beat_while(self, busy: Callable[[], bool]) -> None:
        """Beat the heartbeat from this (the main) greenthread while
        ``busy()``; the arbiter's ``timeout`` kills the worker when it stops.
        handle_exit() wakes it early, so that a graceful stop starts at once."""
        while busy():
            self.notify()
            self._wakeup.wait(_HEARTBEAT)
            if self._wakeup.ready():
                self._wakeup.reset()
        self.notify()

    def _serve_wsgi(self) -> None:
        acceptors = []
        for sock in self.sockets:
            gsock = eventlet.greenio.GreenSocket(sock)
            gsock.setblocking(1)
            # The handlers get the listener's name, not the listener: the
            # acceptor closes it at a graceful stop while requests are still
            # in flight, and AsyncWorker.handle() asks it for getsockname()
            # (gunicorn 25's eventlet worker lost the first request after
            # max_requests to that EBADF).
            listener = _ListenerName(gsock.getsockname())
            acceptors.append(
                eventlet.spawn(
                    _accept_loop,
                    gsock,
                    partial(self.handle, listener),
                    self.worker_connections,
                    self._alive,
                )
            )
        eventlet.sleep(0)
        self._beat_while(self._alive)
        # Graceful stop (SIGTERM, max_requests, a parent gone): stop
        # accepting, let the requests in flight finish within
        # graceful_timeout, then kill what is left.
        timer = eventlet.Timeout(self.cfg.graceful_timeout, False)
        with timer:
            for acceptor in acceptors:
                acceptor.kill(eventlet.StopServe())
            for acceptor in acceptors:
                acceptor.wait()
        for acceptor in acceptors:
            if not acceptor.dead:
                self.log.warning("Worker graceful timeout (pid:%s)", self.pid)
                acceptor.kill()

    def _alive(self) -> bool:
        if self.alive and self.ppid != os.getppid():
            self.log.info("Parent changed, shutting down: %s", self)
            self.alive = False
        return bool(self.alive)

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        if self.cfg.is_ssl:
            client = ssl_wrap_socket(client, self.cfg)
        super().handle(listener, client, addr)

    def handle_request(
        self, listener_name: Any, req: Any, sock: Any, addr: Any
    ) -> bool:
        try:
            return bool(super().handle_request(listener_name, req, sock, addr))
        finally:
            if not self.alive:
                # max_requests (gunicorn's handle_request ends alive): start
                # the graceful stop now, not at the next heartbeat, so that the
                # arbiter's next worker takes over up to a second sooner.
                self._wake()

    def timeout_ctx(self) -> Any:
        # How long a keep-alive connection waits for its next request.
        return eventlet.Timeout(self.cfg.keepalive or None, False)

    def is_already_handled(self, respiter: object) -> bool:
        # eventlet.websocket.WebSocketWSGI took over the socket itself; it
        # imports eventlet.wsgi, so where that is not imported nothing did.
        wsgi = sys.modules.get("eventlet.wsgi")
        if wsgi is not None and getattr(wsgi.WSGI_LOCAL, "already_handled", False):
            raise StopIteration
        return bool(super().is_already_handled(respiter))

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)  # alive = False
        # Scheduled, not sent here: a signal handler runs in whichever
        # greenthread the signal interrupted, the hub's included.
        eventlet.spawn(self._wake)

    def _wake(self) -> None:
        if not self._wakeup.ready():
            self._wakeup.send()

    def handle_quit(self, sig: int, frame: Any) -> None:
        # gunicorn's handler calls worker_int, sleeps and exits: blocking
        # calls, which a signal handler (run in whatever greenthread the
        # signal interrupted, the hub's included) must not make.
        eventlet.spawn(super().handle_quit, sig, frame)

    def handle_usr1(self, sig: int, frame: Any) -> None:
        eventlet.spawn(super().handle_usr1, sig, frame)

    # -- ASGI ------------------------------------------------------------------

    def _serve_asgi(self) -> None:
        server = self._server = _uvicorn_server(self, self._asgi)
        sockets = [sock.sock for sock in self.sockets]
        serving = asyncio.run_coroutine_threadsafe(
            _serve_uvicorn(server, sockets), self.loop
        )
        # uvicorn's own end (max_requests, a graceful stop done) ends the
        # waits below at once rather than at the next heartbeat.
        serving.add_done_callback(lambda _: self._wake())
        self._beat_while(lambda: self._alive() and not serving.done())
        if not serving.done():
            # Graceful stop: uvicorn closes its listeners, answers the
            # requests in flight and closes idle keep-alive connections,
            # within graceful_timeout (its timeout_graceful_shutdown), then
            # runs the lifespan shutdown.
            server.should_exit = True
            self._beat_while(lambda: not serving.done())
        self.alive = False
        exit_code = serving.result()
        if not server.started:
            # Lifespan startup failed: stop gunicorn rather than restart
            # workers that cannot serve (uvicorn-worker does the same).
            sys.exit(Arbiter.WORKER_BOOT_ERROR if exit_code is None else exit_code)

    # -- process end -----------------------------------------------------------

    def _close_loop(self, *, quick: bool) -> None:
        """Stop the worker's loop and close it as asyncio.Runner does: cancel
        the tasks, shut down async generators, then the default executor."""
        loop = self.loop
        if loop.is_closed():
            return
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        gt = self._loop_gt
        if gt is not None and not gt.dead:
            with eventlet.Timeout(_QUICK_CLOSE, False):
                gt.wait()
            if not gt.dead:  # pragma: no cover - a loop callback that hangs
                gt.kill()
        with contextlib.suppress(Exception):
            self._finish_loop(loop, timeout=_QUICK_CLOSE if quick else None)
        asyncio.set_event_loop(None)

    def _finish_loop(
        self, loop: asyncio.AbstractEventLoop, *, timeout: float | None
    ) -> None:
        try:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                gathered = asyncio.gather(*tasks, return_exceptions=True)
                loop.run_until_complete(asyncio.wait_for(gathered, timeout))
                for task in tasks:
                    if task.cancelled() or task.exception() is None:
                        continue
                    loop.call_exception_handler(
                        {
                            "message": "unhandled exception during worker exit",
                            "exception": task.exception(),
                            "task": task,
                        }
                    )
            loop.run_until_complete(loop.shutdown_asyncgens())
            if sys.version_info >= (3, 12):
                loop.run_until_complete(
                    loop.shutdown_default_executor(timeout or 300.0)
                )
            else:
                loop.run_until_complete(
                    asyncio.wait_for(loop.shutdown_default_executor(), timeout)
                )
        finally:
            loop.close()


class WSGIWorker(Worker):
    """:class:`Worker` for WSGI applications only (no detection)."""

    interface = "wsgi"


class ASGIWorker(Worker):
    """:class:`Worker` for ASGI 3 applications only (no detection)."""

    interface = "asgi"


class _ListenerName:
    """What AsyncWorker.handle() needs of a listener: its address."""

    __slots__ = ("name",)

    def __init__(self, name: Any) -> None:
        self.name = name

    def getsockname(self) -> Any:
        return self.name


def _accept_loop(
    sock: Any, handle: Callable[..., None], concurrency: int, alive: Callable[[], bool]
) -> None:
    """Accept connections while ``alive()``, each handled in a greenthread of
    a pool of *concurrency* (``worker_connections``); then close the listener
    and wait for the handlers (gunicorn 25's ``_eventlet_serve``).  StopServe,
    thrown in by the graceful stop, ends a wait in accept()."""
    pool = eventlet.greenpool.GreenPool(concurrency)
    try:
        # Checked before each accept: after max_requests, the worker stops
        # taking connections at once rather than at its next heartbeat, and
        # the next worker (or a sibling) takes them.
        while alive():
            # GreenPool.spawn waits for a free slot before this accepts
            # again: the cap leaves new connections in the listen backlog.
            conn, addr = sock.accept()
            pool.spawn(handle, conn, addr).link(_close_after, conn)
            del conn, addr
    except eventlet.StopServe:
        pass
    sock.close()
    while True:
        try:
            pool.waitall()
        except eventlet.StopServe:
            # Thrown by the graceful stop after alive() ended the loop above:
            # the requests in flight are still what to wait for.
            continue
        return


def _close_after(gt: Any, conn: Any) -> None:
    try:
        gt.wait()
    except greenlet.GreenletExit:
        pass
    finally:
        conn.close()


def _green_sendfile(
    self: Any, file: Any, offset: int = 0, count: int | None = None
) -> int:  # pragma: no cover - eventlet 0.35+ GreenSocket has sendfile
    import socket

    sent: int = socket.socket._sendfile_use_send(self, file, offset, count)  # type: ignore[attr-defined]
    return sent


# -- ASGI through uvicorn ---------------------------------------------------------


def _uvicorn_server(worker: Worker, app: Any) -> uvicorn.Server:
    """A uvicorn Server for *app*, configured from gunicorn's settings."""
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - the extra installs it
        raise RuntimeError(
            f"gunicorn -k {worker.cfg.worker_class_str} serves ASGI applications "
            f"with uvicorn's protocols, and uvicorn is not installed; install "
            f"the extra: pip install 'aioeventlet[gunicorn]'"
        ) from exc

    cfg = worker.cfg
    # uvicorn logs to its own loggers: send them to gunicorn's handlers
    # (errorlog, accesslog), as uvicorn-worker does.
    for name, source in (
        ("uvicorn.error", "error_log"),
        ("uvicorn.access", "access_log"),
    ):
        target = getattr(worker.log, source, None)
        if target is None:  # pragma: no cover - a logger_class without them
            continue
        logger = logging.getLogger(name)
        logger.handlers = target.handlers
        logger.setLevel(target.level)
        logger.propagate = False
    config = uvicorn.Config(
        app,
        interface="asgi3",
        loop="none",
        log_config=None,
        access_log=bool(cfg.accesslog),
        timeout_keep_alive=cfg.keepalive,
        timeout_graceful_shutdown=cfg.graceful_timeout,
        # Jittered already by gunicorn (Worker.max_requests).
        limit_max_requests=worker.max_requests if cfg.max_requests > 0 else None,
        limit_concurrency=worker.worker_connections,
        forwarded_allow_ips=cfg.forwarded_allow_ips,
        backlog=cfg.backlog,
    )
    config.load()
    if cfg.is_ssl:
        # gunicorn's own context: certfile, keyfile, ca_certs, cert_reqs,
        # ciphers and the ssl_context hook, whatever uvicorn's version takes.
        config.ssl = ssl_context(cfg)

    class Server(uvicorn.Server):
        # The signals are gunicorn's (Worker.handle_exit, handle_quit): uvicorn
        # must not take SIGINT and SIGTERM for itself.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        async def shutdown(self, sockets: list[Any] | None = None) -> None:
            # Stop accepting, then give the connections accepted a moment
            # ago the time to deliver their request before uvicorn's own
            # shutdown closes every connection that has none in progress: a
            # client that had just sent one would see it reset (at
            # max_requests, the next worker would have served it).
            for server in self.servers:
                server.close()
            await asyncio.sleep(_ACCEPTED_GRACE)
            await super().shutdown(sockets)

    return Server(config)


async def _serve_uvicorn(server: uvicorn.Server, sockets: list[Any]) -> int | None:
    """Run *server* on the worker's loop; the exit status it asked for
    (uvicorn exits the process when the lifespan startup fails), if any."""
    try:
        await server.serve(sockets=sockets)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return None


# -- WSGI inside ASGI ---------------------------------------------------------------


class GreenWSGI:
    """An ASGI 3 application that serves a WSGI application, each request in
    a greenthread of its own (through :func:`aioeventlet.to_green`).

    Mount it under a path prefix of an ASGI application (Starlette's
    ``Mount("/legacy", app=GreenWSGI(flask_app))``) to serve the routes not
    yet moved to asyncio from the same worker.  The request body is read
    before the WSGI application starts; the response streams, each chunk
    sent through :func:`aioeventlet.yield_future`, so a slow client holds
    back only its own greenthread.  Needs an aioeventlet loop (the worker's).
    """

    def __init__(self, app: WSGIApp) -> None:
        if is_asgi_app(app):
            raise TypeError(
                f"GreenWSGI serves a WSGI application, and {app!r} is an ASGI "
                f"one (a coroutine function): mount it directly instead"
            )
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            # As the top-level application: nothing to start or stop.
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        if scope["type"] != "http":
            raise RuntimeError(
                f"GreenWSGI serves HTTP only; a {scope['type']} request reached "
                f"the WSGI application {self.app!r}: route it to an ASGI endpoint"
            )
        body = io.BytesIO()
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.write(message.get("body", b""))
            more_body = message.get("more_body", False)
        body.seek(0)
        environ = wsgi_environ(scope, body)
        loop = asyncio.get_running_loop()
        await aioeventlet.to_green(_run_wsgi, self.app, environ, send, loop)


def wsgi_environ(scope: Scope, body: io.BytesIO) -> dict[str, Any]:
    """The PEP 3333 environ of an ASGI HTTP *scope* (its body in *body*)."""
    root_path: str = scope.get("root_path", "")
    path: str = scope["path"]
    # Since ASGI 2.4 (Starlette 0.33+), path includes the mount's root_path.
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root_path.encode().decode("latin-1"),
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "",
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        if key in environ:
            # Repeated headers fold into one (RFC 9110 5.3); cookies with ';'.
            sep = "; " if key == "HTTP_COOKIE" else ","
            value = f"{environ[key]}{sep}{value}"
        environ[key] = value
    return environ


def _run_wsgi(
    app: WSGIApp,
    environ: dict[str, Any],
    send: Send,
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Run in a greenthread: call *app*, relay its response to *send*."""
    started: list[Any] = []  # [status, headers] once start_response is called
    sent_head = False

    def send_now(message: Message) -> None:
        aioeventlet.yield_future(send(message), loop=loop)

    def head() -> None:
        nonlocal sent_head
        if not started:
            raise RuntimeError(
                f"the WSGI application {app!r} returned a body before calling "
                f"start_response()"
            )
        if not sent_head:
            status, headers = started
            send_now(
                {
                    "type": "http.response.start",
                    "status": int(status.split(" ", 1)[0]),
                    "headers": [
                        (k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in headers
                    ],
                }
            )
            sent_head = True

    def write(data: bytes) -> None:
        head()
        if data:
            send_now({"type": "http.response.body", "body": data, "more_body": True})

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if sent_head:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif started:
            raise RuntimeError("start_response() called twice without exc_info")
        started[:] = [status, headers]
        return write

    result = app(environ, start_response)
    try:
        for chunk in result:
            write(chunk)
        head()
        send_now({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
