"""Sphinx configuration.  The build is offline: no extension downloads anything
(no intersphinx), and it runs with warnings as errors and nitpicky references
(``nox -s docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import aioeventlet  # noqa: E402  (after the path setup, for the version)

project = "aioeventlet"
author = "aioeventlet developers"
copyright = "aioeventlet developers"
release = aioeventlet.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "known_failures_table",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
# docs/conformance/ holds the generated sections that conformance.md
# includes: pages of their own they are not.
exclude_patterns = ["_build", "README.md", "conformance/*"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"aioeventlet {release}"
html_static_path = ["_static"]

nitpicky = True
# Without intersphinx (the build must not download Python's inventory), names
# from the standard library and eventlet cannot resolve to a page: do not flag
# those.  References to aioeventlet's own names are still checked.
nitpick_ignore_regex = [
    ("py:.*", r"_?(asyncio|concurrent|contextvars|collections|typing|types)\..*"),
    ("py:.*", r"(eventlet|greenlet)(\..*)?"),
    ("py:class", r"(Any|T|_T|Coroutine|Awaitable|Callable|Future|Task|Context)"),
    ("py:class", r"(BaseException|Exception|object|int|float|str|bool|None)"),
    # The type variables of generic signatures live in private modules.
    ("py:class", r"aioeventlet\._[a-z]+\._T"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True


def _write_cli_help() -> None:
    # The --help text is included in the command-line page, generated here so
    # that it always matches the parser.  A fixed width keeps it reproducible.
    import os

    from aioeventlet._cli import build_parser

    os.environ["COLUMNS"] = "80"
    generated = HERE / "_generated"
    generated.mkdir(exist_ok=True)
    text = build_parser().format_help()
    target = generated / "cli-help.txt"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


_write_cli_help()


def _code_after_docstring(path: Path) -> list[str]:
    import ast

    source = path.read_text()
    body = ast.parse(source).body
    start = 0
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
    ):
        start = body[0].end_lineno or 0
    lines = source.splitlines(keepends=True)[start:]
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def _write_migration_diffs() -> None:
    # Each step of the migration guide is shown as a diff against the step
    # before, made here from the files the tests run.  The module docstrings
    # are left out (the page says the same in prose), and the file names are
    # relative (Sphinx's own :diff: option prints absolute paths).
    import difflib
    import itertools

    steps = sorted((HERE / "migration").glob("step*.py"))
    generated = HERE / "_generated"
    generated.mkdir(exist_ok=True)
    for before, after in itertools.pairwise(steps):
        diff = "".join(
            difflib.unified_diff(
                _code_after_docstring(before),
                _code_after_docstring(after),
                fromfile=before.name,
                tofile=after.name,
            )
        )
        target = generated / f"{after.stem}.diff"
        if not target.exists() or target.read_text() != diff:
            target.write_text(diff)


_write_migration_diffs()
