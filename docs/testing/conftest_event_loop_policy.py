# conftest.py: every pytest-asyncio test on an aioeventlet loop, through the
# event_loop_policy fixture of pytest-asyncio 0.23 to 1.3.  pytest-asyncio 1.4
# and later still honour it but deprecate it: use conftest_pytest_asyncio.py's
# hook there.  Python 3.10 to 3.13 only: asyncio deprecates policies in 3.14.
import asyncio

import pytest

import aioeventlet


@pytest.fixture(scope="session")
def event_loop_policy() -> asyncio.AbstractEventLoopPolicy:
    return aioeventlet.EventLoopPolicy()
