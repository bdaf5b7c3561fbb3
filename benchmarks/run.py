"""Benchmarks: aioeventlet against stock asyncio, uvloop and plain eventlet.

    python benchmarks/run.py                      # everything, 5 repetitions
    python benchmarks/run.py --quick              # everything, small (< 1 minute)
    python benchmarks/run.py -b callsoon -b tasks --loop asyncio --loop aioeventlet
    python benchmarks/run.py --json out.json --doc    # also rewrite docs/performance.md

How it measures:

* every measurement runs in a fresh interpreter (``workloads.py``), and the
  loops are alternated A B A B ... for each repetition, so that slow drifts of
  a shared machine hit every loop alike;
* rates are normalised by process CPU time (operations per CPU second of the
  process under test), which other processes on the machine barely disturb;
  wall-clock rates are reported next to them;
* the network workloads run their server in the process under test and the
  load in a separate, fixed client process (``client.py``), which reads the
  server's CPU time from /proc over its measured window;
* each cell is the median of the repetitions, with min and max; ratios are
  medians divided by stock asyncio's median on the same Python.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "workloads.py"
CLIENT = HERE / "client.py"
DOC = ROOT / "docs" / "performance.md"
CHART = ROOT / "docs" / "_static" / "performance.png"

# asyncio_hub is eventlet's own asyncio hub (EVENTLET_HUB=asyncio): there,
# asyncio code runs on stock asyncio's loop, so it has a column of its own only
# for the bridges between greenthreads and coroutines.
ALL_LOOPS = ("asyncio", "uvloop", "aioeventlet", "eventlet", "asyncio_hub")
LOOP_LOOPS = ("asyncio", "uvloop", "aioeventlet", "eventlet")
ASYNC_LOOPS = ("asyncio", "uvloop", "aioeventlet")


@dataclass(frozen=True)
class Bench:
    name: str
    title: str
    workload: str
    size: int  # full run
    quick: int  # --quick run
    unit: str  # what one operation is
    loops: tuple[str, ...] = LOOP_LOOPS
    client: tuple[str, ...] = ()  # client.py arguments, for server workloads
    # A target: ("ratio", x): median CPU-normalised rate >= x times asyncio's;
    # ("rate", x): >= x operations per CPU second; ("mem", x): bytes per
    # object <= x times asyncio's.
    target: tuple[str, float] | None = None
    duration: float = 2.0  # seconds of load for client-driven benchmarks

    @property
    def is_memory(self) -> bool:
        return self.workload.startswith("mem_")


def _echo(
    name: str, title: str, workload: str, conns: int, target: float | None
) -> Bench:
    loops = LOOP_LOOPS if workload == "echo_streams" else ASYNC_LOOPS
    return Bench(
        name,
        title,
        workload,
        0,
        0,
        "requests",
        loops,
        ("echo", "--conns", str(conns)),
        ("ratio", target) if target else None,
    )


BENCHES = [
    Bench(
        "callsoon",
        "call_soon chain",
        "callsoon",
        300_000,
        20_000,
        "callbacks",
        target=("ratio", 0.95),
    ),
    Bench(
        "tasks",
        "task create + await",
        "tasks",
        100_000,
        10_000,
        "tasks",
        target=("ratio", 0.95),
    ),
    Bench(
        "sleep0",
        "sleep(0) ping-pong, 2 tasks",
        "sleep0",
        200_000,
        20_000,
        "switches",
        target=("ratio", 0.95),
    ),
    Bench(
        "timers",
        "call_later timers",
        "timers",
        200_000,
        10_000,
        "timers",
        target=("ratio", 0.95),
    ),
    Bench(
        "queue",
        "asyncio.Queue",
        "queue",
        100_000,
        10_000,
        "items",
        target=("ratio", 0.95),
    ),
    _echo("echo_streams_1", "TCP echo, streams, 1 client", "echo_streams", 1, 0.90),
    _echo("echo_streams_10", "TCP echo, streams, 10 clients", "echo_streams", 10, None),
    _echo(
        "echo_streams_100", "TCP echo, streams, 100 clients", "echo_streams", 100, 0.90
    ),
    _echo("echo_protocol_1", "TCP echo, protocol, 1 client", "echo_protocol", 1, 0.90),
    _echo(
        "echo_protocol_10", "TCP echo, protocol, 10 clients", "echo_protocol", 10, None
    ),
    _echo(
        "echo_protocol_100",
        "TCP echo, protocol, 100 clients",
        "echo_protocol",
        100,
        0.90,
    ),
    Bench(
        "bulk",
        "bulk transfer, 1 connection",
        "bulk",
        4096,
        64,
        "MiB",
        client=("bulk",),
        target=("ratio", 0.95),
    ),
    Bench(
        "udp",
        "UDP ping-pong",
        "udp",
        0,
        0,
        "datagrams",
        client=("udp",),
        target=("ratio", 0.90),
    ),
    Bench(
        "yield_future",
        "yield_future round trips",
        "yield_future",
        100_000,
        3_000,
        "round trips",
        ("aioeventlet", "asyncio_hub"),
        target=("rate", 40_000),
    ),
    Bench(
        "wrap_greenthread",
        "wrap_greenthread round trips",
        "wrap_greenthread",
        100_000,
        3_000,
        "round trips",
        ("aioeventlet", "eventlet", "asyncio_hub"),
        target=("rate", 55_000),
    ),
    Bench(
        "mixed",
        "mixed: green + asyncio echo, 10 + 10 clients",
        "mixed",
        0,
        0,
        "requests",
        ("aioeventlet",),
        ("echo", "--conns", "10"),
        target=("rate", 35_000),
    ),
    Bench(
        "mem_conns",
        "RSS per idle TCP connection",
        "mem_conns",
        10_000,
        500,
        "bytes",
        target=("mem", 1.05),
    ),
    Bench(
        "mem_tasks",
        "RSS per pending task",
        "mem_tasks",
        100_000,
        5_000,
        "bytes",
        target=("mem", 1.05),
    ),
]
BY_NAME = {b.name: b for b in BENCHES}


# -- running one measurement ------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONASYNCIODEBUG", None)
    env.pop("PYTHONDEVMODE", None)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p
    )
    return env


def _worker_cmd(bench: Bench, loop: str, size: int) -> list[str]:
    return [
        sys.executable,
        str(WORKER),
        "--loop",
        loop,
        "--workload",
        bench.workload,
        "--size",
        str(size),
    ]


def _parse_result(out: str, what: str) -> dict[str, Any]:
    for line in out.splitlines():
        if line.startswith("RESULT "):
            data: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return data
    raise RuntimeError(f"{what} printed no RESULT line:\n{out}")


def _read_line(proc: subprocess.Popen[str], what: str, timeout: float) -> str:
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise RuntimeError(f"{what}: no output within {timeout} s")
    line = proc.stdout.readline()
    if not line:
        _, err = proc.communicate(timeout=10)
        raise RuntimeError(f"{what} exited ({proc.returncode}):\n{err}")
    return line.strip()


def measure(bench: Bench, loop: str, quick: bool) -> dict[str, Any]:
    size = bench.quick if quick else bench.size
    what = f"{bench.name} on {loop}"
    if not bench.client and bench.workload != "mem_conns":
        proc = subprocess.run(
            _worker_cmd(bench, loop, size),
            capture_output=True,
            text=True,
            env=_env(),
            timeout=600,
            check=False,
        )
        if proc.returncode:
            raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stderr}")
        return _parse_result(proc.stdout, what)

    server = subprocess.Popen(
        _worker_cmd(bench, loop, size),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    client: subprocess.Popen[str] | None = None
    try:
        ports = _read_line(server, what, 60).split()[1:]
        port_args = [a for p in ports for a in ("--port", p)]
        if bench.workload == "mem_conns":
            client = subprocess.Popen(
                [sys.executable, str(CLIENT), "idle", *port_args, "--size", str(size)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=_env(),
            )
            line = _read_line(server, what, 300)
            return _parse_result(line, what)
        duration = 0.4 if quick else bench.duration
        warmup = 0.1 if quick else 0.5
        extra = ["--size", str(size)] if size else []
        out = subprocess.run(
            [
                sys.executable,
                str(CLIENT),
                *bench.client,
                *port_args,
                "--pid",
                str(server.pid),
                "--duration",
                str(duration),
                "--warmup",
                str(warmup),
                *extra,
            ],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=600,
            check=False,
        )
        if out.returncode:
            raise RuntimeError(f"client of {what} failed:\n{out.stderr}")
        return _parse_result(out.stdout, f"client of {what}")
    finally:
        if client is not None:
            client.kill()
            client.communicate()
        server.kill()
        server.communicate()


# -- statistics -------------------------------------------------------------------


@dataclass
class Cell:
    runs: list[dict[str, Any]] = field(default_factory=list)

    def values(self, key: str) -> list[float]:
        if key == "rate":
            return [r["ops"] / r["cpu"] for r in self.runs if r["cpu"] > 0]
        if key == "wall_rate":
            return [r["ops"] / r["wall"] for r in self.runs if r["wall"] > 0]
        return [float(r[key]) for r in self.runs if key in r]

    def median(self, key: str) -> float:
        vals = self.values(key)
        return statistics.median(vals) if vals else float("nan")

    def spread(self, key: str) -> tuple[float, float]:
        vals = self.values(key)
        return (min(vals), max(vals)) if vals else (float("nan"), float("nan"))


def run_all(
    benches: list[Bench], loops: list[str], reps: int, quick: bool, log: Any
) -> dict[str, dict[str, Cell]]:
    results: dict[str, dict[str, Cell]] = {}
    for bench in benches:
        kinds = [k for k in loops if k in bench.loops]
        cells = results.setdefault(bench.name, {k: Cell() for k in kinds})
        for rep in range(reps):
            for kind in kinds:  # A B A B ...
                data = measure(bench, kind, quick)
                cells[kind].runs.append(data)
                key = "bytes_per" if bench.is_memory else "rate"
                print(
                    f"  {bench.name:18} rep {rep + 1}/{reps} {kind:12} "
                    f"{data.get(key, data['ops'] / max(data.get('cpu', 0), 1e-9)):,.0f}",  # noqa: E501
                    file=log,
                    flush=True,
                )
    return results


def ratio(bench: Bench, cells: dict[str, Cell], kind: str) -> float | None:
    base = cells.get("asyncio")
    if base is None or kind not in cells:
        return None
    key = "bytes_per" if bench.is_memory else "rate"
    b = base.median(key)
    return cells[kind].median(key) / b if b else None


def verdict(bench: Bench, cells: dict[str, Cell]) -> str:
    if bench.target is None or "aioeventlet" not in cells:
        return ""
    kind, goal = bench.target
    if kind == "rate":
        value = cells["aioeventlet"].median("rate")
        return f"{'met' if value >= goal else 'MISSED'} (>= {goal:,.0f}/CPU s)"
    r = ratio(bench, cells, "aioeventlet")
    if r is None:
        return ""
    if kind == "mem":
        return f"{'met' if r <= goal else 'MISSED'} (<= {goal:.2f}x)"
    return f"{'met' if r >= goal else 'MISSED'} (>= {goal:.2f}x)"


# -- reporting --------------------------------------------------------------------


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "-"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def table(results: dict[str, dict[str, Cell]], loops: list[str]) -> str:
    lines = [
        "| benchmark | loop | CPU-normalised median (min-max) | ratio to asyncio "
        "| wall-clock median | p50 / p99 latency | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, cells in results.items():
        bench = BY_NAME[name]
        first = True
        for kind in [k for k in loops if k in cells]:
            cell = cells[kind]
            if bench.is_memory:
                lo, hi = cell.spread("bytes_per")
                main = f"{_fmt(cell.median('bytes_per'))} bytes ({_fmt(lo)}-{_fmt(hi)})"
                wall = "-"
            else:
                lo, hi = cell.spread("rate")
                rate = _fmt(cell.median("rate"))
                main = f"{rate} {bench.unit}/CPU s ({_fmt(lo)}-{_fmt(hi)})"
                wall = f"{_fmt(cell.median('wall_rate'))}/s"
            r = ratio(bench, cells, kind)
            rs = f"{r:.2f}x" if r is not None else "-"
            lat = "-"
            if cell.values("p50_us"):
                lat = (
                    f"{_fmt(cell.median('p50_us'))} / {_fmt(cell.median('p99_us'))} µs"
                )
            target = verdict(bench, cells) if kind == "aioeventlet" else ""
            title = bench.title if first else ""
            first = False
            lines.append(
                f"| {title} | {kind} | {main} | {rs} | {wall} | {lat} | {target} |"
            )
    return "\n".join(lines)


def machine() -> dict[str, str]:
    info = {"nproc": str(os.cpu_count()), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        info["cpu"] = platform.processor()
    from importlib import metadata

    for dist in ("eventlet", "greenlet", "uvloop"):
        try:
            info[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info[dist] = "not installed"
    info["kernel"] = platform.release()
    info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC"
    )
    info["commit"] = git_commit()
    return info


def git_commit() -> str:
    """The checkout's commit (short hash), or "unknown" outside git."""
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _rate_panel(
    ax: Any,
    results: dict[str, dict[str, Cell]],
    loops: list[str],
    rate_benches: list[Bench],
    colors: dict[str, str],
) -> None:
    """Benchmarks with a rate target: aioeventlet's rate, beside the
    equivalents measured (plain eventlet, eventlet's asyncio hub)."""
    names = [b.title.split(":")[0] for b in rate_benches]
    kinds = [k for k in loops if any(k in results[b.name] for b in rate_benches)]
    bar = 0.8 / max(1, len(kinds))
    for i, kind in enumerate(kinds):
        ys, xs = [], []
        for j, b in enumerate(rate_benches):
            if kind in results[b.name]:
                ys.append(j + (i - (len(kinds) - 1) / 2) * bar)
                xs.append(results[b.name][kind].median("rate") / 1000)
        ax.barh(ys, xs, height=bar, color=colors.get(kind), label=kind)
    for j, b in enumerate(rate_benches):
        assert b.target is not None
        ax.plot([b.target[1] / 1000] * 2, [j - 0.45, j + 0.45], color="black", lw=1.5)
    ax.set_yticks(range(len(rate_benches)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("thousand per CPU s; tick = target")
    ax.legend(loc="lower right", fontsize=7)
    ax.grid(axis="x", alpha=0.3)


def chart(
    results: dict[str, dict[str, Cell]],
    loops: list[str],
    info: dict[str, str],
    path: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratio_benches = [
        b
        for b in BENCHES
        if b.name in results
        and "asyncio" in results[b.name]
        and len(results[b.name]) > 1
    ]
    rate_benches = [
        b for b in BENCHES if b.name in results and b.target and b.target[0] == "rate"
    ]
    fig, axes = plt.subplots(
        1,
        2,
        figsize=(13, 0.42 * len(ratio_benches) + 2.5),
        gridspec_kw={"width_ratios": [3, 1.3]},
    )
    ax = axes[0]
    # Only loops with a ratio somewhere: asyncio_hub has rates, not ratios.
    others = [
        k
        for k in loops
        if k != "asyncio" and any(k in results[b.name] for b in ratio_benches)
    ]
    colors = {
        "uvloop": "#8c8c8c",
        "aioeventlet": "#1f77b4",
        "eventlet": "#ff7f0e",
        "asyncio_hub": "#2ca02c",
    }
    height = 0.8 / max(1, len(others))
    for i, kind in enumerate(others):
        ys, xs = [], []
        for j, b in enumerate(ratio_benches):
            r = ratio(b, results[b.name], kind)
            if r is not None:
                ys.append(j + (i - (len(others) - 1) / 2) * height)
                xs.append(r)
        ax.barh(ys, xs, height=height, color=colors.get(kind), label=kind)
    for j, b in enumerate(ratio_benches):
        if b.target and b.target[0] in ("ratio", "mem"):
            ax.plot([b.target[1]] * 2, [j - 0.45, j + 0.45], color="black", lw=1.5)
    ax.axvline(1.0, color="red", lw=0.8, ls="--")
    ax.set_yticks(range(len(ratio_benches)))
    ax.set_yticklabels(
        [
            b.title + (" (lower is better)" if b.is_memory else "")
            for b in ratio_benches
        ],
        fontsize=8,
    )
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(
        "median CPU-normalised rate (memory: bytes) / stock asyncio's; "
        "black tick = target"
    )
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", which="both", alpha=0.3)
    if rate_benches:
        _rate_panel(axes[1], results, loops, rate_benches, colors)
    else:
        axes[1].axis("off")
    fig.suptitle(
        f"aioeventlet vs stock asyncio - Python {info['python']}, eventlet "
        f"{info['eventlet']}, greenlet {info['greenlet']}, "
        f"{info['nproc']} x {info['cpu']}",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


START = "<!-- benchmark-results:start -->"
END = "<!-- benchmark-results:end -->"


@dataclass
class Section:
    """One complete run (one Python), as rendered in the doc."""

    info: dict[str, str]
    results: dict[str, dict[str, Cell]]
    reps: int
    quick: bool
    chart: Path
    # Benchmarks re-measured by a later --json file: which, when, at what commit.
    reruns: list[str] = field(default_factory=list)

    @property
    def loops(self) -> list[str]:
        seen = {k for cells in self.results.values() for k in cells}
        return [k for k in ALL_LOOPS if k in seen]


def _block(section: Section) -> str:
    info = section.info
    return "\n".join(
        [
            f"### Python {info['python']}",
            "",
            f"Measured {info['date']} at commit `{info['commit']}`: {info['nproc']} x "
            f"{info['cpu']}, Linux {info['kernel']}, Python {info['python']}, eventlet "
            f"{info['eventlet']} (epolls hub), greenlet {info['greenlet']}, uvloop "
            f"{info['uvloop']}; {section.reps} repetitions"
            f"{' (--quick sizes)' if section.quick else ''}, loops alternated, "
            f"each run "
            f"in a fresh process." + "".join(f" {rerun}" for rerun in section.reruns),
            "",
            f"![aioeventlet against stock asyncio, Python {info['python']}]"
            f"({os.path.relpath(section.chart, DOC.parent)})",
            "",
            table(section.results, section.loops),
            "",
        ]
    )


def write_doc(sections: list[Section]) -> None:
    block = "\n".join([START, "", *(_block(s) for s in sections), END])
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(head + block + tail)


def render(paths: list[Path]) -> list[Section]:
    """Sections from --json files: one per Python version, in the order first
    seen; a later file's benchmarks replace an earlier one's (a re-run)."""
    by_python: dict[str, Section] = {}
    for path in paths:
        results, raw = load(path)
        info = raw["machine"]
        section = by_python.get(info["python"])
        if section is None:
            name = (
                "performance.png"
                if not by_python
                else (f"performance-{info['python']}.png")
            )
            by_python[info["python"]] = Section(
                info, results, raw["reps"], raw["quick"], CHART.parent / name
            )
        else:
            # The header keeps the first file's date and commit; say which
            # benchmarks this file replaced, and when and where it measured.
            section.results.update(results)
            titles = ", ".join(
                BY_NAME[name].title for name in results if name in BY_NAME
            )
            section.reruns.append(
                f"Re-measured {info['date']} at commit `{info['commit']}` "
                f"({raw['reps']} repetitions): {titles}."
            )
    # Keep the benchmark order of BENCHES whatever the files' order.
    for section in by_python.values():
        section.results = {
            b.name: section.results[b.name]
            for b in BENCHES
            if b.name in section.results
        }
    return list(by_python.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--loop",
        action="append",
        choices=ALL_LOOPS,
        help="loops to measure (repeatable; default: all installed)",
    )
    parser.add_argument(
        "-b",
        "--bench",
        action="append",
        choices=sorted(BY_NAME),
        help="benchmarks to run (repeatable; default: all)",
    )
    parser.add_argument(
        "--reps", type=int, default=None, help="repetitions (default 5; 1 with --quick)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, short runs: checks that everything works",
    )
    parser.add_argument("--json", type=Path, help="write every raw run here")
    parser.add_argument(
        "--doc",
        action="store_true",
        help="rewrite the results in docs/performance.md and the chart",
    )
    parser.add_argument(
        "--render",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="run nothing: rewrite docs/performance.md and the charts "
        "from --json files (one section per Python; later files "
        "replace benchmarks of earlier ones)",
    )
    args = parser.parse_args(argv)
    if args.render:
        sections = render(args.render)
        for section in sections:
            chart(section.results, section.loops, section.info, section.chart)
            print(table(section.results, section.loops))
        write_doc(sections)
        return 0
    loops = list(args.loop or ALL_LOOPS)
    if "uvloop" in loops and args.loop is None:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            loops.remove("uvloop")
    reps = args.reps or (1 if args.quick else 5)
    benches = [BY_NAME[n] for n in args.bench] if args.bench else BENCHES
    info = machine()
    print(
        f"Python {info['python']}, {info['nproc']} x {info['cpu']}; loops {loops}; "
        f"{reps} reps",
        file=sys.stderr,
    )
    results = run_all(benches, loops, reps, args.quick, sys.stderr)
    print(table(results, loops))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "reps": reps,
                    "quick": args.quick,
                    "results": {
                        n: {k: c.runs for k, c in cells.items()}
                        for n, cells in results.items()
                    },
                },
                indent=1,
            )
        )
    if args.doc:
        section = Section(info, results, reps, args.quick, CHART)
        chart(results, section.loops, info, CHART)
        write_doc([section])
    return 0


def load(path: Path) -> tuple[dict[str, dict[str, Cell]], dict[str, Any]]:
    """Results saved with --json, for re-rendering the doc without re-running."""
    raw = json.loads(path.read_text())
    results = {
        n: {k: Cell(runs) for k, runs in cells.items()}
        for n, cells in raw["results"].items()
    }
    return results, raw


if __name__ == "__main__":
    sys.exit(main())
