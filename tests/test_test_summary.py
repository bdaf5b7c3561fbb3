"""scripts/test_summary.py: the closing summary of a test run, from nox's JSON
report and the JUnit XML files pytest leaves per session."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "test_summary.py"

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" tests="3">
<testcase classname="tests.test_loop" name="test_ok" time="0.1"/>
<testcase classname="tests.test_loop" name="test_wake[aioeventlet]" time="0.2">
<failure message="assert 1 == 2">def test_wake():
&gt;       assert 1 == 2
E       assert 1 == 2</failure></testcase>
<testcase classname="tests.test_io" name="test_fd" time="0.3">
<error message="failed on setup">fixture 'x' not found</error></testcase>
</testsuite></testsuites>
"""


def summarize(tmp_path: Path, sessions: list[dict[str, object]]) -> str:
    report = tmp_path / "nox.json"
    report.write_text(json.dumps({"result": 0, "sessions": sessions}))
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), str(report)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stderr == ""
    return result.stdout


def session(name: str, result: str) -> dict[str, object]:
    """A session as nox's JSON report lists it: "name" is the session
    function's, the full name comes first in "signatures"."""
    return {
        "name": re.split(r"[-(]", name, maxsplit=1)[0],
        "signatures": [name],
        "result": result,
        "reason": None,
        "args": {},
    }


def test_all_passed(tmp_path: Path) -> None:
    out = summarize(
        tmp_path, [session("tests-3.12", "success"), session("lint", "success")]
    )
    assert out == "test summary: all 2 nox sessions passed\n"


def test_failed_session_lists_its_failed_tests_with_tracebacks(tmp_path: Path) -> None:
    name = "hubs(hub='poll', eventlet='oldest')"
    (tmp_path / "hubs_hub=_poll_,_eventlet=_oldest.xml").write_text(JUNIT)
    out = summarize(tmp_path, [session(name, "failed"), session("lint", "success")])
    assert out.splitlines() == [
        "test summary: 1 of 2 nox sessions failed",
        "",
        f"=== {name}: failed",
        "--- failure: tests.test_loop::test_wake[aioeventlet]",
        "def test_wake():",
        ">       assert 1 == 2",
        "E       assert 1 == 2",
        "--- error: tests.test_io::test_fd",
        "fixture 'x' not found",
    ]


def test_second_pytest_run_of_a_session_is_read_too(tmp_path: Path) -> None:
    (tmp_path / "tests-3.13.xml").write_text(JUNIT.replace('errors="1"', 'errors="0"'))
    (tmp_path / "tests-3.13-2.xml").write_text(JUNIT)
    out = summarize(tmp_path, [session("tests-3.13", "failed")])
    assert out.count("--- failure: tests.test_loop::test_wake[aioeventlet]") == 2


@pytest.mark.parametrize("result", ["failed", "aborted"])
def test_session_that_failed_outside_pytest(tmp_path: Path, result: str) -> None:
    out = summarize(tmp_path, [session("lint", result)])
    assert "=== lint: failed" in out
    assert "no failed test recorded: the session failed outside pytest" in out


def test_long_tracebacks_are_cut_in_the_middle(tmp_path: Path) -> None:
    lines = "\n".join(f"line {i}" for i in range(500))
    junit = JUNIT.replace("fixture 'x' not found", lines)
    (tmp_path / "docs.xml").write_text(junit)
    out = summarize(tmp_path, [session("docs", "failed")]).splitlines()
    assert "line 0" in out
    assert "line 499" in out
    assert "line 250" not in out
    assert "    [... 380 lines cut ...]" in out


def test_no_report(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert (
        result.stdout
        == f"test summary: nox wrote no report ({tmp_path}/missing.json)\n"
    )


def test_failed_session_reads_only_its_own_reports(tmp_path: Path) -> None:
    """tests-3.10 crashed before writing its report; tests-3.11's failures
    are not listed under it."""
    (tmp_path / "tests-3.11.xml").write_text(JUNIT)
    out = summarize(
        tmp_path, [session("tests-3.10", "failed"), session("tests-3.11", "success")]
    )
    assert "=== tests-3.10: failed" in out
    assert "no failed test recorded" in out
    assert "test_wake" not in out


def test_crashed_session_shows_faulthandlers_tracebacks(tmp_path: Path) -> None:
    """pytest died (no JUnit report): the .crash file faulthandler wrote,
    shown in place of "no failed test recorded"."""
    (tmp_path / "tests-3.10.crash").write_text(
        "Fatal Python error: Segmentation fault\n\n"
        "Current thread 0x00007f29 (most recent call first):\n  Garbage-collecting\n"
    )
    (tmp_path / "tests-3.12.crash").write_text("")  # ran and did not crash
    out = summarize(
        tmp_path, [session("tests-3.10", "failed"), session("tests-3.12", "failed")]
    )
    tests_310, tests_312 = out.split("=== tests-3.12")
    assert "--- crash: pytest died" in tests_310
    assert "Garbage-collecting" in tests_310
    assert "no failed test recorded" not in tests_310
    assert "no failed test recorded" in tests_312


def test_conftest_sends_a_crash_to_the_file_named(tmp_path: Path) -> None:
    """The other half: tests/conftest.py has faulthandler write to the file
    that AIOEVENTLET_CRASH_LOG names, for every thread (a real crash)."""
    (tmp_path / "test_crash.py").write_text(
        "import ctypes\n\ndef test_crash():\n    ctypes.string_at(0)\n"
    )
    crash = tmp_path / "run.crash"
    conftest = Path(__file__).resolve().parent / "conftest.py"
    (tmp_path / "conftest.py").write_text(conftest.read_text())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            "/dev/null",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_crash.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AIOEVENTLET_CRASH_LOG": str(crash)},
        check=False,
    )
    assert result.returncode != 0
    text = crash.read_text()
    assert "Fatal Python error: Segmentation fault" in text
    assert "test_crash.py" in text


def test_both_nox_processes_reports_are_summarized(tmp_path: Path) -> None:
    """CI runs two nox processes at once, each with its own JSON report."""
    alongside = tmp_path / "nox-alongside.json"
    alongside.write_text(
        json.dumps({"result": 0, "sessions": [session("anyio_suite-3.12", "failed")]})
    )
    (tmp_path / "anyio_suite-3.12.xml").write_text(JUNIT)
    main = tmp_path / "nox.json"
    main.write_text(json.dumps({"result": 1, "sessions": [session("lint", "success")]}))
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), str(main), str(alongside)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.splitlines()[0] == "test summary: 1 of 2 nox sessions failed"
    assert "=== anyio_suite-3.12: failed" in result.stdout
    assert "--- failure: tests.test_loop::test_wake[aioeventlet]" in result.stdout
