"""§2 Very high risk (VHR-1 to VHR-7, VHR-1v) and §3 populations (POP-1 to POP-3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.therapy.engine.builders import (
    assess,
    course,
    fired,
    fracture,
    glucocorticoid,
    scan,
)

# as_of 2026-11-25: "within 12 months before" is 2025-11-25 < date ≤ 2026-11-25.
VHR_1 = [
    pytest.param(
        [fracture("2025-11-25", "wrist")], "VHR-1", False, id="wrist exactly 12 months ago"
    ),
    pytest.param(
        [fracture("2025-11-26", "wrist")], "VHR-1", True, id="wrist 12 months minus a day ago"
    ),
    pytest.param([fracture("2026-11-25", "wrist")], "VHR-1", True, id="fracture on as_of"),
    pytest.param([fracture("2026-11-26", "wrist")], "VHR-1", False, id="fracture after as_of"),
    pytest.param(
        [fracture("2026-01-01", "wrist", fragility=False)], "VHR-1", False, id="traumatic"
    ),
    pytest.param([fracture("2025-11-26", "wrist")], "VHR-1v", False, id="recent but not vertebral"),
    pytest.param([fracture("2025-11-26")], "VHR-1v", True, id="recent vertebral"),
    pytest.param([fracture("2025-11-25")], "VHR-1v", False, id="vertebral exactly 12 months ago"),
]


@pytest.mark.parametrize(("fractures", "rule", "expected"), VHR_1)
def test_vhr1_recent_fracture(fractures: list[dict[str, Any]], rule: str, expected: bool) -> None:
    assert (rule in fired(fractures=fractures)) is expected


def test_vhr1v_is_listed_right_after_recent_fracture() -> None:
    reasons = assess(fractures=[fracture("2026-05-01")], risk_factors={"high_fall_risk": True})
    assert reasons.very_high_risk.reasons == (
        "RECENT_FRACTURE",
        "RECENT_VERTEBRAL_FRACTURE",
        "HIGH_FALL_RISK",
    )


VHR_2 = [
    pytest.param([fracture("2010-01-01")], False, id="one fracture"),
    pytest.param([fracture("2010-01-01"), fracture("2010-01-01")], False, id="same date and site"),
    pytest.param(
        [fracture("2010-01-01"), fracture("2010-01-01", "rib")], True, id="same date, two sites"
    ),
    pytest.param([fracture("2010-01-01"), fracture("2012-05-01")], True, id="two dates, one site"),
    pytest.param(
        [fracture("2010-01-01"), fracture("2012-05-01", fragility=False)],
        False,
        id="one of them traumatic",
    ),
    pytest.param([fracture("2010-01-01"), fracture("2027-01-01")], False, id="one after as_of"),
]


@pytest.mark.parametrize(("fractures", "expected"), VHR_2)
def test_vhr2_multiple_fractures(fractures: list[dict[str, Any]], expected: bool) -> None:
    assert ("VHR-2" in fired(fractures=fractures)) is expected


DENOSUMAB_2024 = course("denosumab", "2024-01-10", "2024-12-31", doses=["2024-01-10"])
VHR_3 = [
    pytest.param([DENOSUMAB_2024], "2024-01-09", False, id="day before the course"),
    pytest.param([DENOSUMAB_2024], "2024-01-10", True, id="first day, no minimum duration"),
    pytest.param([DENOSUMAB_2024], "2024-12-31", True, id="last day of the course"),
    pytest.param([DENOSUMAB_2024], "2025-01-01", False, id="day after the course"),
    pytest.param([course("raloxifene", "2020-01-01")], "2024-06-01", False, id="raloxifene"),
    pytest.param([course("other", "2020-01-01")], "2024-06-01", False, id="other drug"),
]


@pytest.mark.parametrize(("therapies", "fracture_date", "expected"), VHR_3)
def test_vhr3_fracture_on_therapy(
    therapies: list[dict[str, Any]], fracture_date: str, expected: bool
) -> None:
    sections = {"therapies": therapies, "fractures": [fracture(fracture_date, "humerus")]}
    assert ("VHR-3" in fired(**sections)) is expected


VHR_4 = [
    pytest.param(glucocorticoid(2.5, "2024-01-01"), True, id="2.5 mg/day active"),
    pytest.param(glucocorticoid(2.4, "2024-01-01"), False, id="2.4 mg/day"),
    pytest.param(glucocorticoid(10, "2024-06-02"), False, id="started the day after"),
    pytest.param(glucocorticoid(10, "2024-06-01", "2024-06-01"), True, id="one-day exposure"),
    pytest.param(glucocorticoid(10, "2023-01-01", "2024-05-31"), False, id="ended the day before"),
]


@pytest.mark.parametrize(("exposure", "expected"), VHR_4)
def test_vhr4_fracture_on_glucocorticoids(exposure: dict[str, Any], expected: bool) -> None:
    sections = {
        "risk_factors": {"glucocorticoids": [exposure]},
        "fractures": [fracture("2024-06-01", "pelvis")],
    }
    assert ("VHR-4" in fired(**sections)) is expected


VHR_5 = [
    pytest.param([scan("2026-01-01", lumbar_spine=(0.7, -3.1))], True, id="T-score -3.1"),
    pytest.param([scan("2026-01-01", lumbar_spine=(0.7, -3.0))], False, id="T-score -3.0"),
    pytest.param(
        [scan("2025-01-01", total_hip=(0.5, -3.5)), scan("2026-01-01", total_hip=(0.6, -2.5))],
        False,
        id="only the latest scan counts",
    ),
    pytest.param(
        [scan("2026-01-01", total_hip=(0.6, -2.5)), scan("2026-12-01", total_hip=(0.5, -3.5))],
        False,
        id="scan after as_of is ignored",
    ),
    pytest.param(
        [scan("2026-01-01", total_hip=(0.6, -2.5)), scan("2026-01-01", femoral_neck=(0.5, -3.2))],
        True,
        id="two scans on the latest day read together",
    ),
    pytest.param(
        [scan("2026-01-01", femoral_neck={"bmd_g_cm2": 0.6})], False, id="no T-score measured"
    ),
]


@pytest.mark.parametrize(("scans", "expected"), VHR_5)
def test_vhr5_very_low_t_score(scans: list[dict[str, Any]], expected: bool) -> None:
    assert ("VHR-5" in fired(dxa=scans)) is expected


@pytest.mark.parametrize(
    ("risk_factors", "rule", "expected"),
    [
        pytest.param({"high_fall_risk": True}, "VHR-6", True, id="high fall risk"),
        pytest.param({"high_fall_risk": False}, "VHR-6", False, id="no fall risk"),
        pytest.param({"frax_major_osteoporotic_pct": 30}, "VHR-7", False, id="FRAX major 30"),
        pytest.param({"frax_major_osteoporotic_pct": 30.1}, "VHR-7", True, id="FRAX major 30.1"),
        pytest.param({"frax_hip_pct": 4.5}, "VHR-7", False, id="FRAX hip 4.5"),
        pytest.param({"frax_hip_pct": 4.6}, "VHR-7", True, id="FRAX hip 4.6"),
        pytest.param({"frax_hip_pct": None}, "VHR-7", False, id="FRAX unknown"),
    ],
)
def test_vhr6_vhr7_falls_and_frax(risk_factors: dict[str, Any], rule: str, expected: bool) -> None:
    assert (rule in fired(risk_factors=risk_factors)) is expected


def test_very_high_risk_is_any_reason() -> None:
    assert assess(risk_factors={"high_fall_risk": True}).very_high_risk.status is True
    assert assess().very_high_risk.status is False


# POP-1: as_of 2026-11-25 is at least 3 months after a start on or before 2026-08-25.
POP_1 = [
    pytest.param(glucocorticoid(2.5, "2026-08-25"), "2026-11-25", True, id="day of 3 months"),
    pytest.param(glucocorticoid(2.5, "2026-08-26"), "2026-11-25", False, id="day before 3 months"),
    pytest.param(glucocorticoid(2.4, "2020-01-01"), "2026-11-25", False, id="2.4 mg/day"),
    pytest.param(
        glucocorticoid(5, "2026-08-31"), "2026-11-30", True, id="calendar months: 08-31 + 3"
    ),
    pytest.param(
        glucocorticoid(5, "2020-01-01", "2026-11-24"), "2026-11-25", False, id="ended before as_of"
    ),
    pytest.param(
        glucocorticoid(5, "2020-01-01", "2026-11-25"), "2026-11-25", True, id="ends on as_of"
    ),
    pytest.param(
        glucocorticoid(5, "2020-01-01", "2027-06-01"), "2026-11-25", True, id="ends after as_of"
    ),
]


@pytest.mark.parametrize(("exposure", "as_of", "expected"), POP_1)
def test_pop1_glucocorticoid(exposure: dict[str, Any], as_of: str, expected: bool) -> None:
    assert ("POP-1" in fired(as_of, risk_factors={"glucocorticoids": [exposure]})) is expected


POP_2 = [
    pytest.param({"organ_transplant": True}, True, id="transplant recipient"),
    pytest.param({"immunosuppressants": ["tacrolimus"]}, False, id="one agent"),
    pytest.param({"immunosuppressants": ["tacrolimus", "mycophenolate"]}, True, id="two agents"),
    pytest.param(
        {
            "immunosuppressants": ["tacrolimus"],
            "glucocorticoids": [glucocorticoid(1, "2026-11-01")],
        },
        True,
        id="one agent plus a glucocorticoid of any dose",
    ),
    pytest.param(
        {
            "immunosuppressants": ["tacrolimus"],
            "glucocorticoids": [glucocorticoid(10, "2020-01-01", "2026-11-24")],
        },
        False,
        id="glucocorticoid ended before as_of",
    ),
    pytest.param(
        {
            "immunosuppressants": ["tacrolimus"],
            "glucocorticoids": [glucocorticoid(10, "2026-11-26")],
        },
        False,
        id="glucocorticoid starting after as_of",
    ),
]


@pytest.mark.parametrize(("risk_factors", "expected"), POP_2)
def test_pop2_immunosuppressed(risk_factors: dict[str, Any], expected: bool) -> None:
    assert ("POP-2" in fired(risk_factors=risk_factors)) is expected


@pytest.mark.parametrize("flag", [True, False])
def test_pop3_cancer_treatment_bone_loss(flag: bool) -> None:
    assert ("POP-3" in fired(risk_factors={"cancer_treatment_bone_loss": flag})) is flag


def test_populations_are_listed_in_rule_order() -> None:
    populations = assess(
        risk_factors={
            "cancer_treatment_bone_loss": True,
            "organ_transplant": True,
            "glucocorticoids": [glucocorticoid(5, "2025-01-01")],
        }
    ).populations
    assert populations == ("GLUCOCORTICOID", "IMMUNOSUPPRESSED", "CANCER_TREATMENT_BONE_LOSS")
