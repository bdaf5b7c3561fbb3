"""The leak check, checked: one planted leak of each kind, each must be found.

A leak check that cannot fail would print "0 leaked" for nothing (an earlier
version listed threads through eventlet's copy of ``threading``, which sees
neither the program's threads nor the loop's executor workers).  Here each
kind of leak the suite claims to catch is planted on purpose, after a
:class:`LeakCheck` snapshot: the check must report it under its kind, and
report nothing more once the plant is removed.
"""

from __future__ import annotations

import _thread
import asyncio
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import eventlet
import eventlet.event
import eventlet.hubs

import aioeventlet
from aioeventlet import _hub

from ._support import LeakCheck, Leaks, Recorder


@dataclass
class _Plant:
    """One leak: *what* it is, the Leaks field it must show up in, a test of
    an entry of that field that says it is this plant, and how to remove it."""

    what: str
    kind: str
    is_it: Callable[[str], bool]
    remove: Callable[[], None]


def _entries(found: Leaks, kind: str) -> list[str]:
    value = getattr(found, kind)
    if isinstance(value, dict):
        return [f"fd {fd}: {target}" for fd, target in value.items()]
    return list(value)


def _plant_fd() -> _Plant:
    fd = os.open(os.devnull, os.O_RDONLY)
    return _Plant(
        "an fd", "fds", lambda e: e.startswith(f"fd {fd}:"), lambda: os.close(fd)
    )


def _plant_listener(pipe: tuple[int, int]) -> _Plant:
    # The pipe exists before the snapshot: only the listener is new.
    hub = eventlet.hubs.get_hub()
    listener = hub.add(_hub.READ, pipe[0], lambda _fd: None, lambda _exc: None, None)
    return _Plant(
        "an eventlet hub listener",
        "listeners",
        lambda e: e.startswith(f"read fd {pipe[0]}:"),
        lambda: hub.remove(listener),
    )


def _plant_timer() -> _Plant:
    def never() -> None:
        raise AssertionError("the planted timer fired")

    timer = eventlet.hubs.get_hub().schedule_call_global(3600, never)
    return _Plant(
        "an eventlet hub timer",
        "timers",
        lambda e: f"function _plant_timer.<locals>.never at {id(never):#x}" in e,
        timer.cancel,
    )


def _plant_greenlet() -> _Plant:
    # Parked on an event: no timer, no listener, only the greenlet.
    event = eventlet.event.Event()
    gt = eventlet.spawn(event.wait)
    eventlet.sleep(0)  # it starts and parks

    def remove() -> None:
        event.send(None)
        gt.wait()

    return _Plant(
        "a parked greenthread",
        "greenlets",
        lambda e: f"object at {id(gt):#x} " in e,
        remove,
    )


def _plant_thread() -> _Plant:
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="planted-leak")
    thread.start()

    def remove() -> None:
        release.set()
        thread.join()

    return _Plant(
        "a threading.Thread of the program's threading module",
        "threads",
        lambda e: "planted-leak" in e,
        remove,
    )


def _plant_raw_thread() -> _Plant:
    # No threading module knows this one: only the kernel's list has it.
    release = _thread.allocate_lock()
    release.acquire()
    started: list[int] = []

    def body() -> None:
        started.append(threading.get_native_id())
        release.acquire()

    _thread.start_new_thread(body, ())
    while not started:
        time.sleep(0.001)
    return _Plant(
        "an OS thread from _thread.start_new_thread()",
        "threads",
        lambda e: e.startswith(f"OS thread {started[0]} ("),
        release.release,
    )


def _plant_executor_worker(loop: aioeventlet.EventLoop) -> _Plant:
    # The job returns at once; the worker then idles in the pool until the
    # executor shuts down (aioeventlet.run() and asyncio.run() do that).
    loop.run_until_complete(loop.run_in_executor(None, int))

    def remove() -> None:
        loop.run_until_complete(loop.shutdown_default_executor())

    return _Plant(
        "a worker of the loop's default executor, never shut down",
        "threads",
        lambda e: "asyncio_" in e,
        remove,
    )


def test_each_planted_leak_is_found(no_leaks: Recorder) -> None:
    pipe = os.pipe()
    loop = aioeventlet.new_event_loop()  # its self-pipe predates the snapshot
    planted: list[str] = []
    missed: list[str] = []
    left: list[str] = []
    try:
        planters: list[Callable[[], _Plant]] = [
            _plant_fd,
            lambda: _plant_listener(pipe),
            _plant_timer,
            _plant_greenlet,
            _plant_thread,
            _plant_raw_thread,
            lambda: _plant_executor_worker(loop),
        ]
        for planter in planters:
            check = LeakCheck()
            plant = planter()
            try:
                planted.append(plant.what)
                found = check.leaks()
                if not any(plant.is_it(e) for e in _entries(found, plant.kind)):
                    missed.append(f"{plant.what}: the check found {found}")
            finally:
                plant.remove()
            after = check.settle()
            if after.count():
                left.append(f"{plant.what}, removed: the check still found {after}")
    finally:
        loop.close()
        os.close(pipe[0])
        os.close(pipe[1])
    no_leaks(
        "check",
        "leaks planted on purpose, one of each kind: "
        + ", ".join(planted)
        + "; each must be found",
        len(planted),
        "leaks",
        lost=len(missed),
        # A removed plant the check still saw after its grace period.
        hung=len(left),
    )
    assert missed == []
    assert left == []
    assert len(planted) == len(planters)


def test_a_thread_that_ends_in_time_is_no_leak(no_leaks: Recorder) -> None:
    """settle() gives threads finishing on their own a moment: an executor
    shut down without waiting, as loop.close() does, is not a leak."""
    check = LeakCheck()
    stock = asyncio.new_event_loop()
    try:
        stock.run_until_complete(stock.run_in_executor(None, time.sleep, 0.05))
        during = check.leaks()
    finally:
        stock.close()  # shuts the executor down without waiting for it
    after = check.settle()
    no_leaks(
        "check",
        "an executor worker still ending after loop.close(): found while "
        "alive, not counted once it ended",
        1,
        "threads",
        lost=int(not during.threads),
        hung=len(after.threads),  # still there after the grace period
    )
    assert len(during.threads) == 1, during
    assert after.count() == 0, after
