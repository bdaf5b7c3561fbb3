# conftest.py: anyio's pytest plugin runs @pytest.mark.anyio tests on aioeventlet.
import pytest

import aioeventlet


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    return ("asyncio", {"loop_factory": aioeventlet.new_event_loop})
