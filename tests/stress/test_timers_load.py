"""Timers at random delays while greenthreads sleep at random delays.

Everything is scheduled up front from seeded randomness; at the end every
asyncio timer that was not cancelled in time has run exactly once, never
before its deadline, in the order of the deadlines, and none absurdly late
(:data:`LATENESS_BOUND`, generous: this is a check for a stuck timer, not a
latency measurement); no cancelled one ran; every eventlet timer and every
greenthread's wake-up (``call_soon`` from a greenthread, the
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
# A timer that runs this long after its deadline is stuck, not slow: far
# beyond the worst lateness seen on a shared 2-core machine (0.1 s at the CI
# size; 2.3 s at the long one, where scheduling 200,000 timers up front takes
# about that long, so the first ones run late).
LATENESS_BOUND = size(10, 60)


class _Log:
    def __init__(self) -> None:
        self.timer_runs: Counter[int] = Counter()
        self.timer_order: list[int] = []
        # Timers that ran before their deadline (by how much), and those that
        # ran more than LATENESS_BOUND after it.
        self.early: list[tuple[int, float]] = []
        self.stuck: list[tuple[int, float]] = []
        self.max_lateness = 0.0
        self.cancelled: set[int] = set()
        self.eventlet_runs: Counter[int] = Counter()
        self.green_wakes: dict[int, list[int]] = {}
        self.short_sleeps = 0
        self.tasks_done = 0
        self.thread_calls: dict[int, list[int]] = {}
        self.expected = 0
        self.seen = 0

    def arrivals(self) -> dict[str, int]:
        """How much of each kind of event has arrived so far (distinct)."""
        return {
            "timers": len(set(self.timer_runs) - self.cancelled),
            "eventlet timers": len(self.eventlet_runs),
            "wake-ups": sum(len(w) for w in self.green_wakes.values()),
            "tasks": self.tasks_done,
            "callbacks": sum(len(c) for c in self.thread_calls.values()),
        }


async def _scenario(  # noqa: PLR0915 - one scenario, kept in one place to read
    rng: random.Random,
) -> tuple[_Log, dict[int, float], dict[str, int]]:
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
        # asyncio runs a timer due within one clock resolution: not early.
        if now < whens[i] - resolution:
            log.early.append((i, whens[i] - now))
        lateness = now - whens[i]
        log.max_lateness = max(log.max_lateness, lateness)
        if lateness > LATENESS_BOUND:
            log.stuck.append((i, lateness))
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

    # What has not arrived by the deadline hung, kind by kind.
    hung = dict.fromkeys(log.arrivals(), 0)
    try:
        await asyncio.wait_for(everything_in, DEADLINE)
    except asyncio.TimeoutError:
        expected = {
            "timers": TIMERS - len(log.cancelled),
            "eventlet timers": EVENTLET_TIMERS,
            "wake-ups": GREENTHREADS * SLEEPS,
            "tasks": TASKS,
            "callbacks": THREADS * THREAD_CALLS,
        }
        arrived = log.arrivals()
        hung = {kind: expected[kind] - arrived[kind] for kind in expected}
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
    # Arrived after the deadline or not at all: hung (counted once, there)
    # rather than lost as well.
    ran = set(log.timer_runs)
    due = set(range(TIMERS)) - log.cancelled
    timer_lost = max(len(due - ran) - hung["timers"], 0)
    timer_lost += sum(n - 1 for n in log.timer_runs.values() if n > 1)
    timer_lost += len(ran & log.cancelled)
    eventlet_lost = max(
        EVENTLET_TIMERS - len(log.eventlet_runs) - hung["eventlet timers"], 0
    ) + sum(n - 1 for n in log.eventlet_runs.values() if n > 1)
    green_lost = max(
        sum(SLEEPS - len(w) for w in log.green_wakes.values())
        + SLEEPS * (GREENTHREADS - len(log.green_wakes))
        - hung["wake-ups"],
        0,
    ) + sum(max(len(w) - SLEEPS, 0) for w in log.green_wakes.values())
    thread_lost = max(
        THREADS * THREAD_CALLS
        - sum(len(c) for c in log.thread_calls.values())
        - hung["callbacks"],
        0,
    ) + sum(max(len(c) - THREAD_CALLS, 0) for c in log.thread_calls.values())
    tasks_lost = max(TASKS - log.tasks_done - hung["tasks"], 0)
    no_leaks(
        "load",
        "asyncio timers at random delays (10 % cancelled at random times), "
        "none early, in deadline order, none stuck (at most "
        f"{LATENESS_BOUND} s late)",
        TIMERS,
        "timers",
        lost=timer_lost,
        hung=hung["timers"] + len(log.stuck),
    )
    no_leaks(
        "load",
        "eventlet timers interleaved",
        EVENTLET_TIMERS,
        "timers",
        lost=eventlet_lost,
        hung=hung["eventlet timers"],
    )
    no_leaks(
        "load",
        "greenthread sleeps at random delays, each then waking the loop",
        GREENTHREADS * SLEEPS,
        "wake-ups",
        lost=green_lost,
        hung=hung["wake-ups"],
    )
    no_leaks(
        "load",
        "asyncio tasks sleeping at random delays",
        TASKS,
        "tasks",
        lost=tasks_lost,
        hung=hung["tasks"],
    )
    no_leaks(
        "load",
        "call_soon_threadsafe from OS threads",
        THREADS * THREAD_CALLS,
        "callbacks",
        lost=thread_lost,
        hung=hung["callbacks"],
    )
    assert sum(hung.values()) == 0, hung
    assert log.cancelled, "no cancel happened before its timer: the test lost its point"
    assert timer_lost == 0
    assert log.early == []
    assert log.stuck == [], f"worst lateness {log.max_lateness:.3f} s"
    fired_whens = [whens[i] for i in log.timer_order]
    assert fired_whens == sorted(fired_whens), "timers ran out of deadline order"
    assert eventlet_lost == 0
    assert green_lost == 0
    assert log.short_sleeps == 0
    assert all(w == list(range(SLEEPS)) for w in log.green_wakes.values())
    assert tasks_lost == 0
    assert log.tasks_done == TASKS
    assert thread_lost == 0
    assert all(c == list(range(THREAD_CALLS)) for c in log.thread_calls.values())
