"""Shared machinery of the reliability suite (issue 8).

* Sizes: every stress test takes its load from :func:`size`, small enough for
  CI by default; ``AIOEVENTLET_STRESS=long`` selects the long version.
* Leak checks: :class:`LeakCheck` snapshots what a test could leave behind
  (open fds from ``/proc/self/fd``, eventlet hub listeners and live timers, OS
  threads from ``/proc/self/task``, live greenlets) and counts what is new
  afterwards.
* Results: a :class:`Recorder` stores real counts of what a test did (load
  held, faults injected, bad inputs tried, and how many of them were lost or
  hung, as the test counted them); the pytest plugin below adds each test's
  leak count, outcome and whether it hit pytest-timeout, writes them
  to ``build/reliability/results.json`` (or ``$AIOEVENTLET_RELIABILITY_RESULTS``)
  at the end of the session, and renders the table of ``docs/reliability.md``
  from them (see ``render_reliability.py``).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
import weakref
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import greenlet
import pluggy
import pytest

# aioeventlet first: it imports eventlet with its deprecation warning filtered.
import aioeventlet
from aioeventlet import _hub

# isort: split
import eventlet
import eventlet.hubs

from .render_reliability import KINDS

ROOT = Path(__file__).resolve().parents[2]

# -- sizes ---------------------------------------------------------------------

SIZE_ENV = "AIOEVENTLET_STRESS"
SIZE = os.environ.get(SIZE_ENV, "ci").strip().lower() or "ci"
if SIZE not in ("ci", "long"):
    raise RuntimeError(f"{SIZE_ENV} must be 'ci' (the default) or 'long', not {SIZE!r}")
LONG = SIZE == "long"


def size(ci: int, long: int) -> int:
    """The load for this run: *ci* by default, *long* with AIOEVENTLET_STRESS=long."""
    return long if LONG else ci


def seed() -> int:
    """Seed of every random choice in the suite (AIOEVENTLET_STRESS_SEED)."""
    return int(os.environ.get("AIOEVENTLET_STRESS_SEED", "20261125"))


@contextlib.contextmanager
def nofile_limit(wanted: int) -> Iterator[int]:
    """Raise RLIMIT_NOFILE's soft limit towards *wanted* (never above the hard
    limit) for the duration; yields the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = soft
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    try:
        yield target
    finally:
        if target != soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# -- leak checks ----------------------------------------------------------------


def _open_fds() -> dict[int, str]:
    fds: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            fds[fd] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the directory listing's own fd, gone already
    return fds


def _hub_state() -> tuple[dict[str, dict[int, Any]], list[Any]]:
    hub = eventlet.hubs.get_hub()
    listeners = {
        "read": dict(hub.listeners[_hub.READ]),
        "write": dict(hub.listeners[_hub.WRITE]),
    }
    timers = [t for _, t in hub.timers + hub.next_timers if not t.called]
    return listeners, timers


def _os_threads() -> dict[tuple[int, int], str]:
    """Every OS thread of this process, as the kernel lists them.

    Keyed by (thread id, start time in clock ticks): a thread id the kernel
    hands out again after a thread ended is a different thread.  The kernel's
    list is the only complete one.  ``threading.enumerate()`` knows only the
    threads its own module object started, and there are two:
    ``eventlet.patcher.original("threading")`` is a separate copy of the
    module, which sees neither the program's ``threading.Thread`` objects nor
    the loop's executor workers, while the program's module does not see
    threads started through the copy; and neither sees a thread started with
    ``_thread.start_new_thread()`` or by C code.
    """
    threads: dict[tuple[int, int], str] = {}
    for name in os.listdir("/proc/self/task"):
        tid = int(name)
        try:
            with open(
                f"/proc/self/task/{name}/stat", encoding="utf-8", errors="replace"
            ) as f:
                stat = f.read()
        except OSError:
            continue  # it ended while we looked
        # Fields after the command name, which is in parentheses and may
        # contain spaces: state is field 3, start time field 22.
        fields = stat[stat.rindex(")") + 2 :].split()
        threads[tid, int(fields[19])] = stat[stat.index("(") + 1 : stat.rindex(")")]
    return threads


def _python_thread_names() -> dict[int, str]:
    """OS thread id -> repr of the Python ``Thread`` running on it, from the
    program's ``threading`` module and from eventlet's unpatched copy: only
    to name what :func:`_os_threads` found."""
    names: dict[int, str] = {}
    for module in (_hub.original("threading"), sys.modules["threading"]):
        for thread in module.enumerate():
            native_id = getattr(thread, "native_id", None)
            if native_id is not None:
                names[native_id] = repr(thread)
    return names


def _live_greenlets() -> list[greenlet.greenlet]:
    hub_greenlet = eventlet.hubs.get_hub().greenlet
    return [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, greenlet.greenlet)
        and obj  # started and not finished: parked somewhere
        and obj.parent is not None  # not a thread's main greenlet
        and obj is not hub_greenlet
        and obj is not greenlet.getcurrent()
    ]


@dataclass
class Leaks:
    fds: dict[int, str] = field(default_factory=dict)
    listeners: list[str] = field(default_factory=list)
    timers: list[str] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    greenlets: list[str] = field(default_factory=list)

    def count(self) -> int:
        return (
            len(self.fds)
            + len(self.listeners)
            + len(self.timers)
            + len(self.threads)
            + len(self.greenlets)
        )

    def __str__(self) -> str:
        parts = [f"{name}: {value}" for name, value in asdict(self).items() if value]
        return "; ".join(parts) or "nothing"


class LeakCheck:
    """What the process holds before a test, to compare with after it.

    tests/stress/test_leak_check.py plants one leak of each kind and checks
    that this finds it: a check that cannot fail would report "0 leaked" for
    nothing.
    """

    def __init__(self) -> None:
        # The hub (and its epoll fd) exists before the snapshot, so that a
        # test that happens to create it first is not blamed for it.
        eventlet.hubs.get_hub()
        gc.collect()
        self.fds = _open_fds()
        listeners, timers = _hub_state()
        self.listener_keys = {
            (kind, fd, id(lst))
            for kind, b in listeners.items()
            for fd, lst in b.items()
        }
        self.timer_ids = {id(t) for t in timers}
        self.threads = set(_os_threads())
        self.greenlets: weakref.WeakSet[greenlet.greenlet] = weakref.WeakSet(
            _live_greenlets()
        )

    def leaks(self) -> Leaks:
        gc.collect()
        found = Leaks()
        now = _open_fds()
        for fd, target in now.items():
            if self.fds.get(fd) != target:
                found.fds[fd] = target
        listeners, timers = _hub_state()
        for kind, bucket in listeners.items():
            for fd, lst in bucket.items():
                if (kind, fd, id(lst)) not in self.listener_keys:
                    found.listeners.append(f"{kind} fd {fd}: {lst!r}")
        found.timers = [repr(t) for t in timers if id(t) not in self.timer_ids]
        new_threads = {
            key: comm for key, comm in _os_threads().items() if key not in self.threads
        }
        if new_threads:
            names = _python_thread_names()
            found.threads = [
                f"OS thread {tid} ({names.get(tid, f'not a Python Thread: {comm}')})"
                for (tid, _), comm in sorted(new_threads.items())
            ]
        found.greenlets = [
            repr(g) for g in _live_greenlets() if g not in self.greenlets
        ]
        return found

    def settle(self, grace: float = 2.0) -> Leaks:
        """Leaks still there after *grace* seconds: executor threads and
        finishing greenthreads get a moment to end on their own, which is not
        a leak; whatever is still there then is."""
        deadline = time.monotonic() + grace
        while True:
            found = self.leaks()
            if not found.count() or time.monotonic() > deadline:
                return found
            # Let the hub run (greenthreads end) and OS threads exit.
            eventlet.sleep(0.01)


# -- results ---------------------------------------------------------------------

RESULTS_ENV = "AIOEVENTLET_RELIABILITY_RESULTS"
DOC_ENV = "AIOEVENTLET_RELIABILITY_DOC"
# What pytest-timeout's failure says (its PYTEST_FAILURE_MESSAGE).
_TIMEOUT_MESSAGE = "from pytest-timeout"


def _source_revision() -> str:
    """The commit the run tested, and whether the work tree differed from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            # The page this run rewrites does not count: regenerating it
            # twice must not make the second run look untested.
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)docs/reliability.md",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit} with uncommitted changes" if changed else commit


@dataclass
class Record:
    test: str
    kind: str  # one of render_reliability.KINDS
    what: str
    count: int
    unit: str
    # None: the test did not count it (see Recorder for how each shows).
    lost: int | None
    hung: int | None


@dataclass
class TestResult:
    records: list[Record] = field(default_factory=list)
    leaked: int | None = None
    leak_detail: str = ""
    outcome: str = "passed"
    reason: str = ""
    # The test itself hit pytest-timeout: it hung, whatever it recorded.
    timed_out: bool = False


class ReliabilityPlugin:
    """Collects records, leak counts and outcomes; writes them at the end."""

    name = "aioeventlet-reliability"

    def __init__(self) -> None:
        self.tests: dict[str, TestResult] = {}
        self.started = time.monotonic()

    def result(self, nodeid: str) -> TestResult:
        return self.tests.setdefault(nodeid, TestResult())

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
        outcome = yield
        if item.nodeid not in self.tests:
            return
        report = outcome.get_result()
        result = self.tests[item.nodeid]
        if hasattr(report, "wasxfail"):
            result.outcome = "xfail"
            result.reason = str(report.wasxfail)
        elif report.failed and result.outcome == "passed":
            result.outcome = f"failed ({report.when})"
        if report.failed and _TIMEOUT_MESSAGE in str(report.longrepr):
            result.timed_out = True

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from .render_reliability import render

        out_dir = Path(os.environ.get(RESULTS_ENV) or ROOT / "build" / "reliability")
        out_dir.mkdir(parents=True, exist_ok=True)
        data = {
            "size": SIZE,
            "seed": seed(),
            "python": platform.python_version(),
            "implementation": sys.implementation.name,
            "eventlet": eventlet.__version__,
            "greenlet": greenlet.__version__,
            "aioeventlet": aioeventlet.__version__,
            "hub": type(eventlet.hubs.get_hub()).__module__,
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "duration": round(time.monotonic() - self.started),
            "source": _source_revision(),
            "tests": {
                nodeid: {
                    "records": [asdict(r) for r in res.records],
                    "leaked": res.leaked,
                    "leak_detail": res.leak_detail,
                    "outcome": res.outcome,
                    "reason": res.reason,
                    "timed_out": res.timed_out,
                }
                for nodeid, res in sorted(self.tests.items())
            },
        }
        results = out_dir / "results.json"
        results.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        text = render(data)
        (out_dir / "reliability.md").write_text(text, encoding="utf-8")
        doc = os.environ.get(DOC_ENV)
        if doc:
            Path(doc).write_text(text, encoding="utf-8")


def plugin(config: pytest.Config) -> ReliabilityPlugin:
    found = config.pluginmanager.get_plugin(ReliabilityPlugin.name)
    if found is None:
        found = ReliabilityPlugin()
        config.pluginmanager.register(found, ReliabilityPlugin.name)
    assert isinstance(found, ReliabilityPlugin)
    return found


class Recorder:
    """Records what one test did (the ``reliability`` fixture hands it out).

    *count* *unit* is how much the test tried; *lost* how much of it did not
    arrive as expected (expected minus delivered, plus anything delivered
    twice); *hung* how many operations hit a timeout.  The test measures
    *lost* and *hung* and passes what it counted.  Left out, *lost* shows as
    "not counted" on the page, never as a 0 that nobody measured; *hung*
    left out means the test has no wait with a timeout of its own, and its
    row shows whether the test as a whole hit pytest-timeout.
    """

    def __init__(self, result: TestResult, nodeid: str) -> None:
        self._result = result
        self._nodeid = nodeid

    def __call__(
        self,
        kind: str,
        what: str,
        count: int,
        unit: str,
        *,
        lost: int | None = None,
        hung: int | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown record kind {kind!r}; use one of {KINDS}")
        for name, value in (("count", count), ("lost", lost), ("hung", hung)):
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be a count (an int >= 0), not {value!r}")
        self._result.records.append(
            Record(self._nodeid, kind, what, count, unit, lost=lost, hung=hung)
        )


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Iterator[Recorder]:
    """Record what the test did, and check that it leaked nothing.

    Fails the test at teardown if it left an fd, a hub listener or timer, an
    OS thread or a live greenlet behind; the counts go to the report either
    way.
    """
    result = plugin(request.config).result(request.node.nodeid)
    check = LeakCheck()
    yield Recorder(result, request.node.nodeid)
    leaks = check.settle()
    result.leaked = leaks.count()
    result.leak_detail = str(leaks)
    assert not leaks.count(), f"the test leaked: {leaks}"
