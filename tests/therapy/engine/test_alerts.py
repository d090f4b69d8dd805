"""§6 Alerts: ALR-1 to ALR-13 (ALR-14 is tested with SEL-9), at their boundaries."""

from __future__ import annotations

from typing import Any

import pytest

from tests.therapy.engine.builders import (
    assess,
    course,
    days_before,
    event,
    lab,
    monthly,
)


def alerts(as_of: str = "2026-11-25", **sections: Any) -> dict[str, tuple[str, str | None]]:
    """code → (severity, due) of every alert."""
    return {
        alert.code: (alert.severity, None if alert.due is None else alert.due.isoformat())
        for alert in assess(as_of, **sections).alerts
    }


# Denosumab last given 2026-06-15: due 2026-12-15, notice from 2026-11-17 (due − 28 days),
# overdue after 2027-01-15 (last dose + 7 months).
ON_DENOSUMAB = {
    "therapies": [course("denosumab", "2025-12-15", doses=["2025-12-15", "2026-06-15"])]
}
DENOSUMAB_DOSE = [
    pytest.param("2026-11-16", {}, id="day before the 28-day notice"),
    pytest.param(
        "2026-11-17",
        {"DENOSUMAB_DOSE_DUE": ("warning", "2026-12-15")},
        id="ALR-1 first day of the notice",
    ),
    pytest.param(
        "2027-01-15",
        {"DENOSUMAB_DOSE_DUE": ("warning", "2026-12-15")},
        id="ALR-1 last dose + 7 months",
    ),
    pytest.param(
        "2027-01-16",
        {"DENOSUMAB_OVERDUE": ("critical", "2026-12-15")},
        id="ALR-2 the day after 7 months",
    ),
]


@pytest.mark.parametrize(("as_of", "expected"), DENOSUMAB_DOSE)
def test_alr1_alr2_denosumab_dose(as_of: str, expected: dict[str, tuple[str, str]]) -> None:
    assert alerts(as_of, **ON_DENOSUMAB) == expected


def test_alr1_counts_the_latest_started_active_denosumab_course() -> None:
    therapies = [
        course("denosumab", "2024-01-10", doses=["2024-01-10"]),
        course("denosumab", "2026-06-15", doses=["2026-06-15"]),
    ]
    assert alerts("2026-11-20", therapies=therapies) == {
        "DENOSUMAB_DOSE_DUE": ("warning", "2026-12-15")
    }


# Denosumab stopped, last dose 2026-03-20: follow-on due 2026-09-20.
STOPPED = course("denosumab", "2025-09-20", "2026-05-01", doses=["2025-09-20", "2026-03-20"])
DENOSUMAB_STOP = [
    pytest.param(
        "2026-09-20",
        [STOPPED],
        {"DENOSUMAB_FOLLOW_ON_NEEDED": ("warning", "2026-09-20")},
        id="ALR-4 on the due day",
    ),
    pytest.param(
        "2026-09-21",
        [STOPPED],
        {"DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON": ("critical", "2026-09-20")},
        id="ALR-3 the day after",
    ),
    pytest.param(
        "2026-09-21",
        [STOPPED, course("alendronate", "2026-03-20")],
        {},
        id="bisphosphonate started on the last dose day",
    ),
    pytest.param(
        "2026-09-21",
        [STOPPED, course("alendronate", "2026-03-19", "2026-04-01")],
        {"DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON": ("critical", "2026-09-20")},
        id="bisphosphonate started before the last dose",
    ),
    pytest.param(
        "2026-09-21",
        [STOPPED, course("teriparatide", "2026-06-01")],
        {"DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON": ("critical", "2026-09-20")},
        id="an anabolic is not the bisphosphonate follow-on",
    ),
    pytest.param(
        "2026-04-30",
        [STOPPED],
        {},
        id="course not yet ended on as_of",
    ),
    pytest.param(
        "2026-05-01",
        [STOPPED],
        {},
        id="course ends on as_of: still active that day, so not stopped yet",
    ),
    pytest.param(
        "2026-05-02",
        [STOPPED],
        {"DENOSUMAB_FOLLOW_ON_NEEDED": ("warning", "2026-09-20")},
        id="the day after the course ends",
    ),
]


@pytest.mark.parametrize(("as_of", "therapies", "expected"), DENOSUMAB_STOP)
def test_alr3_alr4_denosumab_stopped(
    as_of: str, therapies: list[dict[str, Any]], expected: dict[str, tuple[str, str]]
) -> None:
    found = alerts(as_of, therapies=therapies)
    found.pop("SEQUENTIAL_ANTIRESORPTIVE_REQUIRED", None)
    found.pop("POSSIBLE_NON_ADHERENCE", None)
    assert {code: found[code] for code in found if code.startswith("DENOSUMAB")} == expected


SEQUENTIAL = [
    pytest.param(
        [course("teriparatide", "2024-09-01", "2026-09-01")], True, id="ended, nothing after"
    ),
    pytest.param(
        [course("teriparatide", "2024-09-01", "2026-11-24")], True, id="ended the day before as_of"
    ),
    pytest.param(
        [course("teriparatide", "2024-09-01", "2026-11-25")],
        False,
        id="ends on as_of: still active that day",
    ),
    pytest.param([course("teriparatide", "2024-09-01", "2026-11-26")], False, id="still active"),
    pytest.param(
        [course("teriparatide", "2024-09-01", "2026-09-01"), course("denosumab", "2026-09-02")],
        False,
        id="antiresorptive started after",
    ),
    pytest.param(
        [
            course("alendronate", "2020-01-01", "2024-08-01"),
            course("teriparatide", "2024-09-01", "2026-09-01"),
        ],
        True,
        id="antiresorptive only before the anabolic",
    ),
    pytest.param(
        [course("teriparatide", "2024-09-01", "2026-09-01"), course("raloxifene", "2026-09-02")],
        True,
        id="raloxifene is not an antiresorptive here",
    ),
]


@pytest.mark.parametrize(("therapies", "expected"), SEQUENTIAL)
def test_alr5_sequential_antiresorptive_required(
    therapies: list[dict[str, Any]], expected: bool
) -> None:
    found = alerts(therapies=therapies)
    assert ("SEQUENTIAL_ANTIRESORPTIVE_REQUIRED" in found) is expected
    if expected:
        assert found["SEQUENTIAL_ANTIRESORPTIVE_REQUIRED"] == ("critical", None)


ANABOLIC_LIMITS = [
    # PTH-analogue exposure in days counts both ends: 639 days = 20.99 months, 640 = 21.03.
    pytest.param([course("teriparatide", days_before(638))], set(), id="639 days of teriparatide"),
    pytest.param(
        [course("teriparatide", days_before(639))], {"ANABOLIC_COURSE_ENDING"}, id="640 days"
    ),
    pytest.param(
        [course("teriparatide", days_before(729))], {"ANABOLIC_COURSE_ENDING"}, id="730 days"
    ),
    pytest.param(
        [course("teriparatide", days_before(730))],
        {"ANABOLIC_COURSE_ENDING", "ANABOLIC_LIMIT_REACHED"},
        id="731 days: limit reached (ALR-6 still holds)",
    ),
    pytest.param(
        [
            course("abaloparatide", "2023-01-01", "2023-12-31"),
            course("teriparatide", days_before(300)),
        ],
        {"ANABOLIC_COURSE_ENDING"},
        id="abaloparatide counts towards the PTH-analogue exposure",
    ),
    pytest.param(
        [course("teriparatide", "2023-01-01", "2024-12-31")],
        set(),
        id="no alert once the course is over",
    ),
    pytest.param(
        [course("romosozumab", "2026-02-01", doses=monthly("2026-02-01", 9))], set(), id="9 doses"
    ),
    pytest.param(
        [course("romosozumab", "2026-01-01", doses=monthly("2026-01-01", 10))],
        {"ANABOLIC_COURSE_ENDING"},
        id="10 doses",
    ),
    pytest.param(
        [course("romosozumab", "2025-12-01", doses=monthly("2025-12-01", 11))],
        {"ANABOLIC_COURSE_ENDING"},
        id="11 doses",
    ),
    pytest.param(
        [course("romosozumab", "2025-11-01", doses=monthly("2025-11-01", 12))],
        {"ANABOLIC_COURSE_ENDING", "ANABOLIC_LIMIT_REACHED"},
        id="12 doses",
    ),
]


@pytest.mark.parametrize(("therapies", "expected"), ANABOLIC_LIMITS)
def test_alr6_alr7_anabolic_course_ending_and_limit(
    therapies: list[dict[str, Any]], expected: set[str]
) -> None:
    found = alerts(therapies=therapies)
    assert {code for code in found if code.startswith("ANABOLIC")} == expected
    if "ANABOLIC_LIMIT_REACHED" in expected:
        assert found["ANABOLIC_LIMIT_REACHED"] == ("critical", None)
        assert found["ANABOLIC_COURSE_ENDING"] == ("warning", None)


ROMOSOZUMAB = course("romosozumab", "2026-03-01", "2026-10-01", doses=monthly("2026-03-01", 7))
CV_EVENTS = [
    pytest.param(event("2026-03-01"), True, id="MI on the first day"),
    pytest.param(event("2026-10-01", "stroke"), True, id="stroke on the last day"),
    pytest.param(event("2026-02-28"), False, id="MI the day before"),
    pytest.param(event("2026-10-02"), False, id="MI the day after"),
]


@pytest.mark.parametrize(("cv_event", "expected"), CV_EVENTS)
def test_alr8_cardiovascular_event_on_romosozumab(cv_event: dict[str, Any], expected: bool) -> None:
    found = alerts(therapies=[ROMOSOZUMAB], risk_factors={"cardiovascular_events": [cv_event]})
    assert ("ROMOSOZUMAB_CV_EVENT" in found) is expected


def test_alr8_stops_the_next_romosozumab_dose() -> None:
    therapies = [course("romosozumab", "2026-06-01", doses=monthly("2026-06-01", 5))]
    quiet = assess(therapies=therapies)
    stopped = assess(
        therapies=therapies, risk_factors={"cardiovascular_events": [event("2026-09-10")]}
    )
    assert [m.drug for m in quiet.monitoring if m.code == "NEXT_DOSE"] == ["romosozumab"]
    assert [m.drug for m in stopped.monitoring if m.code == "NEXT_DOSE"] == []


@pytest.mark.parametrize(
    ("therapies", "transplant", "expected"),
    [
        pytest.param(
            [course("denosumab", "2026-06-01", doses=["2026-06-01"])], True, True, id="both"
        ),
        pytest.param(
            [course("denosumab", "2026-06-01", doses=["2026-06-01"])],
            False,
            False,
            id="not immunosuppressed",
        ),
        pytest.param(
            [course("denosumab", "2025-01-01", "2025-12-01")], True, False, id="denosumab ended"
        ),
    ],
)
def test_alr9_denosumab_with_immunosuppression(
    therapies: list[dict[str, Any]], transplant: bool, expected: bool
) -> None:
    found = alerts(therapies=therapies, risk_factors={"organ_transplant": transplant})
    assert ("DENOSUMAB_WITH_IMMUNOSUPPRESSION" in found) is expected


@pytest.mark.parametrize("flag", [True, False])
def test_alr10_correct_hypocalcaemia_first(flag: bool) -> None:
    found = alerts(risk_factors={"hypocalcemia": flag})
    assert (found.get("CORRECT_HYPOCALCEMIA_FIRST") == ("critical", None)) is flag


VITAMIN_D = [
    pytest.param([lab("2026-09-25", "vitamin_d_25oh", 29.9)], True, id="29.9 ng/mL"),
    pytest.param([lab("2026-09-25", "vitamin_d_25oh", 30)], False, id="30 ng/mL"),
    pytest.param([lab("2025-11-26", "vitamin_d_25oh", 12)], True, id="12 months minus a day ago"),
    pytest.param([lab("2025-11-25", "vitamin_d_25oh", 12)], False, id="exactly 12 months ago"),
    pytest.param(
        [lab("2026-01-01", "vitamin_d_25oh", 12), lab("2026-06-01", "vitamin_d_25oh", 35)],
        False,
        id="the latest value counts",
    ),
    pytest.param(
        [lab("2026-06-01", "vitamin_d_25oh", 35), lab("2026-12-01", "vitamin_d_25oh", 12)],
        False,
        id="value after as_of ignored",
    ),
    pytest.param([lab("2026-06-01", "calcium", 2.0)], False, id="other tests ignored"),
]


@pytest.mark.parametrize(("labs", "expected"), VITAMIN_D)
def test_alr11_vitamin_d_low(labs: list[dict[str, Any]], expected: bool) -> None:
    assert ("VITAMIN_D_LOW" in alerts(labs=labs)) is expected


# Alendronate from 2026-06-20: baseline window [2026-03-22, 2026-06-20], follow-up window
# [2026-08-19, 2026-12-17]; CTX LSC 56 %, P1NP LSC 38 %.
ALENDRONATE = [course("alendronate", "2026-06-20")]
ADHERENCE = [
    pytest.param(
        [lab("2026-06-01", "ctx", 1.0), lab("2026-08-19", "ctx", 0.44)],
        True,
        id="CTX fell exactly 56 %",
    ),
    pytest.param(
        [lab("2026-06-01", "ctx", 1.0), lab("2026-08-19", "ctx", 0.439)],
        False,
        id="CTX fell 56.1 %",
    ),
    pytest.param(
        [lab("2026-06-01", "p1np", 100), lab("2026-10-01", "p1np", 62)],
        True,
        id="P1NP fell exactly 38 %",
    ),
    pytest.param(
        [lab("2026-06-01", "p1np", 100), lab("2026-10-01", "p1np", 61)],
        False,
        id="P1NP fell 39 %",
    ),
    pytest.param(
        [
            lab("2026-06-01", "ctx", 1.0),
            lab("2026-08-19", "ctx", 0.3),
            lab("2026-06-01", "p1np", 100),
            lab("2026-10-01", "p1np", 90),
        ],
        False,
        id="one marker suppressed is enough",
    ),
    pytest.param(
        [lab("2026-06-01", "ctx", 1.0), lab("2026-08-18", "ctx", 0.9)],
        False,
        id="follow-up one day before the window",
    ),
    pytest.param(
        [lab("2026-06-01", "ctx", 1.0), lab("2026-12-18", "ctx", 0.9)],
        False,
        id="follow-up one day after the window (and after as_of)",
    ),
    pytest.param(
        [lab("2026-03-22", "ctx", 1.0), lab("2026-09-01", "ctx", 0.9)],
        True,
        id="baseline on the first day of its window",
    ),
    pytest.param(
        [lab("2026-03-21", "ctx", 1.0), lab("2026-09-01", "ctx", 0.9)],
        False,
        id="baseline one day too early",
    ),
    pytest.param(
        [
            lab("2026-04-01", "ctx", 0.4),
            lab("2026-06-10", "ctx", 1.0),
            lab("2026-09-01", "ctx", 0.9),
            lab("2026-11-01", "ctx", 0.2),
        ],
        True,
        id="latest baseline and earliest follow-up",
    ),
]


@pytest.mark.parametrize(("labs", "expected"), ADHERENCE)
def test_alr12_possible_non_adherence(labs: list[dict[str, Any]], expected: bool) -> None:
    assert ("POSSIBLE_NON_ADHERENCE" in alerts(therapies=ALENDRONATE, labs=labs)) is expected


def test_alr12_only_for_an_active_antiresorptive() -> None:
    labs = [lab("2026-06-01", "ctx", 1.0), lab("2026-08-19", "ctx", 0.9)]
    therapies = [course("teriparatide", "2026-06-20")]
    assert "POSSIBLE_NON_ADHERENCE" not in alerts(therapies=therapies, labs=labs)


SEVERE_CKD = [
    pytest.param(
        29.9,
        [course("denosumab", "2026-08-01", doses=["2026-08-01"])],
        {},
        True,
        id="29.9 on denosumab",
    ),
    pytest.param(
        30,
        [course("denosumab", "2026-08-01", doses=["2026-08-01"])],
        {},
        False,
        id="30 on denosumab",
    ),
    pytest.param(28, [], {}, True, id="denosumab among the options"),
    pytest.param(28, [], {"organ_transplant": True}, False, id="denosumab avoided, not offered"),
]


@pytest.mark.parametrize(("crcl", "therapies", "risk_factors", "expected"), SEVERE_CKD)
def test_alr13_severe_ckd_and_denosumab(
    crcl: float, therapies: list[dict[str, Any]], risk_factors: dict[str, Any], expected: bool
) -> None:
    found = alerts(
        therapies=therapies,
        risk_factors={"creatinine_clearance_ml_min": crcl, **risk_factors},
    )
    assert ("SEVERE_CKD_DENOSUMAB" in found) is expected


def test_alerts_are_listed_in_rule_order() -> None:
    codes = [
        alert.code
        for alert in assess(
            risk_factors={"hypocalcemia": True, "organ_transplant": True},
            therapies=[course("denosumab", "2025-01-01", doses=["2025-01-01"])],
            labs=[lab("2026-10-01", "vitamin_d_25oh", 10)],
        ).alerts
    ]
    assert codes == [
        "DENOSUMAB_OVERDUE",
        "DENOSUMAB_WITH_IMMUNOSUPPRESSION",
        "CORRECT_HYPOCALCEMIA_FIRST",
        "VITAMIN_D_LOW",
    ]
