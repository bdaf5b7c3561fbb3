"""pytest plugin loaded into anyio's own test suite by ``run.py``
(``-p aioeventlet_anyio_plugin``, with this directory on ``PYTHONPATH``).

It is a top-level module on purpose: anyio's tests are a package named
``tests`` too, and importing ours under that name would shadow theirs.

With ``--anyio-suite-loop=aioeventlet``, every ``anyio_backend`` that selects
the plain ``asyncio`` backend gets ``aioeventlet.new_event_loop`` as its loop
factory, the recipe of docs/testing.md; anyio's other options (``debug``) are
kept.  With ``--anyio-suite-loop=stock`` nothing changes: that run is the
oracle.  Either way only the tests parametrized with the plain asyncio
backend run: the trio, uvloop and eager-task variants are out of scope, and
tests that take no backend would run the same code in both runs.

``--anyio-suite-results=PATH`` writes one JSON object: test id -> outcome,
seconds, and for failures the end of the report.
"""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from collections.abc import Generator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

LOOP_OPTION = "--anyio-suite-loop"
RESULTS_OPTION = "--anyio-suite-results"
# How much of a failure's report is kept: enough for its exception and the
# frames that raised it.
DETAIL_CHARS = 3000


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aioeventlet anyio suite")
    group.addoption(
        LOOP_OPTION,
        choices=("stock", "aioeventlet"),
        required=True,
        help="the event loop anyio's asyncio backend runs on",
    )
    group.addoption(RESULTS_OPTION, help="write each test's outcome to this file")


def _is_plain_asyncio(backend: object) -> bool:
    """Whether an ``anyio_backend`` value selects asyncio with its default
    loop: not trio, and not a loop factory of anyio's (uvloop, eager tasks)."""
    if isinstance(backend, str):
        return backend == "asyncio"
    if isinstance(backend, tuple) and len(backend) == 2:
        name, options = backend
        return name == "asyncio" and "loop_factory" not in options
    return False


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    keep: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        if "anyio_backend" in params and _is_plain_asyncio(params["anyio_backend"]):
            keep.append(item)
        else:
            deselected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    value = yield
    if (
        fixturedef.argname != "anyio_backend"
        or request.config.getoption(LOOP_OPTION) != "aioeventlet"
        or not _is_plain_asyncio(value)
    ):
        return value
    options = {} if isinstance(value, str) else value[1]
    value = ("asyncio", {**options, "loop_factory": _new_event_loop})
    # Fixtures that depend on anyio_backend (anyio_backend_name,
    # anyio_backend_options, the plugin's runner) read the cached value, not
    # this hook's result: replace both.  The same works for a value given by
    # @pytest.mark.parametrize("anyio_backend", ...), which pytest sets up
    # through a fixture of that name too.
    assert fixturedef.cached_result is not None
    fixturedef.cached_result = (value, *fixturedef.cached_result[1:])
    return value


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    # After a test that failed, collect the garbage right after its fixtures
    # are torn down and before pytest looks for unraisable exceptions (its own
    # trylast hook, registered before this plugin, runs after this one).
    # Otherwise a socket that the failure leaked (anyio's IPv6 tests do when
    # "localhost" has no IPv6 address here) is reported as a ResourceWarning
    # by whichever later test the collector happens to run in: a different
    # test on each loop.  Only after failures: a full collection costs tens
    # of milliseconds, more as the suite goes on.
    if item.stash.get(_FAILED, False):
        gc.collect()


class Recorder:
    """Collects each test's outcome from its reports."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.results: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test_id = report.nodeid.removeprefix("tests/")
        result = self.results.setdefault(test_id, {"outcome": "pass", "seconds": 0.0})
        result["seconds"] = round(result["seconds"] + report.duration, 3)
        global _loops_created  # noqa: PLW0603 - read and reset per report
        if _loops_created:
            result["aioeventlet_loops"] = (
                result.get("aioeventlet_loops", 0) + _loops_created
            )
            _loops_created = 0
        if report.skipped and hasattr(report, "wasxfail"):
            # It failed as anyio expects (a strict xpass is a plain failure).
            outcome = "xfail"
        elif report.skipped:
            outcome = "skip"
        elif report.failed:
            outcome = "fail" if report.when == "call" else "error"
        else:
            return
        # The first phase that did not pass decides (a teardown error after a
        # failure is the failure's).
        if result["outcome"] == "pass":
            result["outcome"] = outcome
            if report.failed:
                result["detail"] = report.longreprtext[-DETAIL_CHARS:]

    def pytest_sessionfinish(self) -> None:
        self.path.write_text(json.dumps(self.results, indent=1, sort_keys=True) + "\n")


def _import_aioeventlet() -> ModuleType:
    # eventlet imports dnspython's DNSSEC module, which touches DSA names that
    # cryptography 51 deprecates: under anyio's ``filterwarnings = error`` the
    # import itself would fail.  That is an import-time matter of eventlet's
    # dependencies (reported in docs/conformance/anyio.md), not of any test,
    # so only that warning is ignored, and only while importing.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="DSA is deprecated", module=r"dns\.", category=Warning
        )
        import aioeventlet
    return aioeventlet


# aioeventlet loops created since the last report: the results say which
# tests really ran on one.
_loops_created = 0


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """``aioeventlet.new_event_loop()``, counted."""
    global _loops_created  # noqa: PLW0603 - one counter for the whole run
    loop: asyncio.AbstractEventLoop = _import_aioeventlet().new_event_loop()
    _loops_created += 1
    return loop


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption(LOOP_OPTION) == "aioeventlet":
        _import_aioeventlet()
    path = config.getoption(RESULTS_OPTION)
    # Not under pytest-xdist: its workers have no __main__.__file__, which
    # anyio's to_process tests patch (and the loop counter is per process).
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Recorder(Path(path)), "anyio-suite-recorder")
