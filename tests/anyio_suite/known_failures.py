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


def applies(entry: Known, python: str) -> bool:
    return entry.pythons is None or python in entry.pythons


KNOWN_FAILURES: dict[str, Known] = {}
