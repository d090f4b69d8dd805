"""§4 Drug eligibility: ELG-1 to ELG-9, the `avoid` entries each rule writes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.therapy.engine.builders import (
    AS_OF_DATE,
    assess,
    case,
    course,
    days_before,
    event,
    monthly,
)
from therapy.engine import evaluate


def avoid(**sections: Any) -> set[tuple[str, str, str, str]]:
    return {
        (entry.drug, entry.reason, entry.severity, entry.rules[0])
        for entry in assess(**sections).avoid
    }


ROMO_MI = ("romosozumab", "MI_OR_STROKE_WITHIN_12_MONTHS", "contraindicated", "ELG-1")
ROMO_EXHAUSTED = ("romosozumab", "ROMOSOZUMAB_DOSES_EXHAUSTED", "contraindicated", "ELG-2")
TPTD_LIMIT = ("teriparatide", "PTH_ANALOGUE_LIFETIME_LIMIT", "contraindicated", "ELG-3")
TPTD_SARCOMA = ("teriparatide", "OSTEOSARCOMA_RISK", "contraindicated", "ELG-4")
TPTD_CALCIUM = ("teriparatide", "HYPERCALCEMIA", "contraindicated", "ELG-5")
DENO_IMMUNO = ("denosumab", "IMMUNOSUPPRESSED", "avoid", "ELG-6")
ZOL_RENAL = ("zoledronic_acid", "RENAL_IMPAIRMENT", "contraindicated", "ELG-7")
ROMO_MALE = ("romosozumab", "NOT_INDICATED_MALE", "avoid", "ELG-9")

ELIGIBILITY = [
    pytest.param(
        {"risk_factors": {"cardiovascular_events": [event("2025-11-25")]}},
        ROMO_MI,
        False,
        id="ELG-1 MI exactly 12 months ago",
    ),
    pytest.param(
        {"risk_factors": {"cardiovascular_events": [event("2025-11-26")]}},
        ROMO_MI,
        True,
        id="ELG-1 MI 12 months minus a day ago",
    ),
    pytest.param(
        {"risk_factors": {"cardiovascular_events": [event("2026-10-01", "stroke")]}},
        ROMO_MI,
        True,
        id="ELG-1 stroke",
    ),
    pytest.param(
        {"risk_factors": {"cardiovascular_events": [event("2026-12-01")]}},
        ROMO_MI,
        False,
        id="ELG-1 event after as_of",
    ),
    pytest.param(
        {
            "therapies": [
                course("romosozumab", "2025-01-05", "2025-12-31", doses=monthly("2025-01-05", 11))
            ]
        },
        ROMO_EXHAUSTED,
        False,
        id="ELG-2 eleven doses",
    ),
    pytest.param(
        {
            "therapies": [
                course("romosozumab", "2025-01-05", "2025-12-31", doses=monthly("2025-01-05", 12))
            ]
        },
        ROMO_EXHAUSTED,
        True,
        id="ELG-2 twelve doses",
    ),
    pytest.param(
        {
            "therapies": [
                course("romosozumab", "2023-01-05", "2023-06-30", doses=monthly("2023-01-05", 6)),
                course("romosozumab", "2025-01-05", "2025-06-30", doses=monthly("2025-01-05", 6)),
            ]
        },
        ROMO_EXHAUSTED,
        True,
        id="ELG-2 doses add up across courses",
    ),
    pytest.param(
        {"therapies": [course("teriparatide", days_before(729))]},
        TPTD_LIMIT,
        False,
        id="ELG-3 730 days of teriparatide (23.98 months)",
    ),
    pytest.param(
        {"therapies": [course("teriparatide", days_before(730))]},
        TPTD_LIMIT,
        True,
        id="ELG-3 731 days of teriparatide (24.02 months)",
    ),
    pytest.param(
        {
            "therapies": [
                course("teriparatide", "2023-01-01", "2023-12-31"),
                course("abaloparatide", "2024-01-01", "2024-12-31"),
            ]
        },
        TPTD_LIMIT,
        True,
        id="ELG-3 teriparatide and abaloparatide add up (365 + 366 days)",
    ),
    pytest.param(
        {"therapies": [course("teriparatide", "2023-01-01", "2024-12-30")]},
        TPTD_LIMIT,
        False,
        id="ELG-3 ended course counts to its end (730 days)",
    ),
    *[
        pytest.param({"risk_factors": {flag: True}}, TPTD_SARCOMA, True, id=f"ELG-4 {flag}")
        for flag in (
            "skeletal_radiation",
            "bone_metastases",
            "pagets_disease",
            "unexplained_elevated_alp",
            "open_epiphyses",
        )
    ],
    pytest.param({}, TPTD_SARCOMA, False, id="ELG-4 no risk factor"),
    pytest.param({"risk_factors": {"hypercalcemia": True}}, TPTD_CALCIUM, True, id="ELG-5"),
    pytest.param(
        {"risk_factors": {"hypocalcemia": True}}, TPTD_CALCIUM, False, id="ELG-5 not hypo"
    ),
    pytest.param({"risk_factors": {"organ_transplant": True}}, DENO_IMMUNO, True, id="ELG-6"),
    pytest.param(
        {"risk_factors": {"immunosuppressants": ["azathioprine"]}},
        DENO_IMMUNO,
        False,
        id="ELG-6 one agent is not immunosuppressed",
    ),
    pytest.param(
        {"risk_factors": {"creatinine_clearance_ml_min": 34.9}},
        ZOL_RENAL,
        True,
        id="ELG-7 CrCl 34.9",
    ),
    pytest.param(
        {"risk_factors": {"creatinine_clearance_ml_min": 35}}, ZOL_RENAL, False, id="ELG-7 CrCl 35"
    ),
    pytest.param({"patient": {"sex": "male"}}, ROMO_MALE, True, id="ELG-9 male"),
    pytest.param({"patient": {"sex": "female"}}, ROMO_MALE, False, id="ELG-9 female"),
    pytest.param({}, ROMO_MALE, False, id="ELG-9 sex unknown"),
]


@pytest.mark.parametrize(("sections", "entry", "expected"), ELIGIBILITY)
def test_eligibility_rule_writes_its_avoid_entry(
    sections: dict[str, Any], entry: tuple[str, str, str, str], expected: bool
) -> None:
    assert (entry in avoid(**sections)) is expected


@pytest.mark.parametrize("refractory", [True, False])
def test_elg8_oral_bisphosphonates_avoided_when_refractory(refractory: bool) -> None:
    entries = avoid(risk_factors={"oral_bisphosphonate_intolerance": refractory})
    oral = {
        (drug, "ORAL_BP_NOT_APPROPRIATE", "avoid", "ELG-8")
        for drug in ("alendronate", "risedronate", "ibandronate")
    }
    assert (oral <= entries) is refractory
    assert not refractory or len(oral & entries) == 3


def test_a_drug_may_have_several_entries_sorted_by_drug_then_rule() -> None:
    entries = assess(
        patient={"sex": "male"},
        risk_factors={
            "hypercalcemia": True,
            "skeletal_radiation": True,
            "cardiovascular_events": [event("2026-10-01")],
        },
    ).avoid
    assert [(e.drug, e.rules[0]) for e in entries] == [
        ("romosozumab", "ELG-1"),
        ("romosozumab", "ELG-9"),
        ("teriparatide", "ELG-4"),
        ("teriparatide", "ELG-5"),
    ]


def test_elg3_rationale_adds_the_2020_label_note() -> None:
    assessment = assess(therapies=[course("teriparatide", "2020-01-01", "2022-06-01")])
    text = next(r.text for r in assessment.rationale if r.rule == "ELG-3")
    assert "2020 US label allows longer use" in text


def test_as_of_override_moves_every_window() -> None:
    sections = {"risk_factors": {"cardiovascular_events": [event("2025-11-26")]}}
    a_year_later = AS_OF_DATE.replace(year=2027)
    moved = evaluate(case(**sections), as_of=a_year_later)
    assert ROMO_MI in avoid(**sections)
    assert moved.as_of == a_year_later
    assert "romosozumab" not in {entry.drug for entry in moved.avoid}
