"""Client side of the TCP echo stress test, run in a child process.

It runs on *stock* asyncio on purpose: the clients are the oracle, so a bug
in aioeventlet cannot hide itself on both ends.  It opens every connection
first (so that all of them are open at once), then has each one send
*rounds* requests and check each reply, then half-closes and expects EOF.
The counts go to stdout as one JSON object: requests answered, missing or
wrong, and per server ("a" asyncio, "g" green) the connections that completed
their whole conversation cleanly and those still going at the deadline
(hung), with the requests those had not had answered yet.

Usage: python _echo_client.py CONFIG_JSON
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
from typing import Any


async def _connect(
    port: int, sem: asyncio.Semaphore, deadline: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    async with sem:
        return await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), deadline
        )


async def _converse(  # noqa: PLR0917 - one connection's whole state
    tag: str,
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    rounds: int,
    rng: random.Random,
    counts: dict[str, int],
    all_open: asyncio.Event,
    unanswered: dict[str, int],
) -> None:
    reader, writer = conn
    await all_open.wait()
    clean = True
    for i in range(rounds):
        payload = "x" * rng.randrange(0, 200)
        line = f"{tag}:{i}:{payload}\n".encode()
        writer.write(line)
        reply = await reader.readline()
        unanswered[tag] -= 1
        if reply == b"echo " + line:
            counts["answered"] += 1
        elif not reply:
            counts["missing"] += 1
            clean = False
        else:
            counts["wrong"] += 1
            clean = False
    writer.write_eof()
    # After our EOF the server closes: nothing more may arrive.
    extra = await reader.read()
    if extra:
        counts["wrong"] += 1
        clean = False
    writer.close()
    await writer.wait_closed()
    if clean:
        counts[f"completed {tag[0]}"] += 1


async def main(cfg: dict[str, Any]) -> dict[str, Any]:
    rng = random.Random(cfg["seed"])
    counts = {"answered": 0, "missing": 0, "wrong": 0, "hung": 0, "errors": 0}
    counts |= {"completed a": 0, "completed g": 0, "hung a": 0, "hung g": 0}
    counts["hung requests"] = 0
    sem = asyncio.Semaphore(cfg["connect_concurrency"])
    targets = [("a", cfg["asyncio_port"])] * cfg["asyncio_conns"] + [
        ("g", cfg["green_port"])
    ] * cfg["green_conns"]
    conns = await asyncio.gather(
        *(_connect(port, sem, cfg["timeout"]) for _, port in targets),
        return_exceptions=True,
    )
    opened = [c for c in conns if not isinstance(c, BaseException)]
    errors = [repr(c) for c in conns if isinstance(c, BaseException)]
    all_open = asyncio.Event()
    unanswered: dict[str, int] = {}
    tasks: dict[asyncio.Future[None], str] = {}
    for n, ((kind, _), conn) in enumerate(zip(targets, conns, strict=True)):
        if isinstance(conn, BaseException):
            continue
        tag = f"{kind}{n}"
        unanswered[tag] = cfg["rounds"]
        conversation = _converse(
            tag,
            conn,
            cfg["rounds"],
            random.Random(rng.random()),
            counts,
            all_open,
            unanswered,
        )
        tasks[asyncio.ensure_future(conversation)] = tag
    print(json.dumps({"event": "open", "opened": len(opened)}), flush=True)
    # The parent answers once its servers hold every connection at once.
    go = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if go.strip() != "go":
        raise SystemExit(f"expected 'go' from the parent, got {go!r}")
    all_open.set()
    done, pending = await asyncio.wait(tasks, timeout=cfg["timeout"])
    counts["hung"] = len(pending)
    for task in pending:
        tag = tasks[task]
        counts[f"hung {tag[0]}"] += 1
        counts["hung requests"] += unanswered[tag]
        task.cancel()
    for task in done:
        if task.exception() is not None:
            counts["errors"] += 1
            errors.append(repr(task.exception()))
    counts["errors"] += len(conns) - len(opened)
    return {
        "event": "done",
        "opened": len(opened),
        **counts,
        "error_samples": errors[:5],
    }


if __name__ == "__main__":
    config = json.loads(sys.argv[1])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = config["asyncio_conns"] + config["green_conns"] + 64
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    print(json.dumps(asyncio.run(main(config))), flush=True)
