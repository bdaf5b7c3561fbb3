"""pytest plugin for eventlet's own test suite: an aioeventlet loop alive in
the process around every test.

``tests/eventlet_suite/run.py`` loads it into the second of its two runs of
eventlet's suite (``-p aioeventlet_live_loop``, with this directory on
``PYTHONPATH``; it sits alone here so that no other module of ours becomes
importable inside eventlet's suite, whose own package is also named
``tests``).  Around every test it:

* spawns a greenthread that runs an :func:`aioeventlet.new_event_loop` loop
  doing light asyncio work: every ``PERIOD`` seconds a line goes through an
  echo over a socket pair (asyncio streams: transports, hub listeners), and in
  between the loop waits on a timeout (loop timers, hub timers);
* waits, before the test starts, until the first echo came back, so the loop
  really runs, its listeners in the hub, while the test runs;
* after the test, stops the loop (``call_soon`` from the test's greenthread),
  waits for it to close, and checks that the hub kept no listener or live
  timer of the loop's, that the loop's exception handler was never called, and
  that the hub's count of cancelled timers is still right (see
  ``_check_cancelled_count``).  Any of that failing is an error of the test.

eventlet's ``LimitedTestCase.tearDown`` asserts that the hub has no listener
left (``tests.verify_hub_empty``).  The loop's own listeners would fail that
count in every such test, so the plugin wraps that function to stop and close
the loop first: the count then runs on a hub the loop must have left clean,
which checks ``close()`` as well.  Tests that count listeners or timers in
their own body see the loop's and are in the known-failures table.

Tests that run a program in a fresh interpreter (``tests.run_python``, which
``tests.run_isolated`` calls) do so with the loop alive in the pytest process,
but the program itself has no loop: the plugin marks them (a junitxml
property, ``isolated``) and the run counts them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

with warnings.catch_warnings():
    # eventlet warns of its deprecation when first imported, and this plugin
    # imports it before eventlet's suite does: silenced, so that the run with
    # the loop shows no warning of ours (it shows that one warning fewer).
    warnings.simplefilter("ignore")
    import eventlet
    import eventlet.event
    import eventlet.hubs
    import eventlet.patcher

import aioeventlet

# The loop's work: an echo round trip every PERIOD seconds.  Short enough that
# the loop wakes many times in most tests, long enough that its CPU use stays
# small: eventlet's idle-CPU tests (ssl_test, zmq_test) allow the process 10 %,
# or 50 % with CI=true; on a loaded machine the loop's ticks have measured 11 %
# once (the test passed on the retry).
PERIOD = 0.005
# Seconds to wait for the loop's first echo, and for it to close once asked
# (it takes milliseconds; a loop that misses this is stuck, not slow).
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0

# asyncio's machinery uses the unpatched socket module whatever the process
# patched; so does this work.
_socket = eventlet.patcher.original("socket")


class LiveLoopError(AssertionError):
    """The loop around the test misbehaved, or the hub is left inconsistent."""


class LiveLoop:
    """One aioeventlet loop in its own greenthread, echoing until stopped."""

    def __init__(self) -> None:
        self.hub = eventlet.hubs.get_hub()
        self.loop: asyncio.AbstractEventLoop | None = None
        # The loop's HubSelector (asyncio drops it on close), whose bound
        # methods are the callbacks of the hub timers the loop sets.
        self._selector: object = None
        self._stop_event: asyncio.Event | None = None
        self.ticks = 0
        self.errors: list[str] = []
        self._closed = False
        self._ready = eventlet.event.Event()
        self._finished = eventlet.event.Event()
        self.greenthread = eventlet.spawn(self._run)
        thrown = _wait(self._ready, START_TIMEOUT)
        if self.ticks == 0 or thrown is not None:
            # Not a loop to run the test beside: stop it, and report the
            # first trouble, not what stopping finds.
            with contextlib.suppress(LiveLoopError):
                self.stop()
            if thrown is not None:
                raise thrown
            raise LiveLoopError(
                f"the aioeventlet loop made no echo round trip in {START_TIMEOUT} s "
                f"before the test: it never ran or is stuck"
            )

    def _run(self) -> None:
        # Created in its own greenthread, as asyncio.run() called in a
        # greenthread would: the hub listeners the loop adds belong to it.
        loop = aioeventlet.new_event_loop()
        self.loop = loop
        self._selector = getattr(loop, "_selector", None)
        loop.set_exception_handler(self._on_exception)
        try:
            loop.run_until_complete(self._work())
            loop.run_until_complete(loop.shutdown_asyncgens())
        except BaseException as exc:
            self.errors.append(f"the loop's greenthread raised {exc!r}")
            raise
        finally:
            loop.close()
            self._closed = True
            for event in (self._ready, self._finished):
                if not event.ready():
                    event.send()

    def _on_exception(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        self.errors.append(f"the loop's exception handler was called: {context!r}")

    async def _work(self) -> None:
        self._stop_event = asyncio.Event()
        stopped = asyncio.ensure_future(self._stop_event.wait())
        left, right = _socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=left)
        echo_reader, echo_writer = await asyncio.open_connection(sock=right)
        echo = asyncio.ensure_future(self._echo(echo_reader, echo_writer))
        try:
            while not stopped.done():
                writer.write(b"tick\n")
                await writer.drain()
                line = await reader.readline()
                if line != b"tick\n":
                    raise LiveLoopError(f"the echo answered {line!r}, not b'tick\\n'")
                self.ticks += 1
                if not self._ready.ready():
                    self._ready.send()
                await asyncio.wait({stopped}, timeout=PERIOD)
        finally:
            stopped.cancel()
            writer.close()
            await writer.wait_closed()
            await echo

    @staticmethod
    async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                writer.write(line)
                await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()

    def stop(self) -> None:
        """Stop and close the loop (idempotent); raise LiveLoopError if it
        would not stop or did not leave the hub clean."""
        thrown = None
        if not self._closed:
            loop, event = self.loop, self._stop_event
            if loop is not None and event is not None and not loop.is_closed():
                # From this (another) greenthread: call_soon wakes the loop.
                loop.call_soon(event.set)
            thrown = _wait(self._finished, STOP_TIMEOUT)
            if not self._closed:
                # Without this the next test would run beside a stale loop.
                try:
                    self.greenthread.kill()
                except BaseException as exc:  # see _wait()
                    thrown = thrown or exc
                self.errors.insert(
                    0,
                    f"the aioeventlet loop did not stop within {STOP_TIMEOUT} s "
                    f"of being asked (its greenthread was killed)",
                )
        problems = self.errors + self._leftovers()
        if problems and thrown is not None:
            problems.append(f"meanwhile the test's greenthread was thrown {thrown!r}")
        if problems:
            raise LiveLoopError("\n".join(problems))
        if thrown is not None:
            raise thrown

    def _leftovers(self) -> list[str]:
        """The hub's listeners added by the loop's greenthread, and its live
        timers whose callback is the loop's selector's."""
        hub = self.hub
        found = [
            f"the closed loop left its listener {listener!r} in the hub"
            for listener in (*hub.get_readers(), *hub.get_writers())
            if listener.greenlet is self.greenthread
        ]
        for _, timer in (*hub.timers, *hub.next_timers):
            callback = getattr(timer, "tpl", (None,))[0]
            owner = getattr(callback, "__self__", None)
            if not timer.called and owner is not None and owner is self._selector:
                found.append(f"the closed loop left its timer {timer!r} in the hub")
        return found


def _wait(event: Any, seconds: float) -> BaseException | None:
    """Wait for the eventlet *event* (a stray switch does not end the wait),
    at most *seconds*; return what was thrown into the waiting greenthread
    meanwhile, for the caller to raise once the loop is seen to.

    eventlet's tests leave things behind that reach the next wait in the
    test's greenthread: a ``LimitedTestCase`` timeout that fires late, or the
    switch back that ``greenthread.kill()`` schedules when such a timeout
    interrupts it.  Without the loop they land in the test's own next wait;
    here they land in the plugin's, which must still stop the loop.
    """
    deadline = time.monotonic() + seconds
    thrown: BaseException | None = None
    while not event.ready():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with eventlet.Timeout(left, False):
                event.wait()
        except BaseException as exc:  # handed to the caller
            thrown = thrown or exc
    return thrown


def _check_cancelled_count() -> None:
    """Fail if the hub counts more cancelled timers than it holds, after
    setting the count right for the tests that follow.

    eventlet counts the cancelled timers still queued (``timers_canceled``),
    and aioeventlet reads that count (``_hub.Hub.poll_alone``) to learn that
    no live timer waits, in which case the loop polls its fds in its own
    greenthread.  The count grows too large when a timer is cancelled after
    ``hub.abort()`` dropped every queued timer: the loop's own wait timers, or
    a ``LimitedTestCase``'s timeout.  A loop alive then polls alone while
    greenthreads' timers are due, and starves them for as long as it runs.
    (A count too small, which eventlet's timer compaction can leave, only
    makes the loop wait in the hub: harmless, and left alone.)
    """
    hub = eventlet.hubs.get_hub()
    queued = (*hub.timers, *hub.next_timers)
    cancelled = sum(1 for _, timer in queued if timer.called)
    counted = hub.timers_canceled
    if counted > cancelled:
        hub.timers_canceled = cancelled
        raise LiveLoopError(
            f"the hub counts {counted} cancelled timers but holds {cancelled} "
            f"(of {len(queued)} queued): timers were cancelled after the hub "
            f"dropped them (hub.abort()); aioeventlet's poll_alone() trusts "
            f"that count, and a loop alive then starves every greenthread.  "
            f"Recounted for the next tests."
        )


_live: LiveLoop | None = None
_ran_program = False


def _stop_live_loop() -> None:
    global _live  # the loop around the current test
    live, _live = _live, None
    if live is not None:
        live.stop()


def _wrap_suite_helpers() -> None:
    """Wrap eventlet's ``tests.verify_hub_empty`` (stop the loop first) and
    ``tests.run_python`` (note the test); once, when its suite is imported."""
    suite = sys.modules.get("tests")
    verify: Callable[[], None] | None = getattr(suite, "verify_hub_empty", None)
    run_python: Callable[..., Any] | None = getattr(suite, "run_python", None)
    if verify is None or run_python is None or hasattr(verify, "aioeventlet"):
        return

    def verify_hub_empty() -> None:
        _stop_live_loop()
        verify()

    def run_python_noted(*args: Any, **kwargs: Any) -> Any:
        global _ran_program  # noqa: PLW0603 - per test, reset by the fixture
        _ran_program = True
        return run_python(*args, **kwargs)

    verify_hub_empty.aioeventlet = True  # type: ignore[attr-defined]
    suite.verify_hub_empty = verify_hub_empty  # type: ignore[union-attr]
    suite.run_python = run_python_noted  # type: ignore[union-attr]


@pytest.fixture(autouse=True)
def _aioeventlet_live_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    global _live, _ran_program  # noqa: PLW0603 - the loop around this test
    _wrap_suite_helpers()
    _ran_program = False
    _live = live = LiveLoop()
    try:
        yield
    finally:
        try:
            _stop_live_loop()
            _check_cancelled_count()
        finally:
            properties = request.node.user_properties
            properties.append(("loop_ticks", live.ticks))
            if _ran_program:
                properties.append(("isolated", 1))
