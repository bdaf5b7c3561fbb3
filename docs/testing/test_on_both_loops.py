import asyncio

import aioeventlet  # before eventlet: see "Good habits" below

# isort: split
import eventlet
import pytest


@pytest.mark.asyncio
async def test_timeout_on_every_loop() -> None:
    # Runs once per loop factory: the stock loop is the reference.
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.sleep(10), timeout=0.01)


@pytest.mark.asyncio(loop_factories=["aioeventlet"])
async def test_greenthreads_only_on_aioeventlet() -> None:
    # Greenthreads run while a coroutine awaits only on aioeventlet's loop.
    assert isinstance(asyncio.get_running_loop(), aioeventlet.EventLoop)
    green = eventlet.spawn(lambda: "from a greenthread")
    await asyncio.sleep(0.01)
    assert green.dead
