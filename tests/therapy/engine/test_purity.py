"""The engine is a functional core: standard library only, no clock, no I/O (STYLE.md habit 1).

Every module of `therapy/engine/` is parsed with `ast`; an import outside the allow-list or the
package itself, a clock read or an I/O call fails the build.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import therapy.engine

ENGINE = Path(therapy.engine.__file__).resolve().parent
MODULES = sorted(ENGINE.rglob("*.py"))

#: Standard-library modules the engine may import: values, dates and small algorithms only.
ALLOWED = frozenset(
    {
        "__future__",
        "bisect",
        "collections",
        "collections.abc",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "functools",
        "itertools",
        "math",
        "operator",
        "re",
        "types",
        "typing",
    }
)
PACKAGE = "therapy.engine"
#: Attribute calls that read the clock, whatever they are called on (date.today(), …).
CLOCK_ATTRIBUTES = frozenset(
    {
        "today",
        "now",
        "utcnow",
        "time",
        "time_ns",
        "monotonic",
        "perf_counter",
        "localtime",
        "gmtime",
    }
)
#: Built-in calls that do I/O or reach outside the process.
IO_CALLS = frozenset({"open", "print", "input", "exec", "eval", "__import__", "breakpoint"})


def violations(source: str) -> list[str]:
    """What breaks purity in one module's source, as `line: what` strings."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [PACKAGE] if node.level else [node.module or ""]
        else:
            names = []
        for name in names:
            if name not in ALLOWED and name != PACKAGE and not name.startswith(f"{PACKAGE}."):
                found.append(f"{node.lineno}: imports {name}")
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute) and function.attr in CLOCK_ATTRIBUTES:
                found.append(f"{node.lineno}: reads the clock ({function.attr}())")
            if isinstance(function, ast.Name) and function.id in IO_CALLS:
                found.append(f"{node.lineno}: calls {function.id}()")
    return found


def test_the_engine_has_modules() -> None:
    assert {path.name for path in MODULES} >= {"__init__.py", "case.py", "pipeline.py", "parse.py"}


@pytest.mark.parametrize("path", MODULES, ids=[path.name for path in MODULES])
def test_engine_module_is_pure(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import django", ["1: imports django"]),
        ("from django.db import models", ["1: imports django.db"]),
        ("from therapy.models import TherapyCourse", ["1: imports therapy.models"]),
        ("import os", ["1: imports os"]),
        ("import random", ["1: imports random"]),
        ("from datetime import date\nx = date.today()", ["2: reads the clock (today())"]),
        ("import datetime as dt\nx = dt.datetime.now()", ["2: reads the clock (now())"]),
        ("x = open('f')", ["1: calls open()"]),
        ("print(1)", ["1: calls print()"]),
        ("from therapy.engine.case import Case", []),
        ("from . import case", []),
        ("import datetime as dt\nx = dt.date(2026, 1, 1)", []),
    ],
)
def test_the_purity_check_catches_what_it_should(source: str, expected: list[str]) -> None:
    assert violations(source) == expected
