"""One loop per OS thread, each on its own hub, several at once, in any
patching mode (threads from the unpatched threading module when patched)."""

from __future__ import annotations

import asyncio
import sys

import _mode

import aioeventlet

_mode.after_imports()

import eventlet  # noqa: E402
import eventlet.hubs  # noqa: E402
import eventlet.patcher  # noqa: E402

real_threading = eventlet.patcher.original("threading")
THREADS = 3
barrier = real_threading.Barrier(THREADS, timeout=20)
loops: dict[int, asyncio.AbstractEventLoop] = {}
got_from_other: dict[int, list[str]] = {i: [] for i in range(THREADS)}
all_started = real_threading.Barrier(THREADS, timeout=20)
results: dict[int, tuple[object, ...]] = {}


async def in_thread(index: int) -> tuple[object, ...]:
    loop = asyncio.get_running_loop()
    loops[index] = loop
    hub = eventlet.hubs.get_hub()
    # A greenthread of this thread runs alongside this loop.
    gt = eventlet.spawn(lambda: eventlet.sleep(0.01) or f"green{index}")
    # All loops are running at the same time: meet at a barrier, waiting in
    # an executor thread so that this loop keeps running meanwhile.
    await asyncio.to_thread(all_started.wait)
    # call_soon_threadsafe from another OS thread's loop wakes this one.
    target = loops[(index + 1) % THREADS]
    target.call_soon_threadsafe(
        got_from_other[(index + 1) % THREADS].append, f"from{index}"
    )
    while not got_from_other[index]:
        await asyncio.sleep(0.01)
    # A subprocess from a non-main thread: no child watcher involved.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", f"print({index})", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    await asyncio.to_thread(barrier.wait)  # keep every loop alive until all are done
    return (
        id(hub),
        gt.wait(),
        got_from_other[index][0],
        out.strip().decode(),
        proc.returncode,
    )


def thread_main(index: int) -> None:
    results[index] = aioeventlet.run(in_thread(index))


threads = [real_threading.Thread(target=thread_main, args=(i,)) for i in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
hubs = {r[0] for r in results.values()}
print(f"loops={len(results)}")
print(f"distinct_hubs={len(hubs)}")
print(f"main_hub_unused={id(eventlet.hubs.get_hub()) not in hubs}")
for i in sorted(results):
    print(f"thread{i}={','.join(map(str, results[i][1:]))}")
