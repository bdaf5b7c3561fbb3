"""Debug mode: asyncio's checks, plus a watchdog for code that blocks the hub.

asyncio's debug mode (``PYTHONASYNCIODEBUG=1``, ``loop.set_debug(True)``,
``aioeventlet.run(..., debug=True)``) works unchanged on aioeventlet:
never-awaited coroutines are reported with where they were created,
non-thread-safe calls from another OS thread raise ``RuntimeError`` (other
greenthreads of the loop's own thread are not other threads, even when
``threading`` is monkey-patched), and slow callbacks are logged.

How a slow callback is timed.  A callback may call green code that waits
(``eventlet.sleep``, a green socket): its greenthread then leaves the OS
thread to other greenthreads until the wait ends.  asyncio measures the wall
time of the callback; here the time the callback spent switched out to other
greenthreads is *not* counted against ``slow_callback_duration``: the thread
was not hogged, other greenthreads were running.  A callback is reported
("Executing <Handle ...> took N seconds", asyncio's own message, N being the
wall time) only when it held the OS thread itself for
``slow_callback_duration`` seconds or more.  A callback that waits greenly
still delays the loop's other callbacks; :func:`aioeventlet.yield_future`'s
counterpart for that is ``await loop.run_in_executor()`` or a green task
bridged with ``wrap_greenthread``.

The blocking watchdog.  asyncio only learns of a slow callback after it
returned, and knows nothing of greenthreads.  While a loop in debug mode
runs, a watchdog (one real OS thread per loop thread) samples that thread:
if for ``slow_callback_duration`` seconds no greenthread switch happened,
the loop did not move to another callback, and the thread is not idle in the
hub's poll, it logs a warning on the ``aioeventlet`` logger naming the
culprit (a loop callback, or a greenthread that does not yield) with its
current stack, once per episode, while the code is still blocking.  It only
reads (``sys._current_frames()``): no signal, no exception raised inside
user code, no change to eventlet's settings (``hub.debug_blocking`` and its
SIGALRM stay off).  It starts when a loop in debug mode starts running and
stops when the last one stops; set the threshold with
``loop.slow_callback_duration`` before running the loop.

Unlike asyncio, ``slow_callback_duration`` checks its value when it is set.
Stock asyncio stores anything and compares it with each callback's duration
only in debug mode, inside the loop: a string or None then makes
``run_forever()`` raise ``TypeError`` from ``_run_once``, NaN silently reports
nothing, a negative value reports every callback, and ``True`` counts as one
second.  Here a non-number (``bool`` included: a flag passed where seconds
were meant) raises ``TypeError`` and a negative or NaN value ``ValueError``,
at the assignment, naming the value.  ``math.inf`` (or any value too large to
be reached) means "never report", as in asyncio, and the watchdog then only
idles.
"""

from __future__ import annotations

import logging
import math
import numbers
import sys
import traceback
from typing import Any

from . import _hub

_threading = _hub.original("threading")
_monotonic = _hub.original("time").monotonic

logger = logging.getLogger("aioeventlet")

__all__ = ["DebugMixin"]

# The watchdog samples its thread four times per threshold, but at least
# every second: Event.wait() refuses a timeout past what the platform's
# time_t holds (inf, 1e300), and a threshold set while it sleeps is picked
# up within that second.
_SAMPLES_PER_THRESHOLD = 4
_SHORTEST_SAMPLE = 0.005
_LONGEST_SAMPLE = 1.0


class _LoopRun:
    """Switch accounting for one debug loop while it runs."""

    __slots__ = (
        "greenlet",
        "loop",
        "out_handle",
        "out_since",
        "wait_handle",
        "wait_total",
    )

    def __init__(self, loop: Any, greenlet: Any) -> None:
        self.loop = loop
        self.greenlet = greenlet
        # Since when the loop's greenlet is switched out inside a callback.
        self.out_since: float | None = None
        self.out_handle: Any = None
        # Green-wait time accumulated by the current (or last) callback.
        self.wait_handle: Any = None
        self.wait_total = 0.0


class _ThreadMonitor:
    """Per OS thread: the greenlet trace (heartbeat) and the watchdog."""

    def __init__(self) -> None:
        self.runs: list[_LoopRun] = []
        self.thread_id: int = _threading.get_ident()
        self.switches = 0
        self.current: Any = _hub.getcurrent()
        self.previous_trace: Any = None
        self.stop = _threading.Event()
        self.watchdog: Any = None

    # -- the trace, run on every greenlet switch of this thread --------------

    def trace(self, event: str, args: tuple[Any, Any]) -> Any:
        if event in {"switch", "throw"}:
            origin, target = args
            self.switches += 1
            self.current = target
            now = _monotonic()
            for run in self.runs:
                if origin is run.greenlet:
                    handle = run.loop._current_handle
                    if handle is not None:
                        run.out_since = now
                        run.out_handle = handle
                elif target is run.greenlet and run.out_since is not None:
                    if run.wait_handle is not run.out_handle:
                        run.wait_handle = run.out_handle
                        run.wait_total = 0.0
                    run.wait_total += now - run.out_since
                    run.out_since = None
        if self.previous_trace is not None:
            return self.previous_trace(event, args)
        return None

    # -- start and stop -------------------------------------------------------

    def add(self, run: _LoopRun) -> None:
        if not self.runs:
            self.previous_trace = _hub.settrace(None)
            _hub.settrace(self.trace)
            self.stop.clear()
            self.watchdog = _threading.Thread(
                target=self.watch,
                name=f"aioeventlet-watchdog-{self.thread_id}",
                daemon=True,
            )
            self.watchdog.start()
        self.runs.append(run)

    def remove(self, run: _LoopRun) -> None:
        self.runs.remove(run)
        if not self.runs:
            _hub.settrace(self.previous_trace)
            self.previous_trace = None
            self.stop.set()
            self.watchdog.join()
            self.watchdog = None

    # -- the watchdog thread -----------------------------------------------------

    def threshold(self) -> float:
        runs = list(self.runs)
        if not runs:
            return 0.1
        return min(float(run.loop._slow_callback_base) for run in runs)

    def watch(self) -> None:
        seen: tuple[Any, ...] = ()
        since = _monotonic()
        reported = False
        while True:
            threshold = self.threshold()
            sample = min(
                max(threshold / _SAMPLES_PER_THRESHOLD, _SHORTEST_SAMPLE),
                _LONGEST_SAMPLE,
            )
            if self.stop.wait(sample):
                return
            now = _monotonic()
            runs = list(self.runs)
            # Progress: a greenlet switch, or the loop moving to another callback.
            state = (self.switches, *(run.loop._current_handle for run in runs))
            if state != seen:
                seen, since, reported = state, now, False
                continue
            frame = sys._current_frames().get(self.thread_id)
            if frame is None or _hub.is_hub_frame(frame):
                # Idle in the hub's poll, or dispatching between greenthreads.
                since = now
                continue
            if not reported and now - since >= threshold:
                reported = True
                self.report(now - since, frame, runs)

    def report(self, seconds: float, frame: Any, runs: list[_LoopRun]) -> None:
        current = self.current
        what = f"greenthread {current!r}"
        for run in runs:
            if current is run.greenlet:
                handle = run.loop._current_handle
                if handle is not None:
                    what = f"the callback {handle!r} of {run.loop!r}"
                else:
                    what = f"the event loop {run.loop!r} (between callbacks)"
        stack = "".join(traceback.format_stack(frame))
        logger.warning(
            "%s has held its OS thread for %.3f seconds without yielding to "
            "eventlet's hub: no other greenthread, and no other callback of the "
            "loop, can run meanwhile. It is still running this (most recent "
            "call last):\n%s"
            "Move blocking work to a thread (await asyncio.to_thread(...)), or "
            "use green or asyncio I/O instead.",
            what,
            seconds,
            stack,
        )


_monitors = _threading.local()


def _checked_duration(seconds: object) -> float:
    """*seconds* as a slow-callback threshold, or the error that says why not."""
    # A number is a Real (int, float, Fraction...) or, like Decimal, a Number
    # that is no Complex.  bool is an int subclass, but True/False here is a
    # flag passed by mistake, never a number of seconds.
    is_number = isinstance(seconds, numbers.Real) or (
        isinstance(seconds, numbers.Number) and not isinstance(seconds, numbers.Complex)
    )
    if isinstance(seconds, bool) or not is_number:
        raise TypeError(
            f"slow_callback_duration must be a number of seconds (an int or a "
            f"float), got {type(seconds).__qualname__}: {seconds!r}"
        )
    try:
        value = float(seconds)  # type: ignore[arg-type]  # a Number, checked above
    except OverflowError:  # an int too large for a float: never reached
        value = math.inf
    if math.isnan(value) or value < 0:
        raise ValueError(
            f"slow_callback_duration must be 0 or more seconds, got {seconds!r}; "
            f"use math.inf to never report a slow callback"
        )
    return value


def _monitor() -> _ThreadMonitor:
    monitor: _ThreadMonitor | None = getattr(_monitors, "monitor", None)
    if monitor is None:
        monitor = _monitors.monitor = _ThreadMonitor()
    return monitor


class DebugMixin:
    """EventLoop's debug mode additions: green-aware slow-callback timing and
    the blocking watchdog (see the module docstring)."""

    _current_handle: Any
    _slow_callback_base: float = 0.1
    _debug_run: _LoopRun | None = None

    @property
    def slow_callback_duration(self) -> float:
        """asyncio's threshold for slow callbacks and the watchdog's, in seconds.

        While a callback runs, reading it adds the time that callback spent
        switched out to other greenthreads: asyncio compares the callback's
        wall time with this value, so what it effectively checks is the time
        the callback held the OS thread itself.

        Setting it checks the value, where asyncio accepts anything (see the
        module docstring): ``TypeError`` for a non-number or a bool,
        ``ValueError`` for a negative value or NaN.  ``math.inf`` never
        reports.  It reads back as a float.
        """
        run = self._debug_run
        if run is not None:
            handle = self._current_handle
            if handle is not None and run.wait_handle is handle:
                return self._slow_callback_base + run.wait_total
        return self._slow_callback_base

    @slow_callback_duration.setter
    def slow_callback_duration(self, seconds: float) -> None:
        self._slow_callback_base = _checked_duration(seconds)

    def run_forever(self) -> None:
        loop: Any = self
        if not loop.get_debug() or self._debug_run is not None:
            # Not in debug mode, or already running (asyncio raises).
            super().run_forever()  # type: ignore[misc]
            return
        monitor = _monitor()
        run = _LoopRun(self, _hub.getcurrent())
        monitor.add(run)
        self._debug_run = run
        try:
            super().run_forever()  # type: ignore[misc]
        finally:
            self._debug_run = None
            monitor.remove(run)
