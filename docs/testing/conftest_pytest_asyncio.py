# conftest.py: every pytest-asyncio test on an aioeventlet loop (pytest-asyncio 1.4+).
import aioeventlet


def pytest_asyncio_loop_factories(config, item):
    return {"aioeventlet": aioeventlet.new_event_loop}
