"""EventLoopPolicy, kept for code that sets a policy (the 0.5 way).

asyncio deprecates policies in Python 3.14.  New code should pass
``loop_factory=aioeventlet.new_event_loop`` (``asyncio.Runner``,
``asyncio.run`` on 3.12+) or call ``aioeventlet.run()``.  The package exposes
this class lazily, so that importing aioeventlet never warns; on 3.14 and
later, using it warns as asyncio's own policies do.
"""

from __future__ import annotations

import sys
import types

from . import _hub
from ._executor import unpatched
from ._loop import EventLoop

__all__ = ["EventLoopPolicy"]


# The base class is the policy class asyncio installs by default, looked up
# where each Python defines it, never through the public name: from 3.14 on,
# ``asyncio.DefaultEventLoopPolicy`` is served by a module ``__getattr__`` that
# warns, and the class lives on only as the platform module's private
# ``_DefaultEventLoopPolicy`` (``asyncio.events`` defines none: its
# ``_init_event_loop_policy()`` imports that one).  Before 3.14 the platform
# module exports it under the public name, which ``asyncio`` re-exports.
# aioeventlet runs on POSIX only (eventlet's fd-polling hubs): the platform
# module is unix_events.
if sys.version_info >= (3, 14):  # pragma: no cover - no 3.14 on CI yet
    from asyncio.unix_events import _DefaultEventLoopPolicy as _BasePolicy
else:
    from asyncio.unix_events import DefaultEventLoopPolicy as _BasePolicy


class EventLoopPolicy(_BasePolicy):
    """An event loop policy whose loops are :class:`aioeventlet.EventLoop`.

    ``asyncio.set_event_loop_policy(aioeventlet.EventLoopPolicy())`` makes
    ``asyncio.new_event_loop()`` and ``asyncio.run()`` use aioeventlet.
    """

    _loop_factory = EventLoop

    def __init__(self) -> None:
        super().__init__()
        # asyncio's policy makes a loop only when threading.current_thread() is
        # threading.main_thread().  Monkey-patched, current_thread() in the
        # main thread is a new green object, so get_event_loop() would raise
        # there: then run asyncio's own code against the unpatched threading
        # module.  Bound on the instance rather than wrapped, because asyncio
        # attributes its deprecation warnings to the first caller outside
        # asyncio, which a wrapper's frame would be.  Unpatched, asyncio's code
        # runs as it is (an unpatched copy of threading would not know the
        # threads the real one started).
        # A subclass's own override is left alone.
        if not _hub.is_patched("thread"):
            return
        cls = type(self)
        if cls.get_event_loop is _BasePolicy.get_event_loop:
            self.get_event_loop = types.MethodType(  # type: ignore[method-assign]
                _get_event_loop_unpatched, self
            )
        if (
            sys.version_info < (3, 14)
            and cls.set_event_loop is _BasePolicy.set_event_loop
        ):
            self.set_event_loop = types.MethodType(  # type: ignore[method-assign]
                _set_event_loop_unpatched, self
            )


_get_event_loop_unpatched = unpatched(_BasePolicy.get_event_loop)
if sys.version_info < (3, 14):
    _set_event_loop_unpatched = unpatched(_BasePolicy.set_event_loop)
