"""Run eventlet's own test suite with and without an aioeventlet loop alive.

eventlet's suite is the green side's conformance bar, as CPython's
test_asyncio is the asyncio side's: a loop alive in the process must not
change what greenthreads see, except the hub's own listener and timer counts.

The ``tests/`` of the installed eventlet's sdist (fetched once with ``pip
download`` into a cache, never committed) runs twice with pytest, at the
same time: as is (the reference), and with ``plugin/aioeventlet_live_loop.py``,
which keeps a loop doing light asyncio work alive in a greenthread around
every test.  A test that passes as is must pass with the loop, unless
``known_failures.py`` lists it; a listed test that passes fails the run.

    python -m tests.eventlet_suite.run                  # this Python
    python -m tests.eventlet_suite.run tests/hub_test.py  # some of the suite
    python -m tests.eventlet_suite.run --record         # save data/<X.Y>.json
    python -m tests.eventlet_suite.run --docs-only      # docs page from data/

Run it from the repository root with the interpreter to test (a venv with
aioeventlet, pytest, pytest-timeout and pip installed); the nox session
``eventlet_suite`` does that.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from . import known_failures
except ImportError:  # run as a script: python tests/eventlet_suite/run.py
    sys.path.insert(0, str(Path(__file__).parent))
    import known_failures  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = HERE / "data"
DOC = ROOT / "docs" / "conformance" / "eventlet.md"
# Alone in its directory: that directory goes on PYTHONPATH (see the plugin).
PLUGIN_DIR = HERE / "plugin"
PLUGIN = "aioeventlet_live_loop"
CACHE_ENV = "AIOEVENTLET_EVENTLET_SUITE_CACHE"

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
OK = frozenset({"pass", "xfail"})
RUNS = ("reference", "with-loop")
# pytest-timeout's limit for one test: eventlet's slowest test takes about
# 20 s on a loaded machine; a hang must end as a failure, not stall CI.
PER_TEST_TIMEOUT = 120
RUN_TIMEOUT = 1800

# Why the reference skips what it skips here; eventlet's skips mostly say no
# more than "Skipped".  Keyed by node id prefix.
SKIP_NOTES = {
    "tests/db_pool_test.py": "needs a MySQL or PostgreSQL server (not run here)",
    "tests/mysqldb_test.py": "needs MySQLdb (mysqlclient) and a MySQL server",
    "tests/patcher_psycopg_test.py": "needs psycopg2 and a PostgreSQL server",
    "tests/asyncio_test.py": "only on eventlet's asyncio hub (EVENTLET_HUB=asyncio)",
    "tests/backdoor_test.py::BackdoorTest::test_server_on_ipv6_socket": (
        "IPv6 tests run only with eventlet_test_ipv6=1 (tox's ipv6 env)"
    ),
    "tests/wsgi_test.py::TestHttpd::test_ipv6": (
        "IPv6 tests run only with eventlet_test_ipv6=1 (tox's ipv6 env)"
    ),
    "tests/hub_test.py::TestHubBlockingDetector::test_block_detect_with_itimer": (
        "needs the itimer module"
    ),
}


# -- the suite -----------------------------------------------------------------


def eventlet_version() -> str:
    return importlib.metadata.version("eventlet")


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or ROOT / ".nox" / "eventlet-suite")


def fetch_suite(version: str, cache: Path) -> Path:
    """eventlet *version*'s ``tests/`` from its sdist, extracted once under
    *cache*; returns the directory to run pytest in (it holds ``tests/``)."""
    home = cache / f"eventlet-{version}"
    suite = home / "suite"
    if (suite / "tests" / "__init__.py").is_file():
        return suite
    home.mkdir(parents=True, exist_ok=True)
    sdists = sorted(home.glob("eventlet-*.tar.gz"))
    if not sdists:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps"]
        cmd += ["--no-binary", ":all:", "--disable-pip-version-check"]
        cmd += ["--dest", str(home), f"eventlet=={version}"]
        print("$", " ".join(cmd), flush=True)
        try:
            subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise SystemExit(
                f"could not download eventlet {version}'s sdist ({exc}).  The run "
                f"needs pip in {sys.executable} (the nox session installs it) and "
                f"PyPI; or put eventlet-{version}.tar.gz in {home} yourself."
            ) from exc
        sdists = sorted(home.glob("eventlet-*.tar.gz"))
    if len(sdists) != 1:
        raise SystemExit(f"expected one eventlet sdist in {home}, found {sdists}")
    # Extract beside, then rename: a run killed halfway leaves no half suite.
    partial = Path(tempfile.mkdtemp(prefix="suite-", dir=home))
    with tarfile.open(sdists[0]) as tar:
        members = []
        for member in tar.getmembers():
            parts = Path(member.name).parts
            # Only tests/: with eventlet's own package beside it, `import
            # eventlet` would load the sdist's copy, not the installed one.
            if len(parts) > 1 and parts[1] == "tests":
                member.name = str(Path(*parts[1:]))
                members.append(member)
        if not members:
            raise SystemExit(f"{sdists[0]} has no tests/ directory")
        tar.extractall(partial, members=members, filter="data")
    # eventlet keeps no pytest configuration (tox runs plain `pytest tests/`);
    # an empty one here stops pytest from reaching up to ours (.nox is inside
    # this repository), whose filterwarnings=error is for our tests only.
    (partial / "pytest.ini").write_text(
        "# Written by aioeventlet's tests/eventlet_suite/run.py: eventlet's\n"
        "# suite has no pytest configuration; this one keeps pytest from\n"
        "# finding aioeventlet's.\n[pytest]\n"
    )
    shutil.rmtree(suite, ignore_errors=True)
    partial.rename(suite)
    return suite


def pytest_command(run: str, junit: Path, selection: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    # aioeventlet's own plugin (an entry point, inert unless --aioeventlet)
    # stays out of both runs: the reference is eventlet's suite as is.
    cmd += ["-p", "no:aioeventlet"]
    if run == "with-loop":
        cmd += ["-p", PLUGIN]
    cmd += ["-o", "junit_family=xunit1", f"--junitxml={junit}"]
    cmd += [f"--timeout={PER_TEST_TIMEOUT}", "-q", "-rfEs"]
    return cmd + selection


def start_run(
    run: str, suite: Path, out: Path, selection: list[str]
) -> tuple[subprocess.Popen[bytes], float]:
    env = dict(os.environ)
    # The same PYTHONPATH for both runs (it reaches the programs of
    # tests/isolated too); only -p differs.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PLUGIN_DIR), env.get("PYTHONPATH", "")) if p
    )
    for name in ("PYTHONASYNCIODEBUG", "PYTHONDEVMODE", "PYTHONWARNINGS"):
        env.pop(name, None)
    # eventlet's CPU-usage checks (tests.check_idle_cpu_usage) allow five
    # times the budget when CI=true, as eventlet's own CI runs them, since
    # shared machines make them "reliably unreliable" (its comment).  Set
    # here for both runs wherever they run, so that a developer's run and
    # CI's judge alike.  The harness's loop (an echo every 5 ms, about 5 % of
    # a core on stock asyncio as on aioeventlet) otherwise fills half of the
    # 10 % that an idle process is allowed; a busy loop still fails.
    env["CI"] = "true"
    junit = out / f"{run}.xml"
    junit.unlink(missing_ok=True)
    log = (out / f"{run}.log").open("wb")
    with log:
        proc = subprocess.Popen(
            pytest_command(run, junit, selection),
            cwd=suite,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return proc, time.monotonic()


# -- results -------------------------------------------------------------------


@dataclass
class Results:
    outcomes: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    skips: dict[str, str] = field(default_factory=dict)
    isolated: set[str] = field(default_factory=set)
    ticks: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def node_id(case: ET.Element) -> str:
    """The pytest node id of a junitxml (xunit1) test case."""
    name = case.get("name", "")
    classname = case.get("classname", "")
    path = case.get("file")
    if not classname:  # a module that failed or skipped at collection
        return path or name.replace(".", "/") + ".py"
    if path is None:
        return f"{classname}::{name}"
    module = path.removesuffix(".py").replace("/", ".")
    inner = classname[len(module) + 1 :] if classname.startswith(module) else ""
    return "::".join([path, *filter(None, inner.split(".")), name])


def parse_junit(path: Path) -> Results:
    results = Results()
    if not path.exists():
        return results
    worst = {"pass": 0, "skip": 1, "xfail": 1, "fail": 2}
    for case in ET.parse(path).iter("testcase"):
        test_id = node_id(case)
        outcome, detail = "pass", ""
        for child in case:
            if child.tag in {"failure", "error"}:
                outcome = "fail"
                detail += (
                    f"[{child.tag}] {child.get('message', '')}\n{child.text or ''}\n"
                )
            elif child.tag == "skipped":
                xfail = child.get("type") == "pytest.xfail"
                outcome = "xfail" if xfail else "skip"
                results.skips[test_id] = child.get("message") or ""
            elif child.tag == "properties":
                for prop in child:
                    if prop.get("name") == "isolated":
                        results.isolated.add(test_id)
                    elif prop.get("name") == "loop_ticks":
                        results.ticks[test_id] = int(prop.get("value", "0"))
        # A test reported twice (a teardown error after the call) keeps its
        # worst outcome.
        previous = results.outcomes.get(test_id, "pass")
        if worst[outcome] >= worst[previous]:
            results.outcomes[test_id] = outcome
        if detail:
            results.details[test_id] = results.details.get(test_id, "") + detail
    return results


# -- comparing -----------------------------------------------------------------


@dataclass
class Verdict:
    required: int = 0  # tests that pass as is
    ok: int = 0  # of those, pass with the loop too
    known: list[str] = field(default_factory=list)
    unexpected_failures: list[str] = field(default_factory=list)
    unexpected_passes: list[str] = field(default_factory=list)
    stale_entries: list[str] = field(default_factory=list)
    reference_failures: list[str] = field(default_factory=list)


def judge(
    reference: dict[str, str],
    with_loop: dict[str, str],
    python: str = PYTHON,
    table: dict[str, known_failures.Known] | None = None,
) -> Verdict:
    """Compare the two runs' outcomes, test by test."""
    if table is None:
        table = known_failures.KNOWN_FAILURES
    listed = {t for t, entry in table.items() if known_failures.applies(entry, python)}
    v = Verdict()
    for test_id, outcome in sorted(reference.items()):
        ours = with_loop.get(test_id, "missing")
        if outcome not in OK:
            if outcome != "skip":
                v.reference_failures.append(test_id)
            # A test the reference skips and the loop's run fails: the loop
            # changed what the test saw.
            if outcome == "skip" and ours not in OK | {"skip"}:
                v.unexpected_failures.append(test_id)
            if test_id in listed:
                v.stale_entries.append(test_id)
            continue
        v.required += 1
        if test_id in listed:
            if ours in OK:
                v.unexpected_passes.append(test_id)
            else:
                v.known.append(test_id)
        elif ours in OK:
            v.ok += 1
        else:
            v.unexpected_failures.append(test_id)
    # A test only the loop's run has (a crash at collection, say).
    v.unexpected_failures += sorted(
        t for t, o in with_loop.items() if t not in reference and o not in OK | {"skip"}
    )
    return v


def problems(v: Verdict, ours: Results) -> list[str]:
    """What makes the run fail, one message each (empty: all is well)."""
    found = [
        f"UNEXPECTED FAILURE: {t} passes without the loop, fails with it:\n"
        f"{ours.details.get(t, '(no detail: the run did not report it)')[-3000:]}"
        for t in v.unexpected_failures
    ]
    found += [
        f"UNEXPECTED PASS: {t} passes with the loop now: remove it from "
        f"tests/eventlet_suite/known_failures.py"
        for t in v.unexpected_passes
    ]
    found += [
        f"STALE ENTRY: {t} does not pass without the loop either: remove it "
        f"from tests/eventlet_suite/known_failures.py"
        for t in v.stale_entries
    ]
    return found


def counts(outcomes: dict[str, str]) -> dict[str, int]:
    tally = Counter("pass" if o in OK else o for o in outcomes.values())
    return {k: tally.get(k, 0) for k in ("pass", "fail", "skip")}


# -- recorded data -------------------------------------------------------------


def data_path(python: str = PYTHON) -> Path:
    return DATA / f"{python}.json"


def record(
    reference: Results,
    ours: Results,
    v: Verdict,
    flaky: dict[str, set[str]],
    wall: float,
) -> None:
    versions = {
        name: importlib.metadata.version(name)
        for name in ("eventlet", "greenlet", "pytest")
    }
    data: dict[str, Any] = {
        "python": PYTHON,
        "python_full": sys.version.split()[0],
        "versions": versions,
        "wall_seconds": round(wall, 1),
        # The machine's load over the last 15 minutes, at the end: eventlet's
        # programs in tests/isolated get 10 s each, which a loaded machine
        # exceeds (they then fail as is too, and are not counted).
        "load_average": round(os.getloadavg()[2], 1),
        "seconds": {
            "reference": round(reference.seconds, 1),
            "with-loop": round(ours.seconds, 1),
        },
        "cpu_seconds": {
            "reference": round(reference.cpu_seconds, 1),
            "with-loop": round(ours.cpu_seconds, 1),
        },
        "reference": dict(sorted(reference.outcomes.items())),
        "with-loop": dict(sorted(ours.outcomes.items())),
        "reference_failures": {
            t: _last_line(reference.details.get(t, "")) for t in v.reference_failures
        },
        "reference_skips": dict(sorted(reference.skips.items())),
        "isolated": sorted(ours.isolated),
        "loop_ticked_during_test": sum(n > 1 for n in ours.ticks.values()),
        "passed_on_retry": {run: sorted(ids) for run, ids in flaky.items()},
    }
    DATA.mkdir(exist_ok=True)
    data_path().write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {data_path()}")


def _last_line(detail: str) -> str:
    for line in detail.splitlines():
        if line.startswith(("[failure]", "[error]")):
            return line.split("] ", 1)[-1][:300]
    return ""


# -- the command line ----------------------------------------------------------


def run_both(
    suite: Path, out: Path, selection: list[str], *, serial: bool
) -> dict[str, Results]:
    results = {}
    procs = {}
    for run in RUNS:
        print(f"running eventlet's suite: {run} ...", flush=True)
        procs[run] = start_run(run, suite, out, selection)
        if serial:
            results[run] = _finish(run, *procs[run], out)
    if not serial:
        for run in RUNS:
            results[run] = _finish(run, *procs[run], out)
    return results


def _finish(
    run: str, proc: subprocess.Popen[bytes], started: float, out: Path
) -> Results:
    cpu = _wait_cpu(proc, started + RUN_TIMEOUT)
    if proc.returncode is None:
        print(f"{run}: killed after {RUN_TIMEOUT} s", flush=True)
    results = parse_junit(out / f"{run}.xml")
    results.seconds = time.monotonic() - started
    results.cpu_seconds = cpu
    log = out / f"{run}.log"
    # pytest's closing line ("3 failed, 640 passed ... in 120.00s"); warnings
    # printed at exit may follow it.
    closing = [
        line.strip("= ")
        for line in log.read_text(errors="replace").splitlines()
        if " in " in line and ("passed" in line or "failed" in line)
    ][-1:]
    print(
        f"{run}: {results.seconds:.0f} s ({cpu:.0f} s of CPU), "
        f"{' '.join(closing)} (log: {log})",
        flush=True,
    )
    if not results.outcomes:
        raise SystemExit(f"the {run} run reported no test; see {log}")
    return results


def _wait_cpu(proc: subprocess.Popen[bytes], deadline: float) -> float:
    """Reap *proc* (killed at *deadline*) and return the CPU seconds it and
    its children used: on a shared machine the wall time says little."""
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, 0 if killed else os.WNOHANG)
        if pid:
            if not killed:
                proc.returncode = os.waitstatus_to_exitcode(status)
            return float(usage.ru_utime + usage.ru_stime)
        if time.monotonic() > deadline:
            proc.kill()
            killed = True
        else:
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "selection",
        nargs="*",
        default=["tests"],
        help="what of eventlet's suite to run (default: tests, all of it)",
    )
    parser.add_argument("--record", action="store_true", help=f"save to {DATA}")
    parser.add_argument("--write-docs", action="store_true", help=f"write {DOC}")
    parser.add_argument("--docs-only", action="store_true")
    parser.add_argument(
        "--serial",
        action="store_true",
        help="run the two passes one after the other (to time each alone)",
    )
    parser.add_argument(
        "--no-retry",
        action="store_true",
        help="do not run a second time the tests that fail only with the loop",
    )
    args = parser.parse_args(argv)
    if args.docs_only:
        write_docs()
        return 0
    if args.record and args.selection != ["tests"]:
        parser.error("--record needs the whole suite (no selection)")

    version = eventlet_version()
    suite = fetch_suite(version, cache_root())
    out = suite.parent / "runs" / PYTHON
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results = run_both(suite, out, args.selection, serial=args.serial)
    reference, ours = results["reference"], results["with-loop"]
    v = judge(reference.outcomes, ours.outcomes)
    flaky: dict[str, set[str]] = {run: set() for run in RUNS}
    if not args.no_retry:
        # A listed test that failed as is, and a test that failed only with
        # the loop, get one more try; what passes then counts as passed.
        for run, test_ids in (
            ("reference", v.stale_entries),
            ("with-loop", v.unexpected_failures),
        ):
            if test_ids:
                flaky[run] = retry(run, suite, out, test_ids)
                for test_id in flaky[run]:
                    results[run].outcomes[test_id] = "pass"
        v = judge(reference.outcomes, ours.outcomes)
    wall = time.monotonic() - started

    print(
        f"\nPython {PYTHON}, eventlet {version}: as is "
        f"{_fmt(counts(reference.outcomes))}; with the loop "
        f"{_fmt(counts(ours.outcomes))}"
    )
    print(
        f"of the {v.required} tests that pass as is, {v.ok} pass with the loop, "
        f"{len(v.known)} are known failures; "
        f"{len(v.reference_failures)} fail as is too (not counted); "
        f"{len(ours.isolated)} run a program in a fresh interpreter (no loop "
        f"in it); the loop ticked during "
        f"{sum(n > 1 for n in ours.ticks.values())} tests"
    )
    for test_id in v.reference_failures:
        why = _last_line(reference.details.get(test_id, ""))
        print(f"  fails as is: {test_id}: {why}")
    for run in RUNS:
        for test_id in sorted(flaky[run]):
            print(f"  FLAKY: {test_id} failed ({run}), then passed on a retry")
    found = problems(v, ours)
    for problem in found:
        print(f"\n{problem}")
    print(
        f"\neventlet suite, Python {PYTHON}: {wall:.0f} s "
        f"(as is {reference.seconds:.0f} s, with the loop {ours.seconds:.0f} s)"
        + (" -- FAILED" if found else " -- OK")
    )
    if args.record:
        record(reference, ours, v, flaky, wall)
    if args.write_docs:
        write_docs()
    return 1 if found else 0


def _fmt(c: dict[str, int]) -> str:
    return f"{c['pass']} passed, {c['fail']} failed, {c['skip']} skipped"


def retry(run: str, suite: Path, out: Path, test_ids: list[str]) -> set[str]:
    """Run *test_ids* once more, as is or with the loop; return those that
    pass.

    eventlet's suite has timing tests that a loaded machine can fail (its
    programs in tests/isolated get 10 s each); a failure the loop causes
    fails again.
    """
    print(f"retrying {len(test_ids)} tests ({run}) ...", flush=True)
    retry_dir = out / f"retry-{run}"
    retry_dir.mkdir(exist_ok=True)
    proc, started = start_run(run, suite, retry_dir, test_ids)
    with contextlib.suppress(SystemExit):
        again = _finish(run, proc, started, retry_dir)
        return {t for t in test_ids if again.outcomes.get(t) in OK}
    return set()


# -- docs/conformance/eventlet.md ----------------------------------------------


def write_docs() -> None:
    from . import _docs

    DOC.write_text(_docs.render(DATA, known_failures.KNOWN_FAILURES, judge, SKIP_NOTES))
    print(f"wrote {DOC}")


if __name__ == "__main__":
    sys.exit(main())
