import asyncio

import aioeventlet  # before eventlet: see "Good habits" below

# isort: split
import eventlet
import pytest


@pytest.mark.asyncio
async def test_asyncio_and_greenthreads_together() -> None:
    assert isinstance(asyncio.get_running_loop(), aioeventlet.EventLoop)
    green = eventlet.spawn(lambda: "from a greenthread")
    await asyncio.sleep(0.01)  # the greenthread runs while the test awaits
    assert green.dead
    assert green.wait() == "from a greenthread"
