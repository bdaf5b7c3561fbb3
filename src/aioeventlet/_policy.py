"""EventLoopPolicy, kept for code that sets a policy (the 0.5 way).

asyncio deprecates policies in Python 3.14.  New code should pass
``loop_factory=aioeventlet.new_event_loop`` (``asyncio.Runner``,
``asyncio.run`` on 3.12+) or call ``aioeventlet.run()``.  The package exposes
this class lazily, so that importing aioeventlet never warns; on 3.14 and
later, using it warns as asyncio's own policies do.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from . import _hub
from ._executor import unpatched
from ._loop import EventLoop

__all__ = ["EventLoopPolicy"]

if sys.version_info >= (3, 14):  # pragma: no cover - no 3.14 on CI yet
    # asyncio.DefaultEventLoopPolicy itself warns on access from 3.14 on.
    _BasePolicy: Any = asyncio.events._DefaultEventLoopPolicy
else:
    _BasePolicy = asyncio.DefaultEventLoopPolicy


class EventLoopPolicy(_BasePolicy):
    """An event loop policy whose loops are :class:`aioeventlet.EventLoop`.

    ``asyncio.set_event_loop_policy(aioeventlet.EventLoopPolicy())`` makes
    ``asyncio.new_event_loop()`` and ``asyncio.run()`` use aioeventlet.
    """

    _loop_factory = EventLoop

    # asyncio's policy makes a loop only when threading.current_thread() is
    # threading.main_thread().  Monkey-patched, current_thread() in the main
    # thread is a new green object, so get_event_loop() would raise there:
    # then run asyncio's own code against the unpatched threading module.
    # Unpatched, asyncio's code runs as it is (the unpatched copy of
    # threading would not know the threads the real one started).
    def get_event_loop(self) -> asyncio.AbstractEventLoop:
        if _hub.is_patched("thread"):
            loop: asyncio.AbstractEventLoop = _get_event_loop_unpatched(self)
            return loop
        return super().get_event_loop()

    if sys.version_info < (3, 14):

        def set_event_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
            if _hub.is_patched("thread"):
                _set_event_loop_unpatched(self, loop)
            else:
                super().set_event_loop(loop)


_get_event_loop_unpatched = unpatched(_BasePolicy.get_event_loop)
if sys.version_info < (3, 14):
    _set_event_loop_unpatched = unpatched(_BasePolicy.set_event_loop)
