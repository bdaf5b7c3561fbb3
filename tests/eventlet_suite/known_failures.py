"""The table of eventlet's own tests that pass without an aioeventlet loop in
the process and fail with one.

Keys are pytest node ids, as the run prints them.  A test not listed that
passes as is and fails beside the loop, or a listed test that passes beside
it, fails the run (strict), so fixes surface and the table only shrinks.

``cause`` is one of:

* ``"counts"``: the test counts the hub's own listeners or timers (or reads
  its private timer bookkeeping) and finds the loop's there.  The loop is
  meant to have them; this is the one difference eventlet's suite is allowed
  to see (docs/conformance/eventlet.md).
* ``"ours"``: a fault of aioeventlet's, to be fixed in the core.

``reachable`` says whether a program can meet the difference outside the
test harness, and ``why`` says how or why not.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CAUSES", "KNOWN_FAILURES", "Known", "applies"]

CAUSES = ("counts", "ours")


@dataclass(frozen=True)
class Known:
    reason: str
    cause: str
    reachable: bool
    why: str
    # None: every Python; otherwise the ones ("3.12") where the test fails.
    pythons: tuple[str, ...] | None = None


def applies(entry: Known, python: str) -> bool:
    return entry.pythons is None or python in entry.pythons


_CHECK_HUB = Known(
    "the test's check_hub() asserts that hub.get_readers() and get_writers() "
    "are empty in the middle of the test, and finds the loop's listeners "
    "there (its self-pipe and its socket pair); it then calls "
    "hub.abort(wait=True)",
    cause="counts",
    reachable=False,
    why="only code that asserts the hub has no listener at all meets it; a "
    "loop that is alive has its listeners in the hub by design",
)

KNOWN_FAILURES: dict[str, Known] = {
    "tests/api_test.py::TestApi::test_001_trampoline_timeout": _CHECK_HUB,
    "tests/api_test.py::TestApi::test_connect_ssl": _CHECK_HUB,
    "tests/api_test.py::TestApi::test_connect_tcp": _CHECK_HUB,
    "tests/api_test.py::TestApi::test_tcp_listener": _CHECK_HUB,
    "tests/api_test.py::TestApi::test_timeout_cancel": _CHECK_HUB,
    "tests/hub_test.py::TestTimerCleanup::test_cancel_proportion": Known(
        "asserts hub.timers_canceled == 1000 after cancelling 1000 timers of "
        "its own; the loop cancels its own wait timers on the same hub (each "
        "wait that ends early cancels its timeout), and the counter includes "
        "them",
        cause="counts",
        reachable=False,
        why="timers_canceled is the hub's private bookkeeping: only code that "
        "reads it, as this test does, sees the loop's timers there",
    ),
    "tests/timer_test.py::TestTimer::test_schedule": Known(
        "the test calls hub.abort(), which drops every queued timer, the "
        "loop's pending wake-up or wait timer too.  Then either the loop "
        "stays parked for good (its wake-up timer is gone, and "
        "HubSelector.wake() sets no other while it holds one, so neither "
        "call_soon() nor a ready fd wakes it; the harness kills it after "
        "5 s), or, woken, it cancels its dropped wait timer and the hub's "
        "timers_canceled counts more cancelled timers than it holds: "
        "_hub.Hub.poll_alone() takes 'as many cancelled as queued' to mean "
        "that no live timer waits, so the loop polls its fds in its own "
        "greenthread and starves every greenthread whose timer is due.  The "
        "harness reports either after the test (and recounts)",
        cause="ours",
        reachable=True,
        why="a program that calls hub.abort() while a loop is alive and goes "
        "on can strand the loop or freeze its greenthreads (a timer cancelled "
        "from a thread other than its hub's also makes the count too large); "
        "the fix belongs in the core: wake() must not rely on a timer that "
        "abort() may have dropped, poll_alone() must not rely on "
        "timers_canceled",
    ),
}
