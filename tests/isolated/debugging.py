"""Debug mode in any patching mode: asyncio's checks, the blocking watchdog,
and no false alarm from green waits.  Run with PYTHONASYNCIODEBUG=1."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import warnings

import _mode

import aioeventlet

_mode.after_imports()

import eventlet  # noqa: E402
import eventlet.hubs  # noqa: E402
import eventlet.patcher  # noqa: E402

real_sleep = eventlet.patcher.original("time").sleep
real_threading = eventlet.patcher.original("threading")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}:{record.getMessage()}")

    def take(self) -> list[str]:
        taken, self.messages = self.messages, []
        return taken


records = Records()
logging.getLogger().addHandler(records)
logging.getLogger().setLevel(logging.WARNING)


def green_wait() -> None:
    eventlet.sleep(0.6)  # green: other greenthreads run meanwhile


def blocks_for_real() -> None:
    real_sleep(0.8)


def hogging_greenthread() -> None:
    real_sleep(0.8)


async def never_awaited() -> None:
    pass


def summary(messages: list[str]) -> str:
    kinds = []
    for message in messages:
        if message.startswith("asyncio:Executing"):
            kinds.append("slow:" + message.split()[2].split("(")[0])
        elif message.startswith("aioeventlet:"):
            culprit = message.split()[0].split(":")[1]  # "the" or "greenthread"
            culprit = "callback" if culprit == "the" else culprit
            in_stack = [
                name
                for name in ("blocks_for_real", "hogging_greenthread")
                if f"in {name}" in message
            ]
            kinds.append(f"watchdog:{culprit}:{','.join(in_stack)}")
        else:
            kinds.append(message[:60])
    return "|".join(sorted(kinds)) or "none"


async def main() -> None:
    loop = asyncio.get_running_loop()
    print(f"debug={loop.get_debug()}")
    # Thresholds and durations leave a wide margin: a loaded machine must
    # not turn an unrelated step into a report.
    loop.slow_callback_duration = 0.3
    hub = eventlet.hubs.get_hub()

    # A callback that waits greenly: no slow-callback warning, no watchdog.
    ticks: list[int] = []

    def tick() -> None:
        for i in range(10):
            ticks.append(i)
            eventlet.sleep(0.02)

    gt = eventlet.spawn(tick)
    loop.call_soon(green_wait)
    await asyncio.sleep(0.7)
    gt.wait()
    print(f"green_wait={summary(records.take())},{len(ticks)}")

    # An idle loop (long sleep, nothing else to do): no report either.
    await asyncio.sleep(0.8)
    print(f"idle={summary(records.take())}")

    # A callback that blocks the thread for real: asyncio's warning after the
    # fact, and the watchdog's while it blocks, with its stack.
    loop.call_soon(blocks_for_real)
    await asyncio.sleep(0.9)
    print(f"blocking_callback={summary(records.take())}")

    # A greenthread that blocks the thread: only the watchdog sees it.
    eventlet.spawn(hogging_greenthread).wait()
    await asyncio.sleep(0.05)
    print(f"hogging_greenthread={summary(records.take())}")

    # The rest checks other things: no slow-callback reports wanted.
    loop.slow_callback_duration = 30

    # Never-awaited coroutines are reported with where they were created.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        never_awaited()  # type: ignore[unused-coroutine]  # on purpose
        gc.collect()
    text = str(caught[0].message) if caught else ""
    print(f"never_awaited={'was never awaited' in text},{'created at' in text}")

    # Non-thread-safe calls: from another OS thread refused, from another
    # greenthread of this thread allowed.
    errors: list[str] = []

    def from_thread() -> None:
        try:
            loop.call_soon(lambda: None)
        except RuntimeError as exc:
            errors.append(str(exc))

    thread = real_threading.Thread(target=from_thread)
    thread.start()
    await asyncio.to_thread(thread.join)
    print(f"other_thread={errors}")
    done = loop.create_future()
    eventlet.spawn(lambda: loop.call_soon(done.set_result, "ok"))
    print(f"other_greenthread={await done}")

    # eventlet's own blocking detector stays off; no SIGALRM handler.
    print(f"hub_debug_blocking={hub.debug_blocking}")
    print(f"sigalrm={signal.getsignal(signal.SIGALRM) == signal.SIG_DFL}")


aioeventlet.run(main())
print(f"after_run={summary(records.take())}")
