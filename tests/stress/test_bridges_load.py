"""Bridge round trips in both directions, with random cancels, kills and Timeouts.

green -> asyncio: greenthreads call ``yield_future()`` on coroutines that
sleep, return or raise; at random a greenthread is killed while it waits, or
an ``eventlet.Timeout`` fires in it, or the future it waits on is cancelled
by the loop side.

asyncio -> green: tasks await ``wrap_greenthread()`` of greenthreads that
sleep, return or raise; at random the awaiting side cancels (directly or by
``asyncio.wait_for`` timing out), or someone else kills the greenthread.

Every round trip ends in exactly one outcome, allowed by what was done to it
(a kill that lands after the result is not a loss); a value or exception
delivered is the one sent; a cancelled wait leaves its greenthread dead and
its task cancelled; at the end no task is pending and no greenthread alive.
"""

from __future__ import annotations

import asyncio
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


def _green_caller(  # noqa: PLR0917 - one round trip's whole plan
    n: int,
    plan: str,
    delay: float,
    loop: asyncio.AbstractEventLoop,
    outcomes: dict[int, str],
    fates: dict[int, str],
) -> None:
    fail = plan == "exception"
    try:
        if plan == "cancelled":
            # The loop side cancels the future this greenthread waits on.
            fut = loop.create_future()
            loop.call_later(delay, fut.cancel)
            aioeventlet.yield_future(fut, loop=loop)
            outcomes[n] = "result"  # a cancelled future must raise
            return
        if plan == "timeout":
            with eventlet.Timeout(delay / 2):
                result = aioeventlet.yield_future(
                    _served(n, delay, fail, fates), loop=loop
                )
        else:
            result = aioeventlet.yield_future(_served(n, delay, fail, fates), loop=loop)
    except _Boom as exc:
        outcomes[n] = "exception" if exc.args == (n,) else f"wrong exception {exc!r}"
    except eventlet.Timeout:
        outcomes[n] = "timeout"
    except asyncio.CancelledError:
        outcomes[n] = "cancelled"
    except greenlet.GreenletExit:
        outcomes[n] = "killed"
        raise
    else:
        outcomes[n] = "result" if result == n * 2 else f"wrong result {result!r}"


async def _green_to_asyncio(  # noqa: PLR0912 - one accounting, in one place
    rng: random.Random,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    outcomes: dict[int, str] = {}
    fates: dict[int, str] = {}
    plans: dict[int, str] = {}
    wrong: list[str] = []
    for start in range(0, ROUND_TRIPS, BATCH):
        gts = []
        for n in range(start, min(start + BATCH, ROUND_TRIPS)):
            plan = rng.choices(OUTCOMES_G2A, weights=(6, 2, 1, 1, 1))[0]
            plans[n] = plan
            delay = rng.choice((0.0, 0.0, 0.0005, 0.002))
            if plan == "timeout" and delay == 0:
                delay = 0.002
            gt = eventlet.spawn(_green_caller, n, plan, delay, loop, outcomes, fates)
            if plan == "killed":
                eventlet.spawn_after(rng.choice((0.0, 0.0005, 0.001)), gt.kill)
            gts.append((n, gt))
        give_up = loop.time() + DEADLINE
        while any(not gt.dead for _, gt in gts) and loop.time() < give_up:
            await asyncio.sleep(0.001)
        for n, gt in gts:
            if not gt.dead:
                continue  # counted as hung below
            if n not in outcomes and plans[n] == "killed":
                outcomes[n] = "killed"  # killed before it even started
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    hung = ROUND_TRIPS - len(outcomes) + len(pending)
    counts = Counter(outcomes.values())
    for n, outcome in outcomes.items():
        plan = plans[n]
        allowed = {plan}
        if plan in ("killed", "timeout"):
            # The kill or Timeout may land after the answer came back.
            allowed |= {"result"}
        if outcome not in allowed:
            wrong.append(f"#{n}: planned {plan}, got {outcome}")
        if outcome in ("killed", "timeout") and fates.get(n) == "finished":
            continue  # the coroutine had finished before the kill: fine
        if outcome in ("killed", "timeout") and n in fates and fates[n] != "cancelled":
            wrong.append(f"#{n}: {outcome}, but its task was not cancelled")
    return {"counts": counts, "wrong": wrong, "hung": hung, "pending": len(pending)}


# -- asyncio -> green ----------------------------------------------------------------


def _green_work(n: int, delay: float, fail: bool, done: Counter[int]) -> int:
    eventlet.sleep(delay)
    done[n] += 1
    if fail:
        raise _Boom(n)
    return n * 3


async def _awaiter(  # noqa: PLR0917 - one round trip's whole plan
    n: int,
    plan: str,
    delay: float,
    rng: random.Random,
    done: Counter[int],
    dead_after: list[int],
) -> str:
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
            plan = rng.choices(
                ("result", "exception", "cancel", "wait_for", "killed"),
                weights=(6, 2, 1, 1, 1),
            )[0]
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
        if outcome in ("cancelled", "timeout") and done[n] > 1:
            wrong.append(f"#{n}: the greenthread finished {done[n]}x")
    counts = Counter(outcomes.values())
    return {
        "counts": counts,
        "wrong": wrong,
        "hung": hung,
        "not_dead": not_dead,
    }


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
        + ")",
        ROUND_TRIPS,
        "round trips",
        lost=len(g2a["wrong"]),
        hung=g2a["hung"],
    )
    no_leaks(
        "load",
        "wrap_greenthread() round trips, asyncio -> green, with random cancels, "
        "wait_for timeouts and kills ("
        + ", ".join(f"{k} {v}" for k, v in sorted(a2g["counts"].items()))
        + ")",
        ROUND_TRIPS,
        "round trips",
        lost=len(a2g["wrong"]) + len(a2g["not_dead"]),
        hung=a2g["hung"],
    )
    assert g2a["wrong"] == []
    assert g2a["hung"] == 0
    assert a2g["wrong"] == []
    assert a2g["hung"] == 0
    assert a2g["not_dead"] == [], "a cancelled wait left its greenthread alive"
    for counts, kinds in (
        (g2a["counts"], ("result", "exception", "killed", "timeout", "cancelled")),
        (a2g["counts"], ("result", "exception", "cancelled", "timeout")),
    ):
        assert all(counts[k] > 0 for k in kinds), counts
