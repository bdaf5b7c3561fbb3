"""The benchmark scripts keep working: every workload runs (``--quick`` sizes)
on stock asyncio, aioeventlet and plain eventlet where it has an equivalent,
and reports sane numbers.  No duration or ratio is asserted: timings belong
to ``benchmarks/run.py`` on a quiet machine, not to the test suite."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
sys.path.insert(0, str(RUN.parent))
import run as bench_run  # noqa: E402

LOOPS = ("asyncio", "aioeventlet", "eventlet")


@pytest.mark.parametrize("bench", bench_run.BENCHES, ids=lambda b: b.name)
def test_workload_runs_and_reports_sane_numbers(
    bench: bench_run.Bench, tmp_path: Path
) -> None:
    out = tmp_path / "results.json"
    loop_args = [a for kind in LOOPS for a in ("--loop", kind)]
    proc = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--quick",
            "-b",
            bench.name,
            *loop_args,
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    raw = json.loads(out.read_text())
    cells = raw["results"][bench.name]
    expected = {kind for kind in LOOPS if kind in bench.loops}
    assert set(cells) == expected
    for kind, runs in cells.items():
        assert len(runs) == 1, kind
        data = runs[0]
        assert data["ops"] > 0, (kind, data)
        if bench.is_memory:
            # Some bytes per connection or task, and far less than a megabyte.
            assert 0 < data["bytes_per"] < 1_000_000, (kind, data)
            continue
        assert data["cpu"] > 0, (kind, data)
        assert data["wall"] > 0, (kind, data)
        assert math.isfinite(data["ops"] / data["cpu"]), (kind, data)
        if "p50_us" in data:
            assert 0 < data["p50_us"] <= data["p99_us"], (kind, data)
    # The table renders every loop that ran, with a ratio where asyncio ran.
    table = proc.stdout
    assert bench.title in table
    for kind in expected:
        assert f"| {kind} |" in table
    if "asyncio" in expected:
        assert "| 1.00x |" in table
