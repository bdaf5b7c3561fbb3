"""Sphinx extension: the ``known-failures`` directive.

Renders the known-failures table of the CPython conformance run straight from
``tests/cpython/known_failures.py`` at build time, so the compatibility page
can never disagree with what the tests enforce.  The module is loaded from its
file (the tests are not an importable package) and no network is involved.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "tests" / "cpython" / "known_failures.py"

CAUSES = {
    "ours": "a difference in aioeventlet's loop, to be fixed",
    "subprocess": "subprocess support being rewritten without child watchers",
    "harness": "the test harness breaks under monkey-patching (stock asyncio too)",
}

COLUMNS = ("Test", "Python", "Mode", "Cause", "Reason")


def load_table(path: Path = TABLE) -> dict[str, Any]:
    """``KNOWN_FAILURES`` of the module at *path*."""
    name = "_aioeventlet_docs_known_failures"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the known-failures table from {path}")
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while building the class.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    table: dict[str, Any] = module.KNOWN_FAILURES
    return table


def rows(table: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """One row per entry, sorted by test id: test, pythons, modes, cause, reason."""
    result = []
    for test_id in sorted(table):
        entry = table[test_id]
        pythons = ", ".join(entry.pythons) if entry.pythons else "all"
        modes = ", ".join(entry.modes) if entry.modes else "all"
        result.append((test_id, pythons, modes, entry.cause, entry.reason))
    return result


def summary(table: dict[str, Any]) -> str:
    if not table:
        return (
            "The table is empty: every CPython test that the conformance run "
            "selects passes on aioeventlet, on every Python and mode it runs."
        )
    by_cause: dict[str, int] = {}
    for entry in table.values():
        by_cause[entry.cause] = by_cause.get(entry.cause, 0) + 1
    parts = ", ".join(
        f"{count} {cause} ({CAUSES.get(cause, cause)})"
        for cause, count in sorted(by_cause.items())
    )
    plural = "test is" if len(table) == 1 else "tests are"
    return f"{len(table)} {plural} known to fail: {parts}."


def setup(app: Any) -> dict[str, Any]:
    from docutils import nodes
    from sphinx.util.docutils import SphinxDirective

    class KnownFailures(SphinxDirective):
        """``.. known-failures::``: the table, with a one-line summary."""

        has_content = False

        def run(self) -> list[nodes.Node]:
            self.env.note_dependency(str(TABLE))
            table = load_table()
            output: list[nodes.Node] = [nodes.paragraph(text=summary(table))]
            if not table:
                return output
            group = nodes.tgroup(cols=len(COLUMNS))
            for width in (30, 8, 8, 8, 46):
                group += nodes.colspec(colwidth=width)
            head = nodes.thead()
            head += self._row(COLUMNS, literal_first=False)
            body = nodes.tbody()
            for row in rows(table):
                body += self._row(row, literal_first=True)
            group += head
            group += body
            output.append(nodes.table("", group, classes=["known-failures"]))
            return output

        @staticmethod
        def _row(cells: tuple[str, ...], *, literal_first: bool) -> nodes.row:
            row = nodes.row()
            for i, text in enumerate(cells):
                entry = nodes.entry()
                para = nodes.paragraph()
                if i == 0 and literal_first:
                    para += nodes.literal(text=text)
                else:
                    para += nodes.Text(text)
                entry += para
                row += entry
            return row

    app.add_directive("known-failures", KnownFailures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
