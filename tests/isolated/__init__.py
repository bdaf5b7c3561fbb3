"""Programs run in a fresh interpreter each (they may call eventlet.monkey_patch()).

Every program takes the patching mode as its first argument:

* ``plain``: eventlet is never monkey-patched;
* ``before``: ``eventlet.monkey_patch()`` runs before asyncio and aioeventlet
  are imported (the usual eventlet program);
* ``after``: it runs after both were imported.

Each prints ``name=value`` lines that the pytest test running it checks; the
programs run under ``python -W error``, so anything that warns fails them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ALL_MODES = ("plain", "before", "after")
# The test matrix (noxfile.py) runs the plain and the patched modes in
# separate cells: AIOEVENTLET_PATCH_MODES=plain or before,after.
MODES = tuple(
    mode
    for mode in os.environ.get("AIOEVENTLET_PATCH_MODES", ",".join(ALL_MODES)).split(
        ","
    )
    if mode
)
if not set(MODES) <= set(ALL_MODES):
    raise ValueError(
        f"AIOEVENTLET_PATCH_MODES={','.join(MODES)}: each mode must be one of "
        f"{', '.join(ALL_MODES)}"
    )


def run_isolated(
    name: str, mode: str, *args: str, timeout: float = 60, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """Run tests/isolated/<name>.py in a fresh interpreter; returns the result."""
    return subprocess.run(
        [sys.executable, "-W", "error", os.path.join(HERE, f"{name}.py"), mode, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **popen,
    )


def results(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The ``name=value`` lines a program printed; fails on a non-zero exit
    or on anything written to stderr (a warning, an ignored exception)."""
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.stderr == "", proc.stderr
    found = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key] = value
    return found
