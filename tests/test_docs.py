"""The testing recipes (docs/testing/) do what the testing page says: the part
of the documentation's tests that needs pytest-asyncio and anyio, so it runs in
``nox -s docs`` (which installs the ``docs`` dependency group); the rest, which needs
nothing more, is tests/test_docs_code.py and runs on every Python.

* the pytest-asyncio recipes make its tests run on aioeventlet: the loop
  factory hook, the same hook with two factories (each test on both loops, and
  ``loop_factories=`` to pick one), and the ``event_loop_policy`` fixture of
  older versions, which the installed one still honours with a deprecation
  warning;
* the anyio recipe makes anyio's pytest plugin run on aioeventlet;
* the ``--aioeventlet`` plugin does both;
* control runs show the sample tests fail on the stock loop without a
  recipe, and a probe shows the two-factory recipe's ``[asyncio]`` runs are
  on the stock loop.

Each recipe runs in a fresh directory through ``pytest`` in a subprocess, with
only the plugins named, so this run itself does not load pytest-asyncio.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .test_docs_code import DOCS, PLAIN_INI, passed, run_python

# -- testing recipes: pytest-asyncio, anyio, the plugin -----------------------------

PYTEST_ASYNCIO_INI = """\
[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


def run_pytest(
    tmp_path: Path,
    test_file: str,
    *,
    plugins: list[str],
    conftest: str | None = None,
    ini: str = PLAIN_INI,
    args: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """pytest on one sample test of docs/testing, in a fresh directory, with
    exactly the plugins named (no others autoloaded)."""
    shutil.copy(DOCS / "testing" / test_file, tmp_path / test_file)
    if conftest is not None:
        shutil.copy(DOCS / "testing" / conftest, tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text(ini)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    plugin_args = [arg for plugin in plugins for arg in ("-p", plugin)]
    return run_python(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *plugin_args,
        *args,
        test_file,
        cwd=tmp_path,
        env=env,
    )


def needs(module: str) -> ModuleType:
    # Installed by `nox -s docs` (the docs dependency group), which runs these tests.
    found: ModuleType = pytest.importorskip(
        module, reason=f"{module} is in the docs dependency group"
    )
    return found


def failed_on_stock_loop(result: subprocess.CompletedProcess[str]) -> bool:
    return (
        result.returncode == 1
        and "1 failed" in result.stdout
        and "isinstance" in result.stdout
    )


def test_pytest_asyncio_conftest_recipe(tmp_path: Path) -> None:
    needs("pytest_asyncio")
    result = run_pytest(
        tmp_path,
        "test_with_pytest_asyncio.py",
        plugins=["pytest_asyncio.plugin"],
        conftest="conftest_pytest_asyncio.py",
        ini=PYTEST_ASYNCIO_INI,
    )
    assert passed(result), result.stdout + result.stderr


@pytest.mark.parametrize(
    ("plugins", "args", "ini"),
    [
        (["aioeventlet.pytest_plugin"], ("--aioeventlet",), PYTEST_ASYNCIO_INI),
        (
            ["aioeventlet.pytest_plugin"],
            (),
            PYTEST_ASYNCIO_INI + "aioeventlet = true\n",
        ),
    ],
    ids=["option", "ini"],
)
def test_pytest_asyncio_with_the_plugin(
    tmp_path: Path, plugins: list[str], args: tuple[str, ...], ini: str
) -> None:
    needs("pytest_asyncio")
    result = run_pytest(
        tmp_path,
        "test_with_pytest_asyncio.py",
        plugins=["pytest_asyncio.plugin", *plugins],
        ini=ini,
        args=args,
    )
    assert passed(result), result.stdout + result.stderr


@pytest.mark.parametrize(
    "plugins", [[], ["aioeventlet.pytest_plugin"]], ids=["no-plugin", "inert-plugin"]
)
def test_pytest_asyncio_control_runs_on_stock_loop(
    tmp_path: Path, plugins: list[str]
) -> None:
    """Without the recipe (or with the plugin installed but not enabled), the
    same test runs on the stock loop and fails: the recipes are what works."""
    needs("pytest_asyncio")
    result = run_pytest(
        tmp_path,
        "test_with_pytest_asyncio.py",
        plugins=["pytest_asyncio.plugin", *plugins],
        ini=PYTEST_ASYNCIO_INI,
    )
    assert failed_on_stock_loop(result), result.stdout + result.stderr


# Run next to the two-factory recipe: each test's loop is the one its id names,
# so the [asyncio] runs are on the stock loop and not on aioeventlet twice.
LOOP_PROBE = """\
import asyncio

import aioeventlet
import pytest

EXPECTED = {"asyncio": asyncio.SelectorEventLoop, "aioeventlet": aioeventlet.EventLoop}


@pytest.mark.asyncio
async def test_loop_is_the_named_one(request):
    assert type(asyncio.get_running_loop()) is EXPECTED[request.node.callspec.id]
"""


def test_pytest_asyncio_both_loops_recipe(tmp_path: Path) -> None:
    needs("pytest_asyncio")
    (tmp_path / "test_loop_probe.py").write_text(LOOP_PROBE)
    result = run_pytest(
        tmp_path,
        "test_on_both_loops.py",
        plugins=["pytest_asyncio.plugin"],
        conftest="conftest_both_loops.py",
        ini=PYTEST_ASYNCIO_INI,
        args=("-rA", "test_loop_probe.py"),
    )
    output = result.stdout + result.stderr
    assert passed(result, 5), output
    # -rA lists each passed test as "PASSED file::name[id]".  Each unmarked
    # test ran on both loops; the one whose marker picks aioeventlet ran once
    # (with one factory, pytest-asyncio leaves the id out), where on the stock
    # loop it would fail.
    passed_tests = {
        line.split("::", 1)[1]
        for line in result.stdout.splitlines()
        if line.startswith("PASSED ")
    }
    assert passed_tests == {
        "test_timeout_on_every_loop[asyncio]",
        "test_timeout_on_every_loop[aioeventlet]",
        "test_greenthreads_only_on_aioeventlet",
        "test_loop_is_the_named_one[asyncio]",
        "test_loop_is_the_named_one[aioeventlet]",
    }, output


POLICY_DEPRECATION = 'Overriding the "event_loop_policy" fixture is deprecated'


def test_pytest_asyncio_event_loop_policy_recipe(tmp_path: Path) -> None:
    """The older versions' fixture: the installed pytest-asyncio (1.4 or later,
    the docs dependency group) still honours it, and says it is deprecated."""
    needs("pytest_asyncio")
    # Shown, not an error: the warning is what this test checks for.
    ini = PYTEST_ASYNCIO_INI + (
        f"    default:{POLICY_DEPRECATION}:pytest.PytestDeprecationWarning\n"
    )
    result = run_pytest(
        tmp_path,
        "test_with_pytest_asyncio.py",
        plugins=["pytest_asyncio.plugin"],
        conftest="conftest_event_loop_policy.py",
        ini=ini,
    )
    assert passed(result), result.stdout + result.stderr
    assert POLICY_DEPRECATION in result.stdout, result.stdout + result.stderr


def test_anyio_conftest_recipe(tmp_path: Path) -> None:
    needs("anyio")
    result = run_pytest(
        tmp_path,
        "test_with_anyio.py",
        plugins=["anyio.pytest_plugin"],
        conftest="conftest_anyio.py",
    )
    assert passed(result), result.stdout + result.stderr


def test_anyio_control_runs_on_stock_loop(tmp_path: Path) -> None:
    needs("anyio")
    result = run_pytest(tmp_path, "test_with_anyio.py", plugins=["anyio.pytest_plugin"])
    assert failed_on_stock_loop(result), result.stdout + result.stderr


@pytest.mark.skipif(
    sys.version_info >= (3, 14), reason="policies are deprecated from 3.14"
)
def test_anyio_with_the_plugin(tmp_path: Path) -> None:
    needs("anyio")
    result = run_pytest(
        tmp_path,
        "test_with_anyio.py",
        plugins=["anyio.pytest_plugin", "aioeventlet.pytest_plugin"],
        args=("--aioeventlet",),
    )
    assert passed(result), result.stdout + result.stderr
