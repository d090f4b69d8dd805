"""§5 Pathway and ranked options: SEL-1 to SEL-9, `then`, `limit`, ranks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.therapy.engine.builders import assess, course, fracture, glucocorticoid, monthly

INTOLERANT = {"oral_bisphosphonate_intolerance": True}
DENOSUMAB_STOPPED = course(
    "denosumab", "2024-01-10", "2026-02-01", doses=["2024-01-10", "2024-07-10", "2025-01-10"]
)
TERIPARATIDE_ENDED = course("teriparatide", "2024-09-01", "2026-09-01")

PATHWAY_RULES = {
    "denosumab_exit": "SEL-1",
    "sequential": "SEL-2",
    "anabolic_failure": "SEL-3",
    "glucocorticoid": "SEL-4",
    "cancer_survivor": "SEL-5",
    "anabolic": "SEL-6",
    "antiresorptive": "SEL-7",
}

PATHWAYS = [
    pytest.param({}, "not_refractory", [], id="not refractory: no pathway"),
    pytest.param(
        {"therapies": [DENOSUMAB_STOPPED]},
        "denosumab_exit",
        ["zoledronic_acid", "alendronate"],
        id="SEL-1 denosumab stopped (every patient)",
    ),
    pytest.param(
        {"therapies": [DENOSUMAB_STOPPED], "risk_factors": INTOLERANT},
        "denosumab_exit",
        ["zoledronic_acid"],
        id="SEL-1 refractory: alendronate avoided",
    ),
    pytest.param(
        {"therapies": [course("teriparatide", "2026-01-01")]},
        "sequential",
        ["zoledronic_acid", "denosumab"],
        id="SEL-2 anabolic active",
    ),
    pytest.param(
        {"therapies": [TERIPARATIDE_ENDED]},
        "sequential",
        ["zoledronic_acid", "denosumab"],
        id="SEL-2 anabolic ended without antiresorptive",
    ),
    pytest.param(
        {
            "therapies": [
                course("teriparatide", "2024-01-01", "2025-01-01"),
                course("alendronate", "2025-02-01"),
            ],
            "fractures": [fracture("2024-08-01")],
        },
        "anabolic_failure",
        ["zoledronic_acid", "denosumab"],
        id="SEL-3 anabolic failed",
    ),
    pytest.param(
        {
            "risk_factors": {
                **INTOLERANT,
                "glucocorticoids": [glucocorticoid(7.5, "2025-01-01")],
                "cancer_treatment_bone_loss": True,
                "high_fall_risk": True,
            }
        },
        "glucocorticoid",
        ["zoledronic_acid", "teriparatide", "denosumab"],
        id="SEL-4 before SEL-5 and SEL-6",
    ),
    pytest.param(
        {"risk_factors": {**INTOLERANT, "cancer_treatment_bone_loss": True}},
        "cancer_survivor",
        ["denosumab", "zoledronic_acid"],
        id="SEL-5 not at very high risk",
    ),
    pytest.param(
        {
            "risk_factors": {
                **INTOLERANT,
                "cancer_treatment_bone_loss": True,
                "high_fall_risk": True,
            }
        },
        "cancer_survivor",
        ["denosumab", "zoledronic_acid", "teriparatide", "romosozumab"],
        id="SEL-5 at very high risk adds the anabolics",
    ),
    pytest.param(
        {"risk_factors": {**INTOLERANT, "high_fall_risk": True}},
        "anabolic",
        ["teriparatide", "romosozumab", "zoledronic_acid", "denosumab"],
        id="SEL-6 very high risk",
    ),
    pytest.param(
        {"risk_factors": INTOLERANT},
        "antiresorptive",
        ["zoledronic_acid", "denosumab"],
        id="SEL-7 otherwise",
    ),
    pytest.param(
        {"risk_factors": {"high_fall_risk": True}},
        "not_refractory",
        [],
        id="very high risk alone is not refractory",
    ),
]


@pytest.mark.parametrize(("sections", "pathway", "options"), PATHWAYS)
def test_first_pathway_that_applies_gives_the_candidates(
    sections: dict[str, Any], pathway: str, options: list[str]
) -> None:
    assessment = assess(**sections)
    assert assessment.pathway == pathway
    assert [option.drug for option in assessment.options] == options
    assert [option.rank for option in assessment.options] == list(range(1, len(options) + 1))


@pytest.mark.parametrize(("sections", "pathway", "options"), PATHWAYS)
def test_options_cite_the_pathway_rule_that_placed_them(
    sections: dict[str, Any], pathway: str, options: list[str]
) -> None:
    assessment = assess(**sections)
    rules = {rule for rule in assessment.fired_rules if rule in PATHWAY_RULES.values()}
    assert rules == ({PATHWAY_RULES[pathway]} if pathway != "not_refractory" else set())
    assert all(option.rules == (PATHWAY_RULES[pathway],) for option in assessment.options)


def test_sel8_does_not_fire_without_a_failed_drug() -> None:
    assessment = assess(risk_factors=INTOLERANT)
    assert "SEL-8" not in assessment.fired_rules
    assert "TREATMENT_FAILURE" not in {entry.reason for entry in assessment.avoid}


def test_sel8_failed_drug_is_avoided_and_dropped() -> None:
    assessment = assess(
        therapies=[course("zoledronic_acid", "2022-01-01", "2025-01-01", doses=["2022-01-01"])],
        fractures=[fracture("2024-03-01")],
    )
    assert ("zoledronic_acid", "TREATMENT_FAILURE", "avoid", ("SEL-8",)) in {
        (e.drug, e.reason, e.severity, e.rules) for e in assessment.avoid
    }
    assert "zoledronic_acid" not in [option.drug for option in assessment.options]
    assert "SEL-8" in assessment.fired_rules


def test_sel8_drug_of_an_active_course_is_dropped() -> None:
    assessment = assess(
        risk_factors=INTOLERANT,
        therapies=[course("denosumab", "2026-06-01", doses=["2026-06-01"])],
    )
    assert assessment.pathway == "antiresorptive"
    assert [option.drug for option in assessment.options] == ["zoledronic_acid"]


def test_sel9_no_candidate_left_raises_no_eligible_option() -> None:
    assessment = assess(risk_factors={"creatinine_clearance_ml_min": 30, "organ_transplant": True})
    assert assessment.pathway == "antiresorptive"
    assert assessment.options == ()
    assert ("NO_ELIGIBLE_OPTION", "critical") in {(a.code, a.severity) for a in assessment.alerts}
    assert {"SEL-7", "SEL-9", "ALR-14"} <= set(assessment.fired_rules)


def test_sel9_not_raised_while_a_candidate_remains() -> None:
    assessment = assess(risk_factors={"creatinine_clearance_ml_min": 30})
    assert [option.drug for option in assessment.options] == ["denosumab"]
    assert "SEL-9" not in assessment.fired_rules
    assert "ALR-14" not in assessment.fired_rules


THEN = [
    pytest.param({}, "teriparatide", ["zoledronic_acid", "denosumab"], id="anabolic: both"),
    pytest.param(
        {"organ_transplant": True},
        "teriparatide",
        ["zoledronic_acid"],
        id="anabolic: denosumab avoided",
    ),
    pytest.param(
        {"organ_transplant": True, "creatinine_clearance_ml_min": 30},
        "romosozumab",
        [],
        id="anabolic: every antiresorptive avoided",
    ),
    pytest.param({}, "denosumab", ["bisphosphonate"], id="denosumab: a bisphosphonate"),
    pytest.param({}, "zoledronic_acid", [], id="bisphosphonate: nothing"),
]


@pytest.mark.parametrize(("risk_factors", "drug", "then"), THEN)
def test_option_then(risk_factors: dict[str, Any], drug: str, then: list[str]) -> None:
    options = assess(risk_factors={**INTOLERANT, "high_fall_risk": True, **risk_factors}).options
    option = next(option for option in options if option.drug == drug)
    assert list(option.then) == then
    assert option.drug_class == (
        "anabolic" if drug in ("teriparatide", "romosozumab") else "antiresorptive"
    )
    assert option.rules == ("SEL-6",)


def test_option_limits_count_what_was_already_given() -> None:
    options = assess(
        risk_factors={**INTOLERANT, "high_fall_risk": True},
        therapies=[
            course("teriparatide", "2024-01-01", "2024-04-09"),  # 100 days: 3.3 months
            course("romosozumab", "2025-01-05", "2025-05-31", doses=monthly("2025-01-05", 5)),
            course("denosumab", "2025-06-15", doses=["2025-06-15"]),  # follows the anabolics
        ],
    ).options
    limits = {option.drug: option.limit for option in options}
    assert limits["teriparatide"] is not None and limits["teriparatide"].months_remaining == 20
    assert limits["romosozumab"] is not None and limits["romosozumab"].doses_remaining == 7
    assert limits["zoledronic_acid"] is None


def test_sel4_rationale_adds_the_acr_2022_note() -> None:
    assessment = assess(
        risk_factors={**INTOLERANT, "glucocorticoids": [glucocorticoid(7.5, "2025-01-01")]}
    )
    text = next(r.text for r in assessment.rationale if r.rule == "SEL-4")
    assert "ACR 2022 prefers anabolics" in text
