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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from asyncio import events

from . import _hub

_threading = _hub.original("threading")
_get_running_loop = events._get_running_loop
_set_running_loop = events._set_running_loop
_get_hooks = sys.get_asyncgen_hooks
_set_hooks = sys.set_asyncgen_hooks

_thread_state = _threading.local()

Trace = Callable[[str, tuple[Any, Any]], Any]


def _make_trace(previous: Trace | None) -> Trace:
    # greenlet -> (running loop, asyncgen hooks) saved when it switched out.
    saved: dict[Any, tuple[Any, Any]] = {}

    def trace(event: str, args: tuple[Any, Any]) -> Any:
        if event == "switch" or event == "throw":
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
    installed by the first running loop of the thread and removed by the last.
    """
    depth = getattr(_thread_state, "depth", 0)
    if depth == 0:
        previous = _hub.settrace(None)
        _thread_state.previous = previous
        _hub.settrace(_make_trace(previous))
    _thread_state.depth = depth + 1
    try:
        yield
    finally:
        _thread_state.depth -= 1
        if _thread_state.depth == 0:
            _hub.settrace(_thread_state.previous)
            _thread_state.previous = None
