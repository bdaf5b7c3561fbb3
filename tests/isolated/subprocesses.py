"""Subprocesses and signal handlers in any patching mode, without child
watchers.  ``--no-pidfd`` forces the fallback (a thread blocked in waitpid)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import warnings
from unittest import mock

import _mode

import aioeventlet
from aioeventlet import _subprocess

_mode.after_imports()

if "--no-pidfd" in sys.argv:
    _subprocess.use_pidfd = False
PY = sys.executable
PIPE = asyncio.subprocess.PIPE


async def main() -> None:
    loop = asyncio.get_running_loop()
    # exec, stdin/stdout pipes, communicate, exit code.
    proc = await asyncio.create_subprocess_exec(
        PY,
        "-c",
        "import sys; print(sys.stdin.read().upper()); sys.exit(3)",
        stdin=PIPE,
        stdout=PIPE,
    )
    out, err = await proc.communicate(b"hello")
    print(f"communicate={out.strip().decode()},{err!r},{proc.returncode}")

    # shell, stderr, many at once.
    procs = [
        await asyncio.create_subprocess_shell(
            f"echo out{i}; echo err{i} >&2; exit {i}", stdout=PIPE, stderr=PIPE
        )
        for i in range(12)
    ]
    outs = await asyncio.gather(*(p.communicate() for p in procs))
    ok = all(
        o == (f"out{i}\n".encode(), f"err{i}\n".encode()) and p.returncode == i
        for i, (p, o) in enumerate(zip(procs, outs, strict=True))
    )
    print(f"many={ok}")

    # Streaming: write, drain, readline, then close stdin and wait.
    proc = await asyncio.create_subprocess_exec(
        PY,
        "-u",
        "-c",
        "import sys\nfor line in sys.stdin: print('echo', line.strip())",
        stdin=PIPE,
        stdout=PIPE,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    lines = []
    for word in ("a", "b"):
        proc.stdin.write(word.encode() + b"\n")
        await proc.stdin.drain()
        lines.append((await proc.stdout.readline()).decode().strip())
    proc.stdin.close()
    print(f"stream={'|'.join(lines)},{await proc.wait()}")

    # Killed by a signal: a negative return code.
    proc = await asyncio.create_subprocess_exec(PY, "-c", "import time; time.sleep(60)")
    proc.kill()
    print(f"killed={await proc.wait()}")

    # A missing program fails as with asyncio.
    try:
        await asyncio.create_subprocess_exec("/nonexistent/program")
    except FileNotFoundError:
        print("missing=FileNotFoundError")

    await popen_and_child_watchers()

    # Signal handlers: add, receive (with arguments), remove.
    got: asyncio.Future[str] = loop.create_future()
    loop.add_signal_handler(signal.SIGUSR1, got.set_result, "usr1")
    os.kill(os.getpid(), signal.SIGUSR1)
    print(f"signal={await got}")
    print(f"removed={loop.remove_signal_handler(signal.SIGUSR1)}")
    print(f"removed_again={loop.remove_signal_handler(signal.SIGUSR1)}")
    # A signal sent by a child process while the loop is parked in the hub.
    got2: asyncio.Future[str] = loop.create_future()
    loop.add_signal_handler(signal.SIGUSR2, lambda: got2.set_result("usr2"))
    child = await asyncio.create_subprocess_exec(
        PY, "-c", f"import os, signal; os.kill({os.getpid()}, signal.SIGUSR2)"
    )
    print(f"signal_from_child={await got2},{await child.wait()}")
    loop.remove_signal_handler(signal.SIGUSR2)


async def popen_and_child_watchers() -> None:
    # Whatever patching did, children are started by the real Popen ...
    proc = await asyncio.create_subprocess_exec(PY, "-c", "pass")
    # (eventlet's green one would say eventlet.green.subprocess).
    started_by = type(proc._transport._proc)  # type: ignore[attr-defined]
    print(f"popen={started_by.__module__},{await proc.wait()}")
    # ... but a Popen the program (here a test) put in its place is called.
    with mock.patch("subprocess.Popen", side_effect=ZeroDivisionError) as fake:
        try:
            await asyncio.create_subprocess_exec(PY, "-c", "pass", stdin=PIPE)
        except ZeroDivisionError:
            print(f"replaced_popen=called {fake.call_count}")

    # A child watcher the program set (3.10-3.13) is used, patched or not:
    # an inactive one refuses, an active one reports the exit.
    if sys.version_info < (3, 14):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            inactive = mock.create_autospec(asyncio.AbstractChildWatcher)  # type: ignore[attr-defined, unused-ignore]
            # 3.10-3.11 ask the watcher __enter__ returned, 3.12-3.13 the watcher.
            inactive.is_active.return_value = False
            inactive.__enter__.return_value.is_active.return_value = False
            asyncio.set_child_watcher(inactive)
            try:
                await asyncio.create_subprocess_exec(PY, "-c", "pass")
            except RuntimeError as exc:
                print(f"inactive_watcher={'not activated' in str(exc)}")
            # Not one of asyncio's defaults (Threaded, Pidfd), which this loop
            # leaves alone: a SIGCHLD watcher, attached as the program must.
            active = asyncio.SafeChildWatcher()  # type: ignore[attr-defined, unused-ignore]
            active.attach_loop(asyncio.get_running_loop())
            asyncio.set_child_watcher(active)
            proc = await asyncio.create_subprocess_exec(PY, "-c", "exit(5)")
            print(f"active_watcher={await proc.wait()}")
            asyncio.set_child_watcher(None)  # type: ignore[arg-type]
            active.close()


aioeventlet.run(main())
print("done=1")
