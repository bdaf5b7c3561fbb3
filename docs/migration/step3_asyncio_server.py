"""Step 3: the server moves to asyncio streams; only the client is green.

The handler is a coroutine now and awaits lookup_title() directly.  The
remaining green code (the client) still runs in a greenthread.
"""

import asyncio

# aioeventlet before eventlet: it imports eventlet without eventlet's
# deprecation notice.
import aioeventlet

# isort: split
import eventlet

TITLES = {"ada": "Countess", "alan": "Dr"}
NAMES = ["ada", "alan", "grace"]


async def lookup_title(name: str) -> str:
    await asyncio.sleep(0.01)  # stands in for an asyncio database call
    return TITLES.get(name, "Ms")


# Running connection handlers, awaited before shutdown.
HANDLERS: set[asyncio.Task[None]] = set()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    task = asyncio.current_task()
    assert task is not None  # a handler runs in a task
    HANDLERS.add(task)
    async for line in reader:
        name = line.decode().strip()
        writer.write(f"hello {await lookup_title(name)} {name}\n".encode())
        await writer.drain()
    writer.close()
    await writer.wait_closed()
    HANDLERS.discard(task)


def client(port: int, names: list[str]) -> list[str]:
    with eventlet.connect(("127.0.0.1", port)) as conn, conn.makefile("rw") as stream:
        replies = []
        for name in names:
            stream.write(name + "\n")
            stream.flush()
            replies.append(stream.readline().strip())
        return replies


async def main() -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        replies = await aioeventlet.to_green(client, port, NAMES)
        await asyncio.gather(*HANDLERS)  # they end when the client hangs up
    for reply in replies:
        print(reply)
    assert isinstance(asyncio.get_running_loop(), aioeventlet.EventLoop)


if __name__ == "__main__":
    aioeventlet.run(main())
