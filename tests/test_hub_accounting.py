"""Issue 13: greenthreads run whatever eventlet's timer bookkeeping says.

``select()`` polls its fds in the loop's own greenthread when nothing else
could run on a hub pass.  Whether another greenthread could run is a question
about eventlet's timers, and eventlet's own count of cancelled timers
(``hub.timers_canceled``) is not a reliable answer: ``hub.abort()`` drops
every listed timer and resets the count, after which the cancel of one of
those dropped timers leaves it one too high for good; compacting the heap
from a greenthread that a timer started leaves it too low.  These tests
provoke both drifts for real (abort, compaction) and simulate any drift by
editing the count, and check what matters: a greenthread whose timer is due
runs while the loop runs, long before the loop's own poll timeout; and
cancelled timers, however many and whatever the count says, do not keep the
loop from polling alone.

Each test of aioeventlet's mechanics runs in a new OS thread, on a fresh hub
of its own: an abort drops everything on the hub it stops, and a drifted
count would outlive the test on the test suite's shared hub.  The loop in
each one holds a timer of its own :data:`LONG` seconds away, so a loop that
polled alone when it should not would sit in that poll for :data:`LONG`
seconds: every wait for a greenthread is bounded by :data:`BOUND`, well under
it, and fails with the hub's state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import eventlet
import eventlet.hubs
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

import aioeventlet
from aioeventlet._selector import HubSelector

from .conftest import in_new_os_thread
from .stress._support import seed, size

T = TypeVar("T")

# The loop's own wait: what a loop that wrongly polled alone would sleep for.
LONG = 30.0
# How long a test waits for a greenthread before it fails, well under LONG.
BOUND = 10.0
NAP = 0.05
# More timers than eventlet's hub holds before it compacts its cancelled ones
# (it does when over 1,000 are listed and half of them are cancelled).
COMPACTED = 1_200
# Busy loop iterations over which a loop with nothing else to run must not park.
SPINS = 20


@pytest.fixture
def parks(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """The timeouts of the loop's waits on the hub (``HubSelector._park``):
    the waits it did not make by polling alone."""
    calls: list[float | None] = []
    real = HubSelector._park

    def spy(self: HubSelector, timeout: float | None) -> None:
        calls.append(timeout)
        real(self, timeout)

    monkeypatch.setattr(HubSelector, "_park", spy)
    return calls


def hub_state() -> dict[str, int]:
    """What eventlet's hub lists, and what it believes it lists."""
    hub = eventlet.hubs.get_hub()
    listed = [t for _, t in hub.timers + hub.next_timers]
    return {
        "timers listed": len(listed),
        "of which cancelled": sum(t.called for t in listed),
        "hub.timers_canceled": hub.timers_canceled,
    }


def live_timers() -> list[Any]:
    hub = eventlet.hubs.get_hub()
    return [t for _, t in hub.timers + hub.next_timers if not t.called]


def noop() -> None:
    pass


async def bounded(awaitable: Awaitable[T], what: str) -> T:
    """Await *awaitable* for at most BOUND seconds; fail with the hub's state."""
    fut = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({fut}, timeout=BOUND)
    if not done:
        state = hub_state()  # before the cancel below kills any greenthread
        fut.cancel()
        pytest.fail(
            f"{what} did not finish within {BOUND} s while the loop ran; "
            f"eventlet's hub: {state}"
        )
    return fut.result()


async def green_nap(seconds: float = NAP) -> None:
    """A greenthread sleeps *seconds*; the caller waits for it, at most BOUND."""
    gt = eventlet.spawn(eventlet.sleep, seconds)
    await bounded(
        aioeventlet.wrap_greenthread(gt), f"a greenthread sleeping {seconds} s"
    )


async def abort_hub() -> None:
    """``hub.abort()`` from a greenthread, as eventlet's own tests do, and wait
    until the hub has stopped."""
    hub = eventlet.hubs.get_hub()

    def abort() -> Any:
        hub.abort()
        # The hub greenlet that will stop: after an earlier abort, the one
        # that ran before it is dead, and hub.greenlet a new one from here.
        return hub.greenlet

    running = await bounded(
        aioeventlet.wrap_greenthread(eventlet.spawn(abort)),
        "a greenthread calling hub.abort()",
    )
    # abort() only asks: the hub stops at the end of its current pass, which
    # it finishes the next time the loop parks on it.  A due timer of nobody's
    # makes the loop park (and the abort drops it with the rest).
    hub.schedule_call_global(0, noop)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND
    while not running.dead:
        assert loop.time() < deadline, f"the hub did not stop: {hub_state()}"
        await asyncio.sleep(0.001)


async def spin(parks: list[float | None]) -> list[float | None]:
    """SPINS busy loop iterations, then a short wait; the waits on the hub
    they made."""
    before = len(parks)
    for _ in range(SPINS):
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    return parks[before:]


def schedule(count: int, delay: float) -> list[Any]:
    """*count* eventlet timers of nobody's, *delay* seconds away."""
    hub = eventlet.hubs.get_hub()
    return [hub.schedule_call_global(delay, noop) for _ in range(count)]


def cancel_all(timers: list[Any]) -> None:
    for timer in timers:
        timer.cancel()


def run_with_long_timer(main: Callable[[], Any]) -> Any:
    """``aioeventlet.run(main())`` with a loop timer LONG seconds away: a loop
    that polls alone when it should not polls for that long."""

    async def wrapper() -> Any:
        parked = asyncio.get_running_loop().call_later(LONG, noop)
        try:
            return await main()
        finally:
            parked.cancel()

    return aioeventlet.run(wrapper())


# -- abort ------------------------------------------------------------------------


def test_green_sleep_after_abort() -> None:
    """The reproduction of issue 13: after an abort, a green sleep returns."""

    async def main() -> dict[str, int]:
        await abort_hub()
        after_abort = hub_state()
        await green_nap()
        return after_abort

    def body() -> None:
        after_abort = run_with_long_timer(main)
        # The drift the abort leaves (the parked loop cancelled its timeout
        # timer after the abort had dropped it), which the nap had to survive.
        assert after_abort["hub.timers_canceled"] > after_abort["of which cancelled"]

    in_new_os_thread(body)


def test_killing_a_sleeper_dropped_by_abort(parks: list[float | None]) -> None:
    """A greenthread that slept through an abort (its timer dropped) and is
    killed afterwards cancels that dropped timer: the count drifts once more;
    green sleeps still return, and with nothing else left the loop polls
    alone."""

    async def main() -> tuple[dict[str, int], list[float | None]]:
        sleeper = eventlet.spawn(eventlet.sleep, 3600)
        await green_nap(0)  # the sleeper starts and sleeps
        await abort_hub()
        sleeper.kill()  # from the loop's greenthread, greenly
        after_kill = hub_state()
        await green_nap()
        return after_kill, await spin(parks)

    def body() -> None:
        after_kill, spun = run_with_long_timer(main)
        assert after_kill["hub.timers_canceled"] > after_kill["of which cancelled"]
        assert spun == [], "the loop parked with nothing else on the hub"
        assert live_timers() == []

    in_new_os_thread(body)


# -- cancels from inside the loop and from other greenthreads -----------------------


@pytest.mark.parametrize("count", [3, COMPACTED])
@pytest.mark.parametrize("where", ["inside", "outside"])
def test_timers_cancelled(where: str, count: int, parks: list[float | None]) -> None:
    """Eventlet timers cancelled from a loop callback (inside) or from another
    greenthread (outside), with a sleeping greenthread killed the same way;
    enough of them, at COMPACTED, for eventlet to compact its heap.  Outside,
    the greenthread runs from a hub timer, and eventlet's compaction while
    its fire_timers() holds the old heap leaves its count too low.  Either
    way: green sleeps return, and once only cancelled timers are listed the
    loop polls alone."""

    async def main() -> list[float | None]:
        loop = asyncio.get_running_loop()
        sleeper = eventlet.spawn(eventlet.sleep, 3600)
        await green_nap(0)  # the sleeper starts and sleeps
        if where == "inside":
            timers = schedule(count, 0)
            done = loop.create_future()

            def callback() -> None:
                cancel_all(timers)
                sleeper.kill()
                done.set_result(None)

            loop.call_soon(callback)
            await bounded(done, "a loop callback")
        else:

            def green() -> None:
                cancel_all(timers)
                sleeper.kill()

            # Spawned first, so that it runs before the timers scheduled
            # next come due: its cancels compact the heap that the hub's
            # fire_timers() is walking.
            canceller = eventlet.spawn(green)
            timers = schedule(count, 0)
            await bounded(aioeventlet.wrap_greenthread(canceller), "the canceller")
        await green_nap()
        return await spin(parks)

    def body() -> None:
        assert run_with_long_timer(main) == [], "the loop parked for cancelled timers"
        if (where, count) == ("outside", COMPACTED):
            # The drift this case is here for (see the docstring).
            assert eventlet.hubs.get_hub().timers_canceled < 0
        assert live_timers() == []

    in_new_os_thread(body)


# -- the count drifted either way ---------------------------------------------------


@pytest.mark.parametrize("drift", [-COMPACTED, -1, 1, 2, COMPACTED])
def test_any_drift_of_the_count(drift: int, parks: list[float | None]) -> None:
    """Eventlet's count of cancelled timers set off by *drift*, as any bug of
    its bookkeeping could: a live timer due soon wakes its greenthread on
    time; a live timer after the loop's wait (a greenthread sleeping an hour)
    does not make the loop park, nor do cancelled ones."""

    async def main() -> list[float | None]:
        eventlet.hubs.get_hub().timers_canceled += drift
        await green_nap()
        far = eventlet.spawn(eventlet.sleep, 3600)
        await green_nap(0)  # far starts and sleeps, beyond the loop's LONG wait
        cancel_all(schedule(3, 1))
        try:
            return await spin(parks)
        finally:
            far.kill()

    def body() -> None:
        assert run_with_long_timer(main) == [], "the loop parked for nothing due"
        assert live_timers() == []

    in_new_os_thread(body)


async def into_heap(timer: Any) -> Any:
    """Let the hub move *timer*, just scheduled, from the timers it added
    since its last pass into its heap: a live timer added since then makes
    the loop give the hub a pass."""
    hub = eventlet.hubs.get_hub()
    await asyncio.sleep(0)
    assert all(t is not timer for _, t in hub.next_timers)
    assert any(t is timer for _, t in hub.timers)
    return timer


def test_which_timers_make_the_loop_park(parks: list[float | None]) -> None:
    """In eventlet's heap, a live timer due before the loop's wait ends makes
    the loop wait on the hub, which fires it on time; a live one due after
    the wait does not, nor does a cancelled one, in the heap or just added,
    whatever eventlet's count says (here: that nothing is cancelled)."""

    async def main() -> dict[str, list[float | None]]:
        hub = eventlet.hubs.get_hub()
        loop = asyncio.get_running_loop()
        seen: dict[str, list[float | None]] = {}

        async def waits(case: str, awaitable: Awaitable[Any]) -> None:
            before = len(parks)
            await bounded(awaitable, case)
            seen[case] = parks[before:]

        fired = loop.create_future()
        await into_heap(
            hub.schedule_call_global(0.2, loop.call_soon, fired.set_result, None)
        )
        await waits("live, due within the wait", fired)
        far = await into_heap(hub.schedule_call_global(3600, noop))
        await waits("live, due after the wait", asyncio.sleep(0.02))
        far.cancel()
        (await into_heap(hub.schedule_call_global(0.01, noop))).cancel()
        hub.timers_canceled = 0
        await waits("cancelled, in the heap", asyncio.sleep(0.04))
        hub.schedule_call_global(0.01, noop).cancel()
        hub.timers_canceled = 0
        await waits("cancelled, just added", asyncio.sleep(0.04))
        return seen

    def body() -> None:
        seen = run_with_long_timer(main)
        assert seen.pop("live, due within the wait"), (
            "the loop polled alone through a live timer's deadline"
        )
        parked = {case: timeouts for case, timeouts in seen.items() if timeouts}
        assert parked == {}, "the loop parked for nothing due"

    in_new_os_thread(body)


# -- the loop's own timers ------------------------------------------------------------


def test_loop_timers_keep_order_whatever_eventlet_lists(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """The loop's timers run in deadline order and never early, with eventlet
    timers cancelled at deadlines between theirs (aioeventlet drops them as
    it meets them) and a live one beyond them.  Stock asyncio never looks at
    eventlet's hub: it is the oracle."""
    hub = eventlet.hubs.get_hub()
    ran: list[tuple[float, float]] = []

    def note(when: float) -> None:
        ran.append((when, loop.time()))

    async def main() -> None:
        start = loop.time()
        for delay in (0.04, 0.01, 0.03, 0.02):
            when = start + delay
            loop.call_at(when, note, when)
        for delay in (0.005, 0.015, 0.025, 0.035):
            hub.schedule_call_global(delay, noop).cancel()
        far = hub.schedule_call_global(3600, noop)
        try:
            await asyncio.sleep(0.06)
        finally:
            far.cancel()

    loop.run_until_complete(main())
    whens = [when for when, _ in ran]
    assert whens == sorted(whens)
    assert len(whens) == 4
    # asyncio runs a timer that is due within its clock's resolution.
    resolution = time.get_clock_info("monotonic").resolution
    assert [t for when, t in ran if t < when - resolution] == []


# -- all of it, mixed ------------------------------------------------------------------

DELAYS = st.sampled_from([0.0, 0.001, 0.01])
OPS = st.one_of(
    st.tuples(st.just("nap"), DELAYS),
    st.tuples(st.just("far")),
    st.tuples(st.just("kill"), st.sampled_from(["inside", "outside"])),
    st.tuples(
        st.just("cancel"),
        st.sampled_from(["inside", "outside"]),
        st.sampled_from([1, 5, COMPACTED]),
        st.sampled_from([0.0, 0.005, 3600.0]),
    ),
    st.tuples(st.just("abort")),
    st.tuples(st.just("drift"), st.sampled_from([-COMPACTED, -2, -1, 1, 2])),
    st.tuples(st.just("await")),
    st.tuples(st.just("spin")),
)


class _Program:
    """One program's state: its greenthreads, and what became of them."""

    def __init__(self, parks: list[float | None]) -> None:
        self.parks = parks
        self.naps: list[asyncio.Future[Any]] = []
        self.sleepers: list[Any] = []
        self.cancels = 0

    async def settle_naps(self) -> None:
        naps, self.naps = self.naps, []
        if naps:
            await bounded(asyncio.gather(*naps), f"{len(naps)} sleeping greenthreads")

    async def apply(self, op: tuple[Any, ...]) -> None:
        loop = asyncio.get_running_loop()
        kind = op[0]
        if kind == "nap":
            gt = eventlet.spawn(eventlet.sleep, op[1])
            self.naps.append(aioeventlet.wrap_greenthread(gt))
        elif kind == "far":
            self.sleepers.append(eventlet.spawn(eventlet.sleep, 3600))
        elif kind == "kill" and self.sleepers:
            sleeper = self.sleepers.pop()
            if op[1] == "inside":
                loop.call_soon(sleeper.kill)
                await asyncio.sleep(0)
            else:
                killer = aioeventlet.wrap_greenthread(eventlet.spawn(sleeper.kill))
                await bounded(killer, "a greenthread killing a sleeper")
        elif kind == "cancel":
            _, where, count, delay = op
            self.cancels += count
            if where == "inside":
                loop.call_soon(cancel_all, schedule(count, delay))
                await asyncio.sleep(0)
            else:
                timers: list[Any] = []
                canceller = eventlet.spawn(cancel_all, timers)
                timers.extend(schedule(count, delay))
                wrapped = aioeventlet.wrap_greenthread(canceller)
                await bounded(wrapped, "a greenthread cancelling timers")
        elif kind == "abort":
            # An abort drops every greenthread's timer: the naps would never
            # wake (eventlet's abort, not the loop's doing), so they end
            # first.  Far sleepers sleep through it, to be killed later.
            await self.settle_naps()
            await abort_hub()
        elif kind == "drift":
            eventlet.hubs.get_hub().timers_canceled += op[1]
        elif kind == "await":
            await self.settle_naps()
        elif kind == "spin":
            await spin(self.parks)

    async def run(self, program: list[tuple[Any, ...]]) -> list[float | None]:
        for op in program:
            await self.apply(op)
        await self.settle_naps()
        for sleeper in self.sleepers:
            sleeper.kill()
        self.sleepers = []
        return await spin(self.parks)


@settings(
    max_examples=size(25, 500),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # No shrinking: a failing program fails by waiting BOUND seconds, and
    # shrinking would try many of those (pytest-timeout's error inside the
    # test only counts as one more failure to shrink).  Programs are short;
    # the failing one is printed whole.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@hypothesis_seed(seed())
@given(program=st.lists(OPS, max_size=12))
def test_sleeps_cancels_aborts_and_drifts_mixed(
    program: list[tuple[Any, ...]], parks: list[float | None]
) -> None:
    """Any mix of green sleeps (short, and an hour long), kills of sleepers
    and cancels of eventlet timers from inside the loop and from other
    greenthreads (enough, at times, for eventlet to compact its heap),
    aborts, and drifts of eventlet's count: every short green sleep returns
    while the loop runs, well before the loop's own LONG wait; at the end,
    with every sleeper gone, the hub holds no live timer and the loop polls
    alone."""
    parks.clear()

    def body() -> None:
        spun = run_with_long_timer(lambda: _Program(parks).run(program))
        assert spun == [], f"the loop parked with nothing else on the hub: {spun}"
        assert live_timers() == []

    in_new_os_thread(body)
