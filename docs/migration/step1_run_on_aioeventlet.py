"""Step 1: the same service, started by an asyncio entry point on aioeventlet.

Nothing green changes.  main() becomes a coroutine run by aioeventlet.run(),
so new code can be written with asyncio from now on, and it awaits the green
client through aioeventlet.to_green().
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


def lookup_title(name: str) -> str:
    eventlet.sleep(0.01)  # stands in for a green database call
    return TITLES.get(name, "Ms")


def handle(conn: Any) -> None:
    with conn, conn.makefile("rw") as stream:
        for line in stream:
            name = line.strip()
            stream.write(f"hello {lookup_title(name)} {name}\n")
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
