"""The public surface: one package, a complete tuple ``__all__``, every name
documented in its docstring and in the API reference, and every name
reporting ``aioeventlet`` as its module (STYLE.md, habit 2)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

import aioeventlet

API_PAGE = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def documented_in_api_page() -> list[str]:
    return re.findall(
        r"^\.\. auto(?:function|class):: aioeventlet\.(\w+)$",
        API_PAGE.read_text(),
        flags=re.MULTILINE,
    )


def defined_here(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return (inspect.isclass(obj) or callable(obj)) and (
        module == "aioeventlet" or module.startswith("aioeventlet.")
    )


def test_all_is_a_tuple_of_unique_names() -> None:
    assert isinstance(aioeventlet.__all__, tuple)
    assert len(set(aioeventlet.__all__)) == len(aioeventlet.__all__)
    assert all(isinstance(name, str) for name in aioeventlet.__all__)


def test_all_is_complete() -> None:
    """Every public class or function the package holds is exported."""
    public = {
        name
        for name in dir(aioeventlet)
        if not name.startswith("_") and defined_here(getattr(aioeventlet, name))
    }
    assert public <= set(aioeventlet.__all__), (
        f"public but not in __all__: {sorted(public - set(aioeventlet.__all__))}"
    )


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, Any] = {}
    exec("from aioeventlet import *", namespace)
    namespace.pop("__builtins__")
    assert sorted(namespace) == sorted(aioeventlet.__all__)


@pytest.mark.parametrize("name", aioeventlet.__all__)
def test_public_name(name: str) -> None:
    obj = getattr(aioeventlet, name)
    assert inspect.isclass(obj) or inspect.isfunction(obj)
    assert obj.__module__ == "aioeventlet", (
        f"{name}.__module__ is {obj.__module__!r}: set it to 'aioeventlet' in "
        f"__init__.py so tracebacks, reprs and the docs name the public module"
    )
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    assert len(doc.split()) >= 5, f"{name}'s docstring says too little: {doc!r}"


def test_api_reference_documents_exactly_all() -> None:
    documented = documented_in_api_page()
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(aioeventlet.__all__)


def test_no_public_module_but_the_entry_points() -> None:
    """Modules are private (``_name``) except those meant to be named:
    ``__main__`` (python -m aioeventlet), the pytest plugin, and the framework
    integrations, each named by the framework's configuration (gunicorn's
    ``-k aioeventlet.gunicorn.Worker``)."""
    package = Path(aioeventlet.__file__).parent
    public = sorted(
        path.stem for path in package.glob("*.py") if not path.stem.startswith("_")
    )
    assert public == ["gunicorn", "pytest_plugin"]
