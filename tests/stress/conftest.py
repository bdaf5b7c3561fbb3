"""Every stress test records its counts and is checked for leaks (see _support)."""

from __future__ import annotations

import pytest

from ._support import Recorder, reliability

__all__ = ["reliability"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/stress is a stress test (pyproject's `stress` marker).
    for item in items:
        if "/stress/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.stress)


@pytest.fixture(autouse=True)
def no_leaks(reliability: Recorder) -> Recorder:
    """No fd, hub listener or timer, thread or greenlet outlives a stress test."""
    return reliability
