"""CPU instructions per operation of the loop workloads, counted by callgrind.

    python benchmarks/instructions.py                      # every workload, 2 loops
    python benchmarks/instructions.py -w callsoon -w tasks --loop asyncio \\
        --loop aioeventlet --ops 50000 --python /path/to/python

Why instructions: CPU time on a shared machine varies from run to run with
whatever else the machine does, so loops a few per cent apart take many
alternated repetitions to tell apart (``run.py``).  The number of
instructions a program executes hardly depends on the machine's load:
valgrind's callgrind counts them on a simulated CPU, and repeated runs agree
to about 0.1 %, so one run per figure is enough and the runs may go in
parallel (``--jobs``).  The hash seed is fixed (``PYTHONHASHSEED=0``): with a
random one, start-up alone moved by about a million instructions from one run
to the next.  Instructions are not time (a
cache miss costs more than an add): these figures complement ``run.py``'s,
they do not replace them.

How: each workload of ``workloads.py`` runs twice under callgrind, in a fresh
interpreter, once with 1 operation and once with ``--ops`` operations;
interpreter start-up, imports and the loop's creation and closing cost the
same in both and cancel out in the difference, which is divided by the
difference in operations (as the worker reports them).  Before that, the pair
runs once without valgrind: a pair that ``workloads.py`` refuses (it exits
with a message, as yield_future does on stock asyncio) shows as "-".

Needs valgrind on PATH (Debian, Ubuntu: ``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from run import WORKER, _env, git_commit
from workloads import KINDS

# The workloads that run entirely in the worker process; the others need
# client.py (echo_*, bulk, udp, mixed) or measure memory (mem_*).
WORKLOADS = (
    "callsoon",
    "tasks",
    "sleep0",
    "timers",
    "queue",
    "yield_future",
    "wrap_greenthread",
)
DEFAULT_LOOPS = ("asyncio", "aioeventlet")

NO_VALGRIND = (
    "instructions.py needs valgrind (it counts instructions with callgrind), and "
    "there is no valgrind on PATH: install it (Debian, Ubuntu: apt-get install "
    "valgrind) and run again"
)

# Run by --python: the versions for the header are those of the interpreter
# under test, which need not be the one running this script.
VERSIONS = """\
import json, platform
from importlib import metadata
info = {"python": platform.python_version()}
for dist in ("eventlet", "greenlet", "uvloop"):
    try:
        info[dist] = metadata.version(dist)
    except metadata.PackageNotFoundError:
        info[dist] = "not installed"
print(json.dumps(info))
"""


class Failure(Exception):
    """A worker, valgrind or the interpreter under test failed; says which."""


@dataclass(frozen=True)
class Cell:
    workload: str
    loop: str
    per_op: float | None  # None: workloads.py refuses this pair
    note: str = ""


def worker_env() -> dict[str, str]:
    env = _env()
    env["PYTHONHASHSEED"] = "0"
    return env


def worker_cmd(python: str, workload: str, loop: str, size: int) -> list[str]:
    return [
        python,
        str(WORKER),
        "--loop",
        loop,
        "--workload",
        workload,
        "--size",
        str(size),
    ]


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, env=worker_env(), check=False
        )
    except OSError as exc:
        raise Failure(f"{what}: cannot run {cmd[0]}: {exc}") from None


def refusal(returncode: int, stderr: str) -> str | None:
    """The message of a worker that refused its workload and loop, else None.

    workloads.py refuses with ``SystemExit("message")``: exit status 1 and the
    message on stderr.  A crash exits with 1 too, but prints a traceback.
    """
    lines = stderr.strip().splitlines()
    if returncode != 1 or not lines or "Traceback (most recent call last):" in lines:
        return None
    return lines[-1]


def read_total(path: Path) -> int:
    """Instructions (event Ir) of a whole run, from a callgrind output file."""
    events = ["Ir"]
    totals = None
    with path.open() as f:
        for line in f:
            key, _, value = line.partition(":")
            if key == "events":
                events = value.split()
            elif key == "summary":
                return int(value.split()[events.index("Ir")])
            elif key == "totals":
                totals = int(value.split()[events.index("Ir")])
    if totals is None:
        raise Failure(f"{path} has no summary: or totals: line")
    return totals


def _ops(stdout: str, what: str) -> int:
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            ops: int = json.loads(line[len("RESULT ") :])["ops"]
            return ops
    raise Failure(f"{what} printed no RESULT line:\n{stdout}")


def callgrind(valgrind: str, cmd: list[str], out: Path, what: str) -> tuple[int, int]:
    """Operations and instructions of one run of cmd under callgrind."""
    proc = _run(
        [valgrind, "-q", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
        what,
    )
    if proc.returncode:
        raise Failure(
            f"{what} failed under valgrind (exit {proc.returncode}):\n"
            f"{proc.stderr.rstrip()}"
        )
    if not out.exists():
        raise Failure(f"{what}: callgrind wrote no {out}:\n{proc.stderr.rstrip()}")
    return _ops(proc.stdout, what), read_total(out)


def measure(
    workload: str, loop: str, *, valgrind: str, python: str, ops: int, tmp: Path
) -> Cell:
    what = f"{workload} on {loop}"
    # Without valgrind first: valgrind's own failures also exit with 1 and a
    # line on stderr, which would pass for a refusal.
    plain = _run(worker_cmd(python, workload, loop, 1), what)
    if plain.returncode:
        reason = refusal(plain.returncode, plain.stderr)
        if reason is None:
            raise Failure(
                f"{what} failed (exit {plain.returncode}):\n{plain.stderr.rstrip()}"
            )
        return Cell(workload, loop, None, reason)
    runs = [
        callgrind(
            valgrind,
            worker_cmd(python, workload, loop, size),
            tmp / f"{workload}.{loop}.{size}.out",
            f"{what} (--size {size})",
        )
        for size in (1, ops)
    ]
    (ops_1, instr_1), (ops_n, instr_n) = runs
    if ops_n <= ops_1:
        raise Failure(f"{what}: {ops_n} operations at --size {ops}, {ops_1} at 1")
    return Cell(workload, loop, (instr_n - instr_1) / (ops_n - ops_1))


def header(valgrind: str, python: str, loops: list[str], ops: int) -> str:
    proc = _run([python, "-c", VERSIONS], "--python")
    if proc.returncode:
        raise Failure(
            f"{python} failed (exit {proc.returncode}):\n{proc.stderr.rstrip()}"
        )
    info = json.loads(proc.stdout)
    version = _run([valgrind, "--version"], "valgrind").stdout.strip()
    commit = git_commit()
    uvloop = f", uvloop {info['uvloop']}" if "uvloop" in loops else ""
    return (
        f"Instructions per operation, callgrind ({version}): Python "
        f"{info['python']}, eventlet {info['eventlet']}, greenlet "
        f"{info['greenlet']}{uvloop}, commit {commit}; a run of {ops} operations "
        f"minus a run of 1, over the operations in between."
    )


def _count(cell: Cell) -> str:
    return "-" if cell.per_op is None else f"{cell.per_op:,.0f}"


def progress(cell: Cell) -> Cell:
    what = f"{cell.workload} on {cell.loop}"
    if cell.per_op is None:
        print(f"{what}: refused by workloads.py: {cell.note}", file=sys.stderr)
    else:
        print(f"{what}: {_count(cell)} instructions per operation", file=sys.stderr)
    return cell


def table(cells: list[Cell]) -> str:
    per_op = {(c.workload, c.loop): c.per_op for c in cells}
    lines = [
        "| workload | loop | instructions per operation | ratio to asyncio |",
        "|---|---|---|---|",
    ]
    previous = ""
    for cell in cells:
        base = per_op.get((cell.workload, "asyncio"))
        ratio = "-"
        if base is not None and cell.per_op is not None and min(base, cell.per_op) > 0:
            ratio = f"{base / cell.per_op:.2f}x"
        title = cell.workload if cell.workload != previous else ""
        previous = cell.workload
        lines.append(f"| {title} | {cell.loop} | {_count(cell)} | {ratio} |")
    return "\n".join(lines)


def _at_least(minimum: int, why: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer, got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be at least {minimum}{why}, got {value}"
            )
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-w",
        "--workload",
        action="append",
        choices=WORKLOADS,
        help=f"workloads.py workloads (repeatable; default: {', '.join(WORKLOADS)})",
    )
    parser.add_argument(
        "--loop",
        action="append",
        choices=KINDS,
        help=f"loops (repeatable; default: {', '.join(DEFAULT_LOOPS)})",
    )
    parser.add_argument(
        "--ops",
        type=_at_least(2, " (the run of 1 operation is subtracted)"),
        default=50_000,
        help="operations in the measured run (default: 50000)",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter under test (default: this one)",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_at_least(1, ""),
        default=os.cpu_count() or 1,
        help="runs at once; counts do not depend on it (default: CPUs)",
    )
    args = parser.parse_args(argv)
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print(NO_VALGRIND, file=sys.stderr)
        return 2
    workloads = list(dict.fromkeys(args.workload or WORKLOADS))
    loops = list(dict.fromkeys(args.loop or DEFAULT_LOOPS))
    pairs = [(w, loop) for w in workloads for loop in loops]
    try:
        title = header(valgrind, args.python, loops, args.ops)
        print(title, file=sys.stderr)
        with (
            tempfile.TemporaryDirectory(prefix="aioeventlet-callgrind-") as tmp,
            ThreadPoolExecutor(args.jobs) as pool,
        ):
            futures = [
                pool.submit(
                    measure,
                    w,
                    loop,
                    valgrind=valgrind,
                    python=args.python,
                    ops=args.ops,
                    tmp=Path(tmp),
                )
                for w, loop in pairs
            ]
            try:
                cells = [progress(future.result()) for future in futures]
            except BaseException:
                # Stop at the first failure: without this, leaving the block
                # would wait for every run still queued.
                pool.shutdown(cancel_futures=True)
                raise
    except Failure as exc:
        print(exc, file=sys.stderr)
        return 1
    print(title)
    print()
    print(table(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
