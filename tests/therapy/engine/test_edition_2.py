"""What edition 2 of the rule book (engine version 2) changed, rule by rule (RULES.md,
"Changes from engine version 1"): supersession, "started last" ties, the last denosumab dose
across courses, ALR-3/ALR-5 only once no course of the drug is active, scanners (REF-2), and
the recommendation (§5b, REC-1 to REC-4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.therapy.engine.builders import assess, course, fracture, monthly, scan


def _alerts(**sections: Any) -> dict[str, tuple[str, str | None]]:
    return {
        a.code.value: (a.severity.value, None if a.due is None else a.due.isoformat())
        for a in assess(**sections).alerts
    }


def _recommendation(as_of: str = "2026-11-25", **sections: Any) -> tuple[Any, ...]:
    r = assess(as_of, **sections).recommendation
    limit = None
    if r.limit is not None:
        limit = r.limit.months_remaining if r.limit.months_remaining is not None else r.limit
    return (r.action.value, r.drug and r.drug.value, [d.value for d in r.then], limit, r.rules[0])


# --- Supersession -----------------------------------------------------------------------------


def test_an_open_course_ends_the_day_before_a_course_of_another_drug_starts() -> None:
    assessment = assess(
        therapies=[course("alendronate", "2023-01-10"), course("zoledronic_acid", "2026-03-01")],
        fractures=[fracture("2026-02-28")],
    )
    # The fracture on 2026-02-28 fell on alendronate's last effective day: it failed.
    assert ("alendronate", "TREATMENT_FAILURE") in {
        (e.drug.value, e.reason.value) for e in assessment.avoid
    }
    assert assessment.recommendation.drug == "zoledronic_acid"


def test_a_course_closed_on_the_switch_day_reads_as_a_clean_switch() -> None:
    found = _alerts(
        therapies=[
            course("denosumab", "2024-05-10", "2026-11-25", doses=["2024-05-10", "2026-05-10"]),
            course("zoledronic_acid", "2026-11-25"),
        ]
    )
    assert found == {}


def test_a_later_course_of_the_same_drug_does_not_supersede() -> None:
    # Two open denosumab courses: both stay active; one NEXT_DOSE per due date.
    assessment = assess(
        therapies=[
            course("denosumab", "2025-11-01", doses=["2025-11-01", "2026-05-01"]),
            course("denosumab", "2026-01-01", doses=["2026-05-01"]),
        ]
    )
    next_doses = [(m.due.isoformat(), m.drug) for m in assessment.monitoring if m.rule == "MON-5"]
    assert next_doses == [("2026-11-01", "denosumab")]


def test_a_course_starting_after_as_of_supersedes_nothing() -> None:
    assessment = assess(
        therapies=[course("alendronate", "2023-01-10"), course("zoledronic_acid", "2026-12-01")]
    )
    assert assessment.recommendation.drug == "alendronate"


def test_teriparatide_exposure_stops_counting_at_the_switch() -> None:
    # Teriparatide left open since 2024-01-01, zoledronic acid from 2025-01-01: 366 days.
    assessment = assess(
        therapies=[course("teriparatide", "2024-01-01"), course("zoledronic_acid", "2025-01-01")],
        fractures=[fracture("2025-06-01")],
        risk_factors={"oral_bisphosphonate_intolerance": True, "high_fall_risk": True},
    )
    limits = {o.drug.value: o.limit for o in assessment.options}
    assert limits["teriparatide"].months_remaining == 11  # floor(24 - 366 / 30.4375)


# --- "Started last" ties ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("therapies", "current"),
    [
        pytest.param(
            [course("zoledronic_acid", "2026-06-01"), course("denosumab", "2026-06-01")],
            "denosumab",
            id="both open: the one listed later",
        ),
        pytest.param(
            [
                course("zoledronic_acid", "2026-06-01"),
                course("denosumab", "2026-06-01", "2026-12-31"),
            ],
            "zoledronic_acid",
            id="open beats ended, whatever the listing",
        ),
        pytest.param(
            [
                course("zoledronic_acid", "2026-06-01", "2027-06-01"),
                course("denosumab", "2026-06-01", "2026-12-31"),
            ],
            "zoledronic_acid",
            id="the later end wins",
        ),
    ],
)
def test_the_course_that_started_last_on_a_tie(
    therapies: list[dict[str, Any]], current: str
) -> None:
    assessment = assess(therapies=therapies)
    assert assessment.recommendation.drug == current
    # MON-4 counts from the active course: started after the latest (absent) scan → as_of.
    assert assessment.recommendation.action == "continue"


# --- The last denosumab dose, across courses ----------------------------------------------------


def test_a_denosumab_restart_without_an_injection_stays_overdue() -> None:
    found = _alerts(
        therapies=[
            course("denosumab", "2024-11-15", "2026-05-15", doses=["2024-11-15", "2025-05-15"]),
            course("denosumab", "2026-11-20"),
        ]
    )
    assert found == {"DENOSUMAB_OVERDUE": ("critical", "2025-11-15")}


def test_a_denosumab_restart_with_its_injection_clears_the_overdue_alert() -> None:
    found = _alerts(
        therapies=[
            course("denosumab", "2024-11-15", "2026-05-15", doses=["2024-11-15", "2025-05-15"]),
            course("denosumab", "2026-11-20", doses=["2026-11-20"]),
        ]
    )
    assert found == {}


def test_without_any_dose_the_last_denosumab_dose_is_the_start_of_the_latest_course() -> None:
    found = _alerts(as_of="2027-06-11", therapies=[course("denosumab", "2026-11-10")])
    assert found == {"DENOSUMAB_OVERDUE": ("critical", "2027-05-10")}
    found = _alerts(as_of="2027-06-10", therapies=[course("denosumab", "2026-11-10")])
    assert found == {"DENOSUMAB_DOSE_DUE": ("warning", "2027-05-10")}


# --- ALR-3 and ALR-5 only when no course of the drug is still active -----------------------------


def test_no_stop_alert_while_another_denosumab_course_is_active() -> None:
    found = _alerts(
        therapies=[
            course("denosumab", "2025-06-01", doses=["2025-06-01", "2025-12-01", "2026-06-01"]),
            course("denosumab", "2025-09-01", "2025-10-01"),
        ]
    )
    assert "DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON" not in found
    assert "DENOSUMAB_FOLLOW_ON_NEEDED" not in found


def test_no_sequential_alert_while_another_course_of_the_anabolic_is_active() -> None:
    found = _alerts(
        therapies=[
            course("teriparatide", "2025-06-01"),
            course("teriparatide", "2025-09-01", "2025-10-01"),
        ]
    )
    assert "SEQUENTIAL_ANTIRESORPTIVE_REQUIRED" not in found


def test_an_anabolic_left_open_when_an_antiresorptive_started_needs_no_alert() -> None:
    found = _alerts(
        therapies=[course("teriparatide", "2024-06-01"), course("zoledronic_acid", "2026-06-01")]
    )
    assert "SEQUENTIAL_ANTIRESORPTIVE_REQUIRED" not in found


# --- REF-2: scanners ----------------------------------------------------------------------------


def _loss(first: str | None, second: str | None) -> bool:
    scans = [scan("2024-01-15", total_hip=0.80), scan("2025-01-15", total_hip=0.70)]
    for entry, scanner in zip(scans, (first, second), strict=True):
        if scanner is not None:
            entry["scanner"] = scanner
    reasons = assess(therapies=[course("risedronate", "2023-06-01")], dxa=scans).refractory.reasons
    return "BMD_LOSS_ON_TREATMENT" in reasons


@pytest.mark.parametrize(
    ("first", "second", "compared"),
    [
        pytest.param("Lunar iDXA", "Hologic Horizon", False, id="two named scanners"),
        pytest.param("Hologic Horizon", "Hologic Horizon", True, id="the same scanner"),
        pytest.param("Hologic Horizon", " hologic horizon", True, id="same name, other case"),
        pytest.param(None, "Hologic Horizon", True, id="one scanner unrecorded"),
        pytest.param(None, None, True, id="neither recorded"),
    ],
)
def test_bmd_from_two_named_scanners_is_not_compared(
    first: str | None, second: str | None, compared: bool
) -> None:
    assert _loss(first, second) is compared


# --- §5b Recommendation ---------------------------------------------------------------------------


RECOMMENDATIONS = [
    pytest.param(
        {"therapies": [course("alendronate", "2025-01-01")]},
        ("continue", "alendronate", [], None, "REC-1"),
        id="continue a course that is not to be avoided",
    ),
    pytest.param(
        {"therapies": [course("alendronate", "2023-01-01")], "fractures": [fracture("2025-06-01")]},
        ("switch", "teriparatide", ["zoledronic_acid", "denosumab"], 24, "REC-2"),
        id="switch away from a failed drug",
    ),
    pytest.param(
        {"risk_factors": {"oral_bisphosphonate_intolerance": True}},
        ("start", "zoledronic_acid", [], None, "REC-3"),
        id="start the first option",
    ),
    pytest.param({}, ("none", None, [], None, "REC-4"), id="nothing active, nothing to suggest"),
    pytest.param(
        {"therapies": [course("teriparatide", "2025-06-01")]},
        ("continue", "teriparatide", ["zoledronic_acid", "denosumab"], 6, "REC-1"),
        id="continue teriparatide, with months left and what follows",
    ),
    pytest.param(
        {"therapies": [course("abaloparatide", "2025-06-01")]},
        ("continue", "abaloparatide", ["zoledronic_acid", "denosumab"], 6, "REC-1"),
        id="abaloparatide carries teriparatide's limit",
    ),
    pytest.param(
        {"therapies": [course("teriparatide", "2024-11-01")]},
        ("switch", "zoledronic_acid", [], None, "REC-2"),
        id="teriparatide at its lifetime limit: switch",
    ),
    pytest.param(
        {
            "therapies": [course("romosozumab", "2026-06-01", doses=monthly("2026-06-01", 6))],
            "risk_factors": {"cardiovascular_events": [{"kind": "stroke", "date": "2026-09-15"}]},
        },
        ("switch", "zoledronic_acid", [], None, "REC-2"),
        id="romosozumab after a stroke on it: switch",
    ),
    pytest.param(
        {
            "therapies": [course("zoledronic_acid", "2025-01-01")],
            "risk_factors": {"creatinine_clearance_ml_min": 20, "organ_transplant": True},
        },
        ("none", None, [], None, "REC-4"),
        id="the active drug must stop and no option remains",
    ),
]


@pytest.mark.parametrize(("sections", "expected"), RECOMMENDATIONS)
def test_recommendation(sections: dict[str, Any], expected: tuple[Any, ...]) -> None:
    assert _recommendation(**sections) == expected


def test_every_recommendation_has_one_sentence_in_rule_order() -> None:
    assessment = assess(therapies=[course("teriparatide", "2025-06-01")])
    rules = [r.rule.value for r in assessment.rationale]
    assert rules.count("REC-1") == 1
    assert rules.index("SEL-2") < rules.index("REC-1") < rules.index("MON-1")
    text = next(r.text for r in assessment.rationale if r.rule == "REC-1")
    assert text == (
        "Continue teriparatide, 6 months of the PTH-analogue lifetime left, "
        "then zoledronic acid or denosumab."
    )
