"""Test matrix.  ``./scripts/test`` runs the default sessions (what CI runs);
``./scripts/test -s matrix`` runs the rest of the matrix (see docs)."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = False

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
nox.options.sessions = ["tests", "conformance", "integration", "lint", "docs"]


def install(session: nox.Session, *extra: str) -> None:
    session.install("-e", ".[test]", *extra)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Behaviour tests (stock asyncio vs aioeventlet) and isolated programs."""
    install(session)
    session.run(
        "pytest",
        "tests",
        "--ignore=tests/cpython",
        "--ignore=tests/integration",
        *session.posargs,
    )


@nox.session(python=PYTHONS)
def conformance(session: nox.Session) -> None:
    """CPython's own test_asyncio against aioeventlet.EventLoop."""
    install(session)
    session.run("pytest", "tests/cpython", *session.posargs)


@nox.session(python=PYTHONS)
def integration(session: nox.Session) -> None:
    """Real libraries against real servers (tests/integration), and examples/.

    Installs the Debian packages it starts (redis-server, PostgreSQL) through
    scripts/install-servers; the tests start and stop the servers themselves.
    """
    session.run("scripts/install-servers", external=True)
    install(session, "-r", "tests/integration/requirements.txt")
    session.run("pytest", "tests/integration", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy --strict."""
    install(session, "ruff", "mypy")
    session.run("ruff", "check", "src", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "noxfile.py")
    session.run("mypy", "--strict", "src")


@nox.session(python="3.12")
def docs(session: nox.Session) -> None:
    """The documentation site (Sphinx: warnings are errors, nitpicky) and the
    tests that run its code (migration steps, quick start, testing recipes)."""
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
