"""The live-loop plugin and the two runs, on a small stand-in for eventlet's
suite (no download): what the loop must not change passes, what counts the
hub's listeners fails, and the harness's own checks fire."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import eventlet.hubs
import pytest

from . import run

# The plugin sits alone in its directory, which eventlet's runs put on
# PYTHONPATH; here it is imported the same way.
sys.path.insert(0, str(run.PLUGIN_DIR))
live_loop = importlib.import_module(run.PLUGIN)

SUITE_INIT = '''
"""Stands in for eventlet's tests/__init__.py: the two helpers the plugin wraps."""
from eventlet import hubs


def verify_hub_empty():
    hub = hubs.get_hub()
    assert not hub.get_readers() and not hub.get_writers(), "listeners left"


def run_python(path):
    return b"pass"


def run_isolated(path):
    run_python(path)
'''

SAMPLE_TEST = """
import eventlet
from eventlet import hubs

import tests


def test_sleeps():
    eventlet.sleep(0.05)


def test_verify_hub_empty():
    tests.verify_hub_empty()


def test_counts_listeners():
    assert not hubs.get_hub().get_readers()


def test_isolated():
    tests.run_isolated("program.py")
"""

PREFIX = "tests/sample_test.py::"


def test_both_runs_on_a_stand_in_suite(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    (suite / "tests").mkdir(parents=True)
    (suite / "pytest.ini").write_text("[pytest]\n")
    (suite / "tests" / "__init__.py").write_text(SUITE_INIT)
    (suite / "tests" / "sample_test.py").write_text(textwrap.dedent(SAMPLE_TEST))
    out = tmp_path / "out"
    out.mkdir()

    results = run.run_both(suite, out, ["tests"], serial=False)
    reference, ours = results["reference"], results["with-loop"]

    assert set(reference.outcomes.values()) == {"pass"}, reference.details
    assert not reference.ticks  # no loop in the reference run
    assert ours.outcomes == {
        PREFIX + "test_sleeps": "pass",
        PREFIX + "test_verify_hub_empty": "pass",
        PREFIX + "test_counts_listeners": "fail",
        PREFIX + "test_isolated": "pass",
    }, ours.details
    # The loop ran while the test slept, and around every test.
    assert ours.ticks[PREFIX + "test_sleeps"] > 1
    assert len(ours.ticks) == 4
    assert ours.isolated == {PREFIX + "test_isolated"}

    v = run.judge(reference.outcomes, ours.outcomes, table={})
    assert v.unexpected_failures == [PREFIX + "test_counts_listeners"]


def test_a_wrong_cancelled_timer_count_fails_the_test_and_is_set_right() -> None:
    # After hub.abort(), cancelling a dropped timer makes eventlet count more
    # cancelled timers than it holds; the plugin's check after each test.
    hub = eventlet.hubs.get_hub()
    right = hub.timers_canceled
    hub.timers_canceled += 1
    try:
        with pytest.raises(live_loop.LiveLoopError, match="poll_alone"):
            live_loop._check_cancelled_count()
        assert hub.timers_canceled == right
    finally:
        hub.timers_canceled = right
    live_loop._check_cancelled_count()  # a right count passes
