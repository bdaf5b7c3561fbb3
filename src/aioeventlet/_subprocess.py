"""Pipes and subprocesses that work with and without monkey-patching, and
without child watchers.

Two things of asyncio's break under ``eventlet.monkey_patch()``:

* the pipe transports call ``os.read``/``os.write``, which patching turns into
  green calls that first wait on the hub for the fd: a second waiter on an fd
  the loop already watches ("Second simultaneous read on fileno").  The
  transports here are asyncio's own classes with their methods re-bound to
  the unpatched ``os`` (see ``_executor.unpatched``);
* ``subprocess.Popen`` becomes eventlet's green ``Popen``, whose pipes are
  green files; the subprocess transport here starts the real ``Popen``
  instead.  Only eventlet's is replaced: a ``Popen`` the program or a test put
  in its place (``mock.patch("subprocess.Popen")``) is called as asyncio
  would call it.

Child exit is learnt without child watchers (Python 3.14 removes them, and
3.10-3.13's default one starts a thread per child; a watcher is used only if
asyncio's policy holds one other than asyncio's defaults, see
``_child_watcher_in_use``): a pidfd
(``os.pidfd_open``, Linux 5.3+) is registered as a reader on the loop and
becomes readable when the child exits; no thread, no SIGCHLD handler.  Where
pidfds are unavailable, a real OS thread blocks in ``waitpid()`` for that
child and reports through ``call_soon_threadsafe()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from functools import partial
from typing import Any

from . import _hub
from ._executor import unpatched, unpatched_class

_os = _hub.original("os")
_threading = _hub.original("threading")
_unix_events: Any = sys.modules["asyncio.unix_events"]

logger = logging.getLogger("asyncio")

__all__ = ["SubprocessMixin"]

_ReadPipeTransport = unpatched_class(_unix_events._UnixReadPipeTransport)
_WritePipeTransport = unpatched_class(_unix_events._UnixWritePipeTransport)


class _SubprocessTransport(unpatched_class(_unix_events._UnixSubprocessTransport)):  # type: ignore[misc]
    def _start(self, *args: Any, **kwargs: Any) -> None:
        # Popen is looked up at each start, in the module programs see: only
        # eventlet's green Popen gives way to the real one (which the
        # unpatched _start calls); any other replacement is asyncio's to call.
        if _hub.is_green(sys.modules["subprocess"].Popen):
            super()._start(*args, **kwargs)
        else:
            _unix_events._UnixSubprocessTransport._start(self, *args, **kwargs)


# asyncio's own way with a child watcher, starting the transport above.
_with_child_watcher_patched: Any = (
    unpatched(
        _unix_events._UnixSelectorEventLoop._make_subprocess_transport,
        _UnixSubprocessTransport=_SubprocessTransport,
    )
    if sys.version_info < (3, 14)
    else None
)

# Tests set this to False to exercise the thread fallback.
use_pidfd: bool = hasattr(_os, "pidfd_open")


def _exit_code(pid: int, transport: Any, status: int | None) -> int:
    if status is not None:
        code: int = _os.waitstatus_to_exitcode(status)
        return code
    # Someone reaped the child before us: Popen.poll() (run by the
    # transport's close()) or user code calling os.wait().
    returncode = transport._proc.returncode if transport._proc else None
    if returncode is not None:
        return int(returncode)
    logger.warning("Unknown child process pid %d, will report returncode 255", pid)
    return 255


# asyncio's default child watchers (3.10-3.13): each waits only for the
# children registered with it, as this module does.
_DEFAULT_WATCHERS: tuple[type, ...] = (
    (_unix_events.ThreadedChildWatcher, _unix_events.PidfdChildWatcher)
    if sys.version_info < (3, 14)
    else ()
)


def _child_watcher_in_use() -> bool:
    """Whether asyncio's policy holds a child watcher this loop must use
    (Python 3.10-3.13): one the program set through the deprecated
    ``asyncio.set_child_watcher()`` (tests do, with mocks), other than
    asyncio's defaults.

    The defaults (``ThreadedChildWatcher``, ``PidfdChildWatcher``) are left
    alone, whoever made them: ``get_child_watcher()`` creates one on demand
    (anyio calls it when a loop that ran worker processes ends, on 3.10 and
    3.11; a stock loop's subprocess does too), so its presence says nothing
    of the program's wishes, and each loses the exit status of a child that
    ``Popen.poll()`` reaped first: ``send_signal()`` (so ``kill()`` and
    ``terminate()``) polls before signalling, and the watcher's own waitpid()
    then fails and it reports 255 ("Unknown child process pid N, will report
    returncode 255").  The tracking here reads the status that poll() stored
    (``_exit_code``).  Watchers that reap on SIGCHLD (Safe, Fast, MultiLoop),
    or the program's own, are used as asyncio would use them: they may reap
    this loop's children anyway.
    """
    if sys.version_info >= (3, 14):  # pragma: no cover - watchers are gone
        return False
    policy = asyncio.events._event_loop_policy  # type: ignore[attr-defined]
    watcher = getattr(policy, "_watcher", None)
    return watcher is not None and type(watcher) not in _DEFAULT_WATCHERS


class SubprocessMixin:
    """EventLoop methods for pipes and subprocesses."""

    _child_pidfds: dict[int, int]

    # Unpatched, asyncio's own transports (code that mocks asyncio's modules
    # in tests still sees its mocks); patched, the same code on unpatched os.

    def _make_read_pipe_transport(
        self, pipe: Any, protocol: Any, waiter: Any = None, extra: Any = None
    ) -> Any:
        cls = (
            _ReadPipeTransport
            if _hub.is_patched("os")
            else _unix_events._UnixReadPipeTransport
        )
        return cls(self, pipe, protocol, waiter, extra)

    def _make_write_pipe_transport(
        self, pipe: Any, protocol: Any, waiter: Any = None, extra: Any = None
    ) -> Any:
        cls = (
            _WritePipeTransport
            if _hub.is_patched("os")
            else _unix_events._UnixWritePipeTransport
        )
        return cls(self, pipe, protocol, waiter, extra)

    async def _make_subprocess_transport(  # noqa: PLR0917 - asyncio's signature
        self,
        protocol: Any,
        args: Any,
        shell: bool,
        stdin: Any,
        stdout: Any,
        stderr: Any,
        bufsize: int,
        extra: Any = None,
        **kwargs: Any,
    ) -> Any:
        loop: Any = self
        patched = _hub.is_patched("subprocess") or _hub.is_patched("os")
        if _child_watcher_in_use():
            # The program set a child watcher (or asyncio created one for a
            # stock loop): keep asyncio's behaviour, watcher included.
            make = (
                partial(_with_child_watcher_patched, self)
                if patched
                else super()._make_subprocess_transport  # type: ignore[misc]
            )
            return await make(
                protocol, args, shell, stdin, stdout, stderr, bufsize, extra, **kwargs
            )
        waiter = loop.create_future()
        cls = _SubprocessTransport if patched else _unix_events._UnixSubprocessTransport
        transport = cls(
            self,
            protocol,
            args,
            shell,
            stdin,
            stdout,
            stderr,
            bufsize,
            waiter=waiter,
            extra=extra,
            **kwargs,
        )
        self._watch_child(transport)
        try:
            await waiter
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException:
            transport.close()
            await transport._wait()
            raise
        return transport

    def _watch_child(self, transport: Any) -> None:
        pid: int = transport.get_pid()
        if use_pidfd:
            try:
                pidfd = _os.pidfd_open(pid)
            except OSError:
                # ENOSYS (old kernel) or EPERM (seccomp): fall back.
                pass
            else:
                if not hasattr(self, "_child_pidfds"):
                    self._child_pidfds = {}
                self._child_pidfds[pidfd] = pid
                loop: Any = self
                loop.add_reader(pidfd, self._child_exited, pidfd, pid, transport)
                return
        waiter = _threading.Thread(
            target=self._wait_child_in_thread,
            args=(pid, transport),
            name=f"aioeventlet-waitpid-{pid}",
            daemon=True,
        )
        waiter.start()

    def _child_exited(self, pidfd: int, pid: int, transport: Any) -> None:
        # The pidfd is readable: the child has exited (and is not reaped yet,
        # unless someone else did it).
        try:
            got, status = _os.waitpid(pid, _os.WNOHANG)
        except ChildProcessError:
            got, status = pid, None
        if got == 0:  # pragma: no cover - a readable pidfd means it exited
            return
        loop: Any = self
        loop.remove_reader(pidfd)
        del self._child_pidfds[pidfd]
        _os.close(pidfd)
        transport._process_exited(_exit_code(pid, transport, status))

    def _wait_child_in_thread(self, pid: int, transport: Any) -> None:
        # Runs in a real OS thread: blocking here blocks no greenthread.
        status: int | None
        try:
            _, status = _os.waitpid(pid, 0)
        except ChildProcessError:
            status = None
        loop: Any = self
        if not loop.is_closed():
            # The loop may close between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(
                    self._child_exited_in_thread, pid, transport, status
                )

    def _child_exited_in_thread(
        self, pid: int, transport: Any, status: int | None
    ) -> None:
        transport._process_exited(_exit_code(pid, transport, status))

    def close(self) -> None:
        super().close()  # type: ignore[misc]
        # The selector dropped their listeners; the children outlive the
        # loop (as with asyncio), their pidfds do not.
        pidfds = getattr(self, "_child_pidfds", None)
        if pidfds:
            for pidfd in list(pidfds):
                _os.close(pidfd)
            pidfds.clear()
