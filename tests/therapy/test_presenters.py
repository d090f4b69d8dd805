"""The page's headline, read from the engine's recommendation (§5b), in words a clinician reads:
no codes, the drug the patient is on respected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from therapy.engine import assessment_from_json, assessment_to_json, evaluate, parse_case
from therapy.presenters import headline

CASES = Path(__file__).resolve().parents[1] / "cases"


def _assessment(name: str):
    return evaluate(parse_case(json.loads((CASES / name).read_text())["case"]))


@pytest.mark.parametrize(
    ("case", "title", "reason"),
    [
        pytest.param(
            "v19_teriparatide_started_after_failure.json",
            "Continue teriparatide — 21 months left — then zoledronic acid or denosumab",
            "Alternatives if needed: zoledronic acid, denosumab.",
            id="continue the drug just started, with its limit and what follows",
        ),
        pytest.param(
            "v17_same_day_switch_denosumab_to_zoledronic.json",
            "Continue zoledronic acid",
            "Nothing in the record calls for a change.",
            id="a correct switch is not switched again",
        ),
        pytest.param(
            "v05_rapid_bmd_loss_on_risedronate.json",
            "Switch to zoledronic acid",
            "Risedronate should not go on (oral bisphosphonates not appropriate when refractory "
            "and treatment failure): switch to zoledronic acid.",
            id="switch, with the reason in one line",
        ),
        pytest.param(
            "v09_denosumab_stopped_no_follow_on.json",
            "Start zoledronic acid",
            "Denosumab was stopped and must be followed by a bisphosphonate.",
            id="start, with the pathway's reason",
        ),
        pytest.param(
            "v08_denosumab_overdue.json",
            "Continue denosumab — then a bisphosphonate",
            "Nothing in the record calls for a change.",
            id="a group reads as words",
        ),
    ],
)
def test_headline_says_what_to_do_first(case: str, title: str, reason: str) -> None:
    assert headline(_assessment(case)) == (title, reason)


def test_no_recommendation_reads_no_change_suggested() -> None:
    assessment = evaluate(parse_case({"as_of": "2026-11-25"}))
    assert headline(assessment) == (
        "No change suggested",
        "Not refractory, and no osteoporosis therapy is active.",
    )


def test_an_assessment_of_engine_version_1_still_has_a_headline() -> None:
    stored = assessment_to_json(_assessment("v03_vertebral_fracture_on_alendronate.json"))
    del stored["recommendation"]
    title, reason = headline(assessment_from_json(stored))
    assert title == "Consider teriparatide"
    assert "version 1" in reason


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_no_code_reaches_the_headline(path: Path) -> None:
    title, reason = headline(_assessment(path.name))
    for text in (title, reason):
        assert "_" not in text and not any(
            word.isupper() and len(word) > 4 for word in text.split()
        )
