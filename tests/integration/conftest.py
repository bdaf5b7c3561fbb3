"""Fixtures of the integration tests: real servers, and greenthreads at work.

The servers (redis-server, PostgreSQL) are started once per test session on
127.0.0.1, on free ports, and stopped at its end; see ``servers.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# aioeventlet first: it imports eventlet with exactly its deprecation warning
# filtered (pytest runs with warnings as errors).
import aioeventlet  # noqa: F401

from . import servers

# The same checkable green work the monkey-patched programs run beside their
# asyncio code: tests check, at the end, that it progressed meanwhile.
from .programs._common import GreenWorker


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
