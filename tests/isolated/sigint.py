"""Ctrl-C (SIGINT) stops a running program cleanly.

Second argument: ``aioeventlet`` (aioeventlet.run) or ``asyncio``
(asyncio.run, the oracle).  Prints ``ready=1`` once running, then waits; the
test sends SIGINT.  The main task and a second task must be cancelled (their
``finally`` blocks run) and KeyboardInterrupt must leave run().
"""

from __future__ import annotations

import asyncio
import sys

import _mode

import aioeventlet

_mode.after_imports()

import eventlet  # noqa: E402


async def other() -> None:
    try:
        await asyncio.sleep(3600)
    finally:
        print("other_finally=1", flush=True)


async def main() -> None:
    task = asyncio.create_task(other())
    # Greenthreads keep running alongside until the interrupt.
    gt = eventlet.spawn(lambda: [eventlet.sleep(0.01) for _ in range(1000000)])
    await asyncio.sleep(0.05)
    try:
        print("ready=1", flush=True)
        await asyncio.sleep(3600)
    finally:
        print("main_finally=1", flush=True)
        gt.kill()
        del task


runner = aioeventlet.run if sys.argv[2] == "aioeventlet" else asyncio.run
try:
    runner(main())
except KeyboardInterrupt:
    print("keyboard_interrupt=1", flush=True)
