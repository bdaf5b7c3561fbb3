"""Test matrix.  ``./scripts/test`` runs the default sessions (what CI runs);
``./scripts/test -s matrix`` runs the rest of the matrix.

The matrix: each Python here x {plain, patched} x eventlet hub {epolls, poll,
selects} x eventlet {oldest supported (the floor in pyproject.toml), newest}.
"plain" runs the behaviour tests with eventlet never monkey-patched; "patched"
runs the programs of tests/isolated/ (each in a fresh interpreter) with
``eventlet.monkey_patch()`` called before and after importing aioeventlet
(AIOEVENTLET_PATCH_MODES selects the modes; EVENTLET_HUB the hub).

What CI (the default sessions) covers of it:

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

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = False

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
nox.options.sessions = [
    "tests",
    "conformance",
    "hubs",
    "oldest_eventlet",
    "conformance_patched",
    "integration",
    "lint",
    "docs",
]


def install(session: nox.Session, *extra: str) -> None:
    session.install("-e", ".[test]", *extra)


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
        "--ignore=tests/cpython",
        "--ignore=tests/integration",
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
        session.run("coverage", "run", "-m", "pytest", *args, *session.posargs, env=env)
        session.run("coverage", "report")
    else:
        session.run("pytest", *args, *session.posargs, env=env)


HUBS = ["epolls", "poll", "selects"]
ALL_PATCH_MODES = "plain,before,after"
BEHAVIOUR_TESTS = ["tests", "--ignore=tests/cpython", "--ignore=tests/integration"]
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
    from packaging.requirements import Requirement

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
    install(session)
    if eventlet == "oldest":
        # Installed over the newest on purpose: the floor must satisfy
        # pyproject.toml, so the environment stays consistent.
        session.install(f"eventlet=={eventlet_floor(str(session.python))}")
    session.run(
        "python",
        "-c",
        "import importlib.metadata as m; print('eventlet', m.version('eventlet'))",
    )
    session.run(
        "pytest",
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
    session.run("pytest", "tests/cpython", *session.posargs)


@nox.session(python=["3.11", "3.13"])
def conformance_patched(session: nox.Session) -> None:
    """The same, each module under eventlet.monkey_patch()."""
    install(session)
    session.run(
        "pytest",
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
    install(session, "-r", "tests/integration/requirements.txt")
    session.run("pytest", "tests/integration", *session.posargs)


DOCS_CODE = ["docs/conf.py", "docs/_ext", "docs/quickstart", "docs/testing"]
# docs/ itself is not listed whole: ruff format would also check the code
# blocks inside its Markdown pages.
LINTED = [
    "src",
    "tests",
    "benchmarks",
    "examples",
    "docs/migration",
    *DOCS_CODE,
    "noxfile.py",
]


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy --strict over the code, its tests,
    benchmarks, examples and the migration guide's steps."""
    # mypy checks the tests' third-party imports against their real types: the
    # integration libraries, the benchmarks' uvloop and matplotlib, and
    # greenlet's stubs.
    # ruff and mypy pinned: a new release's new rules or inference must not
    # turn CI red on unchanged code; move the pins on purpose.
    install(
        session,
        "ruff==0.17.6",
        "mypy==2.4.1",
        "types-greenlet",
        "types-docutils",
        "sphinx",
        "pytest-asyncio",
        "anyio",
        "uvloop",
        "matplotlib",
        "-r",
        "tests/integration/requirements.txt",
    )
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
    session.install("-e", ".[test,docs]")
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
    session.run("pytest", "-p", "no:asyncio", "tests/test_docs.py", *session.posargs)


# anyio's own test suite, on stock asyncio and on aioeventlet (tests/anyio_suite).
# anyio pinned: a new release brings new tests, and the results page and the
# known-failures table are per version; move the pin on purpose, with
# ``-s anyio_suite -- --record --write-docs``.  The rest is the "test"
# dependency group of its sdist's pyproject.toml (run.py checks it), less
# coverage, and less uvloop, whose variant is not run here; plus pip, which
# fetches the sdist (a uv-made venv has none).
ANYIO_SUITE_REQUIREMENTS = [
    "anyio==4.16.0",
    "blockbuster>=1.5.29",
    "hypothesis>=4.18.2",
    "psutil>=5.9",
    "pytest>=9.0",
    "pytest-mock>=3.14",
    "pytest-timeout>=2.4.0",
    "trustme>=1.0.0",
    "truststore>=0.9.1",
    "pip",
]


@nox.session(python=PYTHONS)
def anyio_suite(session: nox.Session) -> None:
    """anyio's test suite with aioeventlet's loop factory, compared test by
    test with stock asyncio (tests/anyio_suite; docs/conformance-anyio.md).

    CI: ``-s anyio_suite-3.12``.  All four Pythons, recording the results and
    rewriting the page: ``-s anyio_suite -- --record --write-docs``.
    """
    session.install("-e", ".", *ANYIO_SUITE_REQUIREMENTS)
    session.run("python", "-m", "tests.anyio_suite.run", *session.posargs)
