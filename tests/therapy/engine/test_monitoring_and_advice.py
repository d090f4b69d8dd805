"""§7 Monitoring schedule (MON-1 to MON-6) and §8 supplementation and lifestyle."""

from __future__ import annotations

from typing import Any

import pytest

from tests.therapy.engine.builders import assess, course, lab, monthly, scan


def schedule(as_of: str = "2026-11-25", **sections: Any) -> list[tuple[str, str, str | None]]:
    return [
        (item.code, item.due.isoformat(), item.drug)
        for item in assess(as_of, **sections).monitoring
    ]


def items(code: str, **sections: Any) -> list[tuple[str, str | None]]:
    return [(due, drug) for c, due, drug in schedule(**sections) if c == code]


@pytest.mark.parametrize(
    ("reassessments", "due"),
    [
        pytest.param(["2026-02-03"], "2027-02-03", id="latest + 12 months"),
        pytest.param(["2024-01-31", "2025-01-31"], "2026-01-31", id="the latest one counts"),
        pytest.param([], "2026-11-25", id="none: due on as_of"),
        pytest.param(["2026-12-01"], "2026-11-25", id="one after as_of is ignored"),
    ],
)
def test_mon1_fracture_risk_reassessment(reassessments: list[str], due: str) -> None:
    assert items("FRACTURE_RISK_REASSESSMENT", reassessments=reassessments) == [(due, None)]


# as_of 2026-11-25: "within 90 days before" is 2026-08-27 < start ≤ 2026-11-25.
BASELINE = [
    pytest.param(
        [course("alendronate", "2026-08-28")], [], [("2026-08-28", None)], id="89 days ago"
    ),
    pytest.param([course("alendronate", "2026-08-27")], [], [], id="90 days ago"),
    pytest.param(
        [course("alendronate", "2026-10-01")],
        [lab("2026-07-03", "ctx", 0.5)],
        [],
        id="CTX on start − 90 days",
    ),
    pytest.param(
        [course("alendronate", "2026-10-01")],
        [lab("2026-07-02", "p1np", 50)],
        [("2026-10-01", None)],
        id="P1NP on start − 91 days",
    ),
    pytest.param(
        [course("alendronate", "2026-10-01")],
        [lab("2026-07-03", "vitamin_d_25oh", 40)],
        [("2026-10-01", None)],
        id="vitamin D is not a bone-turnover marker",
    ),
    pytest.param(
        [course("raloxifene", "2026-10-01")], [], [], id="raloxifene is not a course here"
    ),
    pytest.param([], [], [], id="no active course"),
]


@pytest.mark.parametrize(("therapies", "labs", "expected"), BASELINE)
def test_mon2_baseline_markers(
    therapies: list[dict[str, Any]], labs: list[dict[str, Any]], expected: list[Any]
) -> None:
    assert items("BTM_BASELINE", therapies=therapies, labs=labs) == expected


# as_of 2026-11-25 ≤ start + 6 months for a start on or after 2026-05-25.
THREE_MONTHS = [
    pytest.param(
        [course("alendronate", "2026-05-25")],
        [],
        [("2026-08-25", None)],
        id="as_of = start + 6 months",
    ),
    pytest.param([course("alendronate", "2026-05-24")], [], [], id="as_of after start + 6 months"),
    pytest.param(
        [course("alendronate", "2026-06-20")],
        [lab("2026-08-19", "ctx", 0.3)],
        [],
        id="marker on start + 60 days",
    ),
    pytest.param(
        [course("alendronate", "2026-06-20")],
        [lab("2026-08-18", "ctx", 0.3)],
        [("2026-09-20", None)],
        id="marker on start + 59 days",
    ),
    pytest.param(
        [course("alendronate", "2026-11-25")], [], [("2027-02-25", None)], id="course started today"
    ),
]


@pytest.mark.parametrize(("therapies", "labs", "expected"), THREE_MONTHS)
def test_mon3_markers_at_three_months(
    therapies: list[dict[str, Any]], labs: list[dict[str, Any]], expected: list[Any]
) -> None:
    assert items("BTM_3_MONTHS", therapies=therapies, labs=labs) == expected


DXA = [
    pytest.param([], [], "2026-11-25", id="no scan: due on as_of"),
    pytest.param(
        [], [scan("2025-03-01", lumbar_spine=0.8)], "2027-03-01", id="latest scan + 24 months"
    ),
    pytest.param(
        [course("denosumab", "2026-06-15", doses=["2026-06-15"])],
        [scan("2025-03-01", lumbar_spine=0.8)],
        "2027-06-15",
        id="course started after the scan: start + 12 months",
    ),
    pytest.param(
        [course("alendronate", "2024-02-01")],
        [scan("2025-02-03", lumbar_spine=0.8)],
        "2027-02-03",
        id="scan after the course started",
    ),
    pytest.param(
        [course("alendronate", "2025-03-01")],
        [scan("2025-03-01", lumbar_spine=0.8)],
        "2026-03-01",
        id="baseline scan on the start day: start + 12 months",
    ),
    pytest.param(
        [course("alendronate", "2020-01-01", "2024-01-01"), course("risedronate", "2025-06-01")],
        [scan("2025-03-01", lumbar_spine=0.8)],
        "2026-06-01",
        id="the course that started last counts",
    ),
    pytest.param(
        [],
        [scan("2025-03-01", lumbar_spine=0.8), scan("2026-12-01", lumbar_spine=0.8)],
        "2027-03-01",
        id="scan after as_of is ignored",
    ),
]


@pytest.mark.parametrize(("therapies", "scans", "due"), DXA)
def test_mon4_dxa_follow_up(
    therapies: list[dict[str, Any]], scans: list[dict[str, Any]], due: str
) -> None:
    assert items("DXA_FOLLOW_UP", therapies=therapies, dxa=scans) == [(due, None)]


NEXT_DOSE = [
    pytest.param(
        [course("denosumab", "2026-01-31", doses=["2026-01-31", "2026-07-31"])],
        [("2027-01-31", "denosumab")],
        id="denosumab: last dose + 6 months",
    ),
    pytest.param(
        [course("zoledronic_acid", "2026-02-28", doses=["2026-02-28"])],
        [("2027-02-28", "zoledronic_acid")],
        id="zoledronic acid: last dose + 12 months",
    ),
    pytest.param(
        [course("romosozumab", "2026-01-31", doses=["2026-01-31", "2026-02-28", "2026-03-31"])],
        [("2026-04-30", "romosozumab")],
        id="romosozumab: last dose + 1 month (calendar)",
    ),
    pytest.param(
        [course("romosozumab", "2025-12-01", doses=monthly("2025-12-01", 12))],
        [],
        id="romosozumab after 12 doses",
    ),
    pytest.param(
        [course("denosumab", "2026-10-01")],
        [("2026-10-01", "denosumab")],
        id="no dose recorded: the first is due on the course's start",
    ),
    pytest.param(
        [
            course("denosumab", "2025-01-10", "2025-12-31", doses=["2025-01-10", "2025-07-10"]),
            course("denosumab", "2026-10-01"),
        ],
        [("2026-10-01", "denosumab")],
        id="a restarted course without a dose: due on its own start, not the old course's",
    ),
    pytest.param([course("alendronate", "2026-01-01")], [], id="oral drug: none"),
    pytest.param(
        [
            course("zoledronic_acid", "2026-02-01", doses=["2026-02-01"]),
            course("denosumab", "2026-02-01", doses=["2026-06-01"]),
        ],
        [("2026-12-01", "denosumab"), ("2027-02-01", "zoledronic_acid")],
        id="several active courses (started the same day), by drug",
    ),
    pytest.param(
        [
            course("zoledronic_acid", "2026-02-01", doses=["2026-02-01"]),
            course("denosumab", "2026-06-01", doses=["2026-06-01"]),
        ],
        [("2026-12-01", "denosumab")],
        id="a later course of another drug supersedes the open one",
    ),
]


@pytest.mark.parametrize(("therapies", "expected"), NEXT_DOSE)
def test_mon5_next_dose(therapies: list[dict[str, Any]], expected: list[Any]) -> None:
    assert items("NEXT_DOSE", therapies=therapies) == expected


FOLLOW_ON = [
    pytest.param(
        [course("denosumab", "2025-09-20", "2026-05-01", doses=["2025-09-20", "2026-03-20"])],
        [("2026-09-20", "bisphosphonate")],
        id="denosumab stopped: bisphosphonate by last dose + 6 months",
    ),
    pytest.param(
        [course("teriparatide", "2024-09-01", "2026-09-01")],
        [("2026-09-01", "antiresorptive")],
        id="anabolic ended: antiresorptive from its end",
    ),
    pytest.param(
        [
            course("denosumab", "2020-01-01", "2024-06-01", doses=["2024-01-05"]),
            course("teriparatide", "2024-07-01", "2026-07-01"),
        ],
        [("2026-07-01", "antiresorptive"), ("2024-07-05", "bisphosphonate")],
        id="both, sorted by drug",
    ),
    pytest.param([course("alendronate", "2024-01-01")], [], id="nothing to follow"),
]


@pytest.mark.parametrize(("therapies", "expected"), FOLLOW_ON)
def test_mon6_follow_on_start(therapies: list[dict[str, Any]], expected: list[Any]) -> None:
    assert items("FOLLOW_ON_START", therapies=therapies) == expected


def test_schedule_is_sorted_by_rule_then_drug() -> None:
    rows = schedule(
        therapies=[
            course("denosumab", "2026-05-30", doses=["2026-06-01"]),
            course("zoledronic_acid", "2026-05-30", doses=["2026-05-30"]),
        ]
    )
    assert [code for code, _, _ in rows] == [
        "FRACTURE_RISK_REASSESSMENT",
        "BTM_3_MONTHS",
        "DXA_FOLLOW_UP",
        "NEXT_DOSE",
        "NEXT_DOSE",
    ]
    assert [drug for code, _, drug in rows if code == "NEXT_DOSE"] == [
        "denosumab",
        "zoledronic_acid",
    ]


ADVICE = [
    pytest.param({}, ["EXERCISE", "FALL_PREVENTION"], id="everyone"),
    pytest.param(
        {"current_smoker": True}, ["EXERCISE", "FALL_PREVENTION", "SMOKING_CESSATION"], id="smoker"
    ),
    pytest.param(
        {"alcohol_drinks_per_day": 2}, ["EXERCISE", "FALL_PREVENTION"], id="2 drinks a day"
    ),
    pytest.param(
        {"alcohol_drinks_per_day": 2.5},
        ["EXERCISE", "FALL_PREVENTION", "ALCOHOL_LIMIT"],
        id="2.5 drinks a day",
    ),
    pytest.param(
        {"current_smoker": True, "alcohol_drinks_per_day": 4},
        ["EXERCISE", "FALL_PREVENTION", "SMOKING_CESSATION", "ALCOHOL_LIMIT"],
        id="both",
    ),
]


@pytest.mark.parametrize(("risk_factors", "lifestyle"), ADVICE)
def test_supplementation_and_lifestyle(risk_factors: dict[str, Any], lifestyle: list[str]) -> None:
    assessment = assess(risk_factors=risk_factors)
    assert list(assessment.supplementation) == ["CALCIUM", "VITAMIN_D"]
    assert list(assessment.lifestyle) == lifestyle
    assert {"SUP-1", "SUP-2", "LIF-1", "LIF-2"} <= set(assessment.fired_rules)
    assert ("LIF-3" in assessment.fired_rules) is ("SMOKING_CESSATION" in lifestyle)
    assert ("LIF-4" in assessment.fired_rules) is ("ALCOHOL_LIMIT" in lifestyle)
