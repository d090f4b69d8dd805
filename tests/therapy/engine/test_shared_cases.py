"""The worked cases of clinical/cases (copied to tests/cases): every expected field, exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from therapy.engine import assessment_to_json, evaluate, parse_case, schedule

CASES = sorted((Path(__file__).resolve().parents[2] / "cases").glob("*.json"))


def _actual(output: dict[str, Any]) -> dict[str, Any]:
    """The assessment in the `expect` shape of the worked cases."""
    return {
        "refractory": output["refractory"],
        "very_high_risk": output["very_high_risk"],
        "populations": output["populations"],
        "pathway": output["pathway"],
        "options": [option["drug"] for option in output["options"]],
        "option_limits": {
            option["drug"]: option["limit"] for option in output["options"] if option["limit"]
        },
        "option_then": {option["drug"]: option["then"] for option in output["options"]},
        "recommendation": [
            output["recommendation"]["action"],
            output["recommendation"]["drug"],
            output["recommendation"]["then"],
        ],
        "avoid": [[e["drug"], e["reason"], e["severity"]] for e in output["avoid"]],
        "alerts": [[a["code"], a["severity"], a["due"]] for a in output["alerts"]],
        "monitoring": [[m["code"], m["due"], m["drug"]] for m in output["monitoring"]],
        "lifestyle": output["lifestyle"],
    }


def test_all_twenty_one_cases_are_present() -> None:
    assert len(CASES) == 21


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_shared_case_matches_every_expected_field(path: Path) -> None:
    document = json.loads(path.read_text())
    actual = _actual(assessment_to_json(evaluate(parse_case(document["case"]))))
    expected = document["expect"]
    for field, value in expected.items():
        assert actual[field] == value, f"{path.stem}: {field}"


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_shared_case_has_one_rationale_sentence_per_fired_rule(path: Path) -> None:
    assessment = evaluate(parse_case(json.loads(path.read_text())["case"]))
    rules = [entry.rule for entry in assessment.rationale]
    assert rules == list(assessment.fired_rules)
    assert len(set(rules)) == len(rules)
    assert all(entry.text.endswith(".") for entry in assessment.rationale)
    assert not any(entry.text[0].islower() for entry in assessment.rationale)


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_shared_case_schedule_gives_the_assessments_alerts_and_monitoring(path: Path) -> None:
    case = parse_case(json.loads(path.read_text())["case"])
    assessment = evaluate(case)
    assert schedule(case) == (assessment.alerts, assessment.monitoring)
