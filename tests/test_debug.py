"""Debug mode (DESIGN.md section 3, "Debugging").

tests/isolated/debugging.py runs with PYTHONASYNCIODEBUG=1 in every patching
mode; the in-process tests use loop.set_debug(True), on both loops where
stock asyncio has the same check (it is then the oracle).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
import time

import eventlet
import pytest

import aioeventlet

from .isolated import MODES, results, run_isolated


@pytest.mark.parametrize("mode", MODES)
def test_debug_mode_in_every_mode(mode: str) -> None:
    proc = run_isolated(
        "debugging", mode, env={**os.environ, "PYTHONASYNCIODEBUG": "1"}
    )
    assert results(proc) == {
        "debug": "True",
        # A callback that waits greenly (0.6 s, threshold 0.3 s) is not
        # reported, and other greenthreads ran meanwhile.
        "green_wait": "none,10",
        "idle": "none",
        "blocking_callback": "slow:blocks_for_real|watchdog:callback:blocks_for_real",
        "hogging_greenthread": "watchdog:greenthread:hogging_greenthread",
        "never_awaited": "True,True",
        "other_thread": "['Non-thread-safe operation invoked on an event loop "
        "other than the current one']",
        "other_greenthread": "ok",
        "hub_debug_blocking": "False",
        "sigalrm": "True",
        "after_run": "none",
    }


def test_slow_callback_is_reported(
    loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    loop.set_debug(True)
    loop.slow_callback_duration = 0.05

    def slow() -> None:
        time.sleep(0.1)

    async def main() -> None:
        loop.call_soon(slow)
        await asyncio.sleep(0.15)

    with caplog.at_level(logging.WARNING):
        loop.run_until_complete(main())
    # Only the slow callback's report counts: on a loaded machine another
    # step may pass the (small) threshold too.
    executing = [r.getMessage() for r in caplog.records]
    slow_reports = [
        m for m in executing if m.startswith("Executing <Handle ") and ".slow() " in m
    ]
    assert len(slow_reports) == 1, executing


def test_green_wait_in_callback_is_not_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = aioeventlet.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.05
    green_ran: list[int] = []

    def waits_greenly() -> None:
        eventlet.sleep(0.15)

    async def main() -> float:
        gt = eventlet.spawn(green_ran.append, 1)
        loop.call_soon(waits_greenly)
        await asyncio.sleep(0.2)
        gt.wait()
        return loop.slow_callback_duration

    try:
        with caplog.at_level(logging.WARNING):
            threshold_after = loop.run_until_complete(main())
    finally:
        loop.close()
    assert green_ran == [1]
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "waits_greenly" in m], messages
    # Outside a callback the attribute reads back as set.
    assert threshold_after == 0.05


def test_never_awaited_coroutine_has_origin(loop: asyncio.AbstractEventLoop) -> None:
    loop.set_debug(True)

    async def coro() -> None:
        pass

    async def main() -> None:
        coro()  # type: ignore[unused-coroutine]  # never awaited: what is tested

    def run_and_collect() -> None:
        loop.run_until_complete(main())
        gc.collect()

    with pytest.warns(RuntimeWarning, match="was never awaited") as caught:
        run_and_collect()
    assert "Coroutine created at" in str(caught[0].message)


def test_call_soon_from_other_thread_refused(loop: asyncio.AbstractEventLoop) -> None:
    loop.set_debug(True)
    errors: list[str] = []

    def other() -> None:
        try:
            loop.call_soon(lambda: None)
        except RuntimeError as exc:
            errors.append(str(exc))

    async def main() -> None:
        thread = threading.Thread(target=other)
        thread.start()
        await asyncio.to_thread(thread.join)

    loop.run_until_complete(main())
    assert errors == [
        "Non-thread-safe operation invoked on an event loop other than the current one"
    ]


def test_watchdog_reports_blocking_greenthread_with_stack(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def hog() -> None:
        time.sleep(0.3)  # unpatched: blocks the whole thread

    async def main() -> None:
        asyncio.get_running_loop().slow_callback_duration = 0.1
        eventlet.spawn(hog).wait()

    with caplog.at_level(logging.WARNING, logger="aioeventlet"):
        aioeventlet.run(main(), debug=True)
    messages = [r.getMessage() for r in caplog.records if r.name == "aioeventlet"]
    reports = [m for m in messages if "in hog" in m]
    assert len(reports) == 1, messages
    assert reports[0].startswith("greenthread <")
    assert "in hog" in reports[0]
    assert "time.sleep(0.3)" in reports[0]


def test_watchdog_thread_stops_with_the_loop() -> None:
    from aioeventlet import _debug

    async def main() -> object:
        return _debug._monitor().watchdog

    watchdog: threading.Thread = aioeventlet.run(main(), debug=True)  # type: ignore[assignment]
    assert watchdog.name.startswith("aioeventlet-watchdog-")
    assert not watchdog.is_alive()
    assert _debug._monitor().watchdog is None
    assert _debug._monitor().runs == []


def test_no_watchdog_without_debug() -> None:
    from aioeventlet import _debug

    seen: list[object] = []

    async def main() -> None:
        seen.append(_debug._monitor().watchdog)

    aioeventlet.run(main(), debug=False)
    assert seen == [None]
