"""Run anyio's own test suite on aioeventlet, with stock asyncio as the oracle.

The sdist of the installed anyio version is fetched once into a cache
directory (``pip download``; anyio's code is never part of this repository),
and its ``tests/`` run twice with pytest, under anyio's own configuration
(its pyproject.toml: rootdir, ``filterwarnings = error``, timeouts):

* stock: ``anyio_backend = ("asyncio", {"debug": True})``, anyio's own;
* aioeventlet: the same, plus ``"loop_factory": aioeventlet.new_event_loop``.

``aioeventlet_anyio_plugin.py`` does the switching, keeps the tests
parametrized with the plain asyncio backend only (not trio, uvloop or eager
tasks), and records each test's outcome.  The two runs go side by side (one
process each, one per core), so that both see the same machine load.

Then, test by test: what passes on stock must pass on aioeventlet, except
the entries of ``known_failures.py``, which must still fail (strict).  A
test that fails on both is this machine's (no IPv6 for "localhost", no DNS)
and is reported apart.  A test that fails only on aioeventlet is run again,
alone, on both loops; if it then passes, it is reported as passing on rerun,
otherwise it fails the run.

    python -m tests.anyio_suite.run                 # run, compare, report
    python -m tests.anyio_suite.run --record        # ... and save data/<X.Y>.json
    python -m tests.anyio_suite.run --write-docs    # ... and docs/conformance/anyio.md
    python -m tests.anyio_suite.run --docs-only     # the page from data/ alone
    python -m tests.anyio_suite.run -- -k to_process  # extra pytest arguments

Run it from the repository root with the interpreter to test (a venv with
aioeventlet, anyio and anyio's test requirements installed; see the
``anyio_suite`` session in noxfile.py).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from . import known_failures
except ImportError:  # run as a script: python tests/anyio_suite/run.py
    sys.path.insert(0, str(Path(__file__).parent))
    import known_failures  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = HERE / "data"
DOC = ROOT / "docs" / "conformance" / "anyio.md"
PLUGIN = "aioeventlet_anyio_plugin"

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
LOOPS = ("stock", "aioeventlet")
OK = frozenset({"pass", "xfail"})
# A whole run takes two minutes on an idle machine, eight under a load of
# eight; past this, something hangs that anyio's per-test timeout (20 s,
# pytest-timeout) did not catch.
RUN_TIMEOUT = 900.0


def default_cache() -> Path:
    explicit = os.environ.get("AIOEVENTLET_ANYIO_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "aioeventlet-anyio-suite"


# -- fetching the suite ---------------------------------------------------------


def fetch_suite(cache: Path, version: str) -> Path:
    """The directory holding anyio *version*'s ``tests/`` and pyproject.toml,
    from its sdist, downloaded and extracted on first use."""
    target = cache / f"anyio-{version}"
    if (target / "tests" / "conftest.py").exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps"]
        cmd += ["--no-binary", ":all:", "--dest", tmp, f"anyio=={version}"]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True)
        except FileNotFoundError as exc:  # pragma: no cover - no such interpreter
            raise SystemExit(f"cannot run {sys.executable}: {exc}") from exc
        except subprocess.CalledProcessError as exc:
            raise SystemExit(
                f"could not download anyio {version}'s sdist:\n"
                f"$ {' '.join(cmd)}\n{exc.stdout}{exc.stderr}\n"
                f"This needs pip in the environment (a uv-made venv has none: "
                f"install pip) and access to PyPI; or point "
                f"AIOEVENTLET_ANYIO_CACHE at a directory that already holds "
                f"anyio-{version}/ with its tests."
            ) from exc
        (sdist,) = Path(tmp).glob("anyio-*.tar.gz")
        extracted = Path(tmp) / "extracted"
        with tarfile.open(sdist) as archive:
            top = f"anyio-{version}/"
            members = [
                m
                for m in archive.getmembers()
                if m.name.startswith(top + "tests/") or m.name == top + "pyproject.toml"
            ]
            # The "data" filter refuses links out of the tree and absolute
            # paths (and its absence warns on 3.12+).
            archive.extractall(extracted, members=members, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        (extracted / f"anyio-{version}").rename(target)
    return target


# What anyio's "test" dependency group lists that its reference run does
# without: coverage measures, and the uvloop/winloop variants are not run.
NOT_NEEDED = frozenset({"coverage", "uvloop", "winloop"})


def missing_requirements(suite: Path) -> list[str]:
    """The requirements of the suite's "test" dependency group that this
    environment does not satisfy (an old pytest would not even read anyio's
    configuration, a ``[tool.pytest]`` table, new in pytest 9)."""
    # Both come with pytest (tomli where tomllib is missing, before 3.11).
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    from packaging.requirements import Requirement

    pyproject = tomllib.loads((suite / "pyproject.toml").read_text())
    missing = []
    for line in pyproject.get("dependency-groups", {}).get("test", []):
        requirement = Requirement(line)
        if requirement.name in NOT_NEEDED or not (
            requirement.marker is None or requirement.marker.evaluate()
        ):
            continue
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(str(requirement))
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            missing.append(f"{requirement} (installed: {installed})")
    return missing


# -- running it -----------------------------------------------------------------


@dataclass
class SuiteRun:
    loop: str
    results: dict[str, dict[str, Any]]
    seconds: float
    log: Path


def start_run(
    suite: Path,
    loop: str,
    workdir: Path,
    pytest_args: list[str],
    *,
    tag: str = "",
    paths: list[str] | None = None,
) -> tuple[subprocess.Popen[bytes], Path, Path, float]:
    """Start pytest on *paths* of the suite (the whole of it by default)."""
    results = workdir / f"{loop}{tag}.json"
    log = workdir / f"{loop}{tag}.log"
    env = dict(os.environ)
    # Our plugin is a top-level module of this directory (anyio's tests are
    # a package named "tests" as well); anyio's own modules come from the
    # environment, the sdist's copy is not extracted.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(HERE), env.get("PYTHONPATH")) if p
    )
    # The runs must not differ by the caller's debug settings.
    env.pop("PYTHONASYNCIODEBUG", None)
    env.pop("PYTHONDEVMODE", None)
    cmd = [sys.executable, "-m", "pytest", *(paths or ["tests"])]
    # aioeventlet's own pytest plugin (installed with it, inert unless asked)
    # stays out: the stock run must not even import eventlet.
    cmd += ["-p", "no:aioeventlet", "-p", "no:cacheprovider", "-p", PLUGIN]
    cmd += [f"--anyio-suite-loop={loop}", f"--anyio-suite-results={results}"]
    cmd += ["-q", "-p", "no:randomly", *pytest_args]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=suite,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, results, log, time.monotonic()


def crashing_tests(python: str = PYTHON) -> list[str]:
    return sorted(
        test_id
        for test_id, entry in known_failures.KNOWN_FAILURES.items()
        if entry.crashes and known_failures.applies(entry, python)
    )


def run_alone(suite: Path, workdir: Path, test_id: str, n: int) -> str:
    """One test alone on aioeventlet, in its own process: its outcome, or
    "crash" when the process died without reporting it."""
    proc, results, _, _ = start_run(
        suite, "aioeventlet", workdir, [], tag=f"-alone{n}", paths=[f"tests/{test_id}"]
    )
    try:
        proc.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.returncode not in (0, 1) or not results.exists():
        return "crash"
    found = json.loads(results.read_text()).get(test_id, {})
    return str(found.get("outcome", "missing"))


def run_both(
    suite: Path,
    workdir: Path,
    pytest_args: list[str],
    *,
    tag: str = "",
    paths: list[str] | None = None,
) -> dict[str, SuiteRun]:
    # Tests that crash the process on aioeventlet (known_failures.py) would
    # end its whole run: they run alone, after.
    deselect = [f"--deselect=tests/{t}" for t in crashing_tests()]
    started = {
        loop: start_run(
            suite,
            loop,
            workdir,
            pytest_args + (deselect if loop == "aioeventlet" else []),
            tag=tag,
            paths=paths,
        )
        for loop in LOOPS
    }
    runs = {}
    for loop, (proc, results, log, t0) in started.items():
        try:
            proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        seconds = time.monotonic() - t0
        # pytest: 0 all passed, 1 some failed; anything else means the run
        # itself broke (usage, collection, internal error, no tests).
        if proc.returncode not in (0, 1) or not results.exists():
            tail = log.read_text(errors="replace")[-6000:]
            raise SystemExit(
                f"the {loop} run of anyio's suite broke (exit status "
                f"{proc.returncode}); the end of {log}:\n{tail}"
            )
        runs[loop] = SuiteRun(loop, json.loads(results.read_text()), seconds, log)
    return runs


# -- comparing -------------------------------------------------------------------


_EXCEPTION_LINE = re.compile(
    r"^[\w.]*(Error|Exception|Warning|Failed|Exit|Interrupt|Group)\b.*"
)


def summary_line(detail: str) -> str:
    """The line of a failure report that says what went wrong: the last
    ``SomeError: message`` line (the inner one, in an exception group),
    else the first line of pytest's last block of ``E`` lines, else the
    last line."""
    lines = [line.strip() for line in detail.strip().splitlines()]
    # Without pytest's "E" and an exception group's "|" margins.
    bare = [re.sub(r"^(E|\|)(\s+\|)*\s+", "", line) for line in lines]
    exceptions = [line for line in bare if _EXCEPTION_LINE.match(line)]
    if exceptions:
        return exceptions[-1][:300]
    first_of_last_block = ""
    in_block = False
    for line, stripped in zip(lines, bare, strict=True):
        is_e = line == "E" or line.startswith("E ")
        if is_e and not in_block:
            first_of_last_block = stripped
        in_block = is_e
    if first_of_last_block:
        return first_of_last_block[:300]
    return next((line for line in reversed(bare) if line), "(no report)")[:300]


@dataclass
class Verdict:
    outcomes: dict[str, tuple[str, str]]  # test id -> (stock, aioeventlet)
    ok: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    environment: list[str] = field(default_factory=list)
    stock_only: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unexpected_failures: list[str] = field(default_factory=list)
    unexpected_passes: list[str] = field(default_factory=list)
    stale_entries: list[str] = field(default_factory=list)
    # Listed, but failing on stock asyncio too here: no evidence either way.
    listed_but_environment: list[str] = field(default_factory=list)
    passed_on_rerun: list[str] = field(default_factory=list)

    @property
    def required(self) -> int:
        """Tests that pass on stock asyncio."""
        return len(self.ok) + len(self.known) + len(self.unexpected_failures)

    def problems(self) -> list[str]:
        found = [f"UNEXPECTED FAILURE: {t}" for t in self.unexpected_failures]
        found += [
            f"UNEXPECTED PASS: {t} passes now: remove it from known_failures.py"
            for t in self.unexpected_passes
        ]
        found += [
            f"STALE ENTRY: {t} is not in anyio's suite here (renamed or removed "
            f"in this anyio version?): update known_failures.py"
            for t in self.stale_entries
        ]
        return found


def judge(
    stock: dict[str, str],
    ours: dict[str, str],
    python: str = PYTHON,
    *,
    complete: bool = True,
) -> Verdict:
    """Compare the two runs' outcomes (test id -> outcome).  *complete*: the
    whole suite ran (no ``-k``), so a table entry with no test is stale."""
    table = {
        test_id: entry
        for test_id, entry in known_failures.KNOWN_FAILURES.items()
        if known_failures.applies(entry, python)
    }
    v = Verdict({})
    for test_id in sorted(set(stock) | set(ours)):
        s, o = stock.get(test_id, "missing"), ours.get(test_id, "missing")
        v.outcomes[test_id] = (s, o)
        listed = test_id in table
        if s in OK:
            if o in OK:
                # A crash is a race: passing is no news.
                accepted = not listed or table[test_id].crashes
                (v.ok if accepted else v.unexpected_passes).append(test_id)
            else:
                (v.known if listed else v.unexpected_failures).append(test_id)
        elif listed:
            v.listed_but_environment.append(test_id)
        elif s == "skip" and o not in OK | {"skip"}:
            # Skipped on stock, failing on ours: nothing says it is the
            # machine's.
            v.unexpected_failures.append(test_id)
        elif s == "skip" or o == "skip":
            v.skipped.append(test_id)
        elif o in OK:
            v.stock_only.append(test_id)
        else:
            v.environment.append(test_id)
    if complete:
        v.stale_entries = sorted(t for t in table if t not in v.outcomes)
    return v


def apply_reruns(
    v: Verdict, reruns: dict[str, tuple[str, str]], python: str = PYTHON
) -> None:
    """Settle the unexpected failures with their reruns (stock, ours)."""
    still = []
    for test_id in v.unexpected_failures:
        s, o = reruns.get(test_id, ("missing", "missing"))
        if o in OK:
            v.passed_on_rerun.append(test_id)
        elif s not in OK | {"skip", "missing"}:
            # Failing on stock too when run alone: the machine's after all.
            v.environment.append(test_id)
        else:
            still.append(test_id)
    v.unexpected_failures = still
    v.environment.sort()


def outcomes_of(run: SuiteRun) -> dict[str, str]:
    return {t: r["outcome"] for t, r in run.results.items()}


# -- the command line -----------------------------------------------------------


def versions() -> dict[str, str]:
    found = {"python_full": sys.version.split()[0]}
    for dist in ("anyio", "eventlet", "greenlet", "pytest"):
        found[dist] = importlib.metadata.version(dist)
    return found


def _print_ids(title: str, ids: Iterable[str], details: dict[str, str]) -> None:
    ids = list(ids)
    if not ids:
        return
    print(f"\n{title} ({len(ids)}):")
    for test_id in ids:
        print(f"  {test_id}")
        if test_id in details:
            print(f"      {details[test_id]}")


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915 - the CLI script
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pytest_args", nargs="*", help="after --: to pytest")
    parser.add_argument("--record", action="store_true", help=f"save to {DATA}")
    parser.add_argument("--write-docs", action="store_true", help=f"write {DOC}")
    parser.add_argument("--docs-only", action="store_true")
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument(
        "--keep", action="store_true", help="keep the runs' logs and results"
    )
    args = parser.parse_args(argv)
    if args.docs_only:
        write_docs()
        return 0

    found = versions()
    started = time.monotonic()
    suite = fetch_suite(args.cache, found["anyio"])
    print(f"anyio {found['anyio']}'s suite in {suite}", flush=True)
    missing = missing_requirements(suite)
    if missing:
        raise SystemExit(
            "anyio's test suite needs, in this environment "
            f"({sys.executable}):\n  " + "\n  ".join(missing) + "\n"
            "(its pyproject.toml, dependency group 'test'); the noxfile's "
            "anyio_suite session installs them: ANYIO_SUITE_REQUIREMENTS."
        )
    workdir = Path(tempfile.mkdtemp(prefix="aioeventlet-anyio-"))
    try:
        print("running it on stock asyncio and on aioeventlet ...", flush=True)
        cpu_before = _children_cpu()
        runs = run_both(suite, workdir, args.pytest_args)
        cpu = _children_cpu() - cpu_before
        on_ours = sum(
            1
            for r in runs["aioeventlet"].results.values()
            if r.get("aioeventlet_loops")
        )
        stock, ours = outcomes_of(runs["stock"]), outcomes_of(runs["aioeventlet"])
        for n, test_id in enumerate(crashing_tests()):
            if test_id in stock:  # not left out by the caller's -k
                ours[test_id] = run_alone(suite, workdir, test_id, n)
                print(f"{test_id} alone on aioeventlet: {ours[test_id]}", flush=True)
        v = judge(stock, ours, complete=not args.pytest_args)
        first_failures = list(v.unexpected_failures)
        reruns: dict[str, tuple[str, str]] = {}
        if first_failures:
            print(f"running {len(first_failures)} failures again, alone ...")
            again = run_both(
                suite,
                workdir,
                [],
                tag="-rerun",
                paths=[f"tests/{t}" for t in first_failures],
            )
            s2, o2 = outcomes_of(again["stock"]), outcomes_of(again["aioeventlet"])
            reruns = {t: (s2.get(t, "missing"), o2.get(t, "missing")) for t in s2}
            apply_reruns(v, reruns)
        wall = time.monotonic() - started
        details = {
            t: summary_line(r.get("detail", ""))
            for t, r in runs["aioeventlet"].results.items()
            if r["outcome"] not in OK | {"skip"}
        }
        stock_details = {
            t: summary_line(r.get("detail", ""))
            for t, r in runs["stock"].results.items()
            if r["outcome"] not in OK | {"skip"}
        }
        _print_ids("fail on both loops: this machine's", v.environment, stock_details)
        _print_ids("fail on stock asyncio only", v.stock_only, stock_details)
        _print_ids("known failures (known_failures.py)", v.known, details)
        _print_ids(
            "listed in known_failures.py, but failing on stock too here",
            v.listed_but_environment,
            details,
        )
        _print_ids(
            "failed once on aioeventlet, passed alone", v.passed_on_rerun, details
        )
        problems = v.problems()
        if not on_ours:
            problems.append(
                "SANITY: no test ran on an aioeventlet loop: the plugin "
                f"({PLUGIN}.py) did not reach anyio_backend"
            )
        for problem in problems:
            test_id = problem.split(": ", 1)[1].split(" ", 1)[0]
            detail = runs["aioeventlet"].results.get(test_id, {}).get("detail", "")
            print(f"\n{problem}\n{detail}")
        ours_ok = len(v.ok)
        print(
            f"\nPython {PYTHON}, anyio {found['anyio']}: {len(v.outcomes)} tests; "
            f"aioeventlet passes {ours_ok} of the {v.required} that stock asyncio "
            f"passes; {len(v.known)} known failures; {len(v.environment)} fail on "
            f"both; {len(v.skipped)} skipped; {on_ours} ran on an aioeventlet "
            f"loop; stock run "
            f"{runs['stock'].seconds:.0f} s, aioeventlet run "
            f"{runs['aioeventlet'].seconds:.0f} s, {wall:.0f} s in all, "
            f"{cpu:.0f} s of CPU" + (" -- FAILED" if problems else " -- OK")
        )
        if args.record:
            timing = {
                "stock": round(runs["stock"].seconds, 1),
                "aioeventlet": round(runs["aioeventlet"].seconds, 1),
                "wall": round(wall, 1),
                "cpu": round(cpu, 1),
                "load": round(os.getloadavg()[0], 1),
            }
            record(v, reruns, first_failures, stock_details, found, timing, on_ours)
        if args.write_docs:
            write_docs()
        return 1 if problems else 0
    finally:
        if args.keep:
            print(f"logs and results kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# -- recorded data and docs/conformance/anyio.md ----------------------------------


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def record(  # noqa: PLR0917 - one call site
    v: Verdict,
    reruns: dict[str, tuple[str, str]],
    first_failures: list[str],
    stock_details: dict[str, str],
    found: dict[str, str],
    timing: dict[str, float],
    on_ours: int,
) -> None:
    data = {
        "python": PYTHON,
        **found,
        # Wall seconds of each run (side by side), of everything (reruns
        # too), CPU seconds of both runs, and the machine's load average then.
        "seconds": timing,
        "on_aioeventlet_loop": on_ours,
        "outcomes": {t: list(o) for t, o in v.outcomes.items()},
        "reruns": {t: list(reruns.get(t, ())) for t in first_failures},
        # What the machine's failures say, as stock asyncio reports them.
        "stock_errors": {t: stock_details.get(t, "") for t in v.environment},
    }
    DATA.mkdir(exist_ok=True)
    path = DATA / f"{PYTHON}.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")


def write_docs() -> None:
    from . import _docs

    DOC.write_text(
        _docs.render(DATA, known_failures.KNOWN_FAILURES, judge, apply_reruns)
    )
    print(f"wrote {DOC}")


def normalize_error(line: str) -> str:
    """An error line without what changes from run to run (fds, ports,
    addresses of objects), to group the machine's failures by cause."""
    line = re.sub(r"0x[0-9a-f]+", "0x…", line)
    line = re.sub(r"\b(fd|port)=\d+", r"\1=…", line)
    return re.sub(r"(\('[^']*', )\d+\)", r"\1…)", line)


if __name__ == "__main__":
    sys.exit(main())
