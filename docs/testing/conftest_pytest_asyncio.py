# conftest.py: every pytest-asyncio test on an aioeventlet loop (pytest-asyncio 1.4+).
from collections.abc import Callable

import pytest

import aioeventlet


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], aioeventlet.EventLoop]]:
    return {"aioeventlet": aioeventlet.new_event_loop}
