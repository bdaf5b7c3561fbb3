"""The documentation's code runs and says what the pages say it does: the part
that needs nothing beyond the test dependency group, so it runs in every
Python's ``tests`` session (tests/test_docs.py, run in ``nox -s docs``, has the testing
recipes, which need pytest-asyncio and anyio).

* the migration guide's steps (docs/migration/) each run and print the same
  greetings, on aioeventlet (steps 1-3), eventlet (step 0) and plain asyncio
  (step 4, also through ``python -m aioeventlet``);
* the front page's example and the quick start's snippets (docs/quickstart/)
  run, each version branch of runner.py on the Python that takes it;
* the ``--aioeventlet`` plugin covers ``asyncio.run()`` in synchronous tests,
  and its entry point is declared;
* the compatibility page's known-failures table is generated from the table
  the conformance run enforces;
* the index lists every page, and the changelog has an Unreleased section.

The Sphinx build itself runs in ``nox -s docs`` (warnings are errors there).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TIMEOUT = 60

GREETINGS = "hello Countess ada\nhello Dr alan\nhello Ms grace\n"
PLAIN_INI = "[pytest]\nfilterwarnings = error\n"


def run_python(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        env=env,
        check=False,
    )


def passed(result: subprocess.CompletedProcess[str], count: int = 1) -> bool:
    return result.returncode == 0 and f"{count} passed" in result.stdout


# -- the migration guide ----------------------------------------------------------

STEPS = sorted((DOCS / "migration").glob("step*.py"))


def test_migration_has_every_step() -> None:
    assert [p.name for p in STEPS] == [
        "step0_eventlet.py",
        "step1_run_on_aioeventlet.py",
        "step2_asyncio_lookup.py",
        "step3_asyncio_server.py",
        "step4_asyncio.py",
    ]
    page = (DOCS / "migration.md").read_text()
    for step in STEPS:
        assert f"migration/{step.name}" in page


@pytest.mark.parametrize("step", STEPS[1:], ids=lambda p: p.stem)
def test_migration_step_runs(step: Path) -> None:
    # -W error: from step 1 on, aioeventlet is imported first and nothing warns.
    result = run_python("-W", "error", str(step))
    assert result.returncode == 0, result.stderr
    assert result.stdout == GREETINGS
    assert result.stderr == ""


def test_migration_step0_is_plain_eventlet() -> None:
    assert "asyncio" not in STEPS[0].read_text()
    result = run_python(str(STEPS[0]))
    assert result.returncode == 0, result.stderr
    assert result.stdout == GREETINGS
    # Only eventlet's own deprecation notice may be printed.
    assert "Traceback" not in result.stderr


def test_migration_step4_needs_no_eventlet() -> None:
    """Step 4 runs with eventlet made unimportable: nothing green is left."""
    blocker = (
        "import sys; sys.modules['eventlet'] = None; "
        "sys.modules['aioeventlet'] = None; "
        f"import runpy; runpy.run_path({str(STEPS[4])!r}, run_name='__main__')"
    )
    result = run_python("-W", "error", "-c", blocker)
    assert result.returncode == 0, result.stderr
    assert result.stdout == GREETINGS


@pytest.mark.parametrize(
    ("options", "step"),
    [([], STEPS[4]), (["--monkey-patch"], STEPS[0])],
    ids=["asyncio-program", "eventlet-program-patched"],
)
def test_unchanged_programs_run_under_the_cli(options: list[str], step: Path) -> None:
    result = run_python("-m", "aioeventlet", *options, str(step))
    assert result.returncode == 0, result.stderr
    assert result.stdout == GREETINGS


# -- the README and the quick start ------------------------------------------------


@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_front_page_example_runs(page: str, tmp_path: Path) -> None:
    text = (ROOT / page).read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(example)
    result = run_python("-W", "error", str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "3\n"


def test_quickstart_run() -> None:
    result = run_python("-W", "error", str(DOCS / "quickstart" / "run.py"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "['async 0', 'async 1', 'async 2', 'green 0', 'green 1', 'green 2']\n"
    )


def test_quickstart_runner() -> None:
    result = run_python("-W", "error", str(DOCS / "quickstart" / "runner.py"))
    assert result.returncode == 0, result.stderr
    # asyncio.run(loop_factory=) from 3.12, Runner from 3.11, the manual loop.
    expected = 1 + (sys.version_info >= (3, 11)) + (sys.version_info >= (3, 12))
    assert result.stdout.split() == ["EventLoop"] * expected


def test_quickstart_policy() -> None:
    result = run_python("-W", "error", str(DOCS / "quickstart" / "policy.py"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "EventLoop\n"


# -- the --aioeventlet plugin, without pytest-asyncio or anyio -----------------


@pytest.mark.skipif(
    sys.version_info >= (3, 14), reason="policies are deprecated from 3.14"
)
def test_plugin_covers_asyncio_run_in_sync_tests(tmp_path: Path) -> None:
    (tmp_path / "test_sync.py").write_text(
        "import asyncio\n\nimport aioeventlet\n\n\n"
        "async def kind():\n"
        "    return type(asyncio.get_running_loop())\n\n\n"
        "def test_asyncio_run():\n"
        "    assert asyncio.run(kind()) is aioeventlet.EventLoop\n"
    )
    (tmp_path / "pytest.ini").write_text(PLAIN_INI)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = run_python(
        "-m",
        "pytest",
        "-q",
        "-p",
        "aioeventlet.pytest_plugin",
        "--aioeventlet",
        "test_sync.py",
        cwd=tmp_path,
        env=env,
    )
    assert passed(result), result.stdout + result.stderr


def test_plugin_entry_point_is_declared() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert (
        '[project.entry-points.pytest11]\naioeventlet = "aioeventlet.pytest_plugin"'
        in (pyproject)
    )
    installed = {
        ep.name: ep.value
        for ep in importlib.metadata.entry_points(group="pytest11")
        if ep.dist is not None and ep.dist.name == "aioeventlet"
    }
    assert installed == {"aioeventlet": "aioeventlet.pytest_plugin"}, (
        "reinstall the package (pip install -e .) to register the entry point"
    )


# -- the generated known-failures table --------------------------------------------


def load_extension() -> Any:
    path = DOCS / "_ext" / "known_failures_table.py"
    spec = importlib.util.spec_from_file_location("known_failures_table", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_known_failures_page_reads_the_enforced_table() -> None:
    ext = load_extension()
    table = ext.load_table()
    # The table the conformance run checks against, loaded on its own.
    enforced = load_table_module().KNOWN_FAILURES
    assert ext.rows(table) == ext.rows(enforced)
    assert len(ext.rows(table)) == len(table)
    assert "{known-failures}" in (DOCS / "compatibility.md").read_text()


def test_known_failures_rendering() -> None:
    ext = load_extension()
    known = load_table_module()
    table = {
        "test_b.T.test_x": known.Known("needs a fix", pythons=("3.10",)),
        "test_a.T.test_y": known.Known(
            "harness breaks", cause="harness", modes=("patched",)
        ),
    }
    assert ext.rows(table) == [
        ("test_a.T.test_y", "all", "patched", "harness", "harness breaks"),
        ("test_b.T.test_x", "3.10", "all", "ours", "needs a fix"),
    ]
    table["test_c.T.test_z"] = known.Known("needs a fix", pythons=("3.10",))
    assert ext.groups(table) == [
        (("harness", "all", "patched", "harness breaks"), ["test_a.T.test_y"]),
        (
            ("ours", "3.10", "all", "needs a fix"),
            ["test_b.T.test_x", "test_c.T.test_z"],
        ),
    ]
    del table["test_c.T.test_z"]
    assert ext.summary(table) == "2 tests are known to fail: 1 harness, 1 ours."
    assert ext.summary({}).startswith("The table is empty")
    # Causes are explained from the table module's own docstring.
    causes = ext.load_causes()
    assert causes["ours"].startswith("a difference in aioeventlet's loop")
    assert ext.cause_items(table, causes) == [
        ("harness", causes["harness"].replace("``", "")),
        ("ours", causes["ours"]),
    ]
    assert "``" not in ext.cause_items(table, causes)[0][1]


def load_table_module() -> Any:
    path = ROOT / "tests" / "cpython" / "known_failures.py"
    spec = importlib.util.spec_from_file_location("_kf_for_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_kf_for_test"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["_kf_for_test"]
    return module


# -- the site's pages ---------------------------------------------------------------

PAGES = [
    "overview",
    "quickstart",
    "cli",
    "how-it-works",
    "bridges",
    "migration",
    "gunicorn",
    "testing",
    "compatibility",
    "conformance",
    "performance",
    "reliability",
    "api",
    "changelog",
]


def test_index_lists_every_page() -> None:
    index = (DOCS / "index.md").read_text()
    toctree_entries = [
        line.strip()
        for block in index.split("```{toctree}")[1:]
        for line in block.split("```")[0].splitlines()
        if line.strip() and not line.startswith(":")
    ]
    assert sorted(toctree_entries) == sorted(PAGES)


def test_changelog_has_an_unreleased_section() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog\n")
    assert "\n## Unreleased\n" in changelog
    assert "../CHANGELOG.md" in (DOCS / "changelog.md").read_text()
