"""The one table of CPython test_asyncio tests that do not pass on aioeventlet.

Keys are test ids without the ``test.test_asyncio.`` prefix, as the run prints
them.  Each entry says why the test fails and where (Python versions, modes:
"plain", "patched"); a test not listed that fails, or a listed test that
passes, fails the run (strict, like ``xfail_strict``), so fixes surface and
the table only shrinks.  The one exception is an entry marked ``flaky``: a
race in the test itself, shown with its evidence, decides the outcome, so
either outcome is accepted (and a pass counts as a pass).

``cause`` is one of:

* ``"ours"``: a difference in aioeventlet's loop; to be fixed in the core.
* ``"harness"``: only under ``eventlet.monkey_patch()``, and the test harness,
  not the loop, is what patching breaks; stock asyncio fails the test the same
  way under the same patching (checked by the run).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KNOWN_FAILURES", "Known", "applies"]


@dataclass(frozen=True)
class Known:
    reason: str
    cause: str = "ours"
    # None: every version / mode; otherwise the ones where the test fails.
    pythons: tuple[str, ...] | None = None
    modes: tuple[str, ...] | None = None
    # True: a race in the test decides whether it passes; both are accepted.
    flaky: bool = False


def applies(entry: Known, python: str, mode: str) -> bool:
    return (entry.pythons is None or python in entry.pythons) and (
        entry.modes is None or mode in entry.modes
    )


_PATCHED = ("patched",)


def _patched(reason: str, cause: str = "harness") -> Known:
    return Known(reason, cause=cause, modes=_PATCHED)


_TLS_SERVER_THREAD = _patched(
    "the test's TLS server runs in a threading.Thread, which patching turns "
    "into a greenthread; it then blocks the whole OS thread in a socket call "
    "(the watchdog's stack ends in TestSocketWrapper.recv_all / the server's "
    "handshake), so no loop runs; stock asyncio hangs or errors the same way"
)
_MAIN_THREAD_CHECK = _patched(
    "asyncio's policy only creates (or attaches a child watcher to) the loop "
    "when threading.current_thread() is threading.main_thread(); patched, "
    "current_thread() answers a greenthread object, so get_event_loop() "
    "raises 'There is no current event loop'; stock asyncio fails the same way"
)
_INTERRUPT_MAIN = _patched(
    "the test calls _thread.interrupt_main() from a loop callback to simulate "
    "Ctrl-C; patched, that is eventlet's green interrupt_main, which raises "
    "KeyboardInterrupt at once in the calling greenlet (or throws it into its "
    "parent) instead of raising SIGINT, so asyncio.Runner's SIGINT handler "
    "never runs and the task is not cancelled (test_asyncio_run_without_uncancel "
    "ends the test process); stock asyncio fails the same way"
)
_GREEN_GETNAMEINFO = _patched(
    "the test itself calls socket.getnameinfo() on an IPv6 address; patched, "
    "that is eventlet's greendns.getnameinfo, which cannot unpack the 4-tuple "
    "(ValueError, re-raised as gaierror EAI_NONAME); stock asyncio fails the "
    "same way"
)
_FORK_SIGNALS = Known(
    "a race in the test under patching, not in any loop: the forked child "
    "(plain eventlet code, no loop runs in it) sleeps in time.sleep(), which "
    "patching makes green, so it waits in the child's hub; its SIGTERM "
    "handler calls Manager.Event.set(), a green socket call, and when the "
    "signal lands while the hub greenlet runs, eventlet raises 'RuntimeError: "
    "do not call blocking functions from the mainloop' in the child (seen in "
    "the child's stderr), the event is never set, and the parent's "
    "assertTrue(child_handled.is_set()) fails after 30 s.  When the signal "
    "lands before the child reaches the hub, the test passes.  Stock asyncio "
    "under patching fails and passes the same way; both outcomes were seen "
    "for both loops",
    cause="harness",
    pythons=("3.12", "3.13"),
    modes=_PATCHED,
    flaky=True,
)


def _each(ids: list[str], entry: Known) -> dict[str, Known]:
    return dict.fromkeys(ids, entry)


KNOWN_FAILURES: dict[str, Known] = {
    **_each(
        [
            f"test_ssl.TestSSL.{test}"
            for test in (
                "test_create_connection_ssl_slow_handshake",
                "test_remote_shutdown_receives_trailing_data",
                "test_shutdown_timeout_handler_not_set",
                "test_ssl_handshake_connection_lost",
                "test_ssl_handshake_timeout",
                "test_start_tls_client_buf_proto_1",
                "test_start_tls_client_reg_proto_1",
                "test_start_tls_slow_client_cancel",
            )
        ]
        + [
            f"test_sslproto.SelectorStartTLSTests.{test}"
            for test in (
                "test_create_connection_ssl_slow_handshake",
                "test_handshake_timeout",
                "test_start_tls_client_buf_proto_1",
                "test_start_tls_client_reg_proto_1",
                "test_start_tls_slow_client_cancel",
            )
        ],
        _TLS_SERVER_THREAD,
    ),
    **_each(
        [
            "test_events.TestCGetEventLoop.test_get_event_loop_new_process",
            "test_events.TestPyGetEventLoop.test_get_event_loop_new_process",
        ],
        Known(
            _MAIN_THREAD_CHECK.reason,
            cause="harness",
            pythons=("3.12", "3.13"),
            modes=_PATCHED,
        ),
    ),
    **_each(
        [
            "test_runners.RunTests.test_asyncio_run_without_uncancel",
            "test_runners.RunnerTests.test_interrupt_call_soon",
            "test_runners.RunnerTests.test_interrupt_cancelled_task",
            "test_runners.RunnerTests.test_interrupt_wait",
            "test_runners.RunnerTests.test_signal_install_not_supported_ok",
        ],
        _INTERRUPT_MAIN,
    ),
    "test_events.EventLoopTests.test_create_datagram_endpoint_ipv6": (
        _GREEN_GETNAMEINFO
    ),
    "test_unix_events.TestFork.test_fork_signal_handling": _FORK_SIGNALS,
}
