"""Step 4: plain asyncio.  No green code is left, so neither eventlet nor
aioeventlet is needed: the stock loop runs it, and so would uvloop.
"""

import asyncio

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


async def client(port: int, names: list[str]) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies = []
    for name in names:
        writer.write(f"{name}\n".encode())
        await writer.drain()
        replies.append((await reader.readline()).decode().strip())
    writer.close()
    await writer.wait_closed()
    return replies


async def main() -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        replies = await client(port, NAMES)
        await asyncio.gather(*HANDLERS)  # they end when the client hangs up
    for reply in replies:
        print(reply)


if __name__ == "__main__":
    asyncio.run(main())
