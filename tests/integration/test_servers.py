"""The server harness itself: a server that cannot start is an error that
carries its log, within a bounded wait, and is never left running."""

from __future__ import annotations

import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import servers

pytestmark = pytest.mark.integration


def test_server_that_fails_to_start_reports_its_log(tmp_path: Path) -> None:
    """A server that cannot start is an error carrying its log, quickly."""
    port = servers.free_port()
    server = servers.ServerProcess(
        "redis-server",
        ["redis-server", "--port", str(port), "--no-such-option", "yes"],
        port,
        tmp_path / "bad.log",
    )
    with pytest.raises(servers.ServerStartError) as info:
        server.start(timeout=10)
    text = str(info.value)
    assert "exited with status" in text
    assert "no-such-option" in text  # redis-server's own complaint, from its log
    assert server.proc is not None
    assert server.proc.poll() is not None


def test_server_that_never_listens_is_stopped(tmp_path: Path) -> None:
    """A server that runs but never listens: bounded wait, stopped, log kept."""
    port = servers.free_port()
    script = tmp_path / "silent.sh"
    script.write_text(
        "#!/bin/sh\necho 'starting up, but never listening'\nexec sleep 300\n"
    )
    script.chmod(0o755)
    server = servers.ServerProcess("silent", [str(script)], port, tmp_path / "s.log")
    with pytest.raises(servers.ServerStartError) as info:
        server.start(timeout=1)
    assert "did not listen" in str(info.value)
    assert "never listening" in str(info.value)
    assert server.proc is not None
    assert server.proc.poll() == -signal.SIGTERM  # stopped by us, not left running


def test_port_taken_meanwhile_is_retried_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """free_port() only promises a port that was free a moment ago: a server
    that then finds it taken is started again on another port."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken, servers.free_port()])
        monkeypatch.setattr(servers, "free_port", lambda: next(ports))
        server = servers.start_redis(tmp_path)
        try:
            assert server.port != taken
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as c:
                c.sendall(b"PING\r\n")
                assert c.recv(64) == b"+PONG\r\n"
        finally:
            server.stop()
    assert server.proc is not None
    assert server.proc.poll() is not None


def test_start_budgets_fit_inside_the_per_test_timeout(
    pytestconfig: pytest.Config,
) -> None:
    """A session server starts inside its first test's pytest-timeout budget:
    the harness's own bounds (and a program run's) must end first, so that a
    hang shows as ServerStartError with the log, not as a bare timeout."""
    per_test = float(pytestconfig.getini("timeout"))
    worst_postgres_start = (
        servers.ACCOUNT_TIMEOUT + servers.INITDB_TIMEOUT + servers.START_TIMEOUT
    )
    # At least 10 s to spare: the harness's own error has fired by then.
    assert per_test - worst_postgres_start >= 10, (worst_postgres_start, per_test)
    assert per_test - servers.PROGRAM_TIMEOUT >= 10, (
        servers.PROGRAM_TIMEOUT,
        per_test,
    )


@pytest.fixture
def fake_postgres_bindir() -> Iterator[Path]:
    """A directory for stand-in initdb and postgres scripts, reachable by the
    PostgreSQL system user when the tests run as root (pytest's tmp_path is
    private to root)."""
    bindir = Path(tempfile.mkdtemp(prefix="aioeventlet-fake-pg-"))
    bindir.chmod(0o755)
    try:
        yield bindir
    finally:
        shutil.rmtree(bindir, ignore_errors=True)


def write_script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def is_running(pid: int) -> bool:
    """Whether *pid* is a live process (a zombie left to its new parent is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def ends_soon(pid: int, within: float = 5.0) -> bool:
    """Whether *pid* ends within *within* seconds: a SIGKILL sent to a process
    that is not our child lands a moment later, and we cannot wait() for it."""
    deadline = time.monotonic() + within
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_hanging_initdb_is_a_start_error_with_its_log(
    fake_postgres_bindir: Path,
) -> None:
    """initdb that never finishes: ServerStartError with its log after the
    initdb bound, and neither it nor the child it started is left running."""
    child_pid_file = fake_postgres_bindir / "child.pid"
    write_script(
        fake_postgres_bindir / "initdb",
        "echo 'fake initdb: creating directory, then hanging'\n"
        # A child of its own, as initdb's postgres is: it must go too.
        "sleep 300 &\n"
        f"echo $! > {child_pid_file}\n"
        "wait\n",
    )
    child_pid_file.touch()
    child_pid_file.chmod(0o666)  # written by the PostgreSQL user under root
    with pytest.raises(servers.ServerStartError) as info:
        servers.start_postgres(fake_postgres_bindir, initdb_timeout=1)
    text = str(info.value)
    assert text.startswith("initdb did not finish within 1 s.")
    assert "fake initdb: creating directory, then hanging" in text
    assert ends_soon(int(child_pid_file.read_text()))


def test_failing_initdb_is_a_start_error_with_its_log(
    fake_postgres_bindir: Path,
) -> None:
    write_script(
        fake_postgres_bindir / "initdb",
        "echo 'fake initdb: could not create directory: Permission denied'\nexit 1\n",
    )
    with pytest.raises(servers.ServerStartError) as info:
        servers.start_postgres(fake_postgres_bindir)
    text = str(info.value)
    assert text.startswith("initdb exited with status 1.")
    assert "could not create directory: Permission denied" in text


def test_postgres_that_never_gets_ready_is_stopped_with_its_log(
    fake_postgres_bindir: Path,
) -> None:
    """initdb succeeds, the server hangs before listening: ServerStartError
    with the server's log after the start bound, and the server stopped."""
    write_script(fake_postgres_bindir / "initdb", "echo 'fake initdb: done'\n")
    write_script(
        fake_postgres_bindir / "postgres",
        "echo 'fake postgres: starting, never ready'\nexec sleep 300\n",
    )
    with pytest.raises(servers.ServerStartError) as info:
        servers.start_postgres(fake_postgres_bindir, start_timeout=1)
    text = str(info.value)
    assert text.startswith("postgres did not listen on 127.0.0.1:")
    assert "within 1 s" in text
    assert "fake postgres: starting, never ready" in text
