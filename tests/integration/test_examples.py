"""The examples that need third-party libraries (aiohttp, httpx), run as a user
would, each in a fresh interpreter under ``-W error``, output checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import servers

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str) -> list[str]:
    return servers.run_program(EXAMPLES / name).splitlines()


def test_wsgi_service_calling_async_client() -> None:
    celsius = {"paris": 14, "oslo": -3, "lima": 19, "cairo": 31}
    expected = [
        f"{city}: {c} C / {c * 9 / 5 + 32:.0f} F" for city, c in celsius.items()
    ]
    assert run_example("wsgi_calls_async_client.py") == [
        *(expected * 5),
        "20 requests served, each calling httpx through yield_future",
    ]


def test_aiohttp_app_calling_green_code() -> None:
    stock = {"apple": 12, "pear": 0, "plum": 7, "fig": 3}
    expected = [
        f"{item}: {count} in stock ({'available' if count else 'sold out'})"
        for item, count in stock.items()
    ]
    assert run_example("aiohttp_calls_green_code.py") == [
        *(expected * 3),
        "12 requests, each served by aiohttp calling legacy green code",
    ]


MIGRATION_ANSWERS = [
    "ada: 3 orders, total 60.00, discount 10%, pay 54.00",
    "alan: 1 orders, total 99.00, discount 0%, pay 99.00",
    "grace: 2 orders, total 10.00, discount 50%, pay 5.00",
]


@pytest.mark.parametrize(
    ("step", "runs_on"),
    [
        ("step1_asyncio_inside_eventlet.py", "eventlet + aioeventlet"),
        ("step2_coroutines.py", "eventlet + aioeventlet"),
        ("step3_no_eventlet.py", "asyncio alone"),
    ],
)
def test_migration_steps_give_the_same_answers(step: str, runs_on: str) -> None:
    """Each step of the gradual migration serves the same answers; the last
    one without eventlet imported at all."""
    assert run_example(f"migration/{step}") == [
        *MIGRATION_ANSWERS,
        f"runs on: {runs_on}",
    ]
