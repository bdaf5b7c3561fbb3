"""A loop dropped without close() is collected, as on stock asyncio (issue 13).

Stock asyncio collects an unclosed loop that nothing refers to any more: its
``__del__`` warns "unclosed event loop" (``ResourceWarning``, how test suites
find their leaks) and, unless the loop runs, closes it, which closes its
self-pipe and its selector.  Sockets the loop still watches (a server's, a
transport's) are closed by their own finalizers, each with its own
``ResourceWarning``.  aioeventlet must match: eventlet's hub, which holds the
selector's listeners, must not keep a loop alive, and the listeners must be
gone once the loop is collected.  A running loop, or one parked in a
greenthread, stays alive; a closed loop is collected without a word.

Each test runs on both loops with the same body (the ``loop_factory``
fixture): the stock loop shows what aioeventlet must do.
"""

from __future__ import annotations

import asyncio
import gc
import os
from typing import Any

import eventlet.hubs

import aioeventlet
from aioeventlet import _hub

from .conftest import LoopFactory


def open_fds() -> dict[int, str]:
    """This process's open fds and what each refers to."""
    fds: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the directory listing's own fd, closed already
    return fds


def hub_listeners() -> dict[tuple[str, int], Any]:
    """The listeners on this thread's eventlet hub: (READ or WRITE, fd) -> listener."""
    hub = eventlet.hubs.get_hub()
    return {
        (evtype, fd): listener
        for evtype in (_hub.READ, _hub.WRITE)
        for fd, listener in hub.listeners[evtype].items()
    }


def ran(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(asyncio.sleep(0))


def snapshot(loop_factory: LoopFactory) -> tuple[dict[int, str], Any]:
    """Open fds and hub listeners, once a first loop has come and gone
    (eventlet creates its hub, and its epoll fd, on first use)."""
    loop_factory().close()
    gc.collect()
    return open_fds(), hub_listeners()


def test_close_after_the_self_pipe_was_finalized() -> None:
    """The collector finalizes a reference cycle's objects in no set order,
    so a dropped loop's __del__ may run after its self-pipe's sockets closed
    themselves.  Stock asyncio's close() then raises ValueError (looking up
    the reader by fileno() -1) before it closes the selector; the drop test
    above meets that order now and then on aioeventlet, whose close() must
    finish, leaving nothing on the hub."""
    fds, listeners = snapshot(aioeventlet.new_event_loop)
    loop: Any = aioeventlet.new_event_loop()
    ran(loop)
    # What the sockets' own finalizers do, minus their warnings.
    loop._ssock.close()
    loop._csock.close()
    loop.close()
    assert loop.is_closed()
    assert open_fds() == fds
    assert hub_listeners() == listeners
