"""benchmarks/instructions.py: the arithmetic, the table, refusals and failures.

CI has no valgrind, so a fake one goes first on PATH: it logs how it was
called and writes a callgrind output file whose total grows with ``--size``
at a known slope per workload and loop, so every figure of the table is
known exactly.  The runs without valgrind (the check for a refused pair) are
real runs of ``workloads.py``, kept short.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import instructions  # noqa: E402
import run as bench_run  # noqa: E402
import workloads  # noqa: E402

# Instructions per --size unit, and operations per --size unit: the fake
# reports 2 operations per unit of sleep0, so a figure divided by --size
# instead of by the operations the worker reports would be off by 2.
SLOPES = {
    ("callsoon", "asyncio"): 16_400,
    ("callsoon", "aioeventlet"): 18_000,
    ("sleep0", "asyncio"): 18_000,
    ("sleep0", "aioeventlet"): 15_000,
    ("yield_future", "aioeventlet"): 70_000,
}
OPS_PER_SIZE = {"sleep0": 2}

FAKE_VALGRIND = """\
#!{python}
import json, os, sys

args = sys.argv[1:]
if args == ["--version"]:
    print("valgrind-9.9.9-fake")
    sys.exit(0)
names = ("PYTHONPATH", "PYTHONHASHSEED", "PYTHONDEVMODE")
env = {{name: os.environ.get(name) for name in names}}
with open({log!r}, "a") as f:
    f.write(json.dumps({{"args": args, "env": env}}) + "\\n")
if os.environ.get("FAKE_VALGRIND_FAIL"):
    print(os.environ["FAKE_VALGRIND_FAIL"], file=sys.stderr)
    sys.exit(1)
cmd = args[3:]
loop, workload, size = (
    cmd[cmd.index(option) + 1] for option in ("--loop", "--workload", "--size")
)
size = int(size)
total = 1000 + {slopes!r}[workload, loop] * size
# Fake summary for one loop, totals alone for the other: both are read.
key = "summary" if loop == "asyncio" else "totals"
out = args[2].removeprefix("--callgrind-out-file=")
with open(out, "w") as f:
    f.write(f"version: 1\\nevents: Ir\\n{{key}}: {{total}}\\n")
ops = {ops_per_size!r}.get(workload, 1) * size
print("RESULT " + json.dumps({{"ops": ops, "cpu": 0.1, "wall": 0.1}}))
"""


@pytest.fixture
def fake_valgrind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the fake valgrind first on PATH; returns its log (one JSON a call)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "valgrind.log"
    fake = bin_dir / "valgrind"
    fake.write_text(
        FAKE_VALGRIND.format(
            python=sys.executable,
            log=str(log),
            slopes=SLOPES,
            ops_per_size=OPS_PER_SIZE,
        )
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir), prepend=":")
    return log


def calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def python_wrapper(tmp_path: Path, body: str) -> Path:
    """A shell script to pass as --python: the command line is what it gets."""
    wrapper = tmp_path / "python-under-test"
    wrapper.write_text(f"#!/bin/sh\n{body}\n")
    wrapper.chmod(0o755)
    return wrapper


def test_figures_ratios_header_and_worker_commands(
    fake_valgrind: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONDEVMODE", "1")  # the workers run without it
    python = python_wrapper(tmp_path, f'exec {sys.executable} "$@"')
    argv = ["-w", "callsoon", "-w", "sleep0", "--loop", "asyncio"]
    argv += ["--loop", "aioeventlet", "--ops", "101", "--python", str(python)]
    assert instructions.main(argv) == 0
    out = capsys.readouterr().out
    commit = bench_run.git_commit()
    header, blank, *table = out.splitlines()
    assert header == (
        "Instructions per operation, callgrind (valgrind-9.9.9-fake): Python "
        f"{platform.python_version()}, eventlet {metadata.version('eventlet')}, "
        f"greenlet {metadata.version('greenlet')}, commit {commit}; a run of 101 "
        "operations minus a run of 1, over the operations in between."
    )
    assert blank == ""
    assert table == [
        "| workload | loop | instructions per operation | ratio to asyncio |",
        "|---|---|---|---|",
        "| callsoon | asyncio | 16,400 | 1.00x |",
        "|  | aioeventlet | 18,000 | 0.91x |",
        "| sleep0 | asyncio | 9,000 | 1.00x |",
        "|  | aioeventlet | 7,500 | 1.20x |",
    ]
    runs = calls(fake_valgrind)
    assert len(runs) == 8
    for call in runs:
        args = call["args"]
        assert args[:2] == ["-q", "--tool=callgrind"]
        assert args[3:5] == [str(python), str(bench_run.WORKER)]
        # Removed with the temporary directory.
        assert not Path(args[2].removeprefix("--callgrind-out-file=")).exists()
        assert call["env"] == {
            "PYTHONPATH": bench_run._env()["PYTHONPATH"],
            "PYTHONHASHSEED": "0",
            "PYTHONDEVMODE": None,
        }
    sizes = sorted((c["args"][6], c["args"][8], c["args"][10]) for c in runs)
    assert sizes == sorted(
        (loop, workload, size)
        for loop in ("aioeventlet", "asyncio")
        for workload in ("callsoon", "sleep0")
        for size in ("1", "101")
    )


def test_a_refused_pair_is_a_dash(
    fake_valgrind: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # workloads.py itself refuses yield_future on stock asyncio.
    argv = ["-w", "yield_future", "--loop", "asyncio", "--loop", "aioeventlet"]
    assert instructions.main([*argv, "--ops", "3"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-2:] == [
        "| yield_future | asyncio | - | - |",
        "|  | aioeventlet | 70,000 | - |",
    ]
    assert (
        "yield_future on asyncio: refused by workloads.py: "
        "yield_future exists on aioeventlet"
    ) in err
    # Only aioeventlet ran under valgrind.
    assert {c["args"][6] for c in calls(fake_valgrind)} == {"aioeventlet"}


def test_valgrind_failing_is_an_error_with_its_stderr(
    fake_valgrind: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # valgrind's own failures exit with 1 and one line, like a refusal.
    message = "valgrind: failed to start tool 'callgrind' for platform 'amd64-linux'"
    monkeypatch.setenv("FAKE_VALGRIND_FAIL", message)
    assert instructions.main(["-w", "callsoon", "--loop", "asyncio"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.endswith(
        f"callsoon on asyncio (--size 1) failed under valgrind (exit 1):\n{message}\n"
    )


def test_a_crashing_worker_is_an_error_with_its_stderr(
    fake_valgrind: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The versions probe (python -c ...) works; the worker raises.
    python = python_wrapper(
        tmp_path,
        f'[ "$1" = -c ] && exec {sys.executable} "$@"\n'
        f"exec {sys.executable} -c \"raise RuntimeError('worker crashed')\"",
    )
    argv = ["-w", "callsoon", "--loop", "asyncio", "--python", str(python)]
    assert instructions.main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "callsoon on asyncio failed (exit 1):\nTraceback" in err
    assert err.endswith("RuntimeError: worker crashed\n")
    assert not fake_valgrind.exists()  # stopped before valgrind


def test_no_valgrind_exits_2_and_says_how_to_install_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert instructions.main(["-w", "callsoon"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == instructions.NO_VALGRIND + "\n"
    assert "needs valgrind" in err
    assert "apt-get install valgrind" in err


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        (
            "1",
            "argument --ops: must be at least 2 (the run of 1 operation is "
            "subtracted), got 1",
        ),
        ("0", "got 0"),
        ("many", "argument --ops: expected an integer, got 'many'"),
    ],
)
def test_ops_below_2_is_a_usage_error(
    ops: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        instructions.main(["--ops", ops])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_loops_are_workloads_py_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        instructions.main(["--loop", "trio"])
    err = capsys.readouterr().err
    assert "invalid choice: 'trio'" in err
    for kind in workloads.KINDS:
        assert kind in err


def test_workloads_are_the_benchmarks_that_run_in_one_process() -> None:
    assert set(instructions.WORKLOADS) <= set(workloads.WORKLOADS)
    in_process = {
        b.workload for b in bench_run.BENCHES if not b.client and not b.is_memory
    }
    assert set(instructions.WORKLOADS) == in_process


@pytest.mark.parametrize(
    ("text", "total"),
    [
        ("events: Ir\nsummary: 123\ntotals: 123\n", 123),
        ("events: Ir\nfn=(1) main\n0 5\ntotals: 77\n", 77),
        ("events: Dr Ir\nsummary: 5 4000\n", 4000),
        ("summary: 9\n", 9),  # no events: line: Ir alone
    ],
)
def test_read_total(text: str, total: int, tmp_path: Path) -> None:
    path = tmp_path / "callgrind.out"
    path.write_text(text)
    assert instructions.read_total(path) == total


def test_read_total_without_a_total(tmp_path: Path) -> None:
    path = tmp_path / "callgrind.out"
    path.write_text("events: Ir\n")
    with pytest.raises(instructions.Failure, match="no summary: or totals: line"):
        instructions.read_total(path)


@pytest.mark.parametrize(
    ("returncode", "stderr", "reason"),
    [
        (
            1,
            "wrap_greenthread exists on aioeventlet only\n",
            "wrap_greenthread exists on aioeventlet only",
        ),
        (1, "Traceback (most recent call last):\n  ...\nValueError: x\n", None),
        (1, "", None),
        (2, "usage: workloads.py ...\nworkloads.py: error: ...\n", None),
        (-9, "", None),
    ],
)
def test_refusal(returncode: int, stderr: str, reason: str | None) -> None:
    assert instructions.refusal(returncode, stderr) == reason
