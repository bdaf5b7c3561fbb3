"""How run.judge() holds eventlet's suite to the known-failures table, and how
the run reads pytest's junit reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import known_failures, run

ID = "tests/m_test.py::T::test_x"
ENTRY = known_failures.Known("counts the loop's", "counts", False, "never")


def verdict(entry: known_failures.Known | None, ref: str, ours: str) -> run.Verdict:
    table = {} if entry is None else {ID: entry}
    return run.judge({ID: ref}, {ID: ours}, python="3.12", table=table)


def test_a_failure_not_in_the_table_fails_the_run() -> None:
    v = verdict(None, ref="pass", ours="fail")
    assert v.unexpected_failures == [ID]
    assert (v.required, v.ok) == (1, 0)


def test_a_listed_failure_is_known() -> None:
    v = verdict(ENTRY, ref="pass", ours="fail")
    assert v.known == [ID]
    assert not v.unexpected_failures


def test_a_listed_test_that_passes_fails_the_run() -> None:
    v = verdict(ENTRY, ref="pass", ours="pass")
    assert v.unexpected_passes == [ID]
    assert run.problems(v, run.Results())


def test_an_entry_for_a_test_failing_without_the_loop_is_stale() -> None:
    v = verdict(ENTRY, ref="fail", ours="fail")
    assert v.stale_entries == [ID]
    assert v.reference_failures == [ID]


def test_an_entry_for_another_python_does_not_apply() -> None:
    other = known_failures.Known("r", "counts", False, "w", pythons=("3.10",))
    v = verdict(other, ref="pass", ours="fail")
    assert v.unexpected_failures == [ID]


def test_failures_without_the_loop_are_not_ours() -> None:
    v = verdict(None, ref="fail", ours="fail")
    assert v.reference_failures == [ID]
    assert v.required == 0
    assert not run.problems(v, run.Results())


@pytest.mark.parametrize("ours", ["fail", "missing"])
def test_a_test_skipped_without_the_loop_must_not_fail_with_it(ours: str) -> None:
    # "missing": the run with the loop did not report it (it crashed).
    v = verdict(None, ref="skip", ours=ours)
    assert v.unexpected_failures == [ID]


def test_a_failure_only_the_loop_run_has_counts() -> None:
    v = run.judge({}, {"tests/x_test.py": "fail"}, table={})
    assert v.unexpected_failures == ["tests/x_test.py"]


def test_the_table_is_well_formed() -> None:
    for test_id, entry in known_failures.KNOWN_FAILURES.items():
        assert test_id.startswith("tests/"), test_id
        assert ".py::" in test_id, test_id
        assert entry.cause in known_failures.CAUSES, test_id
        assert entry.reason, test_id
        assert entry.why, test_id


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="" name="tests.asyncio_test" file="tests/asyncio_test.py">
 <skipped message="collection skipped">Only works on asyncio hub</skipped>
</testcase>
<testcase classname="tests.api_test.TestApi" name="test_ok" file="tests/api_test.py">
 <properties><property name="loop_ticks" value="7"/></properties>
</testcase>
<testcase classname="tests.api_test.TestApi" name="test_bad" file="tests/api_test.py">
 <properties><property name="loop_ticks" value="1"/>
 <property name="isolated" value="1"/></properties>
 <failure message="AssertionError: boom">traceback</failure>
</testcase>
<testcase classname="tests.api_test.TestApi" name="test_bad" file="tests/api_test.py">
 <error message="teardown failed">traceback 2</error>
</testcase>
<testcase classname="tests.hub_test" name="test_fn[a-1]" file="tests/hub_test.py">
 <skipped type="pytest.xfail" message="expected"/>
</testcase>
</testsuite></testsuites>
"""


def test_parse_junit(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    path.write_text(JUNIT)
    results = run.parse_junit(path)
    assert results.outcomes == {
        "tests/asyncio_test.py": "skip",
        "tests/api_test.py::TestApi::test_ok": "pass",
        "tests/api_test.py::TestApi::test_bad": "fail",
        "tests/hub_test.py::test_fn[a-1]": "xfail",
    }
    bad = "tests/api_test.py::TestApi::test_bad"
    assert "boom" in results.details[bad]
    assert "teardown failed" in results.details[bad]
    assert results.isolated == {bad}
    assert results.ticks == {"tests/api_test.py::TestApi::test_ok": 7, bad: 1}
    assert run.counts(results.outcomes) == {"pass": 2, "fail": 1, "skip": 1}


def test_a_missing_report_reads_as_no_test(tmp_path: Path) -> None:
    assert not run.parse_junit(tmp_path / "none.xml").outcomes
