"""eventlet.monkey_patch() before importing aioeventlet, after it, or never
(DESIGN.md section 3, "Threads, patching, executors").

tests/isolated/patching.py checks, in each mode, that the loop's own
machinery stays on the unpatched modules and that nothing global changes;
the other isolated programs (executor, thread_loops, subprocesses, sigint,
io_kinds, debugging) run in every mode from their own test modules.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading

import pytest

from aioeventlet import _hub
from aioeventlet._executor import unpatched, unpatched_class

from .isolated import MODES, results, run_isolated


@pytest.mark.parametrize("mode", MODES)
def test_loop_machinery_is_unpatched(mode: str) -> None:
    patched = mode != "plain"
    assert results(run_isolated("patching", mode)) == {
        "self_pipe": "socket.socket",
        "get_event_loop": "True",
        "current_task": "True",
        "getaddrinfo": "real:True" if patched else "socket.getaddrinfo called",
        "greenthread_sees": "no-loop",
        "time_sleep_lets_greenthreads_run": str(patched),
        "asyncio_untouched": "True",
        "stock_loop": "ok",
    }


def _uses_modules() -> tuple[object, object, object]:
    return os, socket, threading


def test_unpatched_rebinds_module_names_only() -> None:
    copy = unpatched(_uses_modules)
    assert copy() == (
        _hub.original("os"),
        _hub.original("socket"),
        _hub.original("threading"),
    )
    # The original function, and this module, are untouched.
    assert _uses_modules() == (os, socket, threading)
    assert copy.__name__ == _uses_modules.__name__
    assert copy.__qualname__ == _uses_modules.__qualname__


class _Base:
    def where(self) -> str:
        return "base"


class _Child(_Base):
    def where(self) -> str:
        return "child>" + super().where()

    def modules(self) -> object:
        return os


def test_unpatched_class_keeps_super_and_isinstance() -> None:
    cls = unpatched_class(_Child)
    obj = cls()
    assert isinstance(obj, _Child)
    assert obj.where() == "child>base"
    assert obj.modules() is _hub.original("os")
    assert _Child().modules() is os


def test_stdlib_asyncio_is_not_modified() -> None:
    """Importing aioeventlet leaves asyncio's own modules as they were."""
    unix_events = sys.modules["asyncio.unix_events"]
    for name in ("os", "socket", "subprocess", "threading"):
        assert vars(unix_events)[name] is sys.modules[name]
    base_events = sys.modules["asyncio.base_events"]
    for name in ("socket", "threading"):
        assert vars(base_events)[name] is sys.modules[name]
    assert asyncio.SelectorEventLoop.__module__ == "asyncio.unix_events"
