"""EventLoop: asyncio's selector event loop, waiting on eventlet's hub.

Only the selector is replaced (see ``_selector.HubSelector``).  Transports,
streams, servers, pipes, subprocess plumbing, signals, TLS and ``_run_once``
are asyncio's own, which is what keeps behaviour identical to stock asyncio.

What this module adds on top of ``asyncio.SelectorEventLoop``:

* wake-ups without the self-pipe: while the loop's greenthread is parked in
  the hub, ``call_soon``/``call_at``/``stop`` made by another greenthread of
  the same OS thread ask the selector to resume it on the hub's next pass;
* ``time()`` reads the hub's clock, so asyncio and eventlet timers agree;
* checks that the loop runs in the OS thread whose hub it registered with,
  and never inside the hub greenlet itself;
* debug mode's "wrong thread" check compares real OS threads, so greenthreads
  of the loop's own thread are not mistaken for other threads when
  ``threading`` is monkey-patched;
* in the child of a fork, every loop inherited from the parent is cut off
  the hub and never runs again (see ``_disown_inherited_loops``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import signal
import socket
import sys
import weakref
from asyncio import events
from collections.abc import Callable
from contextvars import Context
from typing import TYPE_CHECKING, Any, TypeVar

from . import _hub
from ._debug import DebugMixin
from ._executor import ThreadsMixin
from ._greenlocal import running_loop_is_greenlocal
from ._selector import HubSelector
from ._subprocess import SubprocessMixin

_threading = _hub.original("threading")

_T = TypeVar("_T")

if TYPE_CHECKING:
    import collections
    import socket

    from typing_extensions import TypeVarTuple, Unpack

    _Ts = TypeVarTuple("_Ts")

__all__ = ["EventLoop", "new_event_loop"]


class _GreenWaiters:
    """Greenthreads of the loop's thread parked in ``yield_future()`` on it.

    ``close()`` resumes them with a RuntimeError from a hub timer: switching
    into them from ``close()`` would leave its greenthread with nobody to
    switch back to it.
    """

    __slots__ = ("_fail_timer", "_greenlets", "_hub")

    def __init__(self, hub: _hub.Hub) -> None:
        self._hub = hub
        self._greenlets: set[Any] = set()
        self._fail_timer: _hub.Timer | None = None

    def add(self, waiter: Any) -> None:
        self._greenlets.add(waiter)

    def discard(self, waiter: Any) -> None:
        self._greenlets.discard(waiter)
        timer = self._fail_timer
        if not self._greenlets and timer is not None:
            # Nobody left to tell: leave no timer of this loop on the hub.
            self._fail_timer = None
            if not timer.called:
                timer.cancel()

    def fail_soon(self) -> None:
        if self._greenlets and self._fail_timer is None:
            self._fail_timer = self._hub.call_later(0, self._fail)

    def _fail(self) -> None:
        # Run by a hub timer.  A waiter leaves the set when its wait ends.
        self._fail_timer = None
        for waiter in list(self._greenlets):
            if waiter in self._greenlets and not waiter.dead:
                waiter.throw(
                    RuntimeError(
                        "the event loop was closed while this greenthread waited "
                        "in aioeventlet.yield_future(): what it waited for will "
                        "never complete. Close the loop only after the work "
                        "greenthreads wait for is done, or kill those "
                        "greenthreads first."
                    )
                )


class EventLoop(ThreadsMixin, SubprocessMixin, DebugMixin, asyncio.SelectorEventLoop):
    """An asyncio event loop that runs on eventlet's hub.

    ``run_forever()`` and ``run_until_complete()`` run in the calling
    greenthread; every other greenthread keeps running while the loop waits
    for I/O or timers, and gets a turn on every loop iteration.

    Whether or not ``eventlet.monkey_patch()`` ran, the default executor runs
    on real OS threads, and pipes and subprocesses use the unpatched modules
    (no child watcher needed).  In debug mode (``set_debug(True)``,
    ``PYTHONASYNCIODEBUG=1``), a callback's green waits do not count as slow,
    and a watchdog thread logs, with its stack, any callback or greenthread
    that holds the OS thread longer than ``slow_callback_duration``.
    """

    if TYPE_CHECKING:
        # The parts of asyncio's BaseEventLoop this class builds on: private,
        # so typeshed leaves them out; the same on Python 3.10 to 3.13.
        _thread_id: int | None
        _selector: HubSelector
        _debug: bool
        _stopping: bool
        _scheduled: list[asyncio.TimerHandle]
        _ready: collections.deque[asyncio.Handle]
        _ssock: socket.socket | None
        _csock: socket.socket | None
        _internal_fds: int

        def _check_closed(self) -> None: ...
        def _check_running(self) -> None: ...
        def _check_callback(self, callback: object, method: str) -> None: ...
        def _call_soon(
            self, callback: object, args: object, context: Context | None
        ) -> asyncio.Handle: ...

    def __new__(cls, *args: object, **kwargs: object) -> EventLoop:
        # Refused here rather than by __init__'s signature: an instance whose
        # __init__ fails is still collected, and asyncio's __del__ then trips
        # over the attributes __init__ never set ("Exception ignored in
        # BaseEventLoop.__del__ ... no attribute '_closed'").  A subclass with
        # an __init__ of its own takes whatever arguments it declares.
        if (args or kwargs) and cls.__init__ is EventLoop.__init__:
            given = ", ".join(
                [repr(arg) for arg in args]
                + [f"{name}={value!r}" for name, value in kwargs.items()]
            )
            raise TypeError(
                f"EventLoop() takes no arguments, got {given}: the loop always "
                f"waits on the eventlet hub of the OS thread that creates it, so "
                f"there is no selector to choose. Call aioeventlet.new_event_loop() "
                f"(or EventLoop()), and loop.set_debug(True) for debug mode."
            )
        loop: EventLoop = super().__new__(cls)
        return loop

    def __init__(self) -> None:
        # Few attributes of our own, on purpose: past 30 instance attributes,
        # CPython 3.12+ stops sharing dict keys between instances, and every
        # self.<attribute> in asyncio's loop iteration takes a slower path
        # (a fifth more instructions per iteration on 3.13, by callgrind).
        # The selector is asyncio's self._selector; the OS thread is the hub's.
        hub = _hub.current_hub()
        self._hub = hub
        # Greenthreads of this thread parked in yield_future() on this loop:
        # close() must not leave them parked forever.
        self._green_waiters = _GreenWaiters(hub)
        super().__init__(HubSelector(hub, on_fd_lost=self._report_fd_lost))
        # Found again in the child of a fork, to be disowned there.
        _loops.add(self)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__module__.split('.')[0]}.{type(self).__qualname__} "
            f"running={self.is_running()} closed={self.is_closed()} "
            f"debug={self.get_debug()} hub={self._hub.name}>"
        )

    # -- clock -------------------------------------------------------------------

    def time(self) -> float:
        # Two steps: a method-style call of an instance's attribute
        # (self._hub.clock()) is one CPython cannot specialise.
        clock = self._hub.clock
        return clock()

    # -- running -----------------------------------------------------------------

    def run_forever(self) -> None:
        # Refuse before asyncio's run_forever(): on 3.13.0 its cleanup runs even
        # when its setup refused, and would mark a running loop as stopped.
        self._check_closed()
        self._check_running()
        self._check_hub_thread()
        # Green code sees no running loop (by design), so it finds the loop of
        # its thread through this registry (yield_future() without loop=).
        running = _hub.running_loops()
        running.append(self)
        try:
            with running_loop_is_greenlocal():
                super().run_forever()
        except BaseException as exc:
            if self._hub.forked_away:
                # The process forked inside one of this loop's callbacks, and
                # the child's exception (sys.exit(), or the refusal to run
                # the loop again) is leaving it: what called run_forever() in
                # the parent must not clean up the parent's loop here.
                _hub.end_forked_child(exc)
            raise
        finally:
            if self in running:  # the child of a fork drops it
                running.remove(self)

    def close(self) -> None:
        super().close()
        self._green_waiters.fail_soon()

    def _close_self_pipe(self) -> None:
        ssock = self._ssock
        if ssock is None or ssock.fileno() != -1:
            super()._close_self_pipe()  # type: ignore[misc]
            return
        # A loop dropped unclosed is closed by asyncio's __del__, and the
        # collector finalizes the objects of a reference cycle in no set
        # order: the self-pipe's sockets may have been finalized (and their
        # fds closed) before the loop.  asyncio would then fail to look up
        # the reader by fileno() -1 and "ignore" a ValueError in __del__,
        # having closed nothing; the selector's close(), which runs next,
        # takes the reader off the hub instead.
        if self._csock is not None:
            self._csock.close()
        self._ssock = self._csock = None
        self._internal_fds -= 1

    def add_green_waiter(self, waiter: Any) -> None:
        """*waiter* (a greenlet) parks until a future of this loop is done."""
        self._green_waiters.add(waiter)

    def discard_green_waiter(self, waiter: Any) -> None:
        """*waiter*'s wait has ended, however it ended."""
        self._green_waiters.discard(waiter)

    def run_until_complete(self, future: Any) -> Any:
        # Refuse before asyncio wraps a coroutine in a task that would never run.
        self._check_hub_thread()
        return super().run_until_complete(future)

    def _check_hub_thread(self) -> None:
        self._hub.check_not_forked()
        if _threading.get_ident() != self._hub.thread_id:
            raise RuntimeError(
                "this aioeventlet loop was created in another OS thread: it is "
                "bound to that thread's eventlet hub. Create the loop in the "
                "thread that runs it (for instance aioeventlet.run() or "
                "aioeventlet.new_event_loop() inside the thread)."
            )
        if self._hub.is_hub_greenlet():
            raise RuntimeError(
                "cannot run the event loop inside eventlet's hub greenlet "
                "(a hub timer or fd callback); run it from a greenthread, "
                "for instance with eventlet.spawn()"
            )

    def _check_thread(self) -> None:
        # asyncio compares threading.get_ident(), which monkey-patching turns
        # into a greenthread id; compare real OS threads instead.
        if self._thread_id is None:
            return
        if _threading.get_ident() != self._hub.thread_id:
            raise RuntimeError(
                "Non-thread-safe operation invoked on an event loop other "
                "than the current one"
            )

    # -- scheduling, with wake-ups for a parked loop ------------------------------
    # The bodies follow BaseEventLoop's so that debug-mode source tracebacks
    # still end at the caller's frame; only the wake-up is added.

    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: Unpack[_Ts],
        context: Context | None = None,
    ) -> asyncio.Handle:
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_soon")
        handle: asyncio.Handle = self._call_soon(callback, args, context)
        if handle._source_traceback:  # type: ignore[attr-defined]
            del handle._source_traceback[-1]  # type: ignore[attr-defined]
        # The hot path of every callback-driven program: test the selector's
        # parked greenthread here rather than pay a call to wake() each time
        # (only another greenthread can call this while the loop is parked).
        selector = self._selector
        if selector._waiter is not None:
            selector.wake()
        return handle

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: Unpack[_Ts],
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        timer = events.TimerHandle(when, callback, args, self, context)
        if timer._source_traceback:  # type: ignore[attr-defined]
            del timer._source_traceback[-1]  # type: ignore[attr-defined]
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True  # type: ignore[attr-defined]
        # As in call_soon: call wake() only when the loop is parked.
        selector = self._selector
        if selector._waiter is not None:
            selector.wake()
        return timer

    def stop(self) -> None:
        self._stopping = True
        selector = self._selector
        if selector is not None:  # None once closed
            selector.wake()

    # -- fork ----------------------------------------------------------------------

    def _disown(self) -> None:
        """In the child of a fork: this loop is the parent's, cut it off the hub.

        A loop running but not waiting in select() was inside a callback:
        the one that forked, or one waiting in green code.  In the child,
        that callback may return into the loop's iteration, whose next
        callbacks are the parent's.  Cancel them (only this process's
        copies), so that the iteration ends without running them; the next
        select() then stops the loop for good (see _hub._ForkedHub).
        """
        if self.is_running() and self._selector._waiter is None:
            for handle in self._ready:
                handle.cancel()
        self._selector.disown()

    # -- fds closed behind the loop's back ----------------------------------------

    def _report_fd_lost(self, fd: int, key: Any) -> None:
        if self.is_closed():
            return
        self.call_soon(
            self.call_exception_handler,
            {
                "message": (
                    f"fd {fd} was closed while registered with the event loop, "
                    f"and the number was reused by a new socket; its reader "
                    f"and writer will not be called again. Close the transport "
                    f"(or remove the reader/writer) before closing the file."
                ),
                "fileobj": key.fileobj,
                "handle": key.data,
            },
        )


_loops: weakref.WeakSet[EventLoop] = weakref.WeakSet()


def _disown_inherited_loops() -> None:
    """Run in the child of each fork() (see _hub.on_fork_in_child()).

    Every open loop is the parent's, whatever it was doing: parked in the
    hub (the fork came from a greenthread), running the callback that forked,
    idle, or running in another OS thread (which does not exist in the
    child).  The child's own loops are created after this.
    """
    running = _hub.running_loops()
    self_pipes = set()
    for loop in list(_loops):
        if loop in running:
            # Green code of the child finds no loop to use by default
            # (yield_future() without loop=), rather than the parent's.
            running.remove(loop)
        if loop.is_closed():
            continue
        loop._disown()
        if loop._csock is not None:
            self_pipes.add(loop._csock.fileno())
    if sys.version_info < (3, 12):
        # asyncio 3.12+ resets the signal wake-up fd in the child itself.
        # Before, a signal the child receives while it is still the parent
        # loop's self-pipe (shared with the parent) wakes the parent, whose
        # handler for that signal then runs.
        with contextlib.suppress(ValueError):  # not the main thread
            fd = signal.set_wakeup_fd(-1)
            if fd not in self_pipes:
                signal.set_wakeup_fd(fd)


_hub.on_fork_in_child(_disown_inherited_loops)


def new_event_loop() -> EventLoop:
    """Create a new aioeventlet event loop; usable as a ``loop_factory``."""
    return EventLoop()
