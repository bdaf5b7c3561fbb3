"""websockets server and client on aioeventlet, monkey-patched, with green
code feeding the conversation."""

from _common import GreenWorker, compared, monkey_patch, report

monkey_patch()

import hashlib  # noqa: E402

import eventlet  # noqa: E402
import eventlet.queue  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import ServerConnection, serve  # noqa: E402

import aioeventlet  # noqa: E402


async def handler(ws: ServerConnection) -> None:
    async for message in ws:
        data = message.encode() if isinstance(message, str) else message
        await ws.send(hashlib.sha256(data).hexdigest())


def green_producer(queue: "eventlet.queue.LightQueue[str | None]") -> None:
    """Legacy code producing work items at its own pace."""
    for i in range(25):
        queue.put(f"item {i}")
        eventlet.sleep(0.001)
    queue.put(None)


async def main() -> dict[str, object]:
    queue: eventlet.queue.LightQueue[str | None] = eventlet.queue.LightQueue()
    eventlet.spawn(green_producer, queue)
    sent: list[str] = []
    replies: list[str] = []
    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}") as ws:
            while True:
                # queue.get() blocks green-style: run it in a greenthread and
                # await that, so the loop's own greenthread never blocks.
                item = await aioeventlet.wrap_greenthread(eventlet.spawn(queue.get))
                if item is None:
                    break
                await ws.send(item)
                sent.append(item)
                replies.append(str(await ws.recv()))
            await ws.send(b"\x00" * 100_000)
            binary = await ws.recv()
    return {
        "items": len(sent),
        "replies": compared(
            replies, [hashlib.sha256(s.encode()).hexdigest() for s in sent]
        ),
        "binary": compared(binary, hashlib.sha256(b"\x00" * 100_000).hexdigest()),
    }


worker = GreenWorker()
results = aioeventlet.run(main())
results["green_worker_ran"] = worker.stop() > 0
report(results)
