"""pytest plugin: run a suite's asyncio tests on aioeventlet loops.

Installed with aioeventlet (entry point ``pytest11``) and inert until asked:
``pytest --aioeventlet``, or ``aioeventlet = true`` in the pytest
configuration.  Then:

* pytest-asyncio (1.4 and later) creates every test's loop with
  :func:`aioeventlet.new_event_loop`, through its
  ``pytest_asyncio_loop_factories`` hook;
* on Python 3.10 to 3.13, the event loop policy is
  :class:`aioeventlet.EventLoopPolicy` for the session, so that everything
  else that creates loops the default way gets aioeventlet too: anyio's
  ``asyncio`` backend, older pytest-asyncio versions, ``asyncio.run()`` in
  synchronous tests.  Python 3.14 deprecates policies; there, give anyio its
  loop factory with an ``anyio_backend`` fixture (see the testing page).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from ._loop import new_event_loop

__all__ = ["pytest_addoption", "pytest_configure", "pytest_unconfigure"]

_FACTORIES_PLUGIN = "aioeventlet-loop-factories"
_saved_policy = pytest.StashKey[Any]()


class _LoopFactories:
    """Registered only when enabled: pytest-asyncio fails a run whose hook
    implementations answer None, so the hook cannot merely decline."""

    # optionalhook: pytest-asyncio may be absent, or older than the hook.
    @pytest.hookimpl(optionalhook=True)
    def pytest_asyncio_loop_factories(
        self, config: pytest.Config, item: pytest.Item
    ) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
        return {"aioeventlet": new_event_loop}


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--aioeventlet`` and the ``aioeventlet`` configuration value."""
    help_text = (
        "run asyncio tests (pytest-asyncio, anyio, asyncio.run) on aioeventlet "
        "event loops"
    )
    group = parser.getgroup("aioeventlet")
    group.addoption("--aioeventlet", action="store_true", default=False, help=help_text)
    parser.addini("aioeventlet", help_text, type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    """Switch loops to aioeventlet when enabled."""
    # The setting is read even when --aioeventlet is given: a bad value is
    # reported, not hidden until the option is dropped.
    enabled_by_ini = _ini_enabled(config)
    if not (config.getoption("aioeventlet") or enabled_by_ini):
        return
    config.pluginmanager.register(_LoopFactories(), _FACTORIES_PLUGIN)
    if sys.version_info < (3, 14):
        from ._policy import EventLoopPolicy

        config.stash[_saved_policy] = asyncio.get_event_loop_policy()
        asyncio.set_event_loop_policy(EventLoopPolicy())


def _ini_enabled(config: pytest.Config) -> bool:
    try:
        return bool(config.getini("aioeventlet"))
    except (ValueError, pytest.UsageError) as exc:
        # pytest's own error (ValueError up to pytest 8, UsageError from 9:
        # "invalid truth value 'maybe'") names no setting.
        raise pytest.UsageError(
            f"the 'aioeventlet' configuration value must be true or false "
            f"({exc}); set aioeventlet = true to run asyncio tests on "
            f"aioeventlet loops, or false (or remove it) to leave them alone"
        ) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    """Restore the event loop policy found at start."""
    if _saved_policy in config.stash:
        asyncio.set_event_loop_policy(config.stash[_saved_policy])
        del config.stash[_saved_policy]
