# conftest.py: every pytest-asyncio test twice, on the stock loop and on
# aioeventlet (pytest-asyncio 1.4+); the ids are [asyncio] and [aioeventlet].
import asyncio
from collections.abc import Callable

import pytest

import aioeventlet


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {
        "asyncio": asyncio.SelectorEventLoop,
        "aioeventlet": aioeventlet.new_event_loop,
    }
