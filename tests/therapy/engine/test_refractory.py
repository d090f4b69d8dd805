"""§1 Refractory status: REF-1 to REF-5, each firing and not firing at its boundary."""

from __future__ import annotations

from typing import Any

import pytest

from tests.therapy.engine.builders import assess, course, fired, fracture, scan

ALENDRONATE_FROM_MARCH = [course("alendronate", "2024-03-15")]

REF_1 = [
    pytest.param(
        {"therapies": ALENDRONATE_FROM_MARCH, "fractures": [fracture("2025-03-14")]},
        False,
        id="day before 12 months on alendronate",
    ),
    pytest.param(
        {"therapies": ALENDRONATE_FROM_MARCH, "fractures": [fracture("2025-03-15")]},
        True,
        id="day of 12 months on alendronate",
    ),
    pytest.param(
        {
            "therapies": [course("alendronate", "2024-01-31")],
            "fractures": [fracture("2025-01-30", "hip")],
        },
        False,
        id="month end: day before 12 calendar months",
    ),
    pytest.param(
        {
            "therapies": [course("zoledronic_acid", "2023-01-10", doses=["2023-01-10"])],
            "fractures": [fracture("2024-02-01", "wrist")],
        },
        True,
        id="zoledronic acid is a bisphosphonate",
    ),
    pytest.param(
        {
            "therapies": [course("alendronate", "2023-01-01", "2025-06-30")],
            "fractures": [fracture("2025-06-30")],
        },
        True,
        id="fracture on the course's last day",
    ),
    pytest.param(
        {
            "therapies": [course("alendronate", "2023-01-01", "2025-06-30")],
            "fractures": [fracture("2025-07-01")],
        },
        False,
        id="fracture the day after the course ended",
    ),
    pytest.param(
        {
            "therapies": ALENDRONATE_FROM_MARCH,
            "fractures": [fracture("2026-01-10", fragility=False)],
        },
        False,
        id="traumatic fracture does not count",
    ),
    pytest.param(
        {"therapies": ALENDRONATE_FROM_MARCH, "fractures": [fracture("2026-12-01")]},
        False,
        id="fracture after as_of is ignored",
    ),
    pytest.param(
        {"therapies": [course("denosumab", "2023-01-01")], "fractures": [fracture("2025-01-01")]},
        False,
        id="denosumab is not a bisphosphonate",
    ),
    pytest.param(
        {"therapies": [course("raloxifene", "2020-01-01")], "fractures": [fracture("2025-01-01")]},
        False,
        id="raloxifene is ignored",
    ),
]


@pytest.mark.parametrize(("sections", "expected"), REF_1)
def test_ref1_fracture_on_bisphosphonate_after_12_months(
    sections: dict[str, Any], expected: bool
) -> None:
    assert ("REF-1" in fired(**sections)) is expected


RISEDRONATE = [course("risedronate", "2020-06-01")]

REF_2 = [
    pytest.param(
        [scan("2025-01-15", lumbar_spine=0.9), scan("2025-07-14", lumbar_spine=0.8)],
        False,
        id="day before 6 months between scans",
    ),
    pytest.param(
        [scan("2025-01-15", lumbar_spine=0.9), scan("2025-07-15", lumbar_spine=0.8)],
        True,
        id="day of 6 months between scans",
    ),
    pytest.param(
        [scan("2025-01-15", lumbar_spine=1.0), scan("2025-07-15", lumbar_spine=0.947)],
        False,
        id="fall equal to the 5.3 % spine LSC",
    ),
    pytest.param(
        [scan("2025-01-15", lumbar_spine=1.0), scan("2025-07-15", lumbar_spine=0.946)],
        True,
        id="fall strictly above the 5.3 % spine LSC",
    ),
    pytest.param(
        [scan("2025-01-15", femoral_neck=1.0), scan("2025-07-15", femoral_neck=0.931)],
        False,
        id="femoral neck fall equal to its 6.9 % LSC",
    ),
    pytest.param(
        [scan("2025-01-15", total_hip=1.0), scan("2025-07-15", total_hip=0.949)],
        True,
        id="total hip fall above its 5.0 % LSC",
    ),
    pytest.param(
        [scan("2021-01-01", lumbar_spine=1.0), scan("2025-01-01", lumbar_spine=0.6)],
        True,
        id="annualised fall exactly 10 %/year",
    ),
    pytest.param(
        [scan("2021-01-01", lumbar_spine=1.0), scan("2025-01-02", lumbar_spine=0.6)],
        False,
        id="annualised fall just under 10 %/year",
    ),
    pytest.param(
        [scan("2025-01-01", lumbar_spine=1.0), scan("2026-01-01", lumbar_spine=0.9)],
        True,
        id="10 % fall in 365 days",
    ),
    pytest.param(
        [scan("2025-01-01", lumbar_spine=1.0), scan("2026-01-02", lumbar_spine=0.9)],
        False,
        id="10 % fall in 366 days",
    ),
    pytest.param(
        [
            scan("2025-01-15", lumbar_spine=0.9),
            scan("2025-07-15", lumbar_spine={"bmd_g_cm2": 0.8, "lsc_pct": 12}),
        ],
        False,
        id="later scan's own LSC is used",
    ),
    pytest.param(
        [
            scan("2025-01-15", lumbar_spine={"bmd_g_cm2": 0.9, "lsc_pct": 12}),
            scan("2025-07-15", lumbar_spine=0.8),
        ],
        True,
        id="earlier scan's LSC is not used",
    ),
    pytest.param(
        [scan("2025-01-15", lumbar_spine=0.9), scan("2025-07-15", total_hip=0.6)],
        False,
        id="different sites do not pair",
    ),
    pytest.param(
        [scan("2025-01-15", lumbar_spine=0.8), scan("2025-07-15", lumbar_spine=0.9)],
        False,
        id="a gain is not a loss",
    ),
    pytest.param(
        [
            scan("2025-01-15", lumbar_spine=0.9),
            scan("2025-09-15", lumbar_spine=0.95),
            scan("2026-01-15", lumbar_spine=0.78),
        ],
        True,
        id="a gain passed over does not hide a later fall from the first scan",
    ),
    pytest.param(
        [scan("2025-01-15", lumbar_spine=0.9), scan("2026-12-01", lumbar_spine=0.7)],
        False,
        id="scan after as_of is ignored",
    ),
]


@pytest.mark.parametrize(("scans", "expected"), REF_2)
def test_ref2_bmd_loss_on_treatment(scans: list[dict[str, Any]], expected: bool) -> None:
    assert ("REF-2" in fired(therapies=RISEDRONATE, dxa=scans)) is expected


def test_ref2_needs_both_scans_within_one_course() -> None:
    therapies = [
        course("alendronate", "2024-01-01", "2025-03-01"),
        course("denosumab", "2025-04-01"),
    ]
    scans = [scan("2025-01-15", lumbar_spine=0.9), scan("2025-09-15", lumbar_spine=0.7)]
    assert "REF-2" not in fired(therapies=therapies, dxa=scans)


def test_ref2_loss_makes_the_course_drug_fail() -> None:
    scans = [scan("2025-01-15", lumbar_spine=0.9), scan("2026-01-20", lumbar_spine=0.79)]
    avoid = assess(therapies=RISEDRONATE, dxa=scans).avoid
    assert ("risedronate", "TREATMENT_FAILURE") in {(e.drug, e.reason) for e in avoid}


def _ref2_text(**sections: Any) -> list[str]:
    return [entry.text for entry in assess(**sections).rationale if entry.rule == "REF-2"]


def test_ref2_names_the_first_loss_by_site_then_scans_when_several_pairs_qualify() -> None:
    scans = [
        scan("2024-06-01", lumbar_spine=1.0, femoral_neck=0.9, total_hip=0.9),
        scan("2025-06-01", lumbar_spine=0.85, femoral_neck=0.7, total_hip=0.7),
        scan("2026-06-01", lumbar_spine=0.7, femoral_neck=0.6, total_hip=0.6),
    ]
    assert _ref2_text(therapies=RISEDRONATE, dxa=scans) == [
        "Lumbar spine BMD fell 15.0 % from 1 to 0.85 g/cm² between 2024-06-01 and 2025-06-01 "
        "during risedronate: more than the 5.3 % LSC and 15.0 %/year (≥ 10 %/year)."
    ]


def test_ref2_names_one_loss_for_each_course_that_lost_bone() -> None:
    therapies = [
        course("alendronate", "2021-01-01", "2023-12-31"),
        course("denosumab", "2024-01-01"),
    ]
    scans = [
        scan("2021-06-01", femoral_neck=0.9),
        scan("2022-06-01", femoral_neck=0.8),
        scan("2023-06-01", femoral_neck=0.7),
        scan("2024-03-01", lumbar_spine=1.0),
        scan("2025-03-01", lumbar_spine=0.85),
    ]
    assert _ref2_text(therapies=therapies, dxa=scans) == [
        "Femoral neck BMD fell 11.1 % from 0.9 to 0.8 g/cm² between 2021-06-01 and 2022-06-01 "
        "during alendronate: more than the 6.9 % LSC and 11.1 %/year (≥ 10 %/year); "
        "lumbar spine BMD fell 15.0 % from 1 to 0.85 g/cm² between 2024-03-01 and 2025-03-01 "
        "during denosumab: more than the 5.3 % LSC and 15.0 %/year (≥ 10 %/year)."
    ]
    failed = {
        e.drug
        for e in assess(therapies=therapies, dxa=scans).avoid
        if e.reason == "TREATMENT_FAILURE"
    }
    assert failed == {"alendronate", "denosumab"}


@pytest.mark.parametrize(
    ("risk_factors", "rule", "expected"),
    [
        pytest.param({"oral_bisphosphonate_intolerance": True}, "REF-3", True, id="intolerance"),
        pytest.param({"oral_bisphosphonate_intolerance": False}, "REF-3", False, id="tolerated"),
        pytest.param(
            {"oral_bisphosphonate_contraindication": True}, "REF-4", True, id="contraindication"
        ),
        pytest.param({"creatinine_clearance_ml_min": 34.9}, "REF-4", True, id="CrCl 34.9"),
        pytest.param({"creatinine_clearance_ml_min": 35}, "REF-4", False, id="CrCl 35"),
        pytest.param({"creatinine_clearance_ml_min": None}, "REF-4", False, id="CrCl unknown"),
    ],
)
def test_ref3_ref4_oral_bisphosphonates_not_possible(
    risk_factors: dict[str, Any], rule: str, expected: bool
) -> None:
    assert (rule in fired(risk_factors=risk_factors)) is expected


REF_5 = [
    pytest.param(
        "denosumab", "2024-03-15", "2025-03-14", False, id="day before 12 months of denosumab"
    ),
    pytest.param("denosumab", "2024-03-15", "2025-03-15", True, id="day of 12 months of denosumab"),
    pytest.param(
        "teriparatide", "2025-09-01", "2026-02-28", False, id="day before 6 months of teriparatide"
    ),
    pytest.param(
        "teriparatide", "2025-09-01", "2026-03-01", True, id="day of 6 months of teriparatide"
    ),
    pytest.param(
        "abaloparatide", "2025-09-01", "2026-03-01", True, id="abaloparatide is a PTH analogue"
    ),
    pytest.param("romosozumab", "2025-09-01", "2026-03-01", True, id="romosozumab is an anabolic"),
    pytest.param("alendronate", "2020-01-01", "2026-03-01", False, id="a bisphosphonate is REF-1"),
]


@pytest.mark.parametrize(("drug", "start", "fracture_date", "expected"), REF_5)
def test_ref5_fracture_on_other_therapy(
    drug: str, start: str, fracture_date: str, expected: bool
) -> None:
    doses = [start] if drug in ("denosumab", "romosozumab") else []
    sections = {
        "therapies": [course(drug, start, doses=doses)],
        "fractures": [fracture(fracture_date, "hip")],
    }
    assert ("REF-5" in fired(**sections)) is expected


def test_a_fracture_after_a_switch_is_not_a_failure_of_the_drug_it_replaced() -> None:
    # Alendronate was left open when denosumab started: supersession ends it on 2025-09-30, so a
    # fracture three months into denosumab fails neither drug (denosumab needs 12 months).
    therapies = [course("alendronate", "2023-01-01"), course("denosumab", "2025-10-01")]
    assessment = assess(therapies=therapies, fractures=[fracture("2026-01-10")])
    assert not [e for e in assessment.avoid if e.reason == "TREATMENT_FAILURE"]
    assert assessment.refractory.reasons == ()


def test_a_fracture_before_the_switch_is_a_failure_of_the_drug_then_taken() -> None:
    therapies = [course("alendronate", "2023-01-01"), course("denosumab", "2025-10-01")]
    assessment = assess(therapies=therapies, fractures=[fracture("2025-09-30")])
    failures = {e.drug for e in assessment.avoid if e.reason == "TREATMENT_FAILURE"}
    assert failures == {"alendronate"}
    assert assessment.refractory.reasons == ("FRACTURE_ON_BISPHOSPHONATE",)


def test_all_holding_reasons_are_listed_in_rule_order() -> None:
    assessment = assess(
        risk_factors={"oral_bisphosphonate_intolerance": True, "creatinine_clearance_ml_min": 20},
        therapies=[course("alendronate", "2022-01-01", "2024-06-01")],
        fractures=[fracture("2024-01-01")],
    )
    assert assessment.refractory.status is True
    assert assessment.refractory.reasons == (
        "FRACTURE_ON_BISPHOSPHONATE",
        "ORAL_BP_INTOLERANCE",
        "ORAL_BP_CONTRAINDICATED",
    )


def test_no_reason_means_not_refractory() -> None:
    assessment = assess(therapies=ALENDRONATE_FROM_MARCH)
    assert assessment.refractory.status is False
    assert assessment.refractory.reasons == ()
