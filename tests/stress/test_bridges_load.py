"""Bridge round trips in both directions, with random cancels, kills and Timeouts.

green -> asyncio: greenthreads call ``yield_future()`` on coroutines that
sleep, return or raise; at random a greenthread is killed while it waits, or
an ``eventlet.Timeout`` fires in it, or the future it waits on is cancelled
by the loop side.

asyncio -> green: tasks await ``wrap_greenthread()`` of greenthreads (or
``to_green()`` calls) that sleep, return or raise; at random the awaiting
side cancels (directly or by ``asyncio.wait_for`` timing out), someone else
kills the greenthread, or an ``eventlet.Timeout`` fires inside it.

Every round trip ends in exactly one outcome, allowed by what was done to it
(a kill that lands after the result is not a loss); a value or exception
delivered is the one sent.  Interrupting a wait must cancel what it waited
for: each coroutine records whether it finished or was cancelled, and a
waiter killed or timed out while its coroutine had not finished must find
that coroutine cancelled (or closed before it started) in the end, never run
on to completion.  A cancelled wait leaves its greenthread dead; at the end
no task is pending, no coroutine unfinished and no greenthread alive.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections import Counter
from typing import Any

import eventlet
import eventlet.hubs
import greenlet
import pytest

import aioeventlet

from ._support import Recorder, seed, size

ROUND_TRIPS = size(10_000, 100_000)  # per direction
BATCH = 500  # round trips in flight at once
DEADLINE = size(60, 900)

OUTCOMES_G2A = ("result", "exception", "killed", "timeout", "cancelled")
OUTCOMES_A2G = ("result", "exception", "cancel", "wait_for", "killed", "green timeout")


class _Boom(Exception):
    pass


# -- green -> asyncio ---------------------------------------------------------------


async def _served(n: int, delay: float, fail: bool, fates: dict[int, str]) -> int:
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        fates[n] = "cancelled"
        raise
    fates[n] = "finished"
    if fail:
        raise _Boom(n)
    return n * 2


class _G2A:
    """What the green -> asyncio round trips did, each keyed by its number."""

    def __init__(self) -> None:
        self.plans: dict[int, str] = {}
        self.outcomes: dict[int, str] = {}
        # What each coroutine did: "finished" or "cancelled" (absent: it
        # never ran a step).
        self.fates: dict[int, str] = {}
        self.coros: dict[int, Any] = {}
        # For a waiter killed or timed out: its coroutine's fate at that
        # moment ("pending" if it had not finished).
        self.fate_when_interrupted: dict[int, str] = {}


def _green_caller(
    n: int, delay: float, loop: asyncio.AbstractEventLoop, g2a: _G2A
) -> None:
    plan = g2a.plans[n]
    try:
        if plan == "cancelled":
            # The loop side cancels the future this greenthread waits on.
            fut = loop.create_future()
            loop.call_later(delay, fut.cancel)
            aioeventlet.yield_future(fut, loop=loop)
            g2a.outcomes[n] = "result"  # a cancelled future must raise
            return
        coro = g2a.coros[n] = _served(n, delay, plan == "exception", g2a.fates)
        if plan == "timeout":
            with eventlet.Timeout(delay / 2):
                result = aioeventlet.yield_future(coro, loop=loop)
        else:
            result = aioeventlet.yield_future(coro, loop=loop)
    except _Boom as exc:
        g2a.outcomes[n] = (
            "exception" if exc.args == (n,) else f"wrong exception {exc!r}"
        )
    except eventlet.Timeout:
        g2a.outcomes[n] = "timeout"
        g2a.fate_when_interrupted[n] = g2a.fates.get(n, "pending")
    except asyncio.CancelledError:
        g2a.outcomes[n] = "cancelled"
    except greenlet.GreenletExit:
        g2a.outcomes[n] = "killed"
        if n in g2a.coros:
            g2a.fate_when_interrupted[n] = g2a.fates.get(n, "pending")
        raise
    else:
        g2a.outcomes[n] = "result" if result == n * 2 else f"wrong result {result!r}"


def _check_g2a(g2a: _G2A) -> list[str]:
    """Every way a green -> asyncio round trip can have gone wrong."""
    wrong: list[str] = []
    for n, outcome in g2a.outcomes.items():
        plan = g2a.plans[n]
        allowed = {plan}
        if plan in ("killed", "timeout"):
            # The kill or Timeout may land after the answer came back.
            allowed |= {"result"}
        if outcome not in allowed:
            wrong.append(f"#{n}: planned {plan}, got {outcome}")
    for n, coro in g2a.coros.items():
        fate = g2a.fates.get(n)
        if inspect.getcoroutinestate(coro) != inspect.CORO_CLOSED:
            wrong.append(f"#{n}: its coroutine never ended (fate {fate})")
        if n in g2a.fate_when_interrupted:
            if g2a.fate_when_interrupted[n] == "finished":
                continue  # interrupted after the coroutine was done: fine
            # Interrupted while the coroutine had not finished: its task must
            # have been cancelled, so the coroutine either saw CancelledError
            # or was closed before its first step; it must not have finished.
            if fate not in ("cancelled", None):
                wrong.append(
                    f"#{n}: {g2a.outcomes[n]} while its task was pending, but "
                    f"the task was not cancelled: its coroutine {fate}"
                )
        elif fate != "finished":
            wrong.append(f"#{n}: nobody interrupted it, but its coroutine {fate}")
    return wrong


async def _green_to_asyncio(rng: random.Random) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    g2a = _G2A()
    for start in range(0, ROUND_TRIPS, BATCH):
        gts = []
        for n in range(start, min(start + BATCH, ROUND_TRIPS)):
            plan = g2a.plans[n] = rng.choices(OUTCOMES_G2A, weights=(6, 2, 1, 1, 1))[0]
            delay = rng.choice((0.0, 0.0, 0.0005, 0.002))
            if plan == "timeout" and delay == 0:
                delay = 0.002
            gt = eventlet.spawn(_green_caller, n, delay, loop, g2a)
            if plan == "killed":
                eventlet.spawn_after(rng.choice((0.0, 0.0005, 0.001)), gt.kill)
            gts.append((n, gt))
        give_up = loop.time() + DEADLINE
        while any(not gt.dead for _, gt in gts) and loop.time() < give_up:
            await asyncio.sleep(0.001)
        for n, gt in gts:
            if not gt.dead:
                continue  # counted as hung below
            if n not in g2a.outcomes and g2a.plans[n] == "killed":
                g2a.outcomes[n] = "killed"  # killed before it even started
        # Tasks cancelled by the last kills of the batch finish their
        # cancellation now, before the checks look at their coroutines.
        await asyncio.sleep(0)
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    hung = ROUND_TRIPS - len(g2a.outcomes) + len(pending)
    return {
        "counts": Counter(g2a.outcomes.values()),
        "wrong": _check_g2a(g2a),
        "hung": hung,
        "pending": len(pending),
        "interrupted while pending": sum(
            fate != "finished" for fate in g2a.fate_when_interrupted.values()
        ),
    }


# -- asyncio -> green ----------------------------------------------------------------


def _green_work(n: int, delay: float, fail: bool, done: Counter[int]) -> int:
    eventlet.sleep(delay)
    done[n] += 1
    if fail:
        raise _Boom(n)
    return n * 3


def _green_timed_out(n: int, delay: float, done: Counter[int]) -> int:
    # The Timeout fires inside the greenthread, 0.25 s before its sleep would
    # end (eventlet runs timers in deadline order), and is not caught here:
    # it ends the greenthread and must reach the awaiting coroutine.
    with eventlet.Timeout(delay):
        eventlet.sleep(delay + 0.25)
        done[n] += 1
    return n * 3


async def _await_green_timeout(n: int, delay: float, done: Counter[int]) -> str:
    """Await a greenthread that an eventlet.Timeout ends: half of them through
    to_green(), half through wrap_greenthread()."""
    try:
        if n % 2:
            result = await aioeventlet.to_green(_green_timed_out, n, delay, done)
        else:
            gt = eventlet.spawn(_green_timed_out, n, delay, done)
            result = await aioeventlet.wrap_greenthread(gt)
    except eventlet.Timeout as exc:
        return "green timeout" if exc.seconds == delay else f"wrong {exc!r}"
    return f"no timeout: {result!r}"


async def _awaiter(  # noqa: PLR0917 - one round trip's whole plan
    n: int,
    plan: str,
    delay: float,
    rng: random.Random,
    done: Counter[int],
    dead_after: list[int],
) -> str:
    if plan == "green timeout":
        return await _await_green_timeout(n, delay, done)
    # Interrupted plans give the greenthread more to do than the time the
    # interruption waits, so the interruption usually (not always) wins.
    work = delay + 0.25 if plan in ("cancel", "wait_for", "killed") else delay
    gt = eventlet.spawn(_green_work, n, work, plan == "exception", done)
    fut = aioeventlet.wrap_greenthread(gt)
    try:
        if plan == "cancel":
            asyncio.get_running_loop().call_later(delay, fut.cancel)
            result = await fut
        elif plan == "wait_for":
            result = await asyncio.wait_for(fut, delay)
        elif plan == "killed":
            eventlet.spawn_after(rng.choice((0.0, delay)), gt.kill)
            result = await fut
        else:
            result = await fut
    except _Boom as exc:
        return "exception" if exc.args == (n,) else f"wrong exception {exc!r}"
    except asyncio.TimeoutError:
        if not gt.dead:
            dead_after.append(n)
        return "timeout"
    except asyncio.CancelledError:
        if not gt.dead:
            dead_after.append(n)
        return "cancelled"
    return "result" if result == n * 3 else f"wrong result {result!r}"


async def _asyncio_to_green(rng: random.Random) -> dict[str, Any]:
    done: Counter[int] = Counter()
    not_dead: list[int] = []
    outcomes: dict[int, str] = {}
    plans: dict[int, str] = {}
    wrong: list[str] = []
    hung = 0
    for start in range(0, ROUND_TRIPS, BATCH):
        batch = range(start, min(start + BATCH, ROUND_TRIPS))
        coros = []
        for n in batch:
            plan = rng.choices(OUTCOMES_A2G, weights=(6, 2, 1, 1, 1, 1))[0]
            plans[n] = plan
            delay = rng.choice((0.0005, 0.001, 0.004))
            coros.append(
                _awaiter(n, plan, delay, random.Random(rng.random()), done, not_dead)
            )
        tasks = [asyncio.ensure_future(c) for c in coros]
        finished, pending = await asyncio.wait(tasks, timeout=DEADLINE)
        hung += len(pending)
        for task in pending:
            task.cancel()
        for n, task in zip(batch, tasks, strict=True):
            if task in finished:
                outcomes[n] = task.result()
    for n, outcome in outcomes.items():
        plan = plans[n]
        allowed = {plan}
        if plan in ("cancel", "wait_for", "killed"):
            allowed = {
                "result",
                {"cancel": "cancelled", "wait_for": "timeout", "killed": "cancelled"}[
                    plan
                ],
            }
        if outcome not in allowed:
            wrong.append(f"#{n}: planned {plan}, got {outcome}")
        if outcome in ("result", "exception") and done[n] != 1:
            wrong.append(f"#{n}: {outcome} but the greenthread finished {done[n]}x")
        if outcome == "green timeout" and done[n] != 0:
            wrong.append(f"#{n}: timed out, but its work finished {done[n]}x")
        if outcome in ("cancelled", "timeout") and done[n] > 1:
            wrong.append(f"#{n}: the greenthread finished {done[n]}x")
    counts = Counter(outcomes.values())
    return {
        "counts": counts,
        "wrong": wrong,
        "hung": hung,
        "not_dead": not_dead,
    }


def _round_trips(wrong: list[str]) -> int:
    """How many round trips the problems in *wrong* ("#n: ...") are about."""
    return len({problem.split(":", 1)[0] for problem in wrong})


@pytest.mark.timeout(size(120, 1800))
def test_bridge_round_trips(no_leaks: Recorder) -> None:
    rng = random.Random(seed())

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        g2a = await _green_to_asyncio(rng)
        a2g = await _asyncio_to_green(rng)
        return g2a, a2g

    # Greenthreads that raise on purpose: eventlet's hub would print each
    # traceback (thousands); the exceptions are checked where they arrive.
    hub = eventlet.hubs.get_hub()
    printed = hub.debug_exceptions
    hub.debug_exceptions = False
    try:
        g2a, a2g = aioeventlet.run(main())
    finally:
        hub.debug_exceptions = printed
    no_leaks(
        "load",
        "yield_future() round trips, green -> asyncio, with random kills, "
        "eventlet.Timeouts and cancels ("
        + ", ".join(f"{k} {v}" for k, v in sorted(g2a["counts"].items()))
        + f"; {g2a['interrupted while pending']} waits interrupted while their "
        "coroutine ran, each of those tasks must end cancelled)",
        ROUND_TRIPS,
        "round trips",
        lost=_round_trips(g2a["wrong"]),
        hung=g2a["hung"],
    )
    no_leaks(
        "load",
        "wrap_greenthread() and to_green() round trips, asyncio -> green, with "
        "random cancels, wait_for timeouts, kills and eventlet.Timeouts inside "
        "the greenthread ("
        + ", ".join(f"{k} {v}" for k, v in sorted(a2g["counts"].items()))
        + ")",
        ROUND_TRIPS,
        "round trips",
        lost=_round_trips(a2g["wrong"]) + len(a2g["not_dead"]),
        hung=a2g["hung"],
    )
    assert g2a["wrong"] == []
    assert g2a["hung"] == 0
    assert a2g["wrong"] == []
    assert a2g["hung"] == 0
    assert a2g["not_dead"] == [], "a cancelled wait left its greenthread alive"
    for counts, kinds in (
        (g2a["counts"], ("result", "exception", "killed", "timeout", "cancelled")),
        (
            a2g["counts"],
            ("result", "exception", "cancelled", "timeout", "green timeout"),
        ),
    ):
        assert all(counts[k] > 0 for k in kinds), counts
