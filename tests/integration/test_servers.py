"""The server harness itself: a server that cannot start is an error that
carries its log, within a bounded wait, and is never left running."""

from __future__ import annotations

import signal
import socket
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
