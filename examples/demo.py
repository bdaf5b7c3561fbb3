"""aioeventlet in one screen: asyncio tasks and eventlet greenthreads, one thread.

    python examples/demo.py        (needs only aioeventlet and eventlet)

1. A green TCP server - plain eventlet code: eventlet.listen(), a greenthread
   per connection, blocking-style reads and writes - answers requests such as
   "add 2 3".  Each answer takes 50 ms of (green) work.
2. A green heartbeat ticks every 20 ms.
3. On the aioeventlet loop, three asyncio client tasks talk to that server at
   the same time, with asyncio streams.
4. The bridges: a coroutine awaits a greenthread (wrap_greenthread), and a
   greenthread waits for a coroutine (yield_future).

Everything runs in the main OS thread: the loop parks on eventlet's hub while
it waits, so the greenthreads run, and the greenthreads' I/O wakes the loop.
"""

import asyncio
import time
from typing import Any

# aioeventlet before eventlet: it imports eventlet without eventlet's
# deprecation notice.
import aioeventlet

# isort: split
import eventlet

OPERATIONS = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b}


def log(side: str, text: str) -> None:
    print(f"[{side:<7}] {text}", flush=True)


# -- green side: plain eventlet code ------------------------------------------------


def handle_connection(conn: Any, served: list[str]) -> None:
    with conn, conn.makefile("rw") as stream:
        for line in stream:
            op, a, b = line.split()
            eventlet.sleep(0.05)  # green "work": other code runs meanwhile
            answer = OPERATIONS[op](int(a), int(b))
            log("green", f"server answers {line.strip()!r} with {answer}")
            served.append(line.strip())
            stream.write(f"{answer}\n")
            stream.flush()


def green_server(listener: Any, served: list[str]) -> None:
    while True:
        conn, _ = listener.accept()
        eventlet.spawn(handle_connection, conn, served)


def heartbeat(ticks: list[float]) -> None:
    while True:
        ticks.append(time.monotonic())
        eventlet.sleep(0.02)


def green_report(total: int) -> str:
    """Legacy green code that needs an asyncio coroutine's answer."""
    eventlet.sleep(0.01)
    # Blocks this greenthread only; the loop running in this thread runs the
    # coroutine meanwhile.
    verdict = aioeventlet.yield_future(async_verdict(total))
    return f"total {total} is {verdict}"


# -- asyncio side: coroutines on the aioeventlet loop -------------------------------


async def client(name: str, port: int, requests: list[str]) -> list[int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []
    for request in requests:
        log("asyncio", f"client {name} asks: {request}")
        writer.write(f"{request}\n".encode())
        await writer.drain()
        answer = int(await reader.readline())
        log("asyncio", f"client {name} got:  {request} = {answer}")
        answers.append(answer)
    writer.close()
    await writer.wait_closed()
    return answers


async def async_verdict(total: int) -> str:
    await asyncio.sleep(0.01)
    return "even" if total % 2 == 0 else "odd"


async def main() -> None:
    started = time.monotonic()
    served: list[str] = []
    ticks: list[float] = []
    listener = eventlet.listen(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = eventlet.spawn(green_server, listener, served)
    beat = eventlet.spawn(heartbeat, ticks)
    log("green", f"server listening on 127.0.0.1:{port}")

    jobs = {
        "A": ["add 2 3", "mul 4 5", "add 10 20"],
        "B": ["mul 6 7", "add 1 1", "mul 3 3"],
        "C": ["add 100 1", "mul 2 50", "add 7 8"],
    }
    results = await asyncio.gather(
        *(client(name, port, requests) for name, requests in jobs.items())
    )
    total = sum(sum(answers) for answers in results)
    log("asyncio", f"all clients done, sum of all answers: {total}")

    # asyncio awaits green code: the greenthread's result becomes a future's.
    report = await aioeventlet.wrap_greenthread(eventlet.spawn(green_report, total))
    log("bridge", f"a greenthread asked a coroutine, asyncio awaited it: {report}")

    server.kill()
    beat.kill()
    listener.close()
    elapsed = time.monotonic() - started
    log("summary", f"{len(served)} requests answered by greenthreads")
    log("summary", f"heartbeat ticked {len(ticks)} times while asyncio ran")
    log("summary", f"took {elapsed:.2f} s (one request after another: 9 x 50 ms)")


if __name__ == "__main__":
    aioeventlet.run(main())
