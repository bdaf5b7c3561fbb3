"""Green waits in executor threads that another OS thread can end.

Under ``eventlet.monkey_patch()``, ``threading.Lock``, ``Condition`` and
``Event``, ``queue.Queue`` and the ``concurrent.futures.Future`` objects built
on them are eventlet's green primitives.  A worker of aioeventlet's default
executor is a real OS thread with its own hub: code in it that waits on such
a primitive parks its greenlet on that hub.  The release usually comes from
another OS thread (the loop's, completing the future of
``asyncio.run_coroutine_threadsafe(coro, loop).result()``), and eventlet wakes
the waiter there with ``waiter.switch()``, which greenlet refuses across
threads ("Cannot switch to a different thread", eventlet issue #662): the
waiter would wait forever.

:func:`run_switchable` runs a worker's function in a :class:`_WorkerGreenlet`,
whose ``switch()`` called from another OS thread does not switch: it posts
the switch to the worker thread's hub through a pipe that hub watches, and
the hub, in the right thread, makes it.  Only the waits of that function's
own greenlet are covered (greenthreads it spawns are ordinary ones), which is
the sync-code-calls-back-into-the-loop case.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from . import _hub

_os = _hub.original("os")
_threading = _hub.original("threading")

_T = TypeVar("_T")

__all__ = ["close_mailbox", "run_switchable"]


class _Mailbox:
    """Switches posted to one OS thread's hub by other OS threads."""

    def __init__(self) -> None:
        self._pending: collections.deque[tuple[Any, tuple[Any, ...]]] = (
            collections.deque()
        )
        self._read_fd, self._write_fd = _os.pipe()
        _os.set_blocking(self._read_fd, False)
        _os.set_blocking(self._write_fd, False)
        self._hub = _hub.current_hub()
        self._listener = self._hub.add_listener(
            _hub.READ, self._read_fd, self._deliver, self._lost
        )

    def post(self, greenlet: Any, args: tuple[Any, ...]) -> None:
        # Any OS thread: deque.append is atomic; one byte wakes the hub.
        self._pending.append((greenlet, args))
        # A full pipe holds wake-ups already: the hub will look.
        with contextlib.suppress(BlockingIOError):
            _os.write(self._write_fd, b"\0")

    def _deliver(self, fd: int) -> None:
        # The owning thread's hub greenlet, once the pipe is readable.
        with contextlib.suppress(BlockingIOError):
            while _os.read(self._read_fd, 4096):
                pass
        pending = self._pending
        while pending:
            greenlet, args = pending.popleft()
            if not greenlet.dead:
                greenlet.switch(*args)

    def _lost(self) -> None:  # pragma: no cover - the pipe is ours alone
        raise RuntimeError("aioeventlet's cross-thread wake-up pipe was closed")

    def close(self) -> None:
        self._hub.remove_listener(self._listener)
        _os.close(self._read_fd)
        _os.close(self._write_fd)


class _WorkerGreenlet(_hub.Greenlet):  # type: ignore[misc]
    """A greenlet that other OS threads can switch to: by mail, see above."""

    def __init__(self, run: Callable[[], Any], mailbox: _Mailbox) -> None:
        super().__init__(run)
        self._thread = _threading.get_ident()
        self._mailbox = mailbox

    def switch(self, *args: Any) -> Any:
        if _threading.get_ident() != self._thread:
            # Called by eventlet's lock release in another OS thread: the
            # caller expects no return value, and must not block.
            self._mailbox.post(self, args)
            return None
        return super().switch(*args)


_state = _threading.local()


def run_switchable(func: Callable[[], _T]) -> _T:
    """``func()`` in a greenlet whose green waits other OS threads can end.

    Called in an executor worker (an OS thread that runs no loop); the
    thread's mailbox is made on first use and lives as long as the thread.
    """
    mailbox: _Mailbox | None = getattr(_state, "mailbox", None)
    if mailbox is None:
        mailbox = _state.mailbox = _Mailbox()
    caller = _hub.getcurrent()

    def run() -> _T:
        try:
            return func()
        finally:
            # eventlet makes its hub the parent of any greenlet that waits on
            # it; the result (or exception) must come back here instead.
            _hub.getcurrent().parent = caller

    return _WorkerGreenlet(run, mailbox).switch()  # type: ignore[no-any-return]


def close_mailbox() -> None:
    """Release this thread's mailbox (its pipe and hub listener), if any."""
    mailbox: _Mailbox | None = getattr(_state, "mailbox", None)
    if mailbox is not None:
        _state.mailbox = None
        mailbox.close()
