"""The one module that touches eventlet's hub.

Everything else in aioeventlet reaches eventlet through the names defined here, so
that the untyped dependency and its private attributes stay in one place.  The
stdlib modules asyncio's machinery relies on are taken *unpatched* from here too
(``eventlet.patcher.original``): whether or not ``eventlet.monkey_patch()`` ran,
the loop waits on real file descriptors and real OS threads.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable
from types import FrameType, ModuleType
from typing import Any, ClassVar, NoReturn

import greenlet

# Importing eventlet warns twice before any code of ours runs.  Filter exactly
# those warnings, only for this import, so that importing aioeventlet under
# ``-W error`` stays silent.  Neither category can be named before its package
# is imported, hence the base ``Warning`` plus the exact message and module.
with warnings.catch_warnings():
    # eventlet announces its own deprecation, attributed (stacklevel=2) to
    # the module that imports it: this one.
    warnings.filterwarnings(
        "ignore",
        message=r"\s*Eventlet is deprecated",
        category=Warning,
        module=re.escape(__name__),
    )
    # eventlet's green DNS imports dnspython's DNSSEC module, whose DSA
    # algorithm touches cryptography's DSA classes; cryptography 51 and later
    # deprecate DSA (CryptographyDeprecationWarning, attributed to dnspython's
    # module).  Where cryptography is installed, every `import eventlet` warns.
    warnings.filterwarnings(
        "ignore",
        message=r"DSA is deprecated",
        category=Warning,
        module=r"dns\.dnssecalgs\.dsa\Z",
    )
    import eventlet.greenthread
    import eventlet.hubs
    import eventlet.patcher
    from eventlet.hubs import epolls as _epolls_hub
    from eventlet.hubs import hub as _eventlet_hub
    from eventlet.hubs import poll as _poll_hub

__all__ = [
    "POLL_READABLE",
    "POLL_WRITABLE",
    "READ",
    "WRITE",
    "GreenThread",
    "Greenlet",
    "GreenletExit",
    "Hub",
    "Listener",
    "Timer",
    "current_hub",
    "end_forked_child",
    "getcurrent",
    "is_hub_frame",
    "is_patched",
    "kill",
    "on_fork_in_child",
    "original",
    "running_loops",
    "settrace",
    "spawn",
    "wait_readable",
]

READ: str = _eventlet_hub.READ
WRITE: str = _eventlet_hub.WRITE

# Opaque handles: an eventlet FdListener and an eventlet Timer.
Listener = Any
Timer = Any

getcurrent = greenlet.getcurrent
settrace = greenlet.settrace


def original(name: str) -> ModuleType:
    """The stdlib module *name* as it was before any monkey-patching."""
    module: ModuleType = eventlet.patcher.original(name)
    return module


_select = original("select")
_heappop = heapq.heappop
_threading = original("threading")
# How poll_alone()'s raw poll masks map to readable and writable: as eventlet's
# poll hubs dispatch them, an error or hang-up wakes both reader and writer.
POLL_READABLE: int = (
    _select.POLLIN | _select.POLLPRI | _select.POLLERR | _select.POLLHUP
)
POLL_WRITABLE: int = _select.POLLOUT | _select.POLLERR | _select.POLLHUP


def _ignore_throwback(exc: BaseException) -> None:
    """The hub throws into a listener's greenlet when its fd is reused; the
    selector learns of that through ``mark_as_closed`` instead."""


def _finished_greenlet() -> Any:
    done = greenlet.greenlet(lambda: None)
    done.switch()
    return done


# What our listeners name as their greenlet (see Hub.add_listener).
_NO_GREENLET = _finished_greenlet()


class Hub:
    """The calls aioeventlet makes on one OS thread's eventlet hub.

    One object per loop, shared by the loop, its selector and its bridges:
    in the child of a fork, :meth:`disown` turns it into a :class:`_ForkedHub`
    for all of them at once.
    """

    # True once a fork made this the parent's hub (see disown()): read after
    # each park of the loop, so a class attribute rather than a call.
    forked_away: ClassVar[bool] = False

    __slots__ = (
        "_epoll",
        "_hub",
        "_listeners",
        "_poll_ms",
        "_readers",
        "_writers",
        "clock",
        "thread_id",
    )

    def __init__(self, hub: Any) -> None:
        self._hub = hub
        # eventlet has one hub per OS thread: this one's.
        self.thread_id: int = _threading.get_ident()
        # loop.time() and eventlet's timers must read one clock.
        self.clock: Callable[[], float] = hub.clock
        self._listeners: dict[str, dict[int, Listener]] = hub.listeners
        # poll_alone() runs once per loop iteration: it holds the two
        # listener dicts (eventlet creates them once per hub and only mutates
        # them) and the epolls hub's epoll.poll (created once per hub) rather
        # than looking them up each time.  Other hubs (poll, selects, kqueue)
        # go through their wait() instead.
        self._readers: dict[int, Listener] = hub.listeners[READ]
        self._writers: dict[int, Listener] = hub.listeners[WRITE]
        self._epoll: Callable[[float, int], list[tuple[int, int]]] | None = (
            hub.poll.poll if isinstance(hub, _epolls_hub.Hub) else None
        )
        # eventlet's poll hub truncates its timeout to whole milliseconds.
        self._poll_ms = isinstance(hub, _poll_hub.Hub)

    @property
    def name(self) -> str:
        return type(self._hub).__module__

    def is_hub_greenlet(self) -> bool:
        return bool(getcurrent() is self._hub.greenlet)

    def check_not_forked(self) -> None:
        """Raise if the loop holding this hub was inherited through fork()."""

    def greenthread_returns(self, greenthread: Any) -> None:
        """*greenthread*, awaited by a coroutine of this hub's loop, returns;
        called only once the loop was inherited through fork()."""

    def add_listener(
        self,
        evtype: str,
        fd: int,
        callback: Callable[[int], None],
        on_closed: Callable[[], None],
    ) -> Listener:
        """Ask the hub to call ``callback(fd)`` each time *fd* is ready.

        Raises ``RuntimeError`` if a greenthread already waits on *fd* for the
        same event (eventlet allows one waiter per fd and event), and
        ``OSError`` if the fd is not valid.
        """
        hub = self._hub
        try:
            listener = hub.add(evtype, fd, callback, _ignore_throwback, on_closed)
        except OSError:
            # epoll refused the fd (a regular file: EPERM) after eventlet had
            # recorded the listener: take it back, or the hub keeps a listener
            # nobody will ever remove.
            stale = self._listeners[evtype].get(fd)
            if stale is not None and stale.cb == callback:
                hub.remove(stale)
            raise
        # eventlet records the greenthread that adds a listener, to throw
        # into it if the fd is reused (we ignore that throw, see above).  A
        # listener lives as long as the registration, and a finished
        # GreenThread keeps its result or exception, whose traceback holds
        # the frames that made the loop: the hub would keep an unclosed loop
        # alive through it.  A finished greenlet is never thrown into.
        listener.greenlet = _NO_GREENLET
        return listener

    def remove_listener(self, listener: Listener) -> None:
        """Remove *listener*; a no-op if the hub already dropped it (it does so
        for fds it finds closed)."""
        if listener.spent:
            return
        bucket = self._listeners[listener.evtype]
        if bucket.get(listener.fileno) is listener:
            self._hub.remove(listener)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Timer:
        return self._hub.schedule_call_global(seconds, callback)

    def switch(self) -> None:
        """Suspend the current greenthread and run the hub until someone
        switches back to it."""
        self._hub.switch()

    def poll_alone(
        self, listener_count: int, timeout: float
    ) -> list[tuple[int, int]] | None:
        """Wait for the caller's fds in the calling greenthread, when nothing
        else could run on a hub pass; else return ``None``.

        "Nothing else" means: no live hub timer due before the wait would
        end (so no greenthread spawned, woken or done sleeping meanwhile), no
        pending close notification, no fd listener beyond the caller's
        *listener_count*, and no blocking detection.  A wait that a live
        timer's deadline falls into is the hub's to make: it fires eventlet's
        timers and resumes the caller in deadline order.

        Waiting in the hub would cost two greenlet switches and a wake-up
        timer per wait, only for the hub to find that no other greenthread
        can run before the wait ends: polling here is the same wait, at stock
        asyncio's cost.  No greenthread can become runnable meanwhile but
        through a timer the hub already lists (one appears through a hub
        timer or listener, which only code running in this thread could add,
        and this thread is in the poll; another OS thread wakes the loop
        through its self-pipe, one of the caller's fds).

        On the epolls hub, returns the raw ``(fd, poll mask)`` pairs, which
        the caller maps itself (every listener is the caller's).  On other
        hubs, runs the hub's own ``wait(timeout)``, which calls the caller's
        listeners (they must only record readiness), and returns ``[]``.
        """
        hub = self._hub
        # One method, no helpers: this runs once per loop iteration.
        if (
            len(self._readers) + len(self._writers) != listener_count
            or hub.closed
            or hub.debug_blocking
        ):
            return None
        # Which timers are live is read off the timers themselves, never off
        # eventlet's count of the cancelled ones (hub.timers_canceled): that
        # count drifts.  abort() clears the timer lists and the count, and
        # the later cancel of a timer it dropped (the parked loop's own
        # timeout, a killed sleeper's) counts one timer too many for good:
        # trusted, the count would make one live timer look cancelled, and
        # its greenthread would never run while the loop polled here.
        #
        # Live timers are found the way eventlet's hub finds them, with its
        # lazy deletion.  A live timer added since the hub's last pass (a
        # greenthread just spawned or woken: usually the only one, the
        # latest, so it is looked at first) sends the loop to the hub, which
        # moves it into its heap and fires it when due: one pass per batch
        # of timers added, and no clock read.  Added timers that are all
        # cancelled are dropped through the hub's own prepare_timers().  The
        # lists are read each time: eventlet rebinds them when it compacts
        # cancelled timers.  In the heap, cancelled timers at the
        # top are popped and uncounted, as fire_timers() does when they come
        # due; the top is then the earliest live timer, and the loop polls
        # alone unless it is due before the wait ends.  Each timer is moved
        # or dropped once: per iteration this costs the first test below
        # when the hub lists no timer (a loop alone), and one look at the
        # top of the heap and one clock read when it lists only timers
        # already in its heap.  Popping is safe while the hub is suspended
        # in fire_timers() (a timer it fired switched to a greenthread that
        # resumed us): it re-reads the top of the same list at each step.
        if hub.timers or hub.next_timers:
            added = hub.next_timers
            if added:
                if not added[-1][1].called:
                    return None
                for _, timer in added:
                    if not timer.called:
                        return None
                hub.prepare_timers()
            timers = hub.timers
            while timers and timers[0][1].called:
                _heappop(timers)
                hub.timers_canceled -= 1
            if timers and timers[0][0] - self.clock() <= timeout:
                return None
        epoll = self._epoll
        if epoll is None:
            if self._poll_ms:
                # Round up, as selectors.PollSelector does: truncated, a 0.4 ms
                # wait returns at once and asyncio spins until its timer is due
                # (CPython's test_timeout_rounding).  The extra half millisecond
                # survives the hub's int(seconds * 1000.0).
                timeout = (math.ceil(timeout * 1e3) + 0.5) / 1e3
            hub.wait(timeout)
            return []
        # The debug watchdog sees this frame on top while the thread is idle
        # in the poll (see is_hub_frame()).  maxevents as selectors does: by
        # default epoll.poll() allocates room for 1,023 events on every call,
        # which cost a quarter of a busy loop's time on Python 3.13.
        return epoll(timeout, listener_count or 1)

    # -- fork --------------------------------------------------------------------

    def disown(
        self, listeners: Iterable[Listener], timers: Iterable[Timer], parked: Any
    ) -> None:
        """In the child of a fork, cut a loop inherited from the parent off the hub.

        Called by the at-fork hook (see _after_fork_in_child()) with the
        loop's hub *listeners* and *timers*, and the greenthread *parked* in
        the loop's select(), if any.  On the forking thread's hub,
        the one hub the child goes on running, they are taken off its books:
        otherwise the child's hub would wake the parent's loop (a timer, a
        ready fd) and it would run the parent's callbacks in the child.  The
        listeners' removal makes no change the parent can see: on the epolls
        hub it updates the child's own epoll instance (given just before),
        on poll and selects hubs only this process's memory.  The hubs of
        other OS threads are left as they are: those threads do not exist
        in the child, so their hubs never run again, and their epoll
        instances are still the parent's.

        Then this object becomes a :class:`_ForkedHub`: the loop, its
        selector and its bridges all hold this same object, and none of them
        can reach the hub any more.
        """
        if self._hub is getattr(eventlet.hubs._threadlocal, "hub", None):
            for listener in listeners:
                self.remove_listener(listener)
            for timer in timers:
                if not timer.called:
                    timer.cancel()  # only counts it cancelled: no syscall
        if parked is not None:
            _park_for_good(parked, self.thread_id)
        self.__class__ = _ForkedHub

    def stay_parked(self, exc: BaseException | None) -> NoReturn:
        """Park the parent's loop greenthread, in a child of fork, for good.

        Called in that greenthread when it comes back to the loop in the
        child: the child's hub switched into it where it was parked when the
        process forked, by a stray switch (*exc* None) or by raising *exc*
        in it (see HubSelector._park()); or a callback that was waiting in
        green code then returned to the loop (see _ForkedHub.poll_alone()).
        Returning or raising into the loop from here would run the parent's
        loop in the child, and
        with it the parent's callbacks, and the cleanup of whatever ran the
        loop (``asyncio.run()`` cancels the parent's tasks: their ``except``
        and ``finally`` blocks would run).  So the greenthread parks again,
        and only the process's end takes it.  The exception that ended the
        child's hub (``sys.exit()`` in a greenthread: the hub passes
        ``SystemExit`` to the main greenthread, its parent) is meant for the
        process, which it ends here when this is the main greenthread: see
        :func:`end_forked_child`.  Any other greenthread swallows what it is
        thrown (a kill, an ``eventlet.Timeout``): it was meant for the parent.
        """
        current = getcurrent()
        _park_for_good(current, self.thread_id)
        hub = self._hub
        while True:
            if exc is not None and current.parent is None:
                end_forked_child(exc)
            try:
                hub.switch()
            except BaseException as new:
                exc = new
            else:
                exc = None


_POLL_ALONE_CODE = Hub.poll_alone.__code__


def current_hub() -> Hub:
    """The eventlet hub of the calling OS thread, created on first use."""
    hub = eventlet.hubs.get_hub()
    if not isinstance(hub, _eventlet_hub.BaseHub) or not hasattr(hub, "listeners"):
        raise RuntimeError(
            f"aioeventlet needs an eventlet hub that polls file descriptors "
            f"(epolls, kqueue, poll or selects); this thread uses "
            f"{type(hub).__module__}.{type(hub).__qualname__}."
        )
    if type(hub).__module__ == "eventlet.hubs.asyncio":
        raise RuntimeError(
            "aioeventlet cannot run on eventlet's asyncio hub (EVENTLET_HUB=asyncio): "
            "that hub already drives eventlet from a stock asyncio loop, the "
            "opposite direction. Either keep that hub and use its loop "
            "(asyncio.get_running_loop() from code run through "
            "eventlet.asyncio.spawn_for_awaitable), or select a polling hub "
            "(EVENTLET_HUB=epolls, poll or selects) to use aioeventlet."
        )
    global _fork_hook_registered  # noqa: PLW0603 - once per process
    if not _fork_hook_registered:
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_hook_registered = True
    return Hub(hub)


_FORKED_AWAY = (
    "this event loop belongs to the parent process: this process is a child "
    "of fork() (os.fork(), or multiprocessing's fork start method) and "
    "inherited a copy of it, whose callbacks, timers and transports are the "
    "parent's, so the child must never run it. Create a loop of the child's "
    "own (aioeventlet.run(), aioeventlet.new_event_loop()); a child forked "
    "inside one of this loop's callbacks or coroutines must end (os._exit(), "
    "sys.exit()) rather than return to it."
)


class _ForkedHub(Hub):
    """What an aioeventlet loop inherited through fork() holds for its hub.

    Whatever would run the loop (waiting on the hub, watching a fd, setting
    a timer) refuses with an error that says why; removing a listener, which
    closing the loop or a transport does, does nothing: the listener is off
    the child's hub already (see :meth:`Hub.disown`), and another thread's
    hub must not be touched.
    """

    __slots__ = ()
    forked_away = True

    def add_listener(
        self,
        evtype: str,
        fd: int,
        callback: Callable[[int], None],
        on_closed: Callable[[], None],
    ) -> Listener:
        raise RuntimeError(_FORKED_AWAY)

    def remove_listener(self, listener: Listener) -> None:
        pass

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Timer:
        raise RuntimeError(_FORKED_AWAY)

    def switch(self) -> None:
        raise RuntimeError(_FORKED_AWAY)

    def poll_alone(
        self, listener_count: int, timeout: float
    ) -> list[tuple[int, int]] | None:
        # The parent's loop came back to its select() in the child.  In the
        # greenthread that forked, inside one of the loop's callbacks, the
        # child's own code returned to it: refuse, which ends the child (see
        # EventLoop.run_forever()).  In any other, a callback of the parent
        # was waiting in green code when the process forked, and its wait
        # ended in the child: park it for good, like a loop parked then.
        if getcurrent() is _forking_greenlet:
            raise RuntimeError(_FORKED_AWAY)
        self.stay_parked(None)

    def check_not_forked(self) -> None:
        raise RuntimeError(_FORKED_AWAY)

    def greenthread_returns(self, greenthread: Any) -> None:
        if greenthread is _forking_greenlet:
            # `pid = await aioeventlet.to_green(os.fork)`: in the child, the
            # coroutine awaiting this greenthread is the parent's, and never
            # runs; the child would wait forever for nothing.
            end_forked_child(
                RuntimeError(
                    "a greenthread run by aioeventlet.to_green() or "
                    "wrap_greenthread() called fork() and returned in the "
                    "child, where the coroutine awaiting it belongs to the "
                    "parent's event loop, which the child never runs: the "
                    "child has nothing to go back to. End the child in that "
                    "greenthread once its work is done (os._exit(), "
                    "sys.exit()), running a loop of its own there first if it "
                    "needs one (aioeventlet.run())."
                )
            )


def end_forked_child(exc: BaseException) -> NoReturn:
    """End a child of fork() on *exc*, without unwinding the parent's loop.

    For an exception that would otherwise leave the greenthread of a loop
    inherited from the parent: whatever called ``run_forever()`` in the
    parent (``asyncio.run()``, a runner) would then clean up the parent's
    loop in the child, cancelling the parent's tasks and so running their
    ``except`` and ``finally`` blocks.  The child ends instead as the
    interpreter would end it: ``SystemExit``'s status, or the traceback and
    status 1.  Through ``os._exit()`` (after flushing stdout and stderr), as
    multiprocessing ends its forked children: atexit handlers do not run,
    most of them being the parent's.
    """
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            status = 0
        elif isinstance(code, int):
            status = code
        else:
            print(code, file=sys.stderr)
            status = 1
    else:
        sys.excepthook(type(exc), exc, exc.__traceback__)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # closed, or a broken pipe
            stream.flush()
    os._exit(status & 0xFF)


_fork_hook_registered = False
_child_hooks: list[Callable[[], None]] = []
# In a child of fork(), the greenthread that called fork(): the child's.
_forking_greenlet: Any = None
# In a child of fork(), the parent's loop greenthreads parked for good, kept
# for the child's life (see Hub.stay_parked()): greenlet throws GreenletExit
# into a suspended greenlet it deallocates, and that would unwind the parent's
# loop in the child, with what end_forked_child() avoids.  (greenlet does not
# do so at interpreter shutdown.)
_parked_for_good: list[Any] = []


def on_fork_in_child(hook: Callable[[], None]) -> None:
    """Have *hook()* run in the child of each fork(), after the forking
    thread's hub has an epoll of its own, and before the fds of its
    listeners are registered in that epoll."""
    _child_hooks.append(hook)


def _park_for_good(greenlet: Any, thread_id: int) -> None:
    """In the child of a fork, keep *greenlet*, a parked loop greenthread of
    the parent (of OS thread *thread_id*), alive, and let the child exit
    without waiting for it.

    Under monkey-patching, ``threading`` counts greenthreads as threads, and
    eventlet disables its after-fork cleanup (green threads survive fork).
    On Python 3.10 to 3.12, ``threading._shutdown()`` run anywhere but in the
    main greenthread (multiprocessing's, at the end of a child forked from a
    greenthread) waits for the main thread's state lock, which the main
    greenthread releases as it ends.  When that greenthread is the parent's
    loop, parked for good, it never does: release the lock, as if it had
    ended (for the child, it has), as the stock after-fork cleanup marks the
    threads that do not exist in the child.  (3.13's ``_shutdown()`` waits
    for OS threads only.)
    """
    if greenlet in _parked_for_good:
        return  # parked when the process forked, and woken since
    _parked_for_good.append(greenlet)
    if greenlet.parent is not None or sys.version_info >= (3, 13):
        return  # not a main greenthread, or nothing waits for it
    if not is_patched("thread"):
        return  # threading's own after-fork cleanup ran
    # The namespace _shutdown() reads: eventlet's green copy of threading's,
    # whose main thread is known by the main greenlet's id (the green
    # get_ident()); the OS thread's id is the unpatched one's.
    namespace = sys.modules["threading"]._shutdown.__globals__
    main = namespace.get("_main_thread")
    if main is None or main.ident not in (thread_id, id(greenlet)):
        return
    # Released, as the main thread's ending would: a _shutdown() may
    # already wait for it.
    lock = getattr(main, "_tstate_lock", None)
    if lock is not None and lock.locked():
        lock.release()


def _after_fork_in_child() -> None:
    """In a child of fork(), give the forking thread's hub an epoll of its own,
    and cut the parent's loops off the hub (the hooks, see on_fork_in_child).

    The child's epoll fd refers to the parent's kernel epoll instance, so every
    epoll_ctl() the child makes (a loop closing as the child exits, say)
    changes what the *parent* waits on.  A fresh epoll is dup2()'d onto the
    same fd number, so that every holder of the hub's epoll object, or of a
    method bound to it, now uses the child's own instance; the inherited
    listeners' fds are then registered in it again, but for the parent's
    loops' own, which the hooks take off the hub first.  Registered lazily,
    when the first aioeventlet loop is created, so that importing aioeventlet
    changes nothing for programs that never make a loop.
    """
    global _forking_greenlet  # noqa: PLW0603 - once per fork, in the child
    _forking_greenlet = getcurrent()
    hub: Any = getattr(eventlet.hubs._threadlocal, "hub", None)
    # Poll and select keep no kernel state shared with the parent.
    epolls = isinstance(hub, _epolls_hub.Hub)
    if epolls:
        fresh = _select.epoll()
        try:
            os.dup2(fresh.fileno(), hub.poll.fileno())
        finally:
            fresh.close()
    try:
        for hook in _child_hooks:
            hook()
    finally:
        if epolls:
            for fd in set(hub.listeners[READ]) | set(hub.listeners[WRITE]):
                # A fd closed before the fork: the hub finds out as usual.
                with contextlib.suppress(OSError):
                    hub.register(fd, new=True)


# -- greenthreads, for the bridges (_bridges.py) ---------------------------------

GreenThread: Any = eventlet.greenthread.GreenThread
Greenlet: Any = greenlet.greenlet
GreenletExit: type[BaseException] = greenlet.GreenletExit


def spawn(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``eventlet.spawn()``: a GreenThread that starts on the hub's next pass."""
    return eventlet.greenthread.spawn(func, *args, **kwargs)


def kill(g: Any) -> None:
    """``eventlet.greenthread.kill()``: raise GreenletExit in *g*.  A GreenThread
    that has not started yet still notifies its ``link()`` callbacks."""
    eventlet.greenthread.kill(g)


def wait_readable(fd: int) -> None:
    """Park the calling greenthread until *fd* is readable (green, not blocking
    the OS thread)."""
    eventlet.hubs.trampoline(fd, read=True)


_thread_state = _threading.local()


def running_loops() -> list[Any]:
    """The aioeventlet loops running on this OS thread's hub, oldest first.

    ``EventLoop.run_forever()`` adds its loop for the duration of the run, so
    that green code, which by design sees no running loop, can still find the
    one loop of its thread (``yield_future(coro)`` without ``loop=``).
    """
    loops: list[Any] | None = getattr(_thread_state, "loops", None)
    if loops is None:
        loops = _thread_state.loops = []
    return loops


def is_patched(name: str) -> bool:
    """Whether ``eventlet.monkey_patch()`` patched *name* ("thread", "socket"...)."""
    return bool(eventlet.patcher.is_monkey_patched(name))


def is_green(obj: object) -> bool:
    """Whether *obj* (a class or function) is one of eventlet's green
    replacements for a stdlib one, as monkey-patching installs them."""
    return str(getattr(obj, "__module__", "")).startswith("eventlet.green.")


_HUBS_DIR = os.path.dirname(os.path.abspath(eventlet.hubs.__file__))


def is_hub_frame(frame: FrameType) -> bool:
    """True if *frame* runs eventlet's own hub code (its poll, wait and
    dispatch loop): the OS thread is then idle or between greenthreads."""
    return (
        frame.f_code is _POLL_ALONE_CODE  # the loop polling in its own greenthread
        or os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _HUBS_DIR
    )
