"""How run.judge() holds the anyio-suite run to the known-failures table
(runs in the ordinary test session: no anyio needed)."""

from __future__ import annotations

import pytest

from . import known_failures, run

ID = "test_m.py::test_x[asyncio]"


def verdict(
    monkeypatch: pytest.MonkeyPatch,
    stock: str,
    ours: str,
    entry: known_failures.Known | None = None,
    *,
    complete: bool = True,
) -> run.Verdict:
    table = {} if entry is None else {ID: entry}
    monkeypatch.setattr(known_failures, "KNOWN_FAILURES", table)
    return run.judge({ID: stock}, {ID: ours}, "3.12", complete=complete)


NEEDS_A_FIX = known_failures.Known("needs a fix", outside_harness=True)
CRASHES = known_failures.Known("a race crashes it", outside_harness=True, crashes=True)


@pytest.mark.parametrize(
    ("stock", "ours", "entry", "bucket"),
    [
        ("pass", "pass", None, "ok"),
        ("xfail", "pass", None, "ok"),
        ("pass", "fail", None, "unexpected_failures"),
        ("pass", "error", None, "unexpected_failures"),
        ("pass", "missing", None, "unexpected_failures"),
        ("skip", "fail", None, "unexpected_failures"),
        ("pass", "fail", NEEDS_A_FIX, "known"),
        ("pass", "pass", NEEDS_A_FIX, "unexpected_passes"),
        ("pass", "crash", CRASHES, "known"),
        ("pass", "pass", CRASHES, "ok"),
        ("fail", "fail", None, "environment"),
        ("error", "fail", None, "environment"),
        ("fail", "fail", NEEDS_A_FIX, "listed_but_environment"),
        ("fail", "pass", None, "stock_only"),
        ("skip", "skip", None, "skipped"),
    ],
)
def test_each_pair_of_outcomes_lands_in_one_bucket(
    monkeypatch: pytest.MonkeyPatch,
    stock: str,
    ours: str,
    entry: known_failures.Known | None,
    bucket: str,
) -> None:
    v = verdict(monkeypatch, stock, ours, entry)
    assert getattr(v, bucket) == [ID]
    assert v.outcomes == {ID: (stock, ours)}
    failing = bucket in ("unexpected_failures", "unexpected_passes")
    assert bool(v.problems()) == failing


def test_an_entry_for_another_python_does_not_apply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = known_failures.Known("3.10 only", outside_harness=False, pythons=("3.10",))
    assert verdict(monkeypatch, "pass", "fail", entry).unexpected_failures == [ID]


def test_an_entry_without_its_test_is_stale_unless_the_run_was_partial(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        known_failures, "KNOWN_FAILURES", {"gone[asyncio]": NEEDS_A_FIX}
    )
    v = run.judge({ID: "pass"}, {ID: "pass"}, "3.12")
    assert v.stale_entries == ["gone[asyncio]"]
    assert v.problems()
    assert not run.judge({ID: "pass"}, {ID: "pass"}, "3.12", complete=False).problems()


@pytest.mark.parametrize(
    ("rerun", "bucket"),
    [
        (("pass", "pass"), "passed_on_rerun"),
        (("fail", "fail"), "environment"),
        (("pass", "fail"), "unexpected_failures"),
        (("missing", "missing"), "unexpected_failures"),
    ],
)
def test_a_rerun_settles_an_unexpected_failure(
    monkeypatch: pytest.MonkeyPatch, rerun: tuple[str, str], bucket: str
) -> None:
    v = verdict(monkeypatch, "pass", "fail")
    run.apply_reruns(v, {ID: rerun})
    assert getattr(v, bucket) == [ID]
    assert bool(v.problems()) == (bucket == "unexpected_failures")


def test_summary_line_is_the_exception_line() -> None:
    detail = "t.py:3: in test_x\n    f()\nE   ValueError: boom\nE    +  where"
    assert run.summary_line(detail) == "ValueError: boom"
    grouped = (
        "  | Traceback (most recent call last):\n"
        "  | pytest.PytestUnraisableExceptionWarning: Exception ignored in: <s>\n"
        "  | See https://docs.pytest.org/ for more info.\n"
        "  +------------------------------------"
    )
    assert run.summary_line(grouped) == (
        "pytest.PytestUnraisableExceptionWarning: Exception ignored in: <s>"
    )
    assert run.summary_line("x\nE   assert 1 == 2\nE    +  where 1 = f()") == (
        "assert 1 == 2"
    )
    assert run.summary_line("a\nb\n") == "b"
    assert run.summary_line("") == "(no report)"


def test_errors_are_grouped_without_what_changes_between_runs() -> None:
    a = "Exception ignored in: <socket.socket fd=12, family=10, laddr=('::', 4123)>"
    b = "Exception ignored in: <socket.socket fd=19, family=10, laddr=('::', 80)>"
    assert run.normalize_error(a) == run.normalize_error(b)
