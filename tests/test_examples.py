"""The examples that need only aioeventlet and eventlet, run as a user would.

Each runs in a fresh interpreter under ``-W error`` and its output is
checked line by line.  (Examples that need aiohttp or httpx are run by
tests/integration/test_examples.py.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, timeout: float = 30.0) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,  # the assertions below show the output
    )
    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, output
    assert result.stderr == "", output
    return result.stdout.splitlines()


def test_hello_world() -> None:
    assert run_example("hello_world.py") == ["Hello World"]


def test_demo() -> None:
    lines = run_example("demo.py")
    assert re.fullmatch(r"\[green  \] server listening on 127\.0\.0\.1:\d+", lines[0])

    jobs = {
        "A": [("add 2 3", 5), ("mul 4 5", 20), ("add 10 20", 30)],
        "B": [("mul 6 7", 42), ("add 1 1", 2), ("mul 3 3", 9)],
        "C": [("add 100 1", 101), ("mul 2 50", 100), ("add 7 8", 15)],
    }
    for name, requests in jobs.items():
        # Each client's conversation, in its order, among the interleaved lines.
        own = [line for line in lines if line.startswith(f"[asyncio] client {name} ")]
        expected = []
        for request, answer in requests:
            expected.append(f"[asyncio] client {name} asks: {request}")
            expected.append(f"[asyncio] client {name} got:  {request} = {answer}")
        assert own == expected
    # The three asyncio clients ran at once: all first questions went out
    # before the green server's first answer came back.
    first_answer = next(i for i, line in enumerate(lines) if " got: " in line)
    assert sum(" asks: " in line for line in lines[:first_answer]) == 3

    # The green server answered each request, in its own greenthreads.
    green = [line for line in lines[1:] if line.startswith("[green  ] ")]
    assert sorted(green) == sorted(
        f"[green  ] server answers {request!r} with {answer}"
        for requests in jobs.values()
        for request, answer in requests
    )

    total = sum(answer for requests in jobs.values() for _, answer in requests)
    rest = [
        line
        for line in lines[1:]
        if not line.startswith(("[asyncio] client", "[green  ] "))
    ]
    assert rest[:4] == [
        f"[asyncio] all clients done, sum of all answers: {total}",
        "[bridge ] a greenthread asked a coroutine, asyncio awaited it: "
        f"total {total} is {'even' if total % 2 == 0 else 'odd'}",
        "[summary] 9 requests answered by greenthreads",
        rest[3],
    ]
    ticks = re.fullmatch(
        r"\[summary\] heartbeat ticked (\d+) times while asyncio ran", rest[3]
    )
    assert ticks is not None
    assert int(ticks.group(1)) >= 2, "the green heartbeat did not run alongside"
    assert re.fullmatch(
        r"\[summary\] took \d+\.\d\d s \(one request after another: 9 x 50 ms\)",
        rest[4],
    )
    assert len(rest) == 5
