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

from ._loop import EventLoop

__all__ = ["EventLoopPolicy"]

if sys.version_info >= (3, 14):  # pragma: no cover - no 3.14 on CI yet
    # asyncio.DefaultEventLoopPolicy itself warns on access from 3.14 on.
    _BasePolicy: Any = asyncio.events._DefaultEventLoopPolicy  # type: ignore[attr-defined]
else:
    _BasePolicy = asyncio.DefaultEventLoopPolicy


class EventLoopPolicy(_BasePolicy):  # type: ignore[misc]
    """An event loop policy whose loops are :class:`aioeventlet.EventLoop`.

    ``asyncio.set_event_loop_policy(aioeventlet.EventLoopPolicy())`` makes
    ``asyncio.new_event_loop()`` and ``asyncio.run()`` use aioeventlet.
    """

    _loop_factory = EventLoop
