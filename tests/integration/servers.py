"""Real servers for the integration tests, and programs run in a fresh interpreter.

Every server runs on 127.0.0.1 on a free port, as a child process of the test
run, with its output in a log file.  Starting one is bounded: a server that
exits early or is not ready in time is a :class:`ServerStartError` whose
message carries the server's log, so a broken install reads as an error with
its cause, never as a hang.  Only the processes started here are ever stopped
(by their own ``Popen`` handle, or the process group it leads).

The bounds fit inside pytest-timeout's 60 s per test, which counts fixture
setup: a session server is started inside the budget of the first test that
uses it, and the suite's own error, with the log, must fire before
pytest-timeout's bare "Timeout >60s".  test_servers.py checks that they fit.
"""

from __future__ import annotations

import http.client
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PROGRAMS = Path(__file__).parent / "programs"
# Seconds.  Worst case of a session's first PostgreSQL test, before its body:
# ACCOUNT_TIMEOUT + INITDB_TIMEOUT + START_TIMEOUT, well inside the 60 s that
# pytest-timeout allows it (a healthy start takes about 2 s).
ACCOUNT_TIMEOUT = 5.0  # useradd of the PostgreSQL system user (as root, once)
INITDB_TIMEOUT = 25.0
START_TIMEOUT = 20.0  # one server, from its launch to ready
STOP_TIMEOUT = 15.0
PROGRAM_TIMEOUT = 45.0  # a program run by run_program()


class ServerStartError(Exception):
    """A server the tests need did not come up; the message holds its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(port: int, path: str, timeout: float = 2.0) -> bool:
    """Whether ``GET path`` on 127.0.0.1:port answers 200 within *timeout*."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


class ServerProcess:
    """One server process: started with bounded waiting, stopped by its handle."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.log_path = log_path
        self.env = env
        self.user = user
        self.stop_signal = stop_signal
        self.proc: subprocess.Popen[bytes] | None = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(no log at {self.log_path}: {exc})"

    def start(
        self,
        ready: Callable[[ServerProcess], bool] | None = None,
        timeout: float = START_TIMEOUT,
    ) -> None:
        """Start the server; return once it accepts TCP connections on its port
        (and ``ready(self)`` holds, when given).  Raise ServerStartError with the
        server's log if it exits or is not ready within *timeout* seconds."""
        if shutil.which(self.argv[0]) is None and not Path(self.argv[0]).exists():
            raise ServerStartError(
                f"{self.name}: {self.argv[0]!r} is not installed; run "
                "scripts/install-servers (the nox 'integration' session does)"
            )
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                user=self.user,
                # Its own session: a Ctrl-C meant for pytest does not reach it
                # half-way; stop() ends it explicitly.
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise ServerStartError(
                    f"{self.name} exited with status {code} before listening on "
                    f"127.0.0.1:{self.port}.\ncommand: {' '.join(self.argv)}\n"
                    f"--- its log ---\n{self.log()}"
                )
            if _accepts(self.port) and (ready is None or ready(self)):
                return
            time.sleep(0.05)
        self.stop()
        raise ServerStartError(
            f"{self.name} did not listen on 127.0.0.1:{self.port}, or was not "
            f"ready, within {timeout:.0f} s.\ncommand: {' '.join(self.argv)}\n"
            f"--- its log ---\n{self.log()}"
        )

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the process started by start(): its stop signal, then SIGKILL."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(self.stop_signal)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def start_on_free_port(
    build: Callable[[int], ServerProcess],
    ready: Callable[[ServerProcess], bool],
    attempts: int = 3,
    timeout: float = START_TIMEOUT,
) -> ServerProcess:
    """Build a server for a free port and start it, within *timeout* seconds in
    all.  free_port() can only promise that the port was free a moment ago: if
    another process takes it before the server binds it, try again on another
    port, in the time left (and at least a second)."""
    deadline = time.monotonic() + timeout
    for attempt in range(1, attempts + 1):
        server = build(free_port())
        try:
            server.start(ready=ready, timeout=max(deadline - time.monotonic(), 1.0))
        except ServerStartError:
            if attempt < attempts and "in use" in server.log():
                continue
            raise
        return server
    raise AssertionError("unreachable: the last attempt returns or raises")


# -- redis --------------------------------------------------------------------------


def start_redis(workdir: Path) -> ServerProcess:
    return start_on_free_port(
        lambda port: _redis(workdir, port),
        ready=lambda server: "Ready to accept connections" in server.log(),
    )


def _redis(workdir: Path, port: int) -> ServerProcess:
    return ServerProcess(
        "redis-server",
        [
            "redis-server",
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(workdir),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
        ],
        port,
        workdir / "redis.log",
    )  # fmt: skip


# -- PostgreSQL ---------------------------------------------------------------------

POSTGRES_USER = "aioeventlet"
POSTGRES_PASSWORD = "integration-secret"
POSTGRES_DB = "postgres"
# PostgreSQL refuses to run as root; the tests then run it as this system user.
POSTGRES_OS_USER = "aioeventlet-pg"


def postgres_bindir() -> Path:
    """The newest PostgreSQL bin directory with initdb and postgres."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: (
            int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ServerStartError(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb and no "
        "initdb on PATH); run scripts/install-servers"
    )


def _postgres_os_user() -> str | None:
    """None when not root (PostgreSQL runs as us); else a system user, made once."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRES_OS_USER)
    except KeyError:
        argv = [
            "useradd", "--system", "--no-create-home",
            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
            POSTGRES_OS_USER,
        ]  # fmt: skip
        try:
            subprocess.run(
                argv, check=True, capture_output=True, timeout=ACCOUNT_TIMEOUT
            )
        except (
            OSError,
            subprocess.CalledProcessError,
            subprocess.TimeoutExpired,
        ) as exc:
            output = "" if isinstance(exc, OSError) else _text(exc.stderr)
            raise ServerStartError(
                f"PostgreSQL refuses to run as root, and making the system user "
                f"{POSTGRES_OS_USER!r} for it failed: {exc}\n{output}\n"
                "Run the tests as a non-root user, or make that user by hand: "
                f"{' '.join(argv)}"
            ) from exc
    return POSTGRES_OS_USER


def _initdb(
    argv: Sequence[str],
    log_path: Path,
    *,
    user: str | None,
    cwd: Path,
    timeout: float,
) -> None:
    """Run initdb; raise ServerStartError with its log if it fails or hangs."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            user=user,
            cwd=cwd,
            # Its own process group: initdb runs postgres as children of its
            # own, and a hung initdb must not leave one of them behind.
            start_new_session=True,
        )
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group initdb leads, only ours
        proc.wait()
        problem = f"did not finish within {timeout:.0f} s"
    else:
        if code == 0:
            return
        problem = f"exited with status {code}"
    raise ServerStartError(
        f"initdb {problem}.\ncommand: {' '.join(argv)}\n"
        f"--- its log ---\n{log_path.read_text(errors='replace')}"
    )


def start_postgres(
    bindir: Path | None = None,
    *,
    initdb_timeout: float = INITDB_TIMEOUT,
    start_timeout: float = START_TIMEOUT,
) -> tuple[ServerProcess, Path]:
    """initdb a throwaway cluster in a temp dir, start it; return it and the dir.

    *bindir* holds initdb and postgres (default: the newest installed).  The
    directory is made with tempfile (not pytest's tmp_path, whose parents are
    private to root) so that the PostgreSQL user can reach it."""
    bindir = postgres_bindir() if bindir is None else bindir
    os_user = _postgres_os_user()
    base = Path(tempfile.mkdtemp(prefix="aioeventlet-pg-"))
    try:
        return _start_postgres_in(
            bindir, os_user, base, initdb_timeout, start_timeout
        ), base
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def _start_postgres_in(
    bindir: Path,
    os_user: str | None,
    base: Path,
    initdb_timeout: float,
    start_timeout: float,
) -> ServerProcess:
    datadir = base / "data"
    pwfile = base / "pwfile"
    pwfile.write_text(POSTGRES_PASSWORD + "\n")
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        for path in (base, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    # (The log files are opened by us and inherited, so their owner does not
    # matter.)
    _initdb(
        [
            str(bindir / "initdb"),
            "--pgdata", str(datadir),
            "--username", POSTGRES_USER,
            "--pwfile", str(pwfile),
            "--auth", "scram-sha-256",
            "--encoding", "UTF8",
            "--no-locale",
            "--no-sync",
        ],
        base / "initdb.log",
        user=os_user,
        cwd=base,
        timeout=initdb_timeout,
    )  # fmt: skip

    def build(port: int) -> ServerProcess:
        return ServerProcess(
            "postgres",
            [
                str(bindir / "postgres"),
                "-D", str(datadir),
                "-h", "127.0.0.1",
                "-p", str(port),
                "-k", str(base),  # its Unix socket lives in the temp dir, not /run
                "-c", "fsync=off",
                "-c", "full_page_writes=off",
            ],
            port,
            base / "postgres.log",
            user=os_user,
            # SIGINT is PostgreSQL's "fast" shutdown: ends sessions, then exits.
            stop_signal=signal.SIGINT,
        )  # fmt: skip

    return start_on_free_port(
        build,
        ready=lambda server: "ready to accept connections" in server.log(),
        timeout=start_timeout,
    )


# -- gunicorn -----------------------------------------------------------------------


def start_gunicorn(
    workdir: Path, app_dir: Path, app: str, probe: str = "/info"
) -> ServerProcess:
    """``gunicorn -k eventlet`` serving *app* ("module:variable", importable
    from *app_dir*); ready once ``GET probe`` answers 200.

    Ready means a worker has imported the app and served a request: gunicorn's
    own "Booting worker" line comes before the import.  When the app fails to
    import, the workers exit, gunicorn stops ("Worker failed to boot", status
    3), and start() reports that exit with the traceback from the log."""

    def build(port: int) -> ServerProcess:
        return ServerProcess(
            "gunicorn",
            [
                sys.executable, "-m", "gunicorn",
                "--worker-class", "eventlet",
                "--workers", "2",
                "--worker-connections", "500",
                "--bind", f"127.0.0.1:{port}",
                "--chdir", str(app_dir),
                "--graceful-timeout", "5",
                "--log-level", "info",
                "--config", str(PROGRAMS / "gunicorn_conf.py"),
                app,
            ],
            port,
            workdir / "gunicorn.log",
            # SIGINT: gunicorn's quick shutdown (SIGTERM waits for requests).
            stop_signal=signal.SIGINT,
        )  # fmt: skip

    return start_on_free_port(build, ready=lambda server: http_ok(server.port, probe))


# -- programs in a fresh interpreter ------------------------------------------------


def _text(output: str | bytes | None) -> str:
    # TimeoutExpired carries bytes even when the run asked for text.
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def run_program(
    path: Path,
    *args: str,
    timeout: float = PROGRAM_TIMEOUT,
    env: dict[str, str] | None = None,
) -> str:
    """Run a Python program in a fresh interpreter under ``-W error``; return its
    stdout.  Fail with its output if it exits non-zero or writes to stderr."""
    full_env = dict(os.environ)
    full_env.pop("PYTHONASYNCIODEBUG", None)
    if env:
        full_env.update(env)
    try:
        result = subprocess.run(
            [sys.executable, "-W", "error", str(path), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            stdin=subprocess.DEVNULL,
            check=False,  # the assertion below shows the program's output
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"{path.name} did not finish within {timeout:.0f} s\n"
            f"--- stdout ---\n{_text(exc.stdout)}\n--- stderr ---\n{_text(exc.stderr)}"
        ) from None
    output = (
        f"{path.name} exited with status {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    assert result.returncode == 0, output
    assert not result.stderr, output
    return result.stdout
