"""How run.judge() holds the conformance run to the known-failures table."""

from __future__ import annotations

import pytest

from . import known_failures, run

ID = "test_m.T.test_x"


def verdict(
    monkeypatch: pytest.MonkeyPatch,
    entry: known_failures.Known | None,
    stock: str,
    ours: str,
) -> run.ModuleVerdict:
    table = {} if entry is None else {ID: entry}
    monkeypatch.setattr(known_failures, "KNOWN_FAILURES", table)
    return run.judge(
        "test_m",
        {ID: stock},
        {ID: ours},
        "patched",
        python="3.13",
        stock_plain={ID: "pass"},
    )


def test_a_failure_not_in_the_table_fails_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v = verdict(monkeypatch, None, stock="pass", ours="fail")
    assert v.unexpected_failures == [ID]


def test_a_listed_test_that_passes_fails_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = known_failures.Known("needs a fix", modes=("patched",))
    v = verdict(monkeypatch, entry, stock="pass", ours="pass")
    assert v.unexpected_passes == [ID]


def test_a_harness_entry_that_stock_asyncio_passes_is_a_wrong_cause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = known_failures.Known("harness", cause="harness", modes=("patched",))
    v = verdict(monkeypatch, entry, stock="pass", ours="fail")
    assert v.wrong_harness == [ID]
    assert v.known == 1


@pytest.mark.parametrize("stock", ["pass", "hang"])
@pytest.mark.parametrize("ours", ["pass", "fail", "hang"])
def test_a_flaky_entry_accepts_either_outcome(
    monkeypatch: pytest.MonkeyPatch, stock: str, ours: str
) -> None:
    entry = known_failures.Known(
        "a race in the test", cause="harness", modes=("patched",), flaky=True
    )
    v = verdict(monkeypatch, entry, stock=stock, ours=ours)
    assert v.unexpected_failures == []
    assert v.unexpected_passes == []
    assert v.wrong_harness == []
    assert v.stale_entries == []
    # A pass counts as a pass; a failure is a known one.
    assert v.ours_ok_vs_plain == (ours == "pass")
    assert v.ours_ok == (ours == "pass" and stock == "pass")
    assert v.known == (ours != "pass" and stock == "pass")


def test_an_entry_for_another_python_or_mode_does_not_apply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = known_failures.Known("old", pythons=("3.10",), flaky=True)
    v = verdict(monkeypatch, entry, stock="pass", ours="fail")
    assert v.unexpected_failures == [ID]
