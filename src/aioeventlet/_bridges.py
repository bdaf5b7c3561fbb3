"""The bridges between greenthreads and asyncio.

* :func:`yield_future`: green code waits for a future, a task, a coroutine or
  any awaitable, blocking only its own greenthread;
* :func:`wrap_greenthread`: a coroutine awaits a greenthread as an asyncio
  future;
* :func:`to_green`: a coroutine runs green-blocking code in a new greenthread.

How a wait works, in one OS thread.  The waiting greenthread parks on
eventlet's hub; when the future is done, a 0-second hub timer switches back
to it.  The timer is armed by a done callback for a future passed in, or, for
a coroutine, by the task's own last step (a thin wrapper around the
coroutine), which saves the iteration the loop takes to run done callbacks.
So a round trip costs one loop iteration and one hub switch each way, and
nothing ever switches into a greenthread from inside the loop's code: the
loop's greenthread always gets back to its ``select()`` first.

The other direction needs no loop iteration of its own: the greenthread
completes its future when it exits (through ``link()``), which schedules the
awaiting task's wake-up and wakes the parked loop.  That runs in the exiting
greenthread, in the loop's own OS thread, so it is as safe as a callback: the
loop's greenthread is suspended, not in the middle of the future's code.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import os
import types
import weakref
from asyncio import events
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from . import _hub
from ._loop import EventLoop

__all__ = ["to_green", "wrap_greenthread", "yield_future"]

_T = TypeVar("_T")

_get_ident = _hub.original("threading").get_ident
_get_running_loop = events._get_running_loop
_isfuture = asyncio.isfuture
_iscoroutine = asyncio.iscoroutine
_Task = asyncio.Task


# -- which loop --------------------------------------------------------------------


def _loop_of_this_thread(caller: str) -> asyncio.AbstractEventLoop:
    """The one aioeventlet loop running on this OS thread, for calls that name
    no loop from green code (which by design sees no running loop)."""
    loops = [loop for loop in _hub.running_loops() if loop.is_running()]
    if len(loops) == 1:
        loop: asyncio.AbstractEventLoop = loops[0]
        return loop
    if not loops:
        raise RuntimeError(
            f"{caller}: no aioeventlet event loop is running in this OS thread, "
            f"so there is no loop to run this on. Pass loop=<the loop>, or start "
            f"the loop first (aioeventlet.run(), loop.run_forever()); plain code "
            f"without any loop can use aioeventlet.run(coroutine) instead."
        )
    raise RuntimeError(
        f"{caller}: {len(loops)} aioeventlet event loops are running in this OS "
        f"thread (one per greenthread that runs one), so the loop to use is "
        f"ambiguous; pass loop=<the loop> to choose."
    )


def _same_thread_hub(loop: asyncio.AbstractEventLoop) -> _hub.Hub | None:
    """The hub to park on when *loop* is an aioeventlet loop of this OS thread.

    None for any other loop (a stock asyncio loop, or an aioeventlet loop of
    another OS thread): only a thread-safe hand-over reaches those.
    """
    if isinstance(loop, EventLoop) and loop._hub.thread_id == _get_ident():
        return loop._hub
    return None


# -- yield_future: green code waits for asyncio ------------------------------------


async def _await(awaitable: Awaitable[_T]) -> _T:
    # Turns any awaitable into a coroutine a task can run.
    return await awaitable


def _refuse_in_running_loop(running: asyncio.AbstractEventLoop) -> RuntimeError:
    return RuntimeError(
        f"yield_future() was called in the greenthread that runs the event loop "
        f"{running!r}: it would block that loop, which must complete the future "
        f"it waits for. In a coroutine, await the future or coroutine instead; "
        f"to call green code that uses yield_future() from a coroutine, run it in "
        f"a greenthread of its own: `await aioeventlet.to_green(func, ...)` or "
        f"`await aioeventlet.wrap_greenthread(eventlet.spawn(func, ...))`."
    )


_REFUSE_IN_HUB = (
    "yield_future() cannot block eventlet's hub greenlet (it was called from a "
    "hub timer or fd callback, which must never wait); call it from a "
    "greenthread, for instance one started with eventlet.spawn()"
)


def yield_future(
    awaitable: Awaitable[_T], loop: asyncio.AbstractEventLoop | None = None
) -> _T:
    """Wait, from green code, for a future, a task, a coroutine or an awaitable.

    Blocks only the calling greenthread until the future is done, then
    returns its result or raises its exception, whatever it is
    (``CancelledError``, ``KeyboardInterrupt`` included).  A coroutine or
    other awaitable runs in a new task of the loop, in a copy of the calling
    greenthread's context; like any task, one that raises
    ``KeyboardInterrupt`` or ``SystemExit`` also stops the loop with it.

    *loop* defaults to the future's loop, and for a coroutine or awaitable to
    the one aioeventlet loop running in this OS thread.  If that loop is not
    running, it runs in the calling greenthread until the future is done (as
    ``loop.run_until_complete()``).  A loop running in another OS thread (an
    aioeventlet loop or a stock one) is reached thread-safely.

    If the waiting greenthread is killed, or an ``eventlet.Timeout`` fires in
    it, the task created for a coroutine or awaitable is cancelled; a future
    or task passed in is left running, since others may wait for it.

    Raises ``RuntimeError`` when called from a greenthread that is running an
    event loop (``await`` instead) or from eventlet's hub greenlet.
    """
    if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
        if _iscoroutine(awaitable):
            awaitable.close()
        raise _not_a_loop("yield_future()", loop)
    coro: Coroutine[Any, Any, _T] | None = None
    fut: asyncio.Future[_T] | None = None
    if _isfuture(awaitable):
        fut = awaitable
        loop = _future_loop(fut, loop)
    elif _iscoroutine(awaitable):
        coro = awaitable
    elif inspect.isawaitable(awaitable):
        coro = _await(awaitable)
    else:
        raise TypeError(
            f"yield_future() expects an asyncio future or task, a coroutine, or "
            f"another awaitable; got {type(awaitable).__qualname__}: {awaitable!r}"
        )
    try:
        loop, hub = _check_wait(loop)
    except BaseException:
        # A coroutine that no task took must not warn "never awaited".
        if coro is not None:
            coro.close()
        raise
    # From here on, each path hands the coroutine to a task or closes it.
    if not loop.is_running():
        return _run_here(loop, fut, coro)
    if hub is None:
        return _wait_threadsafe(loop, fut, coro)
    return _wait_green(loop, hub, fut, coro)


def _not_a_loop(caller: str, loop: object) -> TypeError:
    return TypeError(
        f"{caller}: loop= must be an asyncio event loop (or None for the loop "
        f"of this thread), got {type(loop).__qualname__}: {loop!r}"
    )


def _future_loop(
    fut: asyncio.Future[Any], loop: asyncio.AbstractEventLoop | None
) -> asyncio.AbstractEventLoop:
    fut_loop = fut.get_loop()
    if loop is not None and loop is not fut_loop:
        raise ValueError(
            f"yield_future(): the future belongs to {fut_loop!r}, not to the "
            f"loop passed as loop= ({loop!r}); drop loop= or pass its own loop"
        )
    return fut_loop


def _check_wait(
    loop: asyncio.AbstractEventLoop | None,
) -> tuple[asyncio.AbstractEventLoop, _hub.Hub | None]:
    """The loop to wait on and, if it is of this OS thread, its hub; or the
    error that says why this greenthread cannot wait."""
    running = _get_running_loop()
    if running is not None:
        raise _refuse_in_running_loop(running)
    if loop is None:
        loop = _loop_of_this_thread("yield_future()")
    hub = _same_thread_hub(loop)
    if (hub or _hub.current_hub()).is_hub_greenlet():
        raise RuntimeError(_REFUSE_IN_HUB)
    if hub is None and isinstance(loop, EventLoop) and not loop.is_running():
        raise RuntimeError(
            f"yield_future(): {loop!r} is not running and belongs to another "
            f"OS thread, so this thread cannot run it; start the loop in its "
            f"own thread first (loop.run_forever()), then call yield_future()"
        )
    return loop, hub


# Stands for the timer of a wait that ended without one: wakes are no-ops.
_SPENT: Any = types.SimpleNamespace(called=False)


class _GreenWake:
    """Done callback that resumes a greenthread parked on this thread's hub."""

    __slots__ = ("greenlet", "hub", "timer")

    def __init__(self, hub: _hub.Hub) -> None:
        self.greenlet = _hub.getcurrent()
        self.hub = hub
        self.timer: _hub.Timer = None

    def __call__(self, _fut: object) -> None:
        # Run by the loop.  Switching to the waiter from here would leave the
        # loop suspended inside its callback with nobody to resume it; a hub
        # timer resumes the waiter once the loop is back to waiting.
        if self.timer is None:
            self.timer = self.hub.call_later(0, self.greenlet.switch)

    def resumed(self) -> bool:
        # eventlet marks a timer called before running it: only our timer's
        # switch counts, not a stray switch into this greenthread.
        timer = self.timer
        return timer is not None and bool(timer.called)

    def cancel(self) -> None:
        # A wait that ends by an exception must not leave a timer that would
        # later switch into this greenthread in the middle of something else,
        # nor let a late wake-up arm one (the task may finish, or its coroutine
        # be closed by the garbage collector, after the wait has ended).
        timer = self.timer
        if timer is None:
            self.timer = _SPENT
        elif not timer.called:
            timer.cancel()


def _start_task(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, _T]
) -> asyncio.Future[_T]:
    # A custom factory may start the task eagerly (asyncio.eager_task_factory),
    # which would run the coroutine's first step in this greenthread, outside
    # the loop.  Let the loop call the factory, in this greenthread's context.
    starter: asyncio.Future[_T] = loop.create_future()
    context = contextvars.copy_context()

    def start() -> None:
        if starter.cancelled():
            coro.close()
            return
        try:
            task = loop.create_task(coro)
        except BaseException as exc:  # the factory failed: tell the waiter
            coro.close()
            starter.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        asyncio.futures._chain_future(task, starter)  # type: ignore[attr-defined]

    loop.call_soon(start, context=context)
    return starter


async def _wake_when_done(coro: Awaitable[_T], wake: _GreenWake) -> _T:
    # The task's own last step arms the waiter's resume timer, so the
    # greenthread resumes as soon as the loop next waits, one loop iteration
    # sooner than through a done callback (which the loop runs one iteration
    # after the task finishes).  The task is done by then: nothing between
    # this finally and the end of the step switches greenthreads.
    try:
        return await coro
    finally:
        wake(None)


def _wait_green(
    loop: asyncio.AbstractEventLoop,
    hub: _hub.Hub,
    fut: asyncio.Future[_T] | None,
    coro: Coroutine[Any, Any, _T] | None,
) -> _T:
    """Wait on this thread's hub for a future of a loop of this thread."""
    wake = _GreenWake(hub)
    wrapped = False
    if coro is None:
        assert fut is not None
        if fut.done():
            return fut.result()
        fut.add_done_callback(wake)
    elif loop.get_task_factory() is None:
        # What loop.create_task() does without a factory; the task copies the
        # calling greenthread's context.  Its first step runs in the loop.
        fut = _Task(_wake_when_done(coro, wake), loop=loop)
        wrapped = True
    else:
        fut = _start_task(loop, coro)
        fut.add_done_callback(wake)
    assert isinstance(loop, EventLoop)  # _same_thread_hub() made sure
    loop.add_green_waiter(wake.greenlet)
    try:
        while True:
            hub.switch()
            if wake.resumed() and fut.done():
                break
    except BaseException:
        # Killed, an eventlet.Timeout, or the loop closed: stop waiting, and
        # cancel what we started (a closed loop can no longer run a cancel).
        wake.cancel()
        fut.remove_done_callback(wake)
        if coro is not None:
            if not loop.is_closed():
                fut.cancel()
            elif wrapped:
                # The closed loop will never run the task again.  This waiter
                # hears of it (the exception being raised); close the task's
                # coroutine so its finally blocks run, and do not report the
                # task once more as "destroyed but pending" when collected.
                fut._log_destroy_pending = False  # type: ignore[attr-defined]
                fut.get_coro().close()  # type: ignore[attr-defined]
            if (
                wrapped
                and inspect.iscoroutine(coro)
                and inspect.getcoroutinestate(coro) == inspect.CORO_CREATED
            ):
                # Cancelled before its first step: the task's wrapper will
                # never start it, and it must not warn "never awaited".
                coro.close()
        raise
    finally:
        loop.discard_green_waiter(wake.greenlet)
    return fut.result()


def _run_here(
    loop: asyncio.AbstractEventLoop,
    fut: asyncio.Future[_T] | None,
    coro: Coroutine[Any, Any, _T] | None,
) -> _T:
    """The loop is not running: run it in this greenthread until done."""
    if coro is None:
        task = fut
    else:
        try:
            task = loop.create_task(coro)
        except BaseException:  # a closed loop
            coro.close()
            raise
    assert task is not None
    try:
        return loop.run_until_complete(task)
    except BaseException:
        if coro is None or task.done():
            raise
        # Killed (or a Timeout) while running the loop: cancel our task and
        # let it finish, as asyncio.run() does on KeyboardInterrupt.
        task.cancel()
        try:
            loop.run_until_complete(task)
        except BaseException:
            if not task.done():
                raise
        raise


class _ThreadsafeWait:
    """One wait for a loop of another OS thread, through a pipe.

    The loop side writes one byte when the future is done; the waiting side
    waits for it on its own hub, so other greenthreads of its thread keep
    running.  The write end belongs to the loop side, which closes it (after
    writing, or when the wait is abandoned), so that its fd number is never
    reused behind a pending write.
    """

    __slots__ = ("coro", "error", "fut", "loop", "write_fd")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fut: asyncio.Future[Any] | None,
        coro: Coroutine[Any, Any, Any] | None,
        write_fd: int,
    ) -> None:
        self.loop = loop
        self.fut = fut
        self.coro = coro
        self.write_fd = write_fd
        self.error: BaseException | None = None

    def start(self) -> None:  # in the loop's thread
        if self.coro is not None:
            try:
                self.fut = self.loop.create_task(self.coro)
            except BaseException as exc:  # a task factory failed: tell the waiter
                self.coro.close()
                self.error = exc
                self.notify(None)
                if not isinstance(exc, Exception):
                    raise
                return
            self.coro = None
        assert self.fut is not None
        self.fut.add_done_callback(self.notify)

    def notify(self, _fut: object) -> None:  # in the loop's thread
        if self.write_fd >= 0:
            with contextlib.suppress(OSError):  # the waiter closed its end
                os.write(self.write_fd, b"\0")
            self._close()

    def abandon(self, cancel: bool) -> None:  # in the loop's thread
        if self.fut is not None:
            self.fut.remove_done_callback(self.notify)
            if cancel:
                self.fut.cancel()
        elif self.coro is not None:
            self.coro.close()
        self._close()

    def _close(self) -> None:
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1


def _wait_threadsafe(
    loop: asyncio.AbstractEventLoop,
    fut: asyncio.Future[_T] | None,
    coro: Coroutine[Any, Any, _T] | None,
) -> _T:
    """Wait for a future of a loop running in another OS thread."""
    read_fd, write_fd = os.pipe()
    wait = _ThreadsafeWait(loop, fut, coro, write_fd)
    try:
        # The task copies the context current when start() runs: ours.
        loop.call_soon_threadsafe(wait.start, context=contextvars.copy_context())
    except BaseException:  # a closed loop: nothing was scheduled
        os.close(read_fd)
        os.close(write_fd)
        if coro is not None:
            coro.close()
        raise
    try:
        os.set_blocking(read_fd, False)
        try:
            while True:
                _hub.wait_readable(read_fd)
                # Only the byte counts: a stray switch into this greenthread
                # also ends wait_readable().  (EOF cannot come first: the loop
                # side writes before it closes, unless we abandoned the wait.)
                with contextlib.suppress(BlockingIOError):
                    os.read(read_fd, 1)
                    break
        except BaseException:
            # wait.start runs before wait.abandon: one loop, FIFO callbacks.
            try:
                loop.call_soon_threadsafe(wait.abandon, coro is not None)
            except RuntimeError:  # the loop is closed: nothing runs there now
                wait._close()
            raise
    finally:
        os.close(read_fd)
    if wait.error is not None:
        raise wait.error
    result_fut: asyncio.Future[_T] | None = wait.fut
    assert result_fut is not None
    return result_fut.result()


# -- wrap_greenthread: a coroutine awaits a greenthread ----------------------------


class _GreenFuture(asyncio.Future[Any]):
    """The future of one wrapped greenthread; cancelling it kills the greenthread.

    Overriding ``cancel()`` (which ``Task.cancel()``, ``asyncio.timeout()``,
    ``wait_for`` and TaskGroup all go through) costs nothing on the common
    path, where a done callback would cost the loop one callback per call.
    """

    __slots__ = ("_greenthread", "_main", "_run", "_settle_on_exit", "_started")

    def __init__(self, loop: asyncio.AbstractEventLoop, gt: Any) -> None:
        super().__init__(loop=loop)
        self._greenthread = gt
        self._run: Callable[..., Any] | None = None
        self._main: Callable[..., Any] | None = None
        self._settle_on_exit = False
        self._started = False

    def cancel(self, msg: Any = None) -> bool:
        if not super().cancel(msg):
            return False
        gt = self._greenthread
        if not gt.dead:
            # Kill it now, inside cancel(), the way a cancelled task has
            # finished by the time its awaiter resumes: once wait_for() or
            # asyncio.timeout() raises, the greenthread is dead (a greenthread
            # not started yet never runs).  kill() yields to the hub for the
            # greenthread's exception handlers, then returns here.
            _hub.kill(gt)
        return True

    def _settle(self, gt: Any) -> None:
        # GreenThread.link() calls this in the exiting greenthread, or in its
        # killer for one killed before it started.
        if self._settle_on_exit or self.done() or self._loop.is_closed():
            return
        try:
            result = gt.wait()  # returns or raises at once: gt has exited
        except _hub.GreenletExit:
            super().cancel("the greenthread was killed")
        except BaseException as exc:
            self.set_exception(exc)
        else:
            self.set_result(result)

    def _run_main(self, *args: Any) -> Any:
        # Replaces run() of a GreenThread: its main() runs the function, sends
        # the result and calls the links, _settle among them, which leaves
        # the settling to this method.  When main() returns, this greenthread
        # hands itself to the parked loop (resume_after) *before* settling,
        # so that the settling sets no wake-up timer: the exit switches
        # straight into the loop.  When main() raises, the exception goes to
        # the hub as before, and the settling wakes the loop the usual way.
        assert self._main is not None
        gt = self._greenthread
        self._settle_on_exit = True
        try:
            result = self._main(*args)
        except BaseException:
            self._settle_on_exit = False
            self._settle(gt)
            raise
        self._settle_on_exit = False
        loop: Any = self._loop
        if not self.done() and not loop.is_closed():
            loop._selector.resume_after(gt)
        self._settle(gt)
        return result

    def _run_greenlet(self, *args: Any, **kwargs: Any) -> Any:
        # Replaces run() of a raw greenlet, which has no link().
        assert self._run is not None
        self._started = True
        try:
            result = self._run(*args, **kwargs)
        except _hub.GreenletExit:
            if not self.done() and not self._loop.is_closed():
                super().cancel("the greenlet was killed")
            raise
        except BaseException as exc:
            if not self.done() and not self._loop.is_closed():
                self.set_exception(exc)
            raise
        if not self.done() and not self._loop.is_closed():
            self.set_result(result)
        return result

    def _settle_unstarted(self, exc: BaseException | None) -> None:
        # Called by _relay when the raw greenlet ended without _run_greenlet
        # having run: it was killed before it started.
        if self._started or self.done() or self._loop.is_closed():
            return
        if exc is None:
            super().cancel("the greenlet was killed")
        else:
            self.set_exception(exc)


def _relay(future: weakref.ReferenceType[_GreenFuture], starter: Any) -> Any:
    """Run by the greenlet slipped between a raw greenlet and its old parent.

    A raw greenlet killed before it starts runs no code of its own (greenlet
    never calls its ``run``), but it still hands its parent something: the
    ``GreenletExit`` as a value, or any other exception raised in the parent.
    Only a parent that has started can catch an exception: one not started
    yet dies on it unrun and passes it on.  So wrap_greenthread() starts this
    relay at once, and it parks here, in ``starter.switch()``, until the
    greenlet ends.  Then it settles the future if the greenlet never started
    (``_run_greenlet`` settles it otherwise) and passes the value or the
    exception on to the old parent, as if it had not been there.

    The relay holds its future only weakly: a parked greenlet is never
    collected by the cycle collector, so a strong reference (relay -> future
    -> greenlet -> relay, its parent) would leak all three whenever the
    greenlet is dropped without ever running.  Dropped, the relay gets the
    ``GreenletExit`` greenlet throws into a parked greenlet it deallocates,
    and lets it go: that ends it quietly.  (Parked, it also keeps *starter*,
    the greenlet that called wrap_greenthread(), alive until it ends.)
    """
    try:
        value = starter.switch()  # parked until the raw greenlet ends
    except _hub.GreenletExit:
        # Not from the raw greenlet: one that dies of GreenletExit hands it
        # to its parent as a value.  It was thrown into the relay itself, by
        # greenlet deallocating it; let it end the relay.
        raise
    except BaseException as exc:
        fut = future()
        if fut is not None:
            fut._settle_unstarted(exc)
        raise
    fut = future()
    if fut is not None:
        fut._settle_unstarted(None)
    return value


def _check_greenthread(gt: Any) -> Callable[..., Any] | None:
    """None for a GreenThread, the run function of a raw greenlet; or the
    error that says why *gt* cannot be wrapped."""
    if isinstance(gt, _hub.GreenThread):
        raw = False
    elif isinstance(gt, _hub.Greenlet):
        raw = True
    else:
        raise TypeError(
            f"wrap_greenthread() expects an eventlet GreenThread (from "
            f"eventlet.spawn()) or a greenlet.greenlet with run set, not yet "
            f"started; got {type(gt).__qualname__}: {gt!r}"
        )
    # Before reading run: greenlet deletes it once a greenlet starts, so a
    # started or finished greenlet would look like one created without a
    # function.
    if gt.dead:
        raise RuntimeError(
            f"wrap_greenthread(): {gt!r} has already finished; wrap a greenthread "
            f"before it starts, right after eventlet.spawn()"
        )
    if gt:
        raise RuntimeError(
            f"wrap_greenthread(): {gt!r} is already running; wrap a greenthread "
            f"before it starts, right after eventlet.spawn() and before anything "
            f"yields to the hub"
        )
    if not raw:
        return None
    try:
        run: Callable[..., Any] = gt.run
    except AttributeError:
        raise TypeError(
            f"wrap_greenthread() got a greenlet without a run function "
            f"({gt!r}); create it as greenlet.greenlet(func), or use "
            f"eventlet.spawn(func, ...)"
        ) from None
    return run


def _green_loop(
    caller: str, loop: asyncio.AbstractEventLoop | None
) -> asyncio.AbstractEventLoop:
    """The loop that will follow a greenthread of this thread, or the error
    that says why there is none: checked before any greenthread exists."""
    if loop is None:
        loop = _get_running_loop() or _loop_of_this_thread(caller)
    elif not isinstance(loop, asyncio.AbstractEventLoop):
        raise _not_a_loop(caller, loop)
    if _same_thread_hub(loop) is None:
        raise RuntimeError(
            f"{caller} needs an aioeventlet loop of this OS thread: the "
            f"greenthread runs on this thread's eventlet hub, and only a loop on "
            f"that hub can follow it and kill it; got {loop!r}. Use the "
            f"aioeventlet loop of this thread (aioeventlet.run(), "
            f"aioeventlet.new_event_loop())."
        )
    if loop.is_closed():
        raise RuntimeError("Event loop is closed")
    return loop


def wrap_greenthread(
    gt: Any, loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Future[Any]:
    """An asyncio future for a greenthread that has not started yet.

    *gt* is an eventlet ``GreenThread`` (from ``eventlet.spawn()``) or a
    ``greenlet.greenlet`` whose ``run`` is set.  The future gets the
    greenthread's result or exception; a greenthread killed from outside
    (before or while it runs) gives a cancelled future, and cancelling the
    future kills the greenthread (``GreenletExit`` is raised in it).

    Unless it already has one, the greenthread runs in a copy of the
    caller's context.  *loop* defaults to the running loop, or from green
    code to the one aioeventlet loop running in this OS thread; it must be an
    aioeventlet loop of this OS thread, whose hub runs the greenthread.
    """
    run = _check_greenthread(gt)
    loop = _green_loop("wrap_greenthread()", loop)
    fut = _GreenFuture(loop, gt)
    if gt.gr_context is None:
        # A new greenlet starts in an empty context; give it the caller's, as
        # asyncio gives a task a copy of its creator's.
        gt.gr_context = contextvars.copy_context()
    if run is None:
        gt.link(fut._settle)
        fut._main = gt.run
        gt.run = fut._run_main
    else:
        fut._run = run
        gt.run = fut._run_greenlet
        # Started now, so that it is parked where it can catch an exception
        # (see _relay); started from here, it switches back here at once.
        relay = _hub.Greenlet(_relay, parent=gt.parent)
        relay.switch(weakref.ref(fut), _hub.getcurrent())
        gt.parent = relay
    return fut


async def to_green(func: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    """Run ``func(*args, **kwargs)`` in a new greenthread and await its result.

    For green-blocking code (eventlet sockets, ``eventlet.sleep``, green
    locks, monkey-patched libraries) called from a coroutine: the loop keeps
    running while the greenthread waits.  Code that blocks the OS thread
    (CPU-bound work, unpatched blocking calls) still blocks everything; use
    ``asyncio.to_thread()`` for that.  Cancelling the awaiting task kills the
    greenthread; the greenthread sees the caller's contextvars.
    """
    # Every check comes before the spawn: a refused call must not leave a
    # greenthread that runs func later anyway.
    if not callable(func):
        raise TypeError(
            f"to_green(): {type(func).__qualname__!r} object is not callable "
            f"({func!r}); pass the function and then its arguments: "
            f"to_green(func, *args, **kwargs)"
        )
    if inspect.iscoroutinefunction(func):
        raise TypeError(
            f"to_green() runs green-blocking functions in a greenthread, and "
            f"{func!r} is a coroutine function: await it directly instead"
        )
    running = _get_running_loop()
    if running is None:
        # Awaited outside any loop (a coroutine driven by hand): there is no
        # loop= to pass here, unlike wrap_greenthread().
        raise RuntimeError(
            "to_green() must be awaited by a coroutine that runs on an "
            "aioeventlet event loop, and no event loop is running; run the "
            "coroutine with aioeventlet.run(), or on a loop from "
            "aioeventlet.new_event_loop()"
        )
    loop = _green_loop("to_green()", running)
    result: _T = await wrap_greenthread(_hub.spawn(func, *args, **kwargs), loop)
    return result
