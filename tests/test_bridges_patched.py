"""The bridges in a monkey-patched program, run in a fresh interpreter.

eventlet.monkey_patch() makes threading, socket and time green; the bridges
must still tell the loop's greenthread from others, and reach a loop of a
real OS thread (from eventlet.patcher.original("threading")).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent(
    """
    import aioeventlet  # first: it imports eventlet with its warning silenced
    import eventlet

    eventlet.monkey_patch()

    import asyncio
    import contextvars
    import socket
    import time

    from eventlet.patcher import original

    var = contextvars.ContextVar("var", default="unset")


    async def add(x, y):
        await asyncio.sleep(0.01)
        return x + y, var.get()


    def green_client(port):
        # A monkey-patched (green) socket, in a greenthread.
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(b"ping")
            return conn.recv(4)


    async def serve(reader, writer):
        writer.write(await reader.read(4))
        await writer.drain()
        writer.close()


    def in_real_thread(out):
        loop = aioeventlet.new_event_loop()
        out.append(loop)
        loop.run_forever()
        loop.close()


    async def main():
        loop = asyncio.get_running_loop()

        def green():
            var.set("green")
            time.sleep(0.01)  # patched: green
            return aioeventlet.yield_future(add(1, 2), loop=loop)

        assert await aioeventlet.wrap_greenthread(eventlet.spawn(green)) == (
            3,
            "green",
        )
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        assert await aioeventlet.to_green(green_client, port) == b"ping"
        server.close()
        await server.wait_closed()

        gt = eventlet.spawn(time.sleep, 10)
        fut = aioeventlet.wrap_greenthread(gt)
        await asyncio.sleep(0)
        fut.cancel()
        assert gt.dead

        # A loop in a real OS thread, reached from a greenthread of this one.
        made = []
        thread = original("threading").Thread(target=in_real_thread, args=(made,))
        thread.start()
        while not made or not made[0].is_running():
            await asyncio.sleep(0.001)
        other = made[0]
        value = await aioeventlet.to_green(aioeventlet.yield_future, add(2, 3), other)
        assert value == (5, "unset"), value
        other.call_soon_threadsafe(other.stop)
        await aioeventlet.to_green(thread.join)


    aioeventlet.run(main())
    print("pass")
    """
)


@pytest.mark.parametrize("hub", ["epolls", "poll", "selects"])
def test_bridges_monkey_patched(hub: str) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", PROGRAM],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "EVENTLET_HUB": hub},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pass\n", result.stdout + result.stderr
