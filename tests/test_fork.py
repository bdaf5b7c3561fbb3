"""os.fork() while a loop runs: the child never runs the parent's loop (issue 13).

Each case runs tests/isolated/forking.py in a fresh interpreter, per patching
mode: the parent's loop runs in the main greenthread and sends ticks from its
timers on a socket both processes share, while a fork happens in a
greenthread (the loop parked), in a loop callback, in a coroutine's
``to_green()`` greenthread, or through ``multiprocessing``'s fork context.
The child runs a fresh loop of its own and reports through a pipe.  Before
the fix, the parent's loop copied into the child woke up as soon as the
child's hub ran and sent the parent's ticks a second time.
"""

from __future__ import annotations

import json
import re

import pytest

from .isolated import MODES, results, run_isolated

SCENARIOS = (
    "greenthread",
    "callback",
    "to_green",
    "multiprocessing",
    # The loop's greenthread is not parked in the hub but waiting in green
    # code called by a coroutine.
    "green_call",
    # The child ends with sys.exit() rather than os._exit(): from a
    # greenthread, SystemExit reaches the parked loop's greenthread through
    # the hub; from a callback, it leaves the loop's own iteration.
    "greenthread-sys-exit",
    "callback-sys-exit",
)

EXPECTED = {
    # The child's fresh loop did I/O, ran a greenthread and was woken from
    # another OS thread; it exited with status 0.
    "child": json.dumps(
        {"green": "green", "io": "child io", "own_pid": True, "threadsafe": "woken"},
        sort_keys=True,
    ),
    "status": "0",
    # The parent's I/O went on while the child lived, and after.
    "echo_during": "10",
    "echo_after": "3",
    "threadsafe_after": "woken",
    "ticks_after": "True",
    # A signal the child received did not reach the parent's handler.
    "signals_from_child": "0",
    "signal_after": "1",
    # The peer got every tick, and the send scheduled just before the fork,
    # exactly once; nothing of the parent's cancelled main task either.
    "peer_got_exactly_what_was_sent": "True",
    "duplicated": "[]",
    "p3_sent": "1",
    "cancelled_seen": "False",
}


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("mode", MODES)
def test_child_never_runs_the_parents_loop(mode: str, scenario: str) -> None:
    assert results(run_isolated("forking", mode, scenario)) == EXPECTED


@pytest.mark.parametrize(
    ("scenario", "error"),
    [
        ("callback-return", "this event loop belongs to the parent process"),
        ("to_green-return", "a greenthread run by aioeventlet.to_green()"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_child_returning_to_the_parents_loop_ends(
    mode: str, scenario: str, error: str
) -> None:
    """A child that returns from the forking callback, or from the function
    a coroutine ran with to_green(), to the parent's loop: nothing of the
    parent's runs, and the child ends there with status 1 and says why."""
    proc = run_isolated("forking", mode, scenario)
    # The child's error, on the stderr it shares with the parent, and no
    # other error or warning there.
    reported = [
        line
        for line in proc.stderr.splitlines()
        if re.match(r"\w+(Error|Exception|Warning): ", line)
    ]
    assert len(reported) == 1, proc.stderr
    assert reported[0].startswith(f"RuntimeError: {error}"), proc.stderr
    proc.stderr = ""
    assert results(proc) == {**EXPECTED, "status": "1"}
