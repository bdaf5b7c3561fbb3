"""aioeventlet: an asyncio event loop (PEP 3156) that runs on eventlet's hub.

asyncio code and eventlet greenthreads share one process and one thread, and
call each other through :func:`yield_future` and :func:`wrap_greenthread`.
"""

# Imported under private names: dir(aioeventlet) shows only the public API.
import sys as _sys
import warnings as _warnings
from typing import TYPE_CHECKING as _TYPE_CHECKING

from ._bridges import to_green as to_green
from ._bridges import wrap_greenthread as wrap_greenthread
from ._bridges import yield_future as yield_future
from ._loop import EventLoop as EventLoop
from ._loop import new_event_loop as new_event_loop
from ._runner import run as run

if _TYPE_CHECKING:
    # For type checkers only: at run time __getattr__ below imports it lazily.
    from ._policy import EventLoopPolicy as EventLoopPolicy

__all__ = (
    "EventLoop",
    "EventLoopPolicy",
    "new_event_loop",
    "run",
    "to_green",
    "wrap_greenthread",
    "yield_future",
)

__version__ = "0.6.0.dev0"

for _name in (
    "EventLoop",
    "new_event_loop",
    "run",
    "to_green",
    "wrap_greenthread",
    "yield_future",
):
    globals()[_name].__module__ = __name__
del _name


def __getattr__(name: str) -> type:
    # EventLoopPolicy is imported on first use: on Python 3.14+ asyncio
    # deprecates policies, and only code that asks for one should hear of it.
    if name == "EventLoopPolicy":
        if _sys.version_info >= (3, 14):  # pragma: no cover - no 3.14 here yet
            _warnings.warn(
                "aioeventlet.EventLoopPolicy is deprecated, as asyncio's event "
                "loop policies are from Python 3.14: pass "
                "loop_factory=aioeventlet.new_event_loop to asyncio.run() or "
                "asyncio.Runner, or call aioeventlet.run()",
                DeprecationWarning,
                stacklevel=2,
            )
        from ._policy import EventLoopPolicy

        EventLoopPolicy.__module__ = __name__
        return EventLoopPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
