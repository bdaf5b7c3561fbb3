"""Step 4: plain asyncio.  No green code is left, so neither eventlet nor
aioeventlet is needed: the stock loop runs it, and so would uvloop.
"""

import asyncio

TITLES = {"ada": "Countess", "alan": "Dr"}
NAMES = ["ada", "alan", "grace"]


async def lookup_title(name):
    await asyncio.sleep(0.01)  # stands in for an asyncio database call
    return TITLES.get(name, "Ms")


HANDLERS = set()  # running connection handlers, awaited before shutdown


async def handle(reader, writer):
    HANDLERS.add(asyncio.current_task())
    async for line in reader:
        name = line.decode().strip()
        writer.write(f"hello {await lookup_title(name)} {name}\n".encode())
        await writer.drain()
    writer.close()
    await writer.wait_closed()
    HANDLERS.discard(asyncio.current_task())


async def client(port, names):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies = []
    for name in names:
        writer.write(f"{name}\n".encode())
        await writer.drain()
        replies.append((await reader.readline()).decode().strip())
    writer.close()
    await writer.wait_closed()
    return replies


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        replies = await client(port, NAMES)
        await asyncio.gather(*HANDLERS)  # they end when the client hangs up
    for reply in replies:
        print(reply)


if __name__ == "__main__":
    asyncio.run(main())
