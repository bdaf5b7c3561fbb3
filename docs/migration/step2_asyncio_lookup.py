"""Step 2: the lookup moves to asyncio; the green handler still calls it.

lookup_title() is now a coroutine (an asyncio database driver, say).  The
green handler waits for it with aioeventlet.yield_future(), which blocks only
that greenthread while the loop runs the coroutine.
"""

import asyncio
from typing import Any

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


def handle(conn: Any) -> None:
    with conn, conn.makefile("rw") as stream:
        for line in stream:
            name = line.strip()
            title = aioeventlet.yield_future(lookup_title(name))
            stream.write(f"hello {title} {name}\n")
            stream.flush()


def serve(server: Any) -> None:
    while True:
        conn, _ = server.accept()
        eventlet.spawn(handle, conn)


def client(port: int, names: list[str]) -> list[str]:
    with eventlet.connect(("127.0.0.1", port)) as conn, conn.makefile("rw") as stream:
        replies = []
        for name in names:
            stream.write(name + "\n")
            stream.flush()
            replies.append(stream.readline().strip())
        return replies


async def main() -> None:
    server = eventlet.listen(("127.0.0.1", 0))
    acceptor = eventlet.spawn(serve, server)
    # The greenthreads run while this coroutine awaits.
    replies = await aioeventlet.to_green(client, server.getsockname()[1], NAMES)
    for reply in replies:
        print(reply)
    assert isinstance(asyncio.get_running_loop(), aioeventlet.EventLoop)
    acceptor.kill()
    server.close()


if __name__ == "__main__":
    aioeventlet.run(main())
