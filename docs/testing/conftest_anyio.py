# conftest.py: anyio's pytest plugin runs @pytest.mark.anyio tests on aioeventlet.
import aioeventlet
import pytest


@pytest.fixture
def anyio_backend():
    return ("asyncio", {"loop_factory": aioeventlet.new_event_loop})
