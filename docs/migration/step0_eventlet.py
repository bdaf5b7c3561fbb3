"""Step 0: the eventlet service we start from.

A line server: each line is a name, the reply greets it with a title that a
(green, slow) lookup finds.  The client runs in the same program so that the
example is self-contained.
"""

from typing import Any

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


def main() -> None:
    server = eventlet.listen(("127.0.0.1", 0))
    acceptor = eventlet.spawn(serve, server)
    for reply in client(server.getsockname()[1], NAMES):
        print(reply)
    acceptor.kill()
    server.close()


if __name__ == "__main__":
    main()
