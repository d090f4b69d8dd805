"""One rule, one place: every rule id of the rule book is one function of `therapy/engine/`.

The ids are read from the project's copy of the rule book (`docs/clinical/RULES.md`), plus the
§8 items the engine names SUP-1, SUP-2 and LIF-1 to LIF-4. A function "is" a rule when its
docstring begins with the id and a colon, as in `ALR-3: …`, so that a grep for three quotes
and the id finds it in one hop. The test fails when an id has no such function or more than
one, or when a docstring claims an id the rule book does not have.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

import therapy.engine
from therapy.engine.codes import RuleId

ROOT = Path(__file__).resolve().parents[3]
RULE_BOOK = ROOT / "docs" / "clinical" / "RULES.md"
ENGINE = Path(therapy.engine.__file__).resolve().parent

RULE_ID = re.compile(r"\b(?:REF|VHR|POP|ELG|SEL|REC|ALR|MON)-[0-9]+v?\b")
#: §8 has no ids in the rule book; the engine names its items so (therapy/engine/advice.py).
ADVICE_IDS = ("SUP-1", "SUP-2", "LIF-1", "LIF-2", "LIF-3", "LIF-4")
#: A docstring that claims a rule: the id, then a colon.
CLAIM = re.compile(r"^((?:REF|VHR|POP|ELG|SEL|REC|ALR|MON|SUP|LIF)-[0-9]+v?):")


def rule_book_ids(text: str) -> set[str]:
    return set(RULE_ID.findall(text))


def rule_functions(paths: list[Path]) -> dict[str, list[str]]:
    """Rule id → the functions (`module:function`) whose docstring begins with it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                claim = CLAIM.match(ast.get_docstring(node) or "")
                if claim:
                    found[claim.group(1)].append(f"{path.stem}:{node.name}")
    return found


def problems(expected: set[str], found: dict[str, list[str]]) -> list[str]:
    messages = [f"{rule}: no function" for rule in sorted(expected - found.keys())]
    messages += [
        f"{rule}: {len(places)} functions ({', '.join(places)})"
        for rule, places in sorted(found.items())
        if rule in expected and len(places) > 1
    ]
    messages += [f"{rule}: not in the rule book" for rule in sorted(found.keys() - expected)]
    return messages


EXPECTED = rule_book_ids(RULE_BOOK.read_text()) | set(ADVICE_IDS)


def test_the_rule_book_copy_names_every_section_of_rules() -> None:
    prefixes = {rule.split("-")[0] for rule in EXPECTED}
    assert prefixes == {"REF", "VHR", "POP", "ELG", "SEL", "REC", "ALR", "MON", "SUP", "LIF"}
    assert "VHR-1v" in EXPECTED and "REC-4" in EXPECTED and "ALR-14" in EXPECTED


def test_every_rule_id_has_exactly_one_function_in_the_engine() -> None:
    found = rule_functions(sorted(ENGINE.rglob("*.py")))
    assert problems(EXPECTED, found) == []


def test_the_engine_reports_exactly_the_rule_ids_of_the_rule_book() -> None:
    assert {rule.value for rule in RuleId} == EXPECTED


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param('def f():\n    """ALR-3: holds."""\n', [], id="one function: fine"),
        pytest.param("def f():\n    pass\n", ["ALR-3: no function"], id="missing"),
        pytest.param(
            'def f():\n    """ALR-3: a."""\ndef g():\n    """ALR-3: b."""\n',
            ["ALR-3: 2 functions (m:f, m:g)"],
            id="twice",
        ),
        pytest.param(
            'def f():\n    """ALR-3: a."""\ndef g():\n    """ALR-99: b."""\n',
            ["ALR-99: not in the rule book"],
            id="unknown id",
        ),
        pytest.param(
            'def f():\n    """Helper for ALR-3: not a claim."""\n',
            ["ALR-3: no function"],
            id="an id later in the docstring is not a claim",
        ),
    ],
)
def test_the_checker_finds_what_it_must(tmp_path: Path, source: str, expected: list[str]) -> None:
    module = tmp_path / "m.py"
    module.write_text(source)
    assert problems({"ALR-3"}, rule_functions([module])) == expected
