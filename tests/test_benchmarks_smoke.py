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
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
sys.path.insert(0, str(RUN.parent))
import run as bench_run  # noqa: E402

LOOPS = ("asyncio", "aioeventlet", "eventlet", "asyncio_hub")


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


def _saved_run(path: Path, commit: str, date: str, results: dict[str, Any]) -> Path:
    machine = {
        "nproc": "2",
        "python": "3.12.1",
        "cpu": "Test CPU",
        "eventlet": "0.41.3",
        "greenlet": "3.5.6",
        "uvloop": "not installed",
        "kernel": "6.0",
        "date": date,
        "commit": commit,
    }
    path.write_text(
        json.dumps({"machine": machine, "reps": 5, "quick": False, "results": results})
    )
    return path


def test_render_names_the_benchmarks_a_later_run_replaced(tmp_path: Path) -> None:
    # A partial re-run rendered over a full run must not pass the whole table
    # off as measured at the re-run's commit.
    def run(ops: int) -> dict[str, Any]:
        return {"ops": ops, "cpu": 1.0, "wall": 1.0}

    full = _saved_run(
        tmp_path / "full.json",
        "aaaaaaa",
        "2026-11-25 20:00 UTC",
        {
            "callsoon": {"asyncio": [run(100)], "aioeventlet": [run(99)]},
            "wrap_greenthread": {"aioeventlet": [run(10)]},
        },
    )
    rerun = _saved_run(
        tmp_path / "rerun.json",
        "bbbbbbb",
        "2026-11-26 05:00 UTC",
        {"wrap_greenthread": {"aioeventlet": [run(20)], "asyncio_hub": [run(15)]}},
    )
    [section] = bench_run.render([full, rerun])
    assert list(section.results) == ["callsoon", "wrap_greenthread"]
    assert section.results["callsoon"]["aioeventlet"].median("rate") == 99
    assert section.results["wrap_greenthread"]["aioeventlet"].median("rate") == 20
    block = bench_run._block(section)
    assert "Measured 2026-11-25 20:00 UTC at commit `aaaaaaa`" in block
    assert (
        "Re-measured 2026-11-26 05:00 UTC at commit `bbbbbbb` (5 repetitions): "
        "wrap_greenthread round trips." in block
    )
    assert "| asyncio_hub |" in block
