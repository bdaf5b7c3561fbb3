"""Fixtures of the integration tests: real servers, and greenthreads at work.

The servers (redis-server, PostgreSQL) are started once per test session on
127.0.0.1, on free ports, and stopped at its end; see ``servers.py``.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import eventlet
import pytest

# aioeventlet first: it imports eventlet with exactly its deprecation warning
# filtered (pytest runs with warnings as errors).
import aioeventlet  # noqa: F401

from . import servers


class GreenWorker:
    """A greenthread that does checkable work (a SHA-256 chain) until stopped.

    Tests start one next to their asyncio code and check, at the end, that it
    made progress meanwhile and that its result is right: the loop did not
    starve the greenthreads of its OS thread.
    """

    SEED = b"aioeventlet"

    def __init__(self) -> None:
        self.rounds = 0
        self.digest = self.SEED
        self._stopping = False
        self._gt = eventlet.spawn(self._run)

    def _run(self) -> None:
        while not self._stopping:
            self.digest = hashlib.sha256(self.digest).digest()
            self.rounds += 1
            eventlet.sleep(0.001)

    def stop(self) -> int:
        """Stop, check the chain, and return how many rounds were done."""
        self._stopping = True
        self._gt.wait()
        expected = self.SEED
        for _ in range(self.rounds):
            expected = hashlib.sha256(expected).digest()
        assert self.digest == expected, "the green worker's chain is corrupt"
        return self.rounds


@pytest.fixture
def green_worker() -> Iterator[GreenWorker]:
    worker = GreenWorker()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Port of a redis-server started for this test session."""
    server = servers.start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server.port
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """DSN of a throwaway PostgreSQL cluster started for this test session."""
    server, base = servers.start_postgres()
    try:
        yield (
            f"postgresql://{servers.POSTGRES_USER}:{servers.POSTGRES_PASSWORD}"
            f"@127.0.0.1:{server.port}/{servers.POSTGRES_DB}"
        )
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def program_dir() -> Path:
    return servers.PROGRAMS
