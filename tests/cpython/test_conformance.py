"""pytest entry: CPython's test_asyncio on aioeventlet, one pytest test per module.

Every module runs in its own interpreter (see run.py), two at a time, started
in the background when the first test asks; each pytest test waits for its
module and asserts that nothing failed that the known-failures table does not
list, and that nothing the table lists passed.  Stock asyncio's outcomes come
from data/<X.Y>.json (recorded by ``python -m tests.cpython.run --stock
--record``), or are run on the spot when that file lacks them.

``AIOEVENTLET_CONFORMANCE_MODE=patched`` runs every module under
``eventlet.monkey_patch()``.

In plain mode on the oldest and newest Python, the modules that exercise the
selector hardest also run on eventlet's other fd-polling hubs (poll, selects;
epolls is the default): the hubs do not change with the Python version, and
CI time is counted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from . import run

MODE = os.environ.get("AIOEVENTLET_CONFORMANCE_MODE", "plain")
JOBS = int(os.environ.get("AIOEVENTLET_CONFORMANCE_JOBS", "2"))
MODULES = run.discover_modules()
if not MODULES:
    # Without this, the parametrization below would be empty and the run green.
    raise RuntimeError(
        f"no CPython test modules to run: {sys.executable} (Python {run.PYTHON}) "
        f"has no test_*.py in {run.stdlib_test_asyncio()}. Its test suite is "
        f"missing (Debian and Ubuntu ship it apart: apt install "
        f"libpython{run.PYTHON}-testsuite); run tests/cpython with an "
        f"interpreter that has Lib/test/test_asyncio, such as a pyenv build."
    )
DATA = run.load_data()
STOCK: dict[str, dict[str, str]] = DATA.get(f"stock-{MODE}", {})
TIMINGS: dict[str, float] = DATA.get("seconds", {}).get(f"aioeventlet-{MODE}", {})

if MODE not in run.MODES:
    raise ValueError(f"AIOEVENTLET_CONFORMANCE_MODE must be one of {run.MODES}")


@pytest.fixture(scope="session")
def module_runs(
    request: pytest.FixtureRequest,
) -> Iterator[dict[str, Future[tuple[run.ModuleRun, dict[str, str]]]]]:
    def both(module: str) -> tuple[run.ModuleRun, dict[str, str]]:
        stock = STOCK.get(module)
        if stock is None:
            stock = run.run_module(module, "asyncio", MODE).outcomes
        return run.run_module(module, "aioeventlet", MODE), stock

    # Only the modules whose tests were selected (pytest -k, or a node id).
    selected = {
        str(item.callspec.params["module"])
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == "test_module"
    }
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        # Longest first, so that the two workers finish together.
        ordered = sorted(selected, key=lambda m: -TIMINGS.get(m, 0.0))
        yield {m: pool.submit(both, m) for m in ordered}
        pool.shutdown(cancel_futures=True)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("module", MODULES)
def test_module(
    module: str,
    module_runs: dict[str, Future[tuple[run.ModuleRun, dict[str, str]]]],
) -> None:
    result, stock = module_runs[module].result()
    plain = DATA.get("stock-plain", {}).get(module, {}) if MODE == "patched" else None
    verdict = run.judge(
        module, stock, result.outcomes, MODE, loops=result.loops, stock_plain=plain
    )
    problems = run.problems(verdict, result)
    assert not problems, "\n\n".join(problems)
    # The module really ran, and what passes on stock passes here.
    assert result.outcomes, f"{module}: no test ran"
    assert verdict.ours_ok + verdict.known == verdict.stock_ok


# The modules where the hub's polling shows: fd readiness, timeouts, closed fds.
HUB_MODULES = ("test_events", "test_sock_lowlevel")

if MODE == "plain" and run.PYTHON in ("3.10", "3.13"):

    @pytest.mark.timeout(600)
    @pytest.mark.parametrize("module", HUB_MODULES)
    @pytest.mark.parametrize("hub", ["poll", "selects"])
    def test_module_on_hub(hub: str, module: str) -> None:
        result = run.run_module(module, "aioeventlet", MODE, env={"EVENTLET_HUB": hub})
        stock = STOCK.get(module) or run.run_module(module, "asyncio", MODE).outcomes
        verdict = run.judge(module, stock, result.outcomes, MODE, loops=result.loops)
        problems = run.problems(verdict, result)
        assert not problems, f"on EVENTLET_HUB={hub}:\n" + "\n\n".join(problems)
        assert verdict.stock_ok > 0
        assert verdict.ours_ok + verdict.known == verdict.stock_ok
