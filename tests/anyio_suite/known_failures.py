"""anyio test-suite tests that pass on stock asyncio but not on aioeventlet.

Keys are test ids as ``run.py`` prints them (the pytest node id without
anyio's ``tests/`` prefix).  Each entry says why the test fails, whether a
user can meet the failure outside anyio's test harness, and where (Python
versions).  A failure not listed fails the run, and so does a listed test
that passes (strict), so the table only shrinks.

Tests that fail on stock asyncio too (this machine has no IPv6 address for
"localhost", say) are not listed here: the run reports them apart, as the
environment's.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KNOWN_FAILURES", "Known", "applies"]


@dataclass(frozen=True)
class Known:
    reason: str
    # Whether a program using anyio on aioeventlet, outside anyio's test
    # harness, can meet the failure; the reason says how or why not.
    outside_harness: bool
    # None: every Python; otherwise the versions ("3.12") where it fails.
    pythons: tuple[str, ...] | None = None
    # It crashes the test process (not always: a race decides): the whole
    # run leaves it out, and runs it once alone; either outcome is accepted.
    crashes: bool = False


def applies(entry: Known, python: str) -> bool:
    return entry.pythons is None or python in entry.pythons


_CURRENT_FRAMES_VS_SUBINTERPRETERS = Known(
    'The process aborts or segfaults ("free(): invalid pointer"), when '
    "it does not pass.  anyio's suite runs every test in asyncio's debug "
    "mode, and aioeventlet's debug mode watches for code that blocks the hub "
    "from a thread that samples the loop's stack with sys._current_frames(). "
    "On CPython 3.13 that call walks the threads of every interpreter and "
    "builds frame objects for a subinterpreter's frames too, here those of "
    "the worker thread that anyio.to_interpreter runs a subinterpreter in, "
    "which corrupts memory.  A CPython bug: one thread calling "
    "sys._current_frames() in a loop while another runs _interpreters.exec() "
    "crashes the same way, without aioeventlet or anyio.  Stock asyncio's "
    "debug mode has no such thread.  A user meets it with debug mode on and "
    "subinterpreters in use",
    outside_harness=True,
    pythons=("3.13",),
    crashes=True,
)

KNOWN_FAILURES: dict[str, Known] = dict.fromkeys(
    [
        "test_to_interpreter.py::test_run_sync[asyncio]",
        "test_to_interpreter.py::test_args_kwargs[asyncio]",
        "test_to_interpreter.py::test_exception[asyncio]",
    ],
    _CURRENT_FRAMES_VS_SUBINTERPRETERS,
)
