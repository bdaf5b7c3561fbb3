"""Test matrix.  ``./scripts/test`` runs the default sessions (what CI runs);
``./scripts/test -s matrix`` runs the rest of the matrix.

The matrix: each Python here x {plain, patched} x eventlet hub {epolls, poll,
selects} x eventlet {oldest supported (the floor in pyproject.toml), newest}.
"plain" runs the behaviour tests with eventlet never monkey-patched; "patched"
runs the programs of tests/isolated/ (each in a fresh interpreter) with
``eventlet.monkey_patch()`` called before and after importing aioeventlet
(AIOEVENTLET_PATCH_MODES selects the modes; EVENTLET_HUB the hub).

What CI (the default sessions: CI_SESSIONS and CI_SESSIONS_ALONGSIDE below)
covers of it:

* ``tests``: every Python plain, and 3.11 and 3.13 patched too (the isolated
  programs in every mode), epolls hub, newest eventlet;
* ``hubs``: the poll and selects hubs (Python 3.12, plain and patched),
  the poll one on the oldest eventlet supported there (0.35.2);
* ``oldest_eventlet``: the oldest eventlet supported on Python 3.13 (the
  newest Python, where an old eventlet is likeliest to break; plain and
  patched).

The hub and eventlet cells run the tests that exercise the hub and patching
(MATRIX_TESTS), to keep CI short; ``-s matrix`` runs every cell (48) on the
whole behaviour suite, e.g. ``./scripts/test -s matrix``, or one cell:
``./scripts/test -s "matrix-3.12(eventlet='oldest', hub='poll', patching='patched')"``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# uv, which scripts/test installs with the lock: it applies constraints.txt to
# the build backend too (UV_BUILD_CONSTRAINT), which pip does not.
nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = False

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# What CI runs (./scripts/test with no arguments), as two nox processes at
# once on its 2 cores: one after the other they take some 40 minutes, over
# CI's budget of 30.  Each list takes about 20 minutes on an idle machine
# (the whole run: 22 minutes on 2026-12-08, before integration moved to the
# first list, which had ended 5 minutes before the second).
# The second holds other projects' suites and the gunicorn worker's tests,
# which spend much of their time waiting (eventlet's suite uses 40 % of a
# core, the gunicorn session 70 %), so the two lists share the cores well.
CI_SESSIONS = [
    "tests-3.11",
    "tests-3.13",
    "conformance",
    "hubs",
    "oldest_eventlet",
    "integration",
    "lint",
    "docs",
]
CI_SESSIONS_ALONGSIDE = [
    "eventlet_suite-3.12",
    "anyio_suite-3.12",
    "gunicorn",
    "tests-3.10",
    "tests-3.12",
    "conformance_patched",
]
# A plain `nox` runs the same sessions, one after the other.
nox.options.sessions = CI_SESSIONS + CI_SESSIONS_ALONGSIDE

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
# The lock: every package any session installs, at one version per Python
# (uv's universal resolution of every dependency group and the project's own
# dependencies).  `nox -s lock` regenerates it; `nox -s latest` ignores it.
CONSTRAINTS = ROOT / "constraints.txt"
# The user-facing extras (the framework integrations): the lock pins them too.
EXTRAS = tuple(PYPROJECT["project"]["optional-dependencies"])
# Where each pytest run leaves its JUnit XML, for scripts/test's closing
# summary of the failed tests (scripts/ci_summary.py).
REPORTS = ROOT / ".nox" / "reports"


def install(
    session: nox.Session,
    *groups: str,
    extras: str = "",
    instead: tuple[str, ...] = (),
    pinned: bool = True,
) -> None:
    """Install aioeventlet (editable, with *extras*) and the dependency
    *groups* of pyproject.toml (``test`` when none are named), every version
    from the lock.

    *instead* are exact requirements that replace the lock's pins of the same
    packages (eventlet's floor, say); *pinned* False installs the newest
    releases.
    """
    project = f".[{extras}]" if extras else "."
    requirements = nox.project.dependency_groups(PYPROJECT, *(groups or ("test",)))
    if not pinned:
        session.install("--upgrade", "-e", project, *requirements)
        return
    unpin = {canonicalize_name(Requirement(line).name) for line in instead}
    constraints = str(CONSTRAINTS)
    if unpin:
        lines = CONSTRAINTS.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if _pinned_name(line) not in unpin]
        path = session_file(session, "constraints.txt")
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")
        constraints = str(path)
    session.install(
        "-c",
        constraints,
        "-e",
        project,
        *requirements,
        *instead,
        env={"UV_BUILD_CONSTRAINT": constraints},
    )


def session_file(session: nox.Session, name: str) -> Path:
    """A path for a file of the session's own, in its virtualenv's folder.

    Not session.create_tmp(): that also points TMPDIR into .nox for the rest
    of the session, and the tests' UNIX socket paths then grow past the
    kernel's 107 bytes ("AF_UNIX path too long").
    """
    return Path(session.virtualenv.location) / name


def _pinned_name(line: str) -> str | None:
    """The normalised package name a lock line pins ("eventlet==0.41.3 ; ...")."""
    match = re.match(r"([A-Za-z0-9._-]+)==", line)
    return canonicalize_name(match.group(1)) if match else None


def pytest(
    session: nox.Session,
    *args: str,
    env: dict[str, str] | None = None,
    coverage: bool = False,
) -> None:
    """Run pytest (under coverage if asked), leaving a JUnit XML report under
    REPORTS for the closing summary."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9.=,-]+", "_", session.name).strip("_")
    report = REPORTS / f"{slug}.xml"
    runs = 1
    while report.exists():  # a second pytest run in the same session
        runs += 1
        report = REPORTS / f"{slug}-{runs}.xml"
    command = ["coverage", "run", "-m", "pytest"] if coverage else ["pytest"]
    # A crash (a segfault, say) writes no report; tests/conftest.py has
    # faulthandler write its tracebacks of every thread here instead, for the
    # closing summary.
    env = {**(env or {}), "AIOEVENTLET_CRASH_LOG": str(report.with_suffix(".crash"))}
    session.run(*command, f"--junitxml={report}", *args, env=env)


# Tests that sessions of their own run: the other projects' suites (each with
# the harness's own tests), the integration tests, which need servers and
# third-party libraries, and the gunicorn worker's (the gunicorn session).
OWN_SESSION_TESTS = [
    "--ignore=tests/cpython",
    "--ignore=tests/eventlet_suite",
    "--ignore=tests/anyio_suite",
    "--ignore=tests/integration",
    "--ignore=tests/test_gunicorn_module.py",
]
# The Python whose tests session also measures coverage (one is enough, and
# coverage's tracer slows the run).
COVERAGE_PYTHON = "3.11"
# The one Python whose tests session runs the benchmark smoke test: the one
# with neither coverage nor the patched modes, the shortest session.
BENCHMARK_SMOKE_PYTHON = "3.12"
# Where CI runs the monkey-patched modes too: the default Python and the newest.
PATCHED_PYTHONS = ("3.11", "3.13")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Behaviour tests (stock asyncio vs aioeventlet) and isolated programs."""
    install(session)
    # tests/test_docs.py runs in the docs session, which installs what its
    # testing recipes need (pytest-asyncio, anyio).
    args = [
        "tests",
        *OWN_SESSION_TESTS,
        "--ignore=tests/test_docs.py",
    ]
    if session.python != BENCHMARK_SMOKE_PYTHON:
        # The benchmark programs are tooling, not the library: checking once
        # that each runs and reports sane numbers saves CI some 80 s.
        args.append("--ignore=tests/test_benchmarks_smoke.py")
    # The isolated programs run monkey-patched (before and after import) on
    # PATCHED_PYTHONS; plain everywhere.  `-s matrix` runs every combination.
    env = (
        {}
        if session.python in PATCHED_PYTHONS
        else {"AIOEVENTLET_PATCH_MODES": "plain"}
    )
    if session.python == COVERAGE_PYTHON:
        # Branch coverage with greenlet concurrency (pyproject.toml): code run
        # in greenthreads counts too.
        session.run("coverage", "erase")
        pytest(session, *args, *session.posargs, env=env, coverage=True)
        session.run("coverage", "report")
    else:
        pytest(session, *args, *session.posargs, env=env)


HUBS = ["epolls", "poll", "selects"]
ALL_PATCH_MODES = "plain,before,after"
BEHAVIOUR_TESTS = ["tests", *OWN_SESSION_TESTS]
# What the hub and eventlet-version cells of CI run: the loop core, and every
# test that runs programs in patched modes.
MATRIX_TESTS = [
    "tests/test_loop.py",
    "tests/test_threads.py",
    "tests/test_subprocess_signals.py",
    "tests/test_io_kinds.py",
    "tests/test_debug.py",
    "tests/test_patching.py",
]


def eventlet_floor(python: str) -> str:
    """The oldest eventlet aioeventlet supports on *python* ("3.12"): the X of
    pyproject.toml's ``eventlet>=X`` whose environment marker, if any, selects
    that Python (the floor may differ per Python)."""
    import tomllib

    pyproject = Path(__file__).with_name("pyproject.toml")
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    for line in project["dependencies"]:
        requirement = Requirement(line)
        if requirement.name != "eventlet":
            continue
        if requirement.marker and not requirement.marker.evaluate(
            {"python_version": python}
        ):
            continue
        for spec in requirement.specifier:
            if spec.operator == ">=":
                return spec.version
    raise RuntimeError(f"pyproject.toml has no eventlet>=X dependency for {python}")


def run_cell(
    session: nox.Session, *, modes: str, hub: str, eventlet: str, tests: list[str]
) -> None:
    """One matrix cell: *modes* for AIOEVENTLET_PATCH_MODES, an eventlet *hub*,
    eventlet ``oldest`` (the floor) or ``newest``."""
    if eventlet == "oldest":
        # The floor instead of the lock's eventlet: it must satisfy
        # pyproject.toml, so the environment stays consistent.
        install(session, instead=(f"eventlet=={eventlet_floor(str(session.python))}",))
    else:
        install(session)
    session.run(
        "python",
        "-c",
        "import importlib.metadata as m; print('eventlet', m.version('eventlet'))",
    )
    pytest(
        session,
        *tests,
        *session.posargs,
        env={"EVENTLET_HUB": hub, "AIOEVENTLET_PATCH_MODES": modes},
    )


@nox.session(python="3.12")
@nox.parametrize(("hub", "eventlet"), [("poll", "oldest"), ("selects", "newest")])
def hubs(session: nox.Session, hub: str, eventlet: str) -> None:
    """The hubs other than the default (epolls), plain and patched.

    The poll cell also runs the eventlet floor of Pythons before 3.13
    (0.35.2), which oldest_eventlet (3.13, floor 0.38.0) cannot: two axes in
    one cell keep CI short, and ``-s matrix`` runs them apart.
    """
    run_cell(
        session, modes=ALL_PATCH_MODES, hub=hub, eventlet=eventlet, tests=MATRIX_TESTS
    )


@nox.session(python="3.13")
def oldest_eventlet(session: nox.Session) -> None:
    """The oldest eventlet supported on Python 3.13, plain and patched."""
    run_cell(
        session,
        modes=ALL_PATCH_MODES,
        hub="epolls",
        eventlet="oldest",
        tests=MATRIX_TESTS,
    )


@nox.session(python=PYTHONS, default=False)
@nox.parametrize("patching", ["plain", "patched"])
@nox.parametrize("hub", HUBS)
@nox.parametrize("eventlet", ["oldest", "newest"])
def matrix(session: nox.Session, patching: str, hub: str, eventlet: str) -> None:
    """Every cell of the matrix, on the whole behaviour suite (not in CI)."""
    if patching == "plain":
        run_cell(
            session, modes="plain", hub=hub, eventlet=eventlet, tests=BEHAVIOUR_TESTS
        )
    else:
        # Only the tests that run programs in the patched modes.
        run_cell(
            session,
            modes="before,after",
            hub=hub,
            eventlet=eventlet,
            tests=[*BEHAVIOUR_TESTS, "-k", "before or after"],
        )


@nox.session(python=PYTHONS)
def conformance(session: nox.Session) -> None:
    """CPython's own test_asyncio against aioeventlet.EventLoop (tests/cpython).

    Stock asyncio's outcomes come from tests/cpython/data/<X.Y>.json;
    regenerate them and docs/conformance.md with
    ``python -m tests.cpython.run --stock --record --write-docs``.
    """
    install(session)
    pytest(session, "tests/cpython", *session.posargs)


@nox.session(python=["3.11", "3.13"])
def conformance_patched(session: nox.Session) -> None:
    """The same, each module under eventlet.monkey_patch()."""
    install(session)
    pytest(
        session,
        "tests/cpython",
        *session.posargs,
        env={"AIOEVENTLET_CONFORMANCE_MODE": "patched"},
    )


# The oldest and the newest Python: the libraries' own CI covers the rest.
@nox.session(python=["3.10", "3.13"])
def integration(session: nox.Session) -> None:
    """Real libraries against real servers (tests/integration), and examples/.

    Installs the Debian packages it starts (redis-server, PostgreSQL) through
    scripts/install-servers; the tests start and stop the servers themselves.
    """
    session.run("scripts/install-servers", external=True)
    install(session, "integration")
    pytest(
        session,
        "tests/integration",
        # The gunicorn session runs these, with the gunicorn extra.
        "--ignore=tests/integration/test_gunicorn.py",
        "--ignore=tests/integration/test_gunicorn_worker.py",
        *session.posargs,
    )


# gunicorn 25.x: the last release with gunicorn's own -k eventlet worker, the
# reference the worker's tests run beside ours; tests/integration/
# test_gunicorn.py runs that worker itself with aioeventlet inside the app.
GUNICORN_REFERENCE = "gunicorn==25.3.0"


@nox.session(python="3.12")
@nox.parametrize("gunicorn", ["newest", "25"])
def gunicorn(session: nox.Session, gunicorn: str) -> None:
    """aioeventlet.gunicorn under real gunicorn: the newest release (the
    lock's) runs every test of the worker; 25.x runs gunicorn's own
    -k eventlet as the reference and our WSGI worker beside it on the same
    tests (the ``gunicorn_reference`` mark), not the rest again."""
    if gunicorn == "newest":
        install(session, "gunicorn", extras="gunicorn")
        tests = [
            "tests/integration/test_gunicorn_worker.py",
            "tests/test_gunicorn_module.py",
        ]
    else:
        install(session, "gunicorn", extras="gunicorn", instead=(GUNICORN_REFERENCE,))
        tests = [
            "tests/integration/test_gunicorn_worker.py",
            "tests/integration/test_gunicorn.py",
            "-m",
            "gunicorn_reference",
        ]
    session.run(
        "python",
        "-c",
        "import importlib.metadata as m; "
        "print(*(f'{p} {m.version(p)}' for p in "
        "('gunicorn', 'uvicorn', 'eventlet', 'greenlet')), sep=', ')",
    )
    pytest(session, *tests, *session.posargs)


DOCS_CODE = [
    "docs/conf.py",
    "docs/_ext",
    "docs/quickstart",
    "docs/testing",
    "docs/gunicorn",
]
# docs/ itself is not listed whole: ruff format would also check the code
# blocks inside its Markdown pages.
LINTED = [
    "src",
    "tests",
    "benchmarks",
    "examples",
    "docs/migration",
    "scripts",
    *DOCS_CODE,
    "noxfile.py",
]


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy --strict over the code, its tests,
    benchmarks, examples and the migration guide's steps."""
    # mypy checks the tests' third-party imports against their real types (the
    # lint group includes the integration and docs groups); the lock pins
    # ruff, mypy and every library they read, so that a release of any of them
    # cannot turn CI red on unchanged code.
    install(session, "lint", extras=",".join(EXTRAS))
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)
    session.run("mypy")  # what and how: [tool.mypy] in pyproject.toml (strict)
    # The docs' own code, in a run of its own: its quick-start files are
    # standalone scripts whose names (run.py) repeat the benchmarks'.
    session.run("mypy", *DOCS_CODE)


@nox.session(python="3.12")
def docs(session: nox.Session) -> None:
    """The documentation site (Sphinx: warnings are errors, nitpicky) and the
    testing recipes' tests, which need pytest-asyncio and anyio (the rest of
    the docs' code, tests/test_docs_code.py, runs in every tests session)."""
    install(session, "docs")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-n",
        "-E",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
    )
    # pytest-asyncio and anyio are here for the testing recipes, which run
    # pytest in subprocesses; this run itself does not use pytest-asyncio (and
    # its configuration warning would be an error).
    pytest(session, "-p", "no:asyncio", "tests/test_docs.py", *session.posargs)


# -- the lock ------------------------------------------------------------------

GROUPS = tuple(PYPROJECT["dependency-groups"])
# The oldest Python supported: a universal resolution for it and every newer
# one (per-Python pins carry an environment marker).
OLDEST_PYTHON = PYTHONS[0]


def compile_lock(session: nox.Session, output: Path, *options: str) -> None:
    """Resolve the project's dependencies and every dependency group into
    *output*, one pin per package and Python."""
    session.run(
        "uv",
        "pip",
        "compile",
        "pyproject.toml",
        "--all-extras",
        *(f"--group={group}" for group in GROUPS),
        "--universal",
        f"--python-version={OLDEST_PYTHON}",
        "--quiet",
        "--custom-compile-command=./scripts/test -s lock",
        *options,
        f"--output-file={os.path.relpath(output, ROOT)}",
        external=True,
    )


@nox.session(python=False, default=False)
def lock(session: nox.Session) -> None:
    """Regenerate constraints.txt: only what pyproject.toml's changes need
    moves; ``./scripts/test -s lock -- --upgrade`` moves every pin to the
    newest release (then run the suite, and commit the lock with what moved)."""
    compile_lock(session, CONSTRAINTS, *session.posargs)


def read_pins(path: Path) -> dict[str, str]:
    """``{"name ; marker": version}`` of a lock file."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name = _pinned_name(line)
        if name is None:
            continue
        version, _, marker = line.split("==", 1)[1].partition(";")
        key = f"{name} ; {marker.strip()}" if marker.strip() else name
        pins[key] = version.strip()
    return pins


def moved(locked: dict[str, str], newest: dict[str, str]) -> list[str]:
    """One line per pin that differs between the lock and the newest releases."""
    lines = []
    for key in sorted(locked.keys() | newest.keys()):
        old, new = locked.get(key, "-"), newest.get(key, "-")
        if old != new:
            lines.append(f"  {key}: {old} -> {new}")
    return lines


@nox.session(python=PYTHONS[-1], default=False)
def latest(session: nox.Session) -> None:
    """The suite on the newest releases of everything, the lock ignored: what
    a release upstream would do to CI (not part of ./scripts/test's default
    run; run it on purpose, e.g. weekly).  Reports which pins moved, then runs
    the behaviour and integration tests, the docs' tests and the linters on
    the newest Python."""
    newest_file = session_file(session, "newest.txt")
    compile_lock(session, newest_file, "--no-header")
    report = moved(read_pins(CONSTRAINTS), read_pins(newest_file))
    summary = "\n".join(report) if report else "  (nothing: the lock is current)"
    session.log(f"What moved since the lock (locked -> newest):\n{summary}")
    session.run("scripts/install-servers", external=True)
    install(session, *GROUPS, extras=",".join(EXTRAS), pinned=False)
    try:
        # pytest-asyncio is installed for the docs' recipes, which run pytest
        # in subprocesses; this run does not use it (see the docs session).
        # gunicorn 25's reference tests skip themselves on the newest gunicorn.
        pytest(
            session,
            "-p",
            "no:asyncio",
            "tests",
            "--ignore=tests/cpython",
            "--ignore=tests/eventlet_suite",
            "--ignore=tests/anyio_suite",
            "--ignore=tests/integration/test_gunicorn.py",
        )
        session.run("ruff", "check", *LINTED)
        session.run("mypy")
    finally:
        session.log(f"What moved since the lock (locked -> newest):\n{summary}")


@nox.session(python=PYTHONS)
def eventlet_suite(session: nox.Session) -> None:
    """eventlet's own test suite, as is and with an aioeventlet loop alive
    around every test (tests/eventlet_suite): the green side's conformance bar.

    The suite comes from the installed eventlet's sdist (``pip download``,
    cached under .nox/eventlet-suite).  CI runs one Python
    (``-s eventlet_suite-3.12``); ``-s eventlet_suite`` runs all four.  To
    record a Python's results and regenerate docs/conformance/eventlet.md:
    ``./scripts/test -s eventlet_suite-3.12 -- --record --write-docs``.
    """
    install(session, "eventlet-suite")
    # The harness's own tests first (the judge, the plugin on a stand-in suite).
    pytest(session, "tests/eventlet_suite")
    session.run("python", "-m", "tests.eventlet_suite.run", *session.posargs)


@nox.session(python=PYTHONS)
def anyio_suite(session: nox.Session) -> None:
    """anyio's test suite with aioeventlet's loop factory, compared test by
    test with stock asyncio (tests/anyio_suite; docs/conformance/anyio.md).

    CI: ``-s anyio_suite-3.12``.  All four Pythons, recording the results and
    rewriting the section: ``-s anyio_suite -- --record --write-docs``.
    """
    install(session, "anyio-suite")
    # The harness's own tests first (the judge, the recorded data's docs).
    pytest(session, "tests/anyio_suite")
    session.run("python", "-m", "tests.anyio_suite.run", *session.posargs)


if __name__ == "__main__":
    # scripts/test asks which sessions CI runs in each of its two nox processes.
    import sys

    streams = {"ci": CI_SESSIONS, "ci-alongside": CI_SESSIONS_ALONGSIDE}
    print("\n".join(streams[sys.argv[1]]))
