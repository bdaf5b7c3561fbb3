"""Make asyncio's "running loop" greenthread-local while aioeventlet loops run.

asyncio keeps the running loop (and the async generator hooks a running loop
installs) per OS thread.  With greenthreads, the loop's greenthread hands the
thread to others whenever it waits: in ``select()``, and also whenever a
coroutine calls green-blocking code.  Those other greenthreads must not see
the loop as running, or ``asyncio.run()`` in an ``eventlet.wsgi`` handler
would refuse to start ("cannot be called from a running event loop") and
``asyncio.current_task()`` would answer for the wrong greenthread.

greenlet calls a per-thread trace function on every switch.  While at least
one aioeventlet loop runs in the thread, ours saves the running loop and
hooks of the greenthread switched away from and restores those of the one
switched to, chaining to any trace function installed before it.
"""

from __future__ import annotations

import sys
from asyncio import events
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import _hub

_threading = _hub.original("threading")
_get_running_loop = events._get_running_loop
_set_running_loop = events._set_running_loop
_get_hooks = sys.get_asyncgen_hooks
_set_hooks = sys.set_asyncgen_hooks


Trace = Callable[[str, tuple[Any, Any]], Any]


if TYPE_CHECKING:
    from threading import local as _local
else:
    _local = _threading.local  # the real thread-local, even when patched


class _ThreadState(_local):
    """Per OS thread: how many aioeventlet loops run, and the trace's memory."""

    def __init__(self) -> None:
        self.depth = 0
        self.trace: Trace | None = None
        self.previous: Trace | None = None
        # greenlet -> (running loop, asyncgen hooks) saved when it switched out.
        self.saved: dict[Any, tuple[Any, Any]] = {}


_state = _ThreadState()


def _make_trace(saved: dict[Any, tuple[Any, Any]], previous: Trace | None) -> Trace:
    def trace(event: str, args: tuple[Any, Any]) -> Any:
        if event in {"switch", "throw"}:
            origin, target = args
            loop = _get_running_loop()
            if loop is not None:
                saved[origin] = (loop, _get_hooks())
            state = saved.pop(target, None)
            if state is not None:
                _set_running_loop(state[0])
                _set_hooks(*state[1])
            elif loop is not None:
                _set_running_loop(None)
                _set_hooks(None, None)
        if previous is not None:
            return previous(event, args)
        return None

    return trace


@contextmanager
def running_loop_is_greenlocal() -> Iterator[None]:
    """Within this block (one loop's run_forever), switches hide the loop
    from other greenthreads of this OS thread.  Nests: the trace function is
    installed by the first running loop of the thread and removed after the
    last, unless some greenthread that is switched out still has a loop saved
    (a stock asyncio loop blocked in green code, say): removing it then would
    lose that loop, so it stays until the next install reuses it.
    """
    state = _state
    if state.trace is None:
        state.previous = _hub.settrace(None)  # type: ignore[assignment]
        state.trace = _make_trace(state.saved, state.previous)
        _hub.settrace(state.trace)
    state.depth += 1
    try:
        yield
    finally:
        state.depth -= 1
        if state.depth == 0 and not state.saved:
            _hub.settrace(state.previous)
            state.trace = state.previous = None
