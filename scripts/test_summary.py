"""The closing summary of a test run: for each nox session that failed, its
failed tests and their tracebacks, so that the end of one CI log says what
broke without scrolling through 17 sessions' output.

scripts/test runs it after nox with nox's JSON reports (``nox --report``: one
per nox process, CI runs two at once) and
the JUnit XML files that every pytest run of the noxfile leaves in
``.nox/reports/`` (one per session, named after it), and beside them the
``.crash`` file where faulthandler writes if pytest itself dies.  Exits 0: the run's own
exit status is nox's.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

# A failure's text is printed whole up to this many lines, then cut from the
# middle: the top says where, the bottom says what.
MAX_LINES = 120


def slug(session_name: str) -> str:
    """The file name stem noxfile.pytest() gives a session's report."""
    return re.sub(r"[^A-Za-z0-9.=,-]+", "_", session_name).strip("_")


def session_name(session: dict[str, Any]) -> str:
    """A session's full name, as nox prints it and as ``session.name`` gives
    it to the noxfile ("tests-3.10", "hubs(hub='poll', eventlet='oldest')"):
    the report's "name" is only the session function's ("tests")."""
    signatures = session.get("signatures") or [session["name"]]
    return str(signatures[0])


def session_files(reports: Path, name: str, suffix: str) -> list[Path]:
    """A session's files of one kind: its first pytest run's, then the next
    runs' (``-2``, ``-3``, ...)."""
    stem = slug(name)
    return sorted(reports.glob(f"{stem}.{suffix}")) + sorted(
        reports.glob(f"{stem}-*.{suffix}")
    )


def failed_tests(report: Path) -> list[tuple[str, str, str]]:
    """``(test id, kind, text)`` for each failed or errored test case."""
    failures = []
    for case in ET.parse(report).getroot().iter("testcase"):
        for kind in ("failure", "error"):
            for element in case.findall(kind):
                test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
                text = element.text or element.get("message") or ""
                failures.append((test_id, kind, text))
    return failures


def shorten(text: str) -> str:
    lines = text.rstrip().splitlines()
    if len(lines) <= MAX_LINES:
        return "\n".join(lines)
    half = MAX_LINES // 2
    cut = len(lines) - 2 * half
    return "\n".join([*lines[:half], f"    [... {cut} lines cut ...]", *lines[-half:]])


def summarize(reports: Path, nox_reports: list[Path]) -> str:
    sessions = []
    missing = []
    for nox_report in nox_reports:
        if nox_report.exists():
            text = nox_report.read_text(encoding="utf-8")
            sessions += json.loads(text)["sessions"]
        else:
            missing.append(f"test summary: nox wrote no report ({nox_report})")
    if missing:
        return "\n".join(missing)
    failed = [s for s in sessions if s["result"] in ("failed", "aborted")]
    if not failed:
        return f"test summary: all {len(sessions)} nox sessions passed"
    out = [f"test summary: {len(failed)} of {len(sessions)} nox sessions failed"]
    for session in failed:
        name = session_name(session)
        failures = [
            f
            for path in session_files(reports, name, "xml")
            for f in failed_tests(path)
        ]
        crashes = [
            text
            for path in session_files(reports, name, "crash")
            if (text := path.read_text(encoding="utf-8", errors="replace")).strip()
        ]
        out.append("")
        out.append(f"=== {name}: {session.get('reason') or 'failed'}")
        for text in crashes:
            out.append("--- crash: pytest died; faulthandler's tracebacks")
            out.append(shorten(text))
        if not failures and not crashes:
            out.append(
                "    no failed test recorded: the session failed outside pytest "
                "(install, lint, docs build), or pytest stopped before writing its "
                "report (a crash such as a segfault, or a timeout); "
                "see its output above"
            )
        for test_id, kind, text in failures:
            out.append(f"--- {kind}: {test_id}")
            out.append(shorten(text))
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(
            "usage: test_summary.py REPORTS_DIR NOX_REPORT.json [NOX_REPORT.json ...]",
            file=sys.stderr,
        )
        return 2
    reports, nox_reports = Path(argv[0]), [Path(arg) for arg in argv[1:]]
    print(summarize(reports, nox_reports))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
