"""Run one CPython test_asyncio module in this (fresh) interpreter.

Usage: python _worker.py MODULE --loop asyncio|aioeventlet [--patched]
           --out FILE [--skip FILE] [--test-timeout SECONDS]

Started by ``run.py``, one process per module, never imported by it.  Each
test's outcome is appended to FILE as one JSON line the moment it is known, so
that a hang or a crash loses nothing but the test in flight: ``run.py`` then
starts a new process that skips what is done.  A hung test is cut short by
faulthandler's watchdog, which dumps every thread's stack to stderr and exits.

With ``--patched``, ``eventlet.monkey_patch()`` runs before asyncio or any test
module is imported, as an application would do it.
"""

from __future__ import annotations

import argparse
import signal
import warnings

# eventlet announces its deprecation on import; filter exactly that warning,
# attributed to the module that imports eventlet (this one, or aioeventlet._hub).
warnings.filterwarnings(
    "ignore", message=r"\s*Eventlet is deprecated", category=Warning
)
# cryptography 51+ deprecates DSA, which dnspython's DNSSEC module (imported
# by eventlet's green DNS) touches: as in aioeventlet._hub.
warnings.filterwarnings(
    "ignore", message="DSA is deprecated", module=r"dns\.dnssecalgs\.dsa\Z"
)

_args = argparse.ArgumentParser()
_args.add_argument("module")
_args.add_argument("--loop", choices=("asyncio", "aioeventlet"), required=True)
_args.add_argument("--patched", action="store_true")
_args.add_argument("--out", required=True)
_args.add_argument("--skip")
_args.add_argument("--test-timeout", type=float, default=60.0)
# Tests the known-failures table lists get a shorter watchdog: they are
# expected to fail, and one that hangs should not cost a full timeout.
_args.add_argument("--known", help="file: one test id a line")
_args.add_argument("--known-timeout", type=float, default=5.0)
ARGS = _args.parse_args()

# A process started in the background by a shell without job control inherits
# SIGINT ignored, and Python then leaves it so: _thread.interrupt_main() does
# nothing and test_runners' interrupt tests spin forever.  Run every module
# with Python's usual KeyboardInterrupt handler, as it would run from a
# terminal.
signal.signal(signal.SIGINT, signal.default_int_handler)

if ARGS.patched:
    import eventlet

    eventlet.monkey_patch()

import asyncio  # noqa: E402
import faulthandler  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import unittest  # noqa: E402
from asyncio import base_events, selector_events  # noqa: E402
from typing import Any  # noqa: E402

# Modules whose test classes build their loop in create_event_loop(): one
# concrete class per selector (epoll, poll, select, kqueue, proactor).  They
# differ only in the stdlib selector handed to SelectorEventLoop, so one class
# is kept, named without the selector, and it gets the loop under test: the
# epoll one, or the next that exists (eventlet's green selectors module, under
# monkey-patching, has no EpollSelector).
CREATE_EVENT_LOOP_MODULES = ("test_events", "test_sock_lowlevel", "test_sendfile")
_SELECTOR_PREFIXES = ("EPoll", "Poll", "Select", "Kqueue", "Proactor")

PREFIX = "EPoll"
_DROPPED_PREFIXES = ("Select", "Poll", "Kqueue", "Proactor")

PREFIX = "test.test_asyncio."

if ARGS.loop == "aioeventlet":
    import aioeventlet

    LoopClass: Any = aioeventlet.EventLoop

    def make_loop() -> asyncio.AbstractEventLoop:
        return aioeventlet.EventLoop()

    # asyncio builds its default policy from asyncio.DefaultEventLoopPolicy
    # each time the policy is reset (every test module's tearDownModule calls
    # set_event_loop_policy(None)): pointing that name at ours makes every
    # asyncio.new_event_loop(), asyncio.run() and Runner loop an aioeventlet
    # one, resets included, without touching the test modules.
    asyncio.DefaultEventLoopPolicy = aioeventlet.EventLoopPolicy  # type: ignore[misc, assignment, unused-ignore]
    asyncio.set_event_loop_policy(None)
else:
    LoopClass = asyncio.SelectorEventLoop

    def make_loop() -> asyncio.AbstractEventLoop:
        return asyncio.SelectorEventLoop()


# Which loops each test creates: the sanity check that the suite really runs
# on the loop under test (some tests use their own mocked TestLoop instead).
_created: list[str] = []
_base_init = base_events.BaseEventLoop.__init__


def _recording_init(self: Any, *args: Any, **kwargs: Any) -> None:
    if ARGS.loop == "aioeventlet" and isinstance(self, LoopClass):
        kind = "aioeventlet"
    elif isinstance(self, selector_events.BaseSelectorEventLoop):
        kind = "stock"
    else:
        kind = "other"
    _created.append(kind)
    _base_init(self, *args, **kwargs)


base_events.BaseEventLoop.__init__ = _recording_init  # type: ignore[method-assign]


def _sanity() -> None:
    loop = asyncio.new_event_loop()
    try:
        if not isinstance(loop, LoopClass):
            raise SystemExit(
                f"sanity check failed: asyncio.new_event_loop() gave {loop!r}, "
                f"not a {LoopClass.__qualname__}"
            )
    finally:
        loop.close()
    _created.clear()


def _adapt_create_event_loop_classes(module: Any) -> None:
    families: dict[str, dict[str, type]] = {}
    for name, cls in list(vars(module).items()):
        if not (isinstance(cls, type) and "create_event_loop" in vars(cls)):
            continue
        for prefix in _SELECTOR_PREFIXES:
            if name.startswith(prefix):
                families.setdefault(name[len(prefix) :], {})[prefix] = cls
                delattr(module, name)
                break
    for new_name, by_prefix in families.items():
        kept = next(by_prefix[p] for p in _SELECTOR_PREFIXES if p in by_prefix)
        kept.__name__ = kept.__qualname__ = new_name
        kept.create_event_loop = lambda self: make_loop()  # type: ignore[attr-defined]
        setattr(module, new_name, kept)


def _short_id(test: Any) -> str:
    test_id: str = test.id()
    return test_id.removeprefix(PREFIX)


class JsonLinesResult(unittest.TestResult):
    """Writes one JSON line per finished test (and one when each starts)."""

    def __init__(self, out: Any) -> None:
        super().__init__()
        self._out = out
        self._failed_subtests: dict[str, str] = {}
        self._started = 0.0

    def _emit(self, **record: Any) -> None:
        self._out.write(json.dumps(record) + "\n")
        self._out.flush()

    def startTest(self, test: Any) -> None:
        super().startTest(test)
        self._started = time.monotonic()
        test_id = _short_id(test)
        self._emit(start=test_id)
        timeout = ARGS.known_timeout if test_id in KNOWN else ARGS.test_timeout
        faulthandler.dump_traceback_later(timeout, exit=True)

    def stopTest(self, test: Any) -> None:
        faulthandler.cancel_dump_traceback_later()
        super().stopTest(test)

    def _done(self, test: Any, outcome: str, detail: str = "") -> None:
        test_id = _short_id(test)
        if outcome == "pass" and test_id in self._failed_subtests:
            outcome, detail = "fail", self._failed_subtests.pop(test_id)
        self._emit(
            id=test_id,
            outcome=outcome,
            detail=detail[-4000:],
            loops=sorted(set(_created)),
            seconds=round(time.monotonic() - self._started, 3),
        )
        # Cleared here, not in startTest: IsolatedAsyncioTestCase (3.10)
        # creates its loop before the test starts.
        _created.clear()

    def _text(self, err: Any, test: Any) -> str:
        return "".join(traceback.format_exception(*err))

    def addSuccess(self, test: Any) -> None:
        self._done(test, "pass")

    def addFailure(self, test: Any, err: Any) -> None:
        self._done(test, "fail", self._text(err, test))

    def addError(self, test: Any, err: Any) -> None:
        # Errors in setUpModule/setUpClass/tearDown* come with an _ErrorHolder
        # whose id() names the fixture.
        self._done(test, "error", self._text(err, test))

    def addSkip(self, test: Any, reason: str) -> None:
        self._done(test, "skip", reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        self._done(test, "xfail", self._text(err, test))

    def addUnexpectedSuccess(self, test: Any) -> None:
        self._done(test, "xpass")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        if err is not None:
            text = f"subtest {subtest.id()}:\n" + self._text(err, test)
            self._failed_subtests[_short_id(test)] = text


def _read_ids(path: str | None) -> set[str]:
    if not path:
        return set()
    with open(path) as f:
        return {line.strip() for line in f if line.strip()}


KNOWN = _read_ids(ARGS.known)


def _flatten(suite: Any) -> list[Any]:
    tests: list[Any] = []
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            tests.extend(_flatten(item))
        else:
            tests.append(item)
    return tests


def main() -> None:
    _sanity()
    name = ARGS.module
    module = importlib.import_module(PREFIX + name)
    if name in CREATE_EVENT_LOOP_MODULES:
        _adapt_create_event_loop_classes(module)
    if ARGS.loop == "aioeventlet":
        # A few test classes build "a selector event loop" themselves
        # (new_loop() hooks in test_buffered_proto, test_server, test_sslproto;
        # setUp in test_unix_events), always without a selector argument:
        # aioeventlet.EventLoop is one, so they get it.
        asyncio.SelectorEventLoop = LoopClass  # type: ignore[misc, unused-ignore]
        asyncio.unix_events.SelectorEventLoop = LoopClass  # type: ignore[attr-defined, unused-ignore]
        if hasattr(asyncio, "EventLoop"):
            # 3.13+: asyncio.EventLoop, "the platform's default loop class",
            # is what test_runners passes as loop_factory.
            asyncio.EventLoop = LoopClass
    skip = _read_ids(ARGS.skip)
    loader = unittest.TestLoader()
    tests = [
        t
        for t in _flatten(loader.loadTestsFromModule(module))
        if _short_id(t) not in skip
    ]
    # One flat suite still runs setUpModule/setUpClass and their teardowns.
    suite = unittest.TestSuite(tests)
    with open(ARGS.out, "a") as out:
        result = JsonLinesResult(out)
        suite.run(result)
        out.write(json.dumps({"finished": len(tests)}) + "\n")


if __name__ == "__main__":
    main()
