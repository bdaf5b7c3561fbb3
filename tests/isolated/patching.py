"""asyncio's machinery stays on the unpatched modules, and nothing global
changes, whatever the patching mode."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
import unittest.mock

import _mode

import aioeventlet

_mode.after_imports()

import eventlet  # noqa: E402
import eventlet.patcher  # noqa: E402


async def main() -> None:
    loop = asyncio.get_running_loop()
    pipe_type = type(loop._ssock)  # type: ignore[attr-defined]
    print(f"self_pipe={pipe_type.__module__}.{pipe_type.__qualname__}")
    print(f"get_event_loop={asyncio.get_event_loop() is loop}")
    print(f"current_task={asyncio.current_task() is not None}")

    # Patched, getaddrinfo runs the real resolver (in a real thread), never
    # eventlet's green one that socket.getaddrinfo now is; unpatched, it runs
    # socket.getaddrinfo as asyncio does (so that mocks of it work).
    with unittest.mock.patch.object(
        socket, "getaddrinfo", side_effect=OSError("socket.getaddrinfo called")
    ):
        try:
            infos = await loop.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
            print(f"getaddrinfo=real:{bool(infos)}")
        except OSError as exc:
            print(f"getaddrinfo={exc}")

    # Greenthreads do not see the loop as running.
    def in_green() -> str:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return "no-loop"
        return "loop"

    print(f"greenthread_sees={eventlet.spawn(in_green).wait()}")

    # time.sleep in a coroutine: patched, it waits greenly (other greenthreads
    # run); unpatched, it blocks the thread as with asyncio.
    ticks: list[int] = []

    def tick() -> None:
        for i in range(3):
            ticks.append(i)
            eventlet.sleep(0)

    gt = eventlet.spawn(tick)
    time.sleep(0.05)
    print(f"time_sleep_lets_greenthreads_run={len(ticks) > 0}")
    gt.wait()


aioeventlet.run(main())
# No global side effect: asyncio's own classes still read the process's modules.
unix_events = sys.modules["asyncio.unix_events"]
read_ready = unix_events._UnixReadPipeTransport._read_ready  # type: ignore[attr-defined, unused-ignore]
print(f"asyncio_untouched={read_ready.__globals__['os'] is sys.modules['os']}")
# A stock asyncio loop still runs in the same process.
print(f"stock_loop={asyncio.run(asyncio.sleep(0, 'ok'))}")
