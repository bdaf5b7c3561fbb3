"""Sphinx extension: the ``known-failures`` directive.

Renders the known-failures table of the CPython conformance run straight from
``tests/cpython/known_failures.py`` at build time, so the compatibility page
can never disagree with what the tests enforce.  The module is loaded from its
file (the tests are not an importable package) and no network is involved.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "tests" / "cpython" / "known_failures.py"


def load_table(path: Path = TABLE) -> dict[str, Any]:
    """``KNOWN_FAILURES`` of the module at *path*."""
    table: dict[str, Any] = load_module(path).KNOWN_FAILURES
    return table


def load_causes(path: Path = TABLE) -> dict[str, str]:
    """What each ``cause`` means, read from the module docstring's list
    (``* ``"name"``: text``), so a cause added there is explained here too."""
    doc = load_module(path).__doc__ or ""
    found = re.findall(r'^\* ``"(\w+)"``: (.+?)(?=^\* |^\s*$|\Z)', doc, re.M | re.S)
    return {name: " ".join(text.split()).rstrip(".") for name, text in found}


def load_module(path: Path) -> Any:
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
    return module


def rows(table: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """One row per entry, sorted by test id: test, pythons, modes, cause, reason."""
    result = []
    for test_id in sorted(table):
        entry = table[test_id]
        pythons = ", ".join(entry.pythons) if entry.pythons else "all"
        modes = ", ".join(entry.modes) if entry.modes else "all"
        result.append((test_id, pythons, modes, entry.cause, entry.reason))
    return result


def groups(
    table: dict[str, Any],
) -> list[tuple[tuple[str, str, str, str], list[str]]]:
    """Entries sharing cause, pythons, modes and reason, with their test ids:
    one reason is read once, however many tests it explains."""
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for test_id, pythons, modes, cause, reason in rows(table):
        grouped.setdefault((cause, pythons, modes, reason), []).append(test_id)
    return sorted(grouped.items())


def summary(table: dict[str, Any]) -> str:
    if not table:
        return (
            "The table is empty: every CPython test that the conformance run "
            "selects passes on aioeventlet, on every Python and mode it runs."
        )
    by_cause: dict[str, int] = {}
    for entry in table.values():
        by_cause[entry.cause] = by_cause.get(entry.cause, 0) + 1
    parts = ", ".join(f"{count} {cause}" for cause, count in sorted(by_cause.items()))
    plural = "test is" if len(table) == 1 else "tests are"
    return f"{len(table)} {plural} known to fail: {parts}."


def cause_items(table: dict[str, Any], causes: dict[str, str]) -> list[tuple[str, str]]:
    """(cause, meaning) for each cause the table uses, in name order."""
    used = sorted({entry.cause for entry in table.values()})
    return [(c, causes.get(c, "").replace("``", "")) for c in used]


def setup(app: Any) -> dict[str, Any]:
    from docutils import nodes
    from sphinx.util.docutils import SphinxDirective

    class KnownFailures(SphinxDirective):
        """``.. known-failures::``: the table, with a one-line summary."""

        has_content = False

        def run(self) -> list[nodes.Node]:
            self.env.note_dependency(str(TABLE))
            table = load_table()
            causes = load_causes()
            output: list[nodes.Node] = [nodes.paragraph(text=summary(table))]
            if not table:
                return output
            items = nodes.bullet_list()
            for cause, meaning in cause_items(table, causes):
                para = nodes.paragraph()
                para += nodes.strong(text=cause)
                para += nodes.Text(f": {meaning}" if meaning else "")
                items += nodes.list_item("", para)
            output.append(items)
            for (cause, pythons, modes, reason), test_ids in groups(table):
                head = nodes.paragraph()
                head += nodes.strong(text=cause)
                head += nodes.Text(f" (Python: {pythons}; mode: {modes}): {reason}")
                tests = nodes.bullet_list()
                for test_id in test_ids:
                    para = nodes.paragraph()
                    para += nodes.literal(text=test_id)
                    tests += nodes.list_item("", para)
                output += [head, tests]
            return output

    app.add_directive("known-failures", KnownFailures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
