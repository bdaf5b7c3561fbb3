"""HubSelector: a ``selectors.BaseSelector`` whose readiness comes from eventlet's hub.

asyncio's selector event loop asks its selector one question per iteration:
"which registered fds are ready, waiting at most *timeout*?".  This selector
answers it without a poller of its own:

* Each registered (fd, event) pair owns one persistent hub listener.  The
  hub calls it when the fd is ready; the callback only records the event in
  ``_events`` (and wakes the parked loop, see below).  Nothing is re-registered
  per wait, so readiness costs one hub pass.
* ``select(timeout)`` parks the calling greenthread (the loop's) on the hub:
  the hub runs every other greenthread and polls all fds, including ours,
  until one of ours is ready, the timeout passes, or :meth:`wake` is called.
* ``select(0)`` (the loop has callbacks ready) must still give the hub one
  pass, or a busy loop would starve every greenthread.
* When nothing but our own listeners waits on the hub (no other listener,
  no live timer due before the wait ends), any ``select()`` polls our fds
  directly in this greenthread, with the requested timeout: no switch and no
  timer, the same cost as stock asyncio.  Parking would only switch to a hub
  with nothing else to run before the wait ends.  A greenthread whose timer
  falls due within the wait makes the loop park, so that the hub wakes it on
  time (see ``Hub.poll_alone()``).

The hub's listeners are level-triggered.  While the loop is not inside
``select()`` (stopped, or a callback blocked on green I/O) a ready fd would
make the hub spin, so a listener that fires then is disarmed, its readiness
kept, and re-armed at the next ``select()``.

The hub holds the selector only weakly.  eventlet's hub lives as long as its
OS thread, and every listener it holds keeps what its callbacks refer to: with
callbacks bound to the selector, the selector's keys (whose callbacks are bound
to the loop) kept an unclosed loop, its transports and their fds alive for
good, where stock asyncio collects the loop and warns "unclosed event loop".
So the listener callbacks reach the selector through a weak reference, and a
selector collected without ``close()`` takes its listeners off the hub in
``__del__`` (stock's epoll selector gets the same from its epoll object's own
finalizer).  A loop in use is not collected: its greenthread's frames hold it,
running or parked in ``select()`` (greenlet does not let the collector free a
suspended greenlet, so those frames count as alive).
"""

from __future__ import annotations

import errno
import os
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import _hub
from ._hub import POLL_READABLE, POLL_WRITABLE, READ, WRITE, Hub, Listener, Timer

selectors = _hub.original("selectors")

if TYPE_CHECKING:
    from selectors import BaseSelector as _BaseSelector
else:
    # The unpatched module's class: monkey-patching swaps in green selectors.
    _BaseSelector = selectors.BaseSelector

EVENT_READ: int = selectors.EVENT_READ
EVENT_WRITE: int = selectors.EVENT_WRITE
_EVTYPES = ((EVENT_READ, READ), (EVENT_WRITE, WRITE))
# What select(None) hands Hub.poll_alone(): a poll that returns empty after
# this long only makes asyncio call select() again (eventlet's hub caps its
# own sleeps the same way).
_WAIT_FOREVER = 60.0

SelectorKey = selectors.SelectorKey
FileObj = Any  # int | HasFileno, as in the selectors module
FdLostCallback = Callable[[int, Any], None]


def _fileobj_to_fd(fileobj: FileObj) -> int:
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


class _KeyMap(Mapping[Any, Any]):
    """Read-only ``get_map()`` view: file object or fd -> SelectorKey."""

    __slots__ = ("_selector",)

    def __init__(self, selector: HubSelector) -> None:
        self._selector = selector

    def __len__(self) -> int:
        return len(self._selector._keys)

    def __getitem__(self, fileobj: FileObj) -> Any:
        fd = self._selector._fd_of(fileobj)
        try:
            return self._selector._keys[fd]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None

    def get(self, fileobj: FileObj, default: Any = None) -> Any:
        # asyncio's add_reader() and remove_reader() look the fd up with get()
        # on every call.  Mapping's own get() would go through __getitem__,
        # raising (and formatting) a KeyError for every fd not registered: a
        # flow-controlled stream pays that on each resume_reading().
        return self._selector._keys.get(self._selector._fd_of(fileobj), default)

    def __iter__(self) -> Iterator[int]:
        return iter(self._selector._keys)


class _File:
    """What the selector keeps of one registered fd, beside its key.

    * Its hub listeners, one per event the hub currently watches (``None``
      while disarmed).
    * The file's identity (``st_dev``, ``st_ino``), so that ``modify()``
      notices a number closed with ``os.close()`` and reused by a file the
      hub was never told of (``os.pipe()``, ``open()``, a plain socket): the
      old listener would wait on a file that no longer exists.
    * Called, it is the ``on_closed`` of those listeners: it reports the fd
      lost to the selector.  The hub holds it, so it refers to the selector
      weakly (see the module docstring).

    One small slotted object per fd: separate dicts keyed by fd or by
    (fd, event), a tuple for the identity and a ``functools.partial`` per
    listener took several times the memory, which adds up over thousands of
    idle connections.
    """

    __slots__ = ("dev", "fd", "ino", "reader", "selector", "writer")

    def __init__(
        self, selector: weakref.ref[HubSelector], fd: int, stat: os.stat_result
    ) -> None:
        self.selector = selector
        self.fd = fd
        self.dev = stat.st_dev
        self.ino = stat.st_ino
        self.reader: Listener | None = None
        self.writer: Listener | None = None

    def is_same(self, stat: os.stat_result) -> bool:
        return self.ino == stat.st_ino and self.dev == stat.st_dev

    def listener(self, event: int) -> Listener | None:
        return self.reader if event == EVENT_READ else self.writer

    def set_listener(self, event: int, listener: Listener | None) -> None:
        if event == EVENT_READ:
            self.reader = listener
        else:
            self.writer = listener

    def pop_listener(self, event: int) -> Listener | None:
        listener = self.listener(event)
        if listener is not None:
            self.set_listener(event, None)
        return listener

    def __call__(self) -> None:
        selector = self.selector()
        if selector is not None:
            selector._on_fd_lost(self.fd)


def _listener_callback(
    selector: weakref.ref[HubSelector], event: int
) -> Callable[[int], None]:
    """The callback of a selector's listeners for *event*: it records the
    event for the next ``select()``.

    The hub holds it, so it holds the selector weakly (see the module
    docstring): a closure over the weak reference, made once per selector
    and event.  ``weakref.WeakMethod`` would build a bound method on every
    call.  The recording is written out here rather than in a method: the
    dereference costs a C call, and the method call saved pays for it (a
    bound method that called a method of the selector did before).
    """

    def on_ready(fd: int) -> None:
        # Called by the hub (or by Hub.poll_alone() in the loop's greenthread).
        live = selector()
        if live is None:
            return  # collected: this listener is leaving the hub (see __del__)
        events = live._events
        events[fd] = events.get(fd, 0) | event
        if not live._selecting:
            live._disarm(fd, event)
            live._disarmed.add((fd, event))
        elif live._waiter is not None:
            # Resume through a timer rather than by switching now: the hub is
            # in the middle of dispatching this poll's results, and the loop
            # should see all of them in one iteration.
            live.wake()

    return on_ready


def _resume_callback(selector: weakref.ref[HubSelector]) -> Callable[[], None]:
    """The callback of the hub timers that resume a selector's parked loop;
    it holds the selector weakly, as the listeners' do."""

    def resume() -> None:
        # Run by a hub timer, in the hub greenlet; the first one wins.
        live = selector()
        if live is None:
            return
        waiter = live._waiter
        if waiter is not None:
            live._waiter = None
            # This frame stays suspended in the hub greenlet, below the
            # switch, until the hub's next pass, which may be long after the
            # loop stopped: it must not hold the selector meanwhile (nor,
            # through it, the loop).
            del live
            waiter.switch()

    return resume


class HubSelector(_BaseSelector):
    """A selector backed by the eventlet hub of the calling OS thread."""

    def __init__(self, hub: Hub, on_fd_lost: FdLostCallback | None = None) -> None:
        self._hub = hub
        self._on_fd_lost_cb = on_fd_lost
        self._keys: dict[int, Any] = {}
        self._map = _KeyMap(self)
        # How many hub listeners the hub currently holds for us (see _File).
        self._armed = 0
        # (fd, EVENT_*) pairs taken off the hub while the loop was not selecting.
        self._disarmed: set[tuple[int, int]] = set()
        # fds the hub reported reused by someone else (closed behind our back).
        self._lost: set[int] = set()
        # fd -> the file registered under that number, and its listeners.
        self._files: dict[int, _File] = {}
        # Readiness recorded by the listeners since the last select(): fd -> mask.
        self._events: dict[int, int] = {}
        self._selecting = False
        # The greenthread parked in select(), and the timers that resume it.
        self._waiter: Any = None
        self._wake_timer: Timer | None = None
        self._timeout_timer: Timer | None = None
        self._closed = False
        # What the hub's listeners and timers hold (see _File and
        # _listener_callback): made once, since every listener holds one, and a
        # callback per registration would cost memory over thousands of
        # connections.
        self._ref = weakref.ref(self)
        self._readable_cb = _listener_callback(self._ref, EVENT_READ)
        self._writable_cb = _listener_callback(self._ref, EVENT_WRITE)
        self._resume_cb = _resume_callback(self._ref)

    # -- the BaseSelector API ------------------------------------------------

    def register(self, fileobj: FileObj, events: int, data: Any = None) -> Any:
        self._check_events(events)
        fd = self._fd_of(fileobj)
        if fd in self._keys:
            raise KeyError(f"{fileobj!r} (FD {fd}) is already registered")
        # epoll refuses a closed fd at once; poll and select would only report
        # it later.  Ask the OS so every hub fails the same way, at register().
        stat = os.fstat(fd)
        key = SelectorKey(fileobj, fd, events, data)
        self._files[fd] = _File(self._ref, fd, stat)
        try:
            if events & EVENT_READ:
                self._arm(fd, EVENT_READ)
            if events & EVENT_WRITE:
                self._arm(fd, EVENT_WRITE)
        except BaseException:
            self._drop_file(fd)  # with the reader, if only the writer failed
            raise
        self._keys[fd] = key
        return key

    def unregister(self, fileobj: FileObj) -> Any:
        fd = self._fd_of(fileobj)
        try:
            key = self._keys.pop(fd)
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None
        self._drop_file(fd)
        self._events.pop(fd, None)
        self._lost.discard(fd)
        if self._disarmed:
            self._disarmed.discard((fd, EVENT_READ))
            self._disarmed.discard((fd, EVENT_WRITE))
        return key

    def modify(self, fileobj: FileObj, events: int, data: Any = None) -> Any:
        self._check_events(events)
        fd = self._fd_of(fileobj)
        try:
            key = self._keys[fd]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None
        if self._is_reused(fd):
            # asyncio's add_reader() on a reused number lands here: register
            # the new file afresh instead of updating the dead one's key.
            self.unregister(fd)
            return self.register(fileobj, events, data)
        if events != key.events:
            self._arm_events(fd, events & ~key.events)
            self._disarm_events(fd, key.events & ~events)
        if events != key.events or data is not key.data:
            key = key._replace(events=events, data=data)
            self._keys[fd] = key
        return key

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        if self._disarmed:
            self._rearm()
        if self._events:
            # Something is ready already: still give the hub its pass, but
            # do not wait.
            timeout = 0
        elif timeout is not None and timeout < 0:
            timeout = 0
        self._selecting = True
        try:
            # When only our listeners are on the hub, wait for them right
            # here, as stock asyncio would: parking would switch to the hub
            # and back (and set a timer) just to find nobody else to run.
            ready = self._hub.poll_alone(
                self._armed, _WAIT_FOREVER if timeout is None else timeout
            )
            if ready is None:
                self._park(timeout)
            elif ready:
                events = self._events
                for fd, mask in ready:
                    event = EVENT_READ if mask & POLL_READABLE else 0
                    if mask & POLL_WRITABLE:
                        event |= EVENT_WRITE
                    events[fd] = events.get(fd, 0) | event
        finally:
            self._selecting = False
        # Most iterations of a busy loop find nothing ready: answer those
        # without the call to _take_events().
        if not self._events:
            return []
        return self._take_events()

    def close(self) -> None:
        self._drop_files()
        self._keys.clear()
        self._disarmed.clear()
        self._events.clear()
        self._lost.clear()
        self._cancel_timers()
        self._closed = True

    def get_map(self) -> Mapping[Any, Any]:
        return self._map

    def disown(self) -> None:
        """In the child of a fork: this selector is the parent's; never wait again.

        Called by the at-fork hook for each open loop the child inherited.
        Its hub listeners and wake-up timers leave the child's hub (see
        ``Hub.disown()``), so the child's hub can no longer wake it, and
        nothing the child does can make this selector wait, watch a fd or
        touch the hub again.  If the loop was parked here, its greenthread
        stays parked for good (see ``_park`` and ``Hub.stay_parked()``).
        """
        # Nothing may resume the parked greenthread: not wake(), not
        # resume_after() of a greenthread exiting in the child.
        waiter, self._waiter = self._waiter, None
        listeners = [
            listener
            for file in self._files.values()
            for listener in (file.reader, file.writer)
            if listener is not None
        ]
        timers = [t for t in (self._wake_timer, self._timeout_timer) if t is not None]
        self._wake_timer = self._timeout_timer = None
        self._events.clear()
        self._hub.disown(listeners, timers, waiter)

    def __del__(self) -> None:
        # Collected without close(): take our listeners off the hub, which
        # would otherwise keep them (and their fds' numbers) for good.  A
        # loop dropped unclosed normally gets here closed already (asyncio's
        # BaseEventLoop.__del__ closes it), but not if its warning raised
        # (-W error) or for a selector used on its own.
        #
        # This may run in any greenthread, or in another OS thread (the
        # collector runs wherever an allocation triggers it), while this
        # hub's own thread polls or dispatches.  Removing a listener there
        # is safe: under the GIL each of eventlet's dict operations is
        # atomic, and every key touched is a fd of ours, which the hub
        # refuses to anyone else while our listener is on it (a socket
        # finalized before us frees its number: until we are done, the hub's
        # thread cannot register that number with a loop, and green code
        # that reuses it takes it from us); epoll_ctl() and poll's
        # unregister() are safe while another thread polls; and a callback
        # that the hub's thread had already fetched finds the selector gone
        # and does nothing.  The
        # alternative, a hand-off to the hub's thread, has no safe means in
        # eventlet (its timer lists are not safe to append to from another
        # thread, and Timer.cancel() acts on the calling thread's hub), and
        # would leave the listeners in place if that thread never polled
        # again.  This is also what close() does when called from another
        # thread (closing a loop after its thread has finished, say).
        if not getattr(self, "_closed", True):  # False only after __init__
            self._drop_files()

    # -- waking the loop --------------------------------------------------------

    def wake(self) -> None:
        """Make a ``select()`` parked in another greenthread return soon.

        A no-op unless the loop is parked.  Called by the loop for work scheduled
        from other greenthreads of this OS thread (``call_soon``, ``call_at``,
        ``stop``, future completion).  It never switches: the caller keeps
        running, and the hub resumes the loop on its next pass.
        """
        if self._waiter is not None and self._wake_timer is None:
            self._wake_timer = self._hub.call_later(0, self._resume_cb)

    def resume_after(self, greenthread: Any) -> None:
        """Have *greenthread*, about to exit, switch straight into the parked loop.

        Called by a greenthread about to give the loop work (complete a
        future) and exit: if the loop is parked, its greenthread becomes the
        exiting one's parent, which greenlet switches to on exit.  That saves
        the switch to the hub, the wake-up timer and the hub pass that fires
        it: the loop counts as woken from here on, so work scheduled after
        this call sets no timer.  The hub stays suspended in the timer
        callback that started *greenthread* and carries on from there when
        the loop next parks, as it does after any greenthread switches back
        to it.  Nothing that can switch may run in *greenthread* after this
        call: the loop must resume in ``_park``, never inside other code of
        its greenthread.
        """
        waiter = self._waiter
        if waiter is None:
            if self._hub.forked_away:
                self._hub.greenthread_returns(greenthread)
            return
        try:
            greenthread.parent = waiter
        except ValueError:  # pragma: no cover - a parent cycle: keep the hub
            return
        self._waiter = None

    # -- internals ------------------------------------------------------------

    def _park(self, timeout: float | None) -> None:
        hub = self._hub
        if hub.is_hub_greenlet():
            raise RuntimeError(
                "the event loop cannot wait inside eventlet's hub greenlet "
                "(a hub timer or fd callback); run it from a greenthread, "
                "for instance with eventlet.spawn()"
            )
        self._waiter = _hub.getcurrent()
        if timeout == 0:
            # One hub pass: the hub fires this timer right after its poll.
            self._wake_timer = hub.call_later(0, self._resume_cb)
        elif timeout is not None:
            self._timeout_timer = hub.call_later(timeout, self._resume_cb)
        # Other greenthreads run now; they do not see this loop as running
        # (see _greenlocal).
        try:
            hub.switch()
        except BaseException as exc:
            if hub.forked_away:
                hub.stay_parked(exc)
            raise
        finally:
            self._waiter = None
            self._cancel_timers()
        # In a child of fork(), this is the parent's loop: it must not go
        # back to asyncio's loop iteration (see disown()).  Tested here, once
        # per wait on the hub, rather than on select()'s every call.
        if hub.forked_away:
            hub.stay_parked(None)

    def _cancel_timers(self) -> None:
        for timer in (self._wake_timer, self._timeout_timer):
            if timer is not None and not timer.called:
                timer.cancel()
        self._wake_timer = self._timeout_timer = None

    def _on_fd_lost(self, fd: int) -> None:
        # The hub calls this when something opened a new file with the number
        # of one of our fds: ours was closed without unregistering it first.
        # The hub has already dropped our listeners for it.
        file = self._files.get(fd)
        for event, _ in _EVTYPES:
            if file is not None and file.pop_listener(event) is not None:
                self._armed -= 1
            self._disarmed.discard((fd, event))
        self._events.pop(fd, None)
        if fd in self._lost or fd not in self._keys:
            return
        self._lost.add(fd)
        if self._on_fd_lost_cb is not None:
            self._on_fd_lost_cb(fd, self._keys[fd])

    def _arm_events(self, fd: int, events: int) -> None:
        armed: list[int] = []
        try:
            for event, _ in _EVTYPES:
                if events & event:
                    self._arm(fd, event)
                    armed.append(event)
        except BaseException:
            for event in armed:
                self._disarm(fd, event)
            raise

    def _drop_files(self) -> None:
        for fd in list(self._files):
            self._drop_file(fd)

    def _drop_file(self, fd: int) -> None:
        # Forget fd's file and take its listeners off the hub: what
        # unregister() does on every remove_reader() of a flow-controlled
        # stream, so without a _disarm() call per event.
        file = self._files.pop(fd, None)
        if file is None:
            return
        for listener in (file.reader, file.writer):
            if listener is not None:
                self._armed -= 1
                self._hub.remove_listener(listener)

    def _disarm_events(self, fd: int, events: int) -> None:
        for event, _ in _EVTYPES:
            if events & event:
                self._disarm(fd, event)
                self._disarmed.discard((fd, event))

    def _arm(self, fd: int, event: int) -> None:
        if fd in self._lost:
            raise OSError(
                errno.EBADF,
                f"fd {fd} was closed and reused while registered with the event "
                f"loop; close the transport (or remove the reader/writer) before "
                f"closing its socket",
            )
        if event == EVENT_READ:
            evtype, callback = READ, self._readable_cb
        else:
            evtype, callback = WRITE, self._writable_cb
        file = self._files[fd]
        try:
            listener = self._hub.add_listener(evtype, fd, callback, file)
        except RuntimeError as exc:
            raise RuntimeError(
                f"fd {fd} is already waited on for {evtype}ing by a greenthread "
                f"(eventlet allows one waiter per fd): asyncio and green code "
                f"cannot wait on the same socket at once. Let one side own it, "
                f"or hand the work over with aioeventlet.wrap_greenthread() or "
                f"aioeventlet.yield_future()."
            ) from exc
        file.set_listener(event, listener)
        self._armed += 1

    def _disarm(self, fd: int, event: int) -> None:
        file = self._files.get(fd)
        listener = file.pop_listener(event) if file is not None else None
        if listener is not None:
            self._armed -= 1
            self._hub.remove_listener(listener)

    def _rearm(self) -> None:
        pending, self._disarmed = self._disarmed, set()
        for fd, event in pending:
            key = self._keys.get(fd)
            if (
                key is None
                or not key.events & event
                or self._files[fd].listener(event) is not None
            ):
                continue
            try:
                self._arm(fd, event)
            except (OSError, RuntimeError):
                # The fd was closed, or green code now waits on it.  Report it
                # ready so that its reader/writer runs into the real error
                # (EBADF, or nothing to read) instead of never running again.
                self._events[fd] = self._events.get(fd, 0) | event
                self._disarmed.add((fd, event))

    def _take_events(self) -> list[tuple[Any, int]]:
        ready = self._events
        if not ready:
            return []
        self._events = {}
        keys = self._keys
        result = []
        for fd, recorded in ready.items():
            key = keys.get(fd)
            if key is not None:
                # An event recorded before modify() dropped it is not reported.
                mask = recorded & key.events
                if mask:
                    result.append((key, mask))
        return result

    def _fd_of(self, fileobj: FileObj) -> int:
        if type(fileobj) is int and fileobj >= 0:
            return fileobj  # what asyncio passes: no call for the common case
        try:
            return _fileobj_to_fd(fileobj)
        except ValueError:
            # A closed socket reports fileno() -1: find it among the keys, so
            # that unregister() still works after the object was closed.
            for key in self._keys.values():
                if key.fileobj is fileobj:
                    fd: int = key.fd
                    return fd
            raise

    def _is_reused(self, fd: int) -> bool:
        try:
            stat = os.fstat(fd)
        except OSError:
            return False  # closed: its reader/writer runs into EBADF
        file = self._files.get(fd)
        return file is None or not file.is_same(stat)

    @staticmethod
    def _check_events(events: int) -> None:
        if not events or events & ~(EVENT_READ | EVENT_WRITE):
            raise ValueError(f"Invalid events: {events!r}")
