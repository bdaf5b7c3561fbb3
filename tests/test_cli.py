"""``python -m aioeventlet``: scripts, modules, options, usage errors, the REPL.

Each run is a fresh interpreter under ``-W error`` (the CLI may monkey-patch,
and nothing the library does may warn).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import aioeventlet
from aioeventlet import _cli

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30


def run_cli(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("PYTHONASYNCIODEBUG", None)
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "aioeventlet", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        env=env,
        check=False,
    )


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


# A script that reports which loop its own asyncio.run() got, its argv, and
# whether a greenthread ran while it awaited.
REPORT_LOOP = """\
    import asyncio
    import sys

    import eventlet


    async def main():
        ran = []
        eventlet.spawn(ran.append, "green")
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        print(type(loop).__module__, type(loop).__name__, ran, sys.argv[1:])
        print("debug", loop.get_debug())


    asyncio.run(main())
    """


# -- help and usage errors --------------------------------------------------------


def test_help_documents_every_option() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("usage: python -m aioeventlet")
    for option in ("--monkey-patch", "--debug", "-m module", "script", "REPL"):
        assert option in out


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"aioeventlet {aioeventlet.__version__}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["-m"], "argument -m: expected one argument"),
        (["no_such_script.py"], "can't open file 'no_such_script.py': no such file"),
        # The options combined with a missing or broken target.
        (
            ["--monkey-patch", "no_such_script.py"],
            "can't open file 'no_such_script.py': no such file",
        ),
        (
            ["--debug", "no_such_script.py"],
            "can't open file 'no_such_script.py': no such file",
        ),
        (["--monkey-patch", "--debug", "-m"], "argument -m: expected one argument"),
        # An option where the module name belongs is not taken as one.
        (["-m", "--debug"], "argument -m: expected one argument"),
        # Unknown options before the target are ours to refuse.
        (["--bogus", "app.py"], "unrecognized arguments: --bogus"),
        (["--debug", "-x", "app.py"], "unrecognized arguments: -x"),
        # Flags take no value.
        (["--debug=1", "app.py"], "argument --debug: ignored explicit argument '1'"),
        (
            ["--monkey-patch=yes", "app.py"],
            "argument --monkey-patch: ignored explicit argument 'yes'",
        ),
    ],
)
def test_bad_arguments_are_usage_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    # app.py exists: only the arguments are wrong.
    write(tmp_path / "app.py", REPORT_LOOP)
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: python -m aioeventlet")
    # argparse's format: the usage, then one line that names the problem.
    assert result.stderr.splitlines()[-1] == f"python -m aioeventlet: error: {message}"
    assert result.stdout == ""


@pytest.mark.parametrize(
    "options", [["--monkey-patch"], ["--debug"], ["--monkey-patch", "--debug"]]
)
def test_options_with_a_missing_module_fail_as_python_m_does(
    tmp_path: Path, options: list[str]
) -> None:
    """The options change nothing about a missing module: status 1 and one
    line, before anything is patched or run."""
    ours = run_cli(*options, "-m", "no_such_module_xyz", cwd=tmp_path)
    assert ours.returncode == 1
    assert ours.stderr == "python -m aioeventlet: No module named no_such_module_xyz\n"
    assert ours.stdout == ""


def test_unknown_options_after_the_target_are_the_targets(tmp_path: Path) -> None:
    """After the script, every argument is the script's, ours included: none
    is parsed (or refused) by python -m aioeventlet, as with python."""
    script = write(tmp_path / "app.py", REPORT_LOOP)
    result = run_cli(str(script), "--bogus", "-x", "--debug", "--monkey-patch=yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "aioeventlet EventLoop ['green'] "
        "['--bogus', '-x', '--debug', '--monkey-patch=yes']",
        # --debug after the script was the script's, not ours.
        "debug False",
    ]
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module_xyz", "No module named no_such_module_xyz"),
        ("pkg", "No module named pkg.__main__; 'pkg' is a package and cannot"),
        ("pkg.missing", "No module named pkg.missing"),
    ],
)
def test_missing_module_fails_as_python_m_does(
    tmp_path: Path, target: str, message: str
) -> None:
    """Status 1 and one line, as `python -m` gives (not a usage error)."""
    write(tmp_path / "pkg" / "__init__.py", "")
    ours = run_cli("-m", target, cwd=tmp_path)
    python = subprocess.run(
        [sys.executable, "-m", target],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=tmp_path,
        check=False,
    )
    assert ours.returncode == python.returncode == 1
    assert ours.stderr.startswith(f"python -m aioeventlet: {message}")
    assert ours.stderr.count("\n") == 1
    assert message in python.stderr
    assert ours.stdout == ""


# -- running a script or a module -------------------------------------------------


def test_script_runs_on_aioeventlet_with_its_arguments(tmp_path: Path) -> None:
    script = write(tmp_path / "app.py", REPORT_LOOP)
    result = run_cli(str(script), "--port", "1", "-m", "x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "aioeventlet EventLoop ['green'] ['--port', '1', '-m', 'x']",
        "debug False",
    ]
    assert result.stderr == ""


def test_script_imports_next_to_itself_and_exit_status(tmp_path: Path) -> None:
    write(tmp_path / "app" / "helper.py", "ANSWER = 42\n")
    script = write(
        tmp_path / "app" / "main.py",
        """\
        import sys
        import helper
        print(__name__, helper.ANSWER)
        sys.exit(3)
        """,
    )
    result = run_cli(str(script))
    assert result.stdout == "__main__ 42\n"
    assert result.returncode == 3


def test_module_runs_with_its_arguments(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "mod.py", REPORT_LOOP)
    result = run_cli("-m", "pkg.mod", "a", "--b", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "aioeventlet EventLoop ['green'] ['a', '--b']"
    )


def test_runner_and_new_event_loop_get_aioeventlet(tmp_path: Path) -> None:
    script = write(
        tmp_path / "app.py",
        """\
        import asyncio
        import sys

        loop = asyncio.new_event_loop()
        print(type(loop).__name__)
        loop.close()
        if sys.version_info >= (3, 11):
            with asyncio.Runner() as runner:
                print(type(runner.get_loop()).__name__)
        else:
            print("EventLoop")
        """,
    )
    result = run_cli(str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["EventLoop", "EventLoop"]


def test_uncaught_exception_exits_1_with_traceback(tmp_path: Path) -> None:
    script = write(
        tmp_path / "app.py",
        """\
        import asyncio

        async def main():
            raise LookupError("from the script")

        asyncio.run(main())
        """,
    )
    result = run_cli(str(script))
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith("LookupError: from the script")


def test_debug_option(tmp_path: Path) -> None:
    script = write(tmp_path / "app.py", REPORT_LOOP)
    result = run_cli("--debug", str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "debug True"


@pytest.mark.parametrize("patch", [True, False])
def test_monkey_patch_option(tmp_path: Path, patch: bool) -> None:
    script = write(
        tmp_path / "app.py",
        """\
        import asyncio
        import time

        import eventlet.patcher


        async def main():
            ticks = []

            def ticker():
                for i in range(3):
                    ticks.append(i)
                    time.sleep(0.01)  # green only when patched

            gt = eventlet.spawn(ticker)
            await asyncio.sleep(0)
            print(eventlet.patcher.is_monkey_patched("socket"), ticks)
            gt.wait()

        asyncio.run(main())
        """,
    )
    result = run_cli(*(["--monkey-patch"] if patch else []), str(script))
    assert result.returncode == 0, result.stderr
    # Patched, the ticker yields after its first tick; unpatched, time.sleep
    # blocks the whole thread and it runs to the end in one go.
    assert result.stdout == ("True [0]\n" if patch else "False [0, 1, 2]\n")


@pytest.mark.parametrize(
    ("example", "last_line"),
    [
        ("hello_world.py", "Hello World"),
        ("yield_future_progress.py", "1 + 2 = 3"),
        ("wrap_greenthread_progress.py", "1 + 2 = 3"),
        ("demo.py", None),
    ],
)
def test_examples_run_under_the_cli(example: str, last_line: str | None) -> None:
    """The repository's examples run unchanged through python -m aioeventlet."""
    result = run_cli(str(ROOT / "examples" / example))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    if last_line is not None:
        assert lines[-1] == last_line
    else:
        assert "[summary] 9 requests answered by greenthreads" in lines


# -- in-process: main() itself ----------------------------------------------------


def test_main_in_process_runs_a_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    policy = asyncio.get_event_loop_policy()
    script = write(
        tmp_path / "app.py",
        """\
        import asyncio
        import sys

        async def main():
            return type(asyncio.get_running_loop()).__name__

        print(asyncio.run(main()), sys.argv[1:], sys.path[0])
        """,
    )
    assert _cli.main([str(script), "x"]) is None
    assert capsys.readouterr().out == f"EventLoop ['x'] {tmp_path}\n"
    assert asyncio.get_event_loop_policy() is policy


def test_main_in_process_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _cli.main(["--bogus"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


# -- how the loop is chosen (in-process) ------------------------------------------


@pytest.mark.parametrize("mechanism", ["policy", "patch"])
def test_aioeventlet_loops_mechanisms_restore(mechanism: _cli.Mechanism) -> None:
    """Both ways of choosing the default loop work here and undo themselves;
    "patch" is the one Python 3.14+ uses (policies are deprecated there)."""
    before = (asyncio.get_event_loop_policy(), asyncio.new_event_loop)

    async def kind() -> str:
        return type(asyncio.get_running_loop()).__name__

    with _cli.aioeventlet_loops(mechanism):
        assert asyncio.run(kind()) == "EventLoop"
        loop = asyncio.new_event_loop()
        assert isinstance(loop, aioeventlet.EventLoop)
        loop.close()
    assert (asyncio.get_event_loop_policy(), asyncio.new_event_loop) == before
    stock = asyncio.new_event_loop()
    assert not isinstance(stock, aioeventlet.EventLoop)
    stock.close()


def test_split_target() -> None:
    split = _cli._split_target
    assert split(["--debug", "app.py", "--debug", "x"]) == (
        ["--debug", "app.py"],
        ["--debug", "x"],
    )
    assert split(["-m", "pkg", "-m", "y"]) == (["-m", "pkg"], ["-m", "y"])
    assert split(["-mpkg", "a"]) == (["-mpkg"], ["a"])
    assert split(["--", "-odd.py", "a"]) == (["--", "-odd.py"], ["a"])
    assert split(["--monkey-patch"]) == (["--monkey-patch"], [])


# -- the REPL ---------------------------------------------------------------------

GREEN_TICKS = """\
import eventlet
ticks = []
def ticker():
    for i in range(3):
        ticks.append(i)
        eventlet.sleep(0)

gt = eventlet.spawn(ticker)
await asyncio.sleep(0.1)
print("after await", ticks)
print("loop", type(asyncio.get_running_loop()).__name__)
"""


@pytest.mark.parametrize("patch", [False, True])
def test_repl_awaits_and_greenthreads_run(patch: bool) -> None:
    result = run_cli(*(["--monkey-patch"] if patch else []), stdin=GREEN_TICKS)
    assert result.returncode == 0, result.stderr
    printed = [line.lstrip(">. ") for line in result.stdout.splitlines()]
    assert [line for line in printed if line] == [
        "after await [0, 1, 2]",
        "loop EventLoop",
    ]
    assert "aioeventlet REPL" in result.stderr
    assert result.stderr.rstrip().endswith("exiting aioeventlet REPL...")


def repl_process() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "aioeventlet"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def send(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def read_until(proc: subprocess.Popen[str], marker: str) -> str:
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + TIMEOUT
    while marker not in seen and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
    assert marker in seen, seen
    return seen


def test_repl_greenthreads_run_while_waiting_for_input() -> None:
    """No statement awaits anything: the greenthread progresses only because
    the loop is idle on the hub while the console waits for the next line."""
    proc = repl_process()
    try:
        send(proc, "import eventlet; ticks = []")
        send(
            proc,
            "def ticker():\n    for i in range(3):\n"
            "        ticks.append(i); eventlet.sleep(0)\n",
        )
        send(proc, "gt = eventlet.spawn(ticker)")
        for _ in range(100):
            send(proc, "print('ticks', len(ticks), flush=True)")
            if "ticks 3" in read_until(proc, "ticks"):
                break
        else:
            pytest.fail("the greenthread never ran while the REPL waited")
        _, err = proc.communicate("", timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err


def test_repl_shows_user_tracebacks_and_keeps_going() -> None:
    source = "async def boom():\n    raise KeyError('k')\n\nawait boom()\n1/0\n6*7\n"
    result = run_cli(stdin=source)
    assert result.returncode == 0, result.stderr
    tracebacks = result.stderr.split("Traceback (most recent call last):\n")[1:]
    assert len(tracebacks) == 2
    # The traceback starts at the user's code, not at the REPL machinery.
    assert tracebacks[0].startswith('  File "<stdin>", line 1, in <module>')
    assert "KeyError: 'k'\n" in tracebacks[0]
    assert "asyncio" not in tracebacks[0]
    assert "ZeroDivisionError: division by zero\n" in tracebacks[1]
    assert "42" in result.stdout.split()


def test_repl_exit_status() -> None:
    result = run_cli(stdin="raise SystemExit(5)\nprint('not reached')\n")
    assert result.returncode == 5
    assert "not reached" not in result.stdout


def test_repl_ctrl_c_cancels_the_awaited_statement() -> None:
    proc = repl_process()
    try:
        send(proc, "print('sleeping', flush=True); await asyncio.sleep(30)")
        read_until(proc, "sleeping")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate("print('still here')\n", timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "\nKeyboardInterrupt\n" in err
    assert "still here" in out
