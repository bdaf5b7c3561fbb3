"""Run CPython's own test_asyncio against aioeventlet.EventLoop.

Each test module runs in its own interpreter (``_worker.py``) with a per-test
watchdog: a hang is a failure, never a stuck run.  Outcomes are compared with
stock asyncio's (``SelectorEventLoop``) on the same modules: the bar is "every
test that passes on stock passes on aioeventlet", except the entries of
``known_failures.py``, which must still fail (strict).

Stock results are recorded once per Python in ``data/<X.Y>.json`` (they only
change with the interpreter), so a normal run only runs aioeventlet.

    python -m tests.cpython.run                    # this Python, plain mode
    python -m tests.cpython.run --mode patched     # under eventlet.monkey_patch()
    python -m tests.cpython.run --stock --record   # re-run stock too, save results
    python -m tests.cpython.run --write-docs       # docs/conformance/cpython.md

Run it with the interpreter to test (a venv with aioeventlet installed), from
the repository root.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from . import known_failures
except ImportError:  # run as a script: python tests/cpython/run.py
    sys.path.insert(0, str(Path(__file__).parent))
    import known_failures  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = HERE / "data"
DOC = ROOT / "docs" / "conformance" / "cpython.md"
WORKER = HERE / "_worker.py"

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
MODES = ("plain", "patched")
OK = frozenset({"pass", "xfail"})

# Modules not run, and why.  Everything else in test_asyncio named test_*.py
# runs.  The rule: a module is excluded only if it tests asyncio's own classes
# through mocks of their internals, or a platform other than Linux.
EXCLUDED: dict[str, str] = {
    "test_base_events": (
        "tests BaseEventLoop's own internals: mocked selectors, sockets and "
        "_run_once/_process_events of asyncio's classes, not a loop's behaviour"
    ),
    "test_selector_events": (
        "tests BaseSelectorEventLoop and the selector transports with a mocked "
        "selector and mocked sockets: asyncio's classes, which aioeventlet "
        "inherits unchanged"
    ),
    "test_proactor_events": "Windows proactor loop internals (mocked)",
    "test_windows_events": "Windows only",
    "test_windows_utils": "Windows only",
}

# Seconds a test may run before the watchdog calls it hung.  Under patching,
# stock asyncio hangs in every test whose helper "thread" is a greenthread its
# loop never yields to; a shorter watchdog keeps those runs short.  The
# slowest test that passes takes a few seconds.
PER_TEST_TIMEOUT = {"plain": 60.0, "patched": 20.0}
MAX_RESTARTS = 25


def stdlib_test_asyncio() -> Path:
    # The interpreter's own copy, found without importing it (its package
    # __init__ checks the platform at import).
    return Path(sysconfig.get_path("stdlib")) / "test" / "test_asyncio"


def discover_modules() -> list[str]:
    return sorted(
        p.stem
        for p in stdlib_test_asyncio().glob("test_*.py")
        if p.stem not in EXCLUDED
    )


# -- running one module --------------------------------------------------------


@dataclass
class ModuleRun:
    module: str
    loop: str
    mode: str
    outcomes: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    loops: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    restarts: int = 0


def _read_records(path: Path) -> Iterable[dict[str, Any]]:
    if not path.exists():
        return
    with path.open() as f:
        for raw in f:
            line = raw.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:  # a line cut by a kill
                continue


def run_module(  # noqa: PLR0912, PLR0915 - one retry loop, read top to bottom
    module: str,
    loop: str,
    mode: str,
    *,
    python: str = sys.executable,
    test_timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> ModuleRun:
    """Run *module* until every test has an outcome, restarting after hangs
    and crashes with the finished tests (and the culprit) skipped."""
    result = ModuleRun(module, loop, mode)
    if test_timeout is None:
        test_timeout = PER_TEST_TIMEOUT[mode]
    workdir = Path(tempfile.mkdtemp(prefix=f"aioeventlet-{module}-"))
    out = workdir / "results.jsonl"
    skip = workdir / "skip.txt"
    skip.write_text("")
    known = workdir / "known.txt"
    known.write_text("\n".join(known_ids(module, mode)) + "\n")
    env = {**os.environ, **(env or {})}
    env.pop("PYTHONASYNCIODEBUG", None)
    env.pop("PYTHONDEVMODE", None)
    started = time.monotonic()
    try:
        while True:
            cmd = [python, str(WORKER), module, "--loop", loop, "--out", str(out)]
            cmd += ["--skip", str(skip), "--test-timeout", str(test_timeout)]
            if loop == "aioeventlet":
                cmd += ["--known", str(known)]
            if mode == "patched":
                cmd.append("--patched")
            stderr_path = workdir / f"stderr-{result.restarts}.txt"
            with stderr_path.open("w") as stderr:
                proc = subprocess.Popen(
                    cmd,
                    cwd=workdir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=stderr,
                    start_new_session=True,
                )
                try:
                    # Backstop only: the worker's watchdog ends a hung test.
                    proc.wait(timeout=test_timeout * 4 + 600)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            finished = False
            in_flight: str | None = None
            for record in _read_records(out):
                if "start" in record:
                    in_flight = record["start"]
                elif "id" in record:
                    test_id = record["id"]
                    result.outcomes[test_id] = record["outcome"]
                    if record["detail"] and record["outcome"] not in OK:
                        result.details[test_id] = record["detail"]
                    result.loops[test_id] = record["loops"]
                    if test_id == in_flight:
                        in_flight = None
                elif "finished" in record:
                    finished = True
            # The worker may still have died after its last test (in a
            # tearDownModule, or at exit): reap the children it left behind.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            if finished and proc.returncode == 0:
                break
            stderr_text = stderr_path.read_text(errors="replace")
            culprit = in_flight or f"{module} (process)"
            hung = "Timeout (" in stderr_text
            result.outcomes[culprit] = "hang" if hung else "crash"
            result.details[culprit] = (
                f"exit status {proc.returncode}; stderr:\n{stderr_text[-4000:]}"
            )
            result.restarts += 1
            if in_flight is None or result.restarts > MAX_RESTARTS:
                break
            skip.write_text("\n".join(result.outcomes) + "\n")
            out.unlink()
    finally:
        result.seconds = time.monotonic() - started
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def known_ids(module: str, mode: str, python: str = PYTHON) -> list[str]:
    """The tests of *module* the table expects to fail here."""
    return [
        test_id
        for test_id, entry in known_failures.KNOWN_FAILURES.items()
        if test_id.split(".", 1)[0] == module
        and known_failures.applies(entry, python, mode)
    ]


def run_modules(
    modules: list[str], loop: str, mode: str, *, jobs: int, order_by: dict[str, float]
) -> dict[str, ModuleRun]:
    # Longest first, so that two workers finish together.
    ordered = sorted(modules, key=lambda m: -order_by.get(m, 0.0))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(lambda m: run_module(m, loop, mode), ordered))
    return {r.module: r for r in runs}


# -- recorded data ---------------------------------------------------------------


def data_path(python: str = PYTHON) -> Path:
    return DATA / f"{python}.json"


def load_data(python: str = PYTHON) -> dict[str, Any]:
    path = data_path(python)
    if path.exists():
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    return {"python": python}


def save_data(data: dict[str, Any], python: str = PYTHON) -> None:
    DATA.mkdir(exist_ok=True)
    data_path(python).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def outcomes_of(runs: dict[str, ModuleRun]) -> dict[str, dict[str, str]]:
    return {m: dict(sorted(r.outcomes.items())) for m, r in sorted(runs.items())}


# -- comparing -------------------------------------------------------------------


@dataclass
class ModuleVerdict:
    module: str
    stock_ok: int = 0
    ours_ok: int = 0  # among stock_ok
    known: int = 0  # among stock_ok, failing as the table says
    ours_passed: int = 0
    ours_failed: int = 0
    ours_skipped: int = 0
    stock_passed: int = 0
    stock_failed: int = 0
    stock_skipped: int = 0
    on_our_loop: int = 0
    on_stock_loop: list[str] = field(default_factory=list)
    unexpected_failures: list[str] = field(default_factory=list)
    unexpected_passes: list[str] = field(default_factory=list)
    stale_entries: list[str] = field(default_factory=list)
    wrong_harness: list[str] = field(default_factory=list)
    plain_ok: int = 0  # patched mode: tests stock asyncio passes unpatched
    ours_ok_vs_plain: int = 0


def _counts(outcomes: dict[str, str]) -> tuple[int, int, int]:
    passed = sum(o in OK for o in outcomes.values())
    skipped = sum(o == "skip" for o in outcomes.values())
    return passed, len(outcomes) - passed - skipped, skipped


def judge(  # noqa: PLR0912, PLR0917 - one comparison, read top to bottom
    module: str,
    stock: dict[str, str],
    ours: dict[str, str],
    mode: str,
    python: str = PYTHON,
    loops: dict[str, list[str]] | None = None,
    stock_plain: dict[str, str] | None = None,
) -> ModuleVerdict:
    """Compare our outcomes with stock asyncio's for one module.

    The tests that must pass are those stock asyncio passes in the same mode
    and, under patching, also those it passes unpatched (*stock_plain*): a
    test that patching breaks for stock asyncio too needs a table entry of
    cause "harness", which is checked against *stock*.
    """
    v = ModuleVerdict(module)
    v.stock_passed, v.stock_failed, v.stock_skipped = _counts(stock)
    v.ours_passed, v.ours_failed, v.ours_skipped = _counts(ours)
    if loops is not None:
        v.on_our_loop = sum("aioeventlet" in kinds for kinds in loops.values())
        v.on_stock_loop = [t for t, kinds in loops.items() if "stock" in kinds]
    table = {
        test_id: entry
        for test_id, entry in known_failures.KNOWN_FAILURES.items()
        if test_id.split(".", 1)[0] == module
        and known_failures.applies(entry, python, mode)
    }
    required = {t for t, o in stock.items() if o in OK}
    if stock_plain is not None:
        plain_ok = {t for t, o in stock_plain.items() if o in OK}
        v.plain_ok = len(plain_ok)
        v.ours_ok_vs_plain = sum(ours.get(t, "missing") in OK for t in plain_ok)
        required |= plain_ok
    for test_id in sorted(required):
        ok = ours.get(test_id, "missing") in OK
        in_stock = stock.get(test_id, "missing") in OK
        if in_stock:
            v.stock_ok += 1
        entry = table.get(test_id)
        # A flaky entry is a race in the test: a pass counts as a pass, and
        # stock asyncio may pass it too.
        if entry is not None and not (ok and entry.flaky):
            if ok:
                v.unexpected_passes.append(test_id)
            elif in_stock:
                v.known += 1
            if entry.cause == "harness" and in_stock and not entry.flaky:
                v.wrong_harness.append(test_id)
        elif ok:
            v.ours_ok += in_stock
        else:
            v.unexpected_failures.append(test_id)
    for test_id in table:
        # An entry for a test this Python does not have is no error: the
        # table serves every version.
        exists = test_id in stock or test_id in ours
        if exists and test_id not in required:
            v.stale_entries.append(test_id)
    # A test that appears only under our loop (a crash of a fixture, say).
    for test_id, outcome in ours.items():
        if test_id not in stock and outcome not in OK | {"skip"}:
            v.unexpected_failures.append(test_id)
    return v


def problems(v: ModuleVerdict, run: ModuleRun, *, verbose: bool = True) -> list[str]:
    """What makes the run fail, one message each (empty: all is well)."""
    found = []
    for test_id in v.unexpected_failures:
        outcome = run.outcomes.get(test_id, "missing")
        detail = run.details.get(test_id, "")
        if verbose or len(v.unexpected_failures) < 10:
            detail = detail[-2500:]
        else:
            detail = detail.strip().rsplit("\n", 1)[-1]
        found.append(f"UNEXPECTED FAILURE ({outcome}): {test_id}\n{detail}")
    found += [
        f"UNEXPECTED PASS: {t} passes now: remove it from known_failures.py"
        for t in v.unexpected_passes
    ]
    found += [
        f"STALE ENTRY: {t} does not pass on stock asyncio either: remove it "
        f"from known_failures.py"
        for t in v.stale_entries
    ]
    found += [
        f"WRONG CAUSE: {t} is listed as a harness failure, but stock asyncio "
        f"passes it under the same patching: the fault is the loop's"
        for t in v.wrong_harness
    ]
    # The point of the run is that every loop is an aioeventlet one.
    found += [f"SANITY: {t} ran on a stock asyncio loop" for t in v.on_stock_loop]
    return found


def percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.2f}%" if whole else "n/a"


# -- the command line -----------------------------------------------------------


def _print_verdicts(
    title: str,
    verdicts: list[ModuleVerdict],
    runs: dict[str, ModuleRun],
) -> tuple[int, int, int]:
    print(f"\n== {title}")
    header = (
        f"{'module':24} {'stock p/f/s':>14} {'aioeventlet p/f/s':>18} "
        f"{'ok/stock-ok':>12} {'known':>5} {'new':>4} {'on-ours':>7} {'secs':>6}"
    )
    print(header)
    total_stock = total_ours = total_known = 0
    for v in verdicts:
        secs = runs[v.module].seconds if v.module in runs else 0.0
        print(
            f"{v.module:24} "
            f"{f'{v.stock_passed}/{v.stock_failed}/{v.stock_skipped}':>14} "
            f"{f'{v.ours_passed}/{v.ours_failed}/{v.ours_skipped}':>18} "
            f"{f'{v.ours_ok}/{v.stock_ok}':>12} {v.known:>5} "
            f"{len(v.unexpected_failures) + len(v.unexpected_passes):>4} "
            f"{v.on_our_loop:>7} {secs:>6.1f}"
        )
        total_stock += v.stock_ok
        total_ours += v.ours_ok
        total_known += v.known
    return total_stock, total_ours, total_known


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915 - the CLI script
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="default: every module run")
    parser.add_argument("--mode", choices=MODES, default="plain")
    parser.add_argument(
        "--stock", action="store_true", help="re-run stock asyncio as well"
    )
    parser.add_argument("--record", action="store_true", help=f"save results in {DATA}")
    parser.add_argument("--write-docs", action="store_true", help=f"write {DOC}")
    parser.add_argument("--docs-only", action="store_true")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)

    if args.docs_only:
        write_docs()
        return 0
    mode = args.mode
    modules = args.modules or discover_modules()
    data = load_data()
    data["python"] = PYTHON
    data["python_full"] = sys.version.split()[0]
    timings = data.get("seconds", {}).get(f"aioeventlet-{mode}", {})

    stock_key, ours_key = f"stock-{mode}", f"aioeventlet-{mode}"
    stock_data: dict[str, dict[str, str]] = data.get(stock_key, {})
    missing = [m for m in modules if m not in stock_data]
    stock_runs: dict[str, ModuleRun] = {}
    started = time.monotonic()
    if args.stock or missing:
        todo = modules if args.stock else missing
        print(f"running stock asyncio ({mode}) on {len(todo)} modules ...", flush=True)
        stock_runs = run_modules(
            todo, "asyncio", mode, jobs=args.jobs, order_by=timings
        )
        stock_data = {**stock_data, **outcomes_of(stock_runs)}
        data[stock_key] = dict(sorted(stock_data.items()))
        data.setdefault("seconds", {})[stock_key] = {
            m: round(r.seconds, 1) for m, r in stock_runs.items()
        }
    stock_seconds = time.monotonic() - started
    print(f"running aioeventlet ({mode}) on {len(modules)} modules ...", flush=True)
    started = time.monotonic()
    runs = run_modules(modules, "aioeventlet", mode, jobs=args.jobs, order_by=timings)
    ours_seconds = time.monotonic() - started

    plain = data.get("stock-plain", {}) if mode == "patched" else None
    verdicts = [
        judge(
            m,
            stock_data.get(m, {}),
            runs[m].outcomes,
            mode,
            loops=runs[m].loops,
            stock_plain=None if plain is None else plain.get(m, {}),
        )
        for m in sorted(runs)
    ]
    total_stock, total_ours, total_known = _print_verdicts(
        f"Python {PYTHON} {mode}", verdicts, runs
    )
    bad = False
    for v in verdicts:
        for problem in problems(v, runs[v.module], verbose=args.verbose):
            bad = True
            print(f"\n{problem}")
    print(
        f"\nPython {PYTHON} {mode}: aioeventlet passes {total_ours} of the "
        f"{total_stock} tests stock asyncio passes "
        f"({percent(total_ours, total_stock)}); {total_known} known failures"
    )
    if plain is not None:
        plain_ok = sum(v.plain_ok for v in verdicts)
        vs_plain = sum(v.ours_ok_vs_plain for v in verdicts)
        print(
            f"Python {PYTHON} {mode}: versus stock asyncio unpatched, "
            f"aioeventlet passes {vs_plain} of {plain_ok} "
            f"({percent(vs_plain, plain_ok)})"
        )
    print(
        f"Python {PYTHON} {mode}: aioeventlet run {ours_seconds:.0f} s"
        + (f", stock run {stock_seconds:.0f} s" if stock_runs else "")
        + (" -- FAILED" if bad else " -- OK")
    )
    if args.record:
        data[ours_key] = {**data.get(ours_key, {}), **outcomes_of(runs)}
        data.setdefault("seconds", {})[ours_key] = {
            **data.get("seconds", {}).get(ours_key, {}),
            **{m: round(r.seconds, 1) for m, r in runs.items()},
        }
        data.setdefault("on_aioeventlet_loop", {})[ours_key] = {
            **data.get("on_aioeventlet_loop", {}).get(ours_key, {}),
            **{v.module: v.on_our_loop for v in verdicts},
        }
        data.setdefault("wall", {})[ours_key] = round(ours_seconds, 1)
        if stock_runs:
            data["wall"][stock_key] = round(stock_seconds, 1)
        save_data(data)
    if args.write_docs:
        write_docs()
    return 1 if bad else 0


# -- docs/conformance/cpython.md -------------------------------------------------


def write_docs() -> None:
    from . import _docs

    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(_docs.render(DATA, EXCLUDED, known_failures.KNOWN_FAILURES, judge))
    print(f"wrote {DOC}")


if __name__ == "__main__":
    sys.exit(main())
