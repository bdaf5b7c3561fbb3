"""Timers at random delays while greenthreads sleep at random delays.

Everything is scheduled up front from seeded randomness; at the end every
asyncio timer that was not cancelled in time has run exactly once, no later
than due, in the order of its deadline; no cancelled one ran; every eventlet
timer and every greenthread's wake-up (``call_soon`` from a greenthread, the
cross-greenthread wake path) and every ``call_soon_threadsafe`` from an OS
thread arrived exactly once, in order.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter

import eventlet
import pytest

import aioeventlet

from ._support import Recorder, seed, size

TIMERS = size(20_000, 200_000)
EVENTLET_TIMERS = size(2_000, 20_000)
GREENTHREADS = size(300, 3_000)
SLEEPS = size(10, 20)
TASKS = size(1_000, 10_000)
THREADS = size(4, 8)
THREAD_CALLS = size(2_000, 20_000)
SPAN = size(3, 30) / 10  # seconds over which the timers are spread
DEADLINE = size(40, 600)


class _Log:
    def __init__(self) -> None:
        self.timer_runs: Counter[int] = Counter()
        self.timer_order: list[int] = []
        self.late: list[tuple[int, float]] = []
        self.cancelled: set[int] = set()
        self.eventlet_runs: Counter[int] = Counter()
        self.green_wakes: dict[int, list[int]] = {}
        self.short_sleeps = 0
        self.tasks_done = 0
        self.thread_calls: dict[int, list[int]] = {}
        self.expected = 0
        self.seen = 0


async def _scenario(  # noqa: PLR0915 - one scenario, kept in one place to read
    rng: random.Random,
) -> tuple[_Log, dict[int, float], int]:
    loop = asyncio.get_running_loop()
    log = _Log()
    everything_in = loop.create_future()

    def seen_one() -> None:
        log.seen += 1
        if log.seen == log.expected and not everything_in.done():
            everything_in.set_result(None)

    # -- asyncio timers, some cancelled by other timers at random times ---------
    whens: dict[int, float] = {}
    handles: dict[int, asyncio.TimerHandle] = {}
    resolution = loop._clock_resolution  # type: ignore[attr-defined]

    def fire(i: int) -> None:
        now = loop.time()
        if now < whens[i] - resolution:
            log.late.append((i, whens[i] - now))
        log.timer_runs[i] += 1
        log.timer_order.append(i)
        seen_one()

    def cancel(i: int) -> None:
        if log.timer_runs[i] == 0:
            handles[i].cancel()
            log.cancelled.add(i)
            log.expected -= 1  # that one will never be seen
            if log.seen == log.expected and not everything_in.done():
                everything_in.set_result(None)

    start = loop.time()
    victims = rng.sample(range(TIMERS), TIMERS // 10)
    # Half the victims are due after the whole span and cancelled within it:
    # those cancels always come first, however long scheduling took.  The
    # other half are cancelled at random, often too late (a no-op then).
    aimed = set(victims[: len(victims) // 2])
    for i in range(TIMERS):
        when = start + rng.uniform(0, SPAN) + (SPAN if i in aimed else 0)
        whens[i] = when
        if rng.random() < 0.5:
            handles[i] = loop.call_at(when, fire, i)
        else:
            handles[i] = loop.call_later(when - loop.time(), fire, i)
            whens[i] = handles[i].when()
    for i in victims:
        loop.call_at(start + rng.uniform(0, SPAN), cancel, i)
    log.expected += TIMERS

    # -- eventlet timers (they run in the hub) ---------------------------------
    def eventlet_timer(i: int) -> None:
        log.eventlet_runs[i] += 1
        loop.call_soon(seen_one)

    for i in range(EVENTLET_TIMERS):
        eventlet.spawn_after(rng.uniform(0, SPAN), eventlet_timer, i)
    log.expected += EVENTLET_TIMERS

    def note(into: list[int], item: int) -> None:
        into.append(item)
        seen_one()

    # -- greenthreads sleeping, then waking the loop with call_soon --------------
    def sleeper(g: int, delays: list[float]) -> None:
        wakes = log.green_wakes.setdefault(g, [])
        for k, delay in enumerate(delays):
            before = loop.time()
            eventlet.sleep(delay)
            if loop.time() - before < delay - resolution:
                log.short_sleeps += 1
            loop.call_soon(note, wakes, k)

    greenthreads = [
        eventlet.spawn(sleeper, g, [rng.uniform(0, 0.02) for _ in range(SLEEPS)])
        for g in range(GREENTHREADS)
    ]
    log.expected += GREENTHREADS * SLEEPS

    # -- asyncio tasks sleeping at random ---------------------------------------
    async def task(delay: float) -> None:
        await asyncio.sleep(delay)
        log.tasks_done += 1
        seen_one()

    tasks = [asyncio.ensure_future(task(rng.uniform(0, SPAN))) for _ in range(TASKS)]
    log.expected += TASKS

    # -- OS threads posting with call_soon_threadsafe ---------------------------
    def poster(t: int) -> None:
        calls = log.thread_calls.setdefault(t, [])
        for n in range(THREAD_CALLS):
            loop.call_soon_threadsafe(note, calls, n)

    threads = [threading.Thread(target=poster, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    log.expected += THREADS * THREAD_CALLS

    hung = 0
    try:
        await asyncio.wait_for(everything_in, DEADLINE)
    except asyncio.TimeoutError:
        hung = log.expected - log.seen
    for thread in threads:
        thread.join()
    for gt in greenthreads:
        gt.wait()
    await asyncio.gather(*tasks)
    # Anything due after the last event (there must be none) gets one more turn.
    await asyncio.sleep(0.05)
    return log, whens, hung


@pytest.mark.timeout(size(60, 1200))
def test_timers_and_green_sleeps(no_leaks: Recorder) -> None:
    log, whens, hung = aioeventlet.run(_scenario(random.Random(seed())))
    ran = set(log.timer_runs)
    due = set(range(TIMERS)) - log.cancelled
    timer_lost = len(due - ran) + sum(n - 1 for n in log.timer_runs.values() if n > 1)
    timer_lost += len(ran & log.cancelled)
    eventlet_lost = (
        EVENTLET_TIMERS
        - len(log.eventlet_runs)
        + sum(n - 1 for n in log.eventlet_runs.values() if n > 1)
    )
    green_lost = sum(
        abs(SLEEPS - len(w)) for w in log.green_wakes.values()
    ) + SLEEPS * (GREENTHREADS - len(log.green_wakes))
    thread_lost = sum(abs(THREAD_CALLS - len(c)) for c in log.thread_calls.values())
    no_leaks(
        "load",
        "asyncio timers at random delays (10 % cancelled at random times)",
        TIMERS,
        "timers",
        lost=timer_lost,
        hung=hung,
    )
    no_leaks(
        "load",
        "eventlet timers interleaved",
        EVENTLET_TIMERS,
        "timers",
        lost=eventlet_lost,
    )
    no_leaks(
        "load",
        "greenthread sleeps at random delays, each then waking the loop",
        GREENTHREADS * SLEEPS,
        "wake-ups",
        lost=green_lost,
    )
    no_leaks(
        "load",
        "asyncio tasks sleeping at random delays",
        TASKS,
        "tasks",
        lost=TASKS - log.tasks_done,
    )
    no_leaks(
        "load",
        "call_soon_threadsafe from OS threads",
        THREADS * THREAD_CALLS,
        "callbacks",
        lost=thread_lost,
    )
    assert hung == 0
    assert log.cancelled, "no cancel happened before its timer: the test lost its point"
    assert timer_lost == 0
    assert log.late == []
    fired_whens = [whens[i] for i in log.timer_order]
    assert fired_whens == sorted(fired_whens), "timers ran out of deadline order"
    assert eventlet_lost == 0
    assert green_lost == 0
    assert log.short_sleeps == 0
    assert all(w == list(range(SLEEPS)) for w in log.green_wakes.values())
    assert log.tasks_done == TASKS
    assert thread_lost == 0
    assert all(c == list(range(THREAD_CALLS)) for c in log.thread_calls.values())
