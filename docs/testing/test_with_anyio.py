import asyncio

import aioeventlet  # before eventlet: see "Good habits" below

# isort: split
import anyio
import eventlet
import pytest


@pytest.mark.anyio
async def test_anyio_task_group_on_aioeventlet() -> None:
    assert isinstance(asyncio.get_running_loop(), aioeventlet.EventLoop)
    results: list[str] = []
    green = eventlet.spawn(results.append, "green")
    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.sleep, 0.01)
    assert green.dead
    assert results == ["green"]
