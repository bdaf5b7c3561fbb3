"""aioeventlet.run(): asyncio.run() on an aioeventlet loop."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from ._loop import new_event_loop

_T = TypeVar("_T")

__all__ = ["run"]


def run(main: Coroutine[Any, Any, _T], *, debug: bool | None = None) -> _T:
    """Run the coroutine *main* on a new aioeventlet loop and return its result.

    The same contract as ``asyncio.run()``: the loop is created, runs *main*
    in the calling greenthread, then cancels the tasks left over, shuts down
    async generators and the default executor, and is closed.  Other
    greenthreads keep running meanwhile, and it may be called from any
    greenthread that is not itself running a loop.
    """
    # Check before a Runner (and its loop) exists, as asyncio.run() does: the
    # Runner would refuse only inside run() and then fail again closing the
    # loop it made.  Green code sees no running loop, so this refuses only a
    # call from a coroutine's own greenthread, which could never work.
    if asyncio.events._get_running_loop() is not None:
        raise RuntimeError(
            "aioeventlet.run() cannot be called from a running event loop: "
            "await the coroutine instead, or call run() from another greenthread "
            "(eventlet.spawn(aioeventlet.run, coro))"
        )
    if sys.version_info >= (3, 11):
        with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
            return runner.run(main)
    return _run_3_10(main, debug)  # pragma: no cover - covered on 3.10 only


def _run_3_10(main: Coroutine[Any, Any, _T], debug: bool | None) -> _T:
    # Python 3.10 has no asyncio.Runner: do what asyncio.run() does there,
    # with the loop from our factory.
    from asyncio import coroutines, runners

    if not coroutines.iscoroutine(main):
        raise ValueError(f"a coroutine was expected, got {main!r}")
    loop = new_event_loop()
    try:
        if debug is not None:
            loop.set_debug(debug)
        result: _T = loop.run_until_complete(main)
        return result
    finally:
        try:
            runners._cancel_all_tasks(loop)  # type: ignore[attr-defined]
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
