"""§2 Very high fracture risk: VHR-1 to VHR-7 and VHR-1v (SEED "very high risk, recent
vertebral or multiple fractures"; criteria ADDED from AACE/ACE 2020)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from therapy.engine.assessment import Rationale
from therapy.engine.case import Fracture, FractureSite
from therapy.engine.catalogue import DRUG_NAMES
from therapy.engine.codes import RiskReason, RuleId
from therapy.engine.dates import add_months
from therapy.engine.history import History, glucocorticoid_is_active_on
from therapy.engine.limits import (
    FRAX_HIP_HIGH_PCT,
    FRAX_MAJOR_HIGH_PCT,
    GLUCOCORTICOID_MIN_MG_PER_DAY,
    RECENT_FRACTURE_MONTHS,
    VERY_LOW_T_SCORE,
)
from therapy.engine.text import listing, number, sentence


class RiskFindings(NamedTuple):
    reasons: tuple[RiskReason, ...]
    rationale: tuple[Rationale, ...]

    @property
    def status(self) -> bool:
        return bool(self.reasons)


_VERTEBRAL = FractureSite.VERTEBRAL

# The §2 table: each rule id with its reason code. Bound once here: attribute access on an
# Enum class costs ten global lookups on Python 3.11, and the rules run on every evaluation.
_RECENT = (RuleId.VHR_1, RiskReason.RECENT_FRACTURE)
_RECENT_VERTEBRAL = (RuleId.VHR_1V, RiskReason.RECENT_VERTEBRAL_FRACTURE)
_MULTIPLE = (RuleId.VHR_2, RiskReason.MULTIPLE_FRACTURES)
_ON_THERAPY = (RuleId.VHR_3, RiskReason.FRACTURE_ON_THERAPY)
_ON_GLUCOCORTICOIDS = (RuleId.VHR_4, RiskReason.FRACTURE_ON_GLUCOCORTICOIDS)
_LOW_T_SCORE = (RuleId.VHR_5, RiskReason.VERY_LOW_T_SCORE)
_FALL_RISK = (RuleId.VHR_6, RiskReason.HIGH_FALL_RISK)
_FRAX = (RuleId.VHR_7, RiskReason.HIGH_FRAX)


def _fracture(fracture: Fracture) -> str:
    return f"{fracture.site} fracture on {fracture.date.isoformat()}"


def recent_fractures(history: History) -> list[Fracture]:
    """VHR-1: fractures within 12 months before as_of (SEED; AACE 2020)."""
    since = add_months(history.as_of, -RECENT_FRACTURE_MONTHS)
    return [fracture for fracture in history.fractures if fracture.date > since]


def recent_vertebral_fractures(recent: list[Fracture]) -> list[Fracture]:
    """VHR-1v: the vertebral fractures among VHR-1's recent ones (SEED "recent vertebral")."""
    return [fracture for fracture in recent if fracture.site == _VERTEBRAL]


def multiple_fractures(history: History) -> list[tuple[dt.date, FractureSite]]:
    """VHR-2: two or more distinct (date, site) fragility fractures ever; them, by date, or
    nothing when there are fewer than two (SEED "multiple fractures")."""
    distinct = sorted({(fracture.date, fracture.site) for fracture in history.fractures})
    return distinct if len(distinct) >= 2 else []


def fractures_on_therapy(history: History) -> list[str]:
    """VHR-3: fractures on a day any osteoporosis-therapy course is active, with no minimum
    duration (AACE 2020)."""
    drugs_by_position: dict[int, set[str]] = {}
    for course in history.courses:
        for position in history.fracture_positions_between(course.start, course.end):
            drugs_by_position.setdefault(position, set()).add(DRUG_NAMES[course.drug])
    return [
        f"{_fracture(history.fractures[position])} during {listing(sorted(drugs))}"
        for position, drugs in sorted(drugs_by_position.items())
    ]


def fractures_on_glucocorticoids(history: History) -> list[str]:
    """VHR-4: fractures on a day a glucocorticoid exposure of ≥ 2.5 mg/day is active
    (AACE 2020)."""
    exposures = [
        g
        for g in history.glucocorticoids
        if g.prednisone_mg_per_day >= GLUCOCORTICOID_MIN_MG_PER_DAY
    ]
    found = []
    for fracture in history.fractures if exposures else ():
        doses = [
            g.prednisone_mg_per_day
            for g in exposures
            if glucocorticoid_is_active_on(g, fracture.date)
        ]
        if doses:
            found.append(
                f"{_fracture(fracture)} during prednisone-equivalent {number(max(doses))} mg/day"
            )
    return found


def very_low_t_scores(history: History) -> list[str]:
    """VHR-5: sites of the scans dated on the latest scan date (read together as one
    examination) with a T-score below −3.0 (AACE 2020)."""
    if not history.scans:
        return []
    latest = history.scans[-1].date
    found = []
    for scan in reversed(history.scans):
        if scan.date != latest:
            break
        for site, reading in scan.sites:
            if reading.t_score is not None and reading.t_score < VERY_LOW_T_SCORE:
                found.append(
                    f"latest DXA on {latest.isoformat()}: {site.replace('_', ' ')} T-score "
                    f"{number(reading.t_score)}, below {number(VERY_LOW_T_SCORE)}"
                )
    return found


def high_fall_risk(history: History) -> bool:
    """VHR-6: `high_fall_risk` is true (AACE 2020)."""
    return history.risk.high_fall_risk


def high_frax(history: History) -> list[str]:
    """VHR-7: FRAX major osteoporotic > 30 % or hip > 4.5 % (AACE 2020)."""
    risk = history.risk
    found = []
    major, hip = risk.frax_major_osteoporotic_pct, risk.frax_hip_pct
    if major is not None and major > FRAX_MAJOR_HIGH_PCT:
        found.append(
            f"FRAX major osteoporotic fracture {number(major)} %, above "
            f"{number(FRAX_MAJOR_HIGH_PCT)} %"
        )
    if hip is not None and hip > FRAX_HIP_HIGH_PCT:
        found.append(f"FRAX hip fracture {number(hip)} %, above {number(FRAX_HIP_HIGH_PCT)} %")
    return found


def assess_very_high_risk(history: History) -> RiskFindings:
    """§2: every VHR reason that holds, in rule order, one sentence per rule."""
    reasons: list[RiskReason] = []
    rationale: list[Rationale] = []

    def hold(row: tuple[RuleId, RiskReason], text: str) -> None:
        rule, reason = row
        reasons.append(reason)
        rationale.append(Rationale(rule, text))

    if history.fractures:
        window = f"within {RECENT_FRACTURE_MONTHS} months before {history.as_of.isoformat()}"
        recent = recent_fractures(history)
        if recent:
            hold(
                _RECENT,
                sentence(f"{listing([_fracture(f) for f in recent])}, {window}"),
            )
        recent_vertebral = recent_vertebral_fractures(recent)
        if recent_vertebral:
            hold(
                _RECENT_VERTEBRAL,
                sentence(f"{listing([_fracture(f) for f in recent_vertebral])}, {window}"),
            )
        distinct = multiple_fractures(history)
        if distinct:
            hold(
                _MULTIPLE,
                sentence(
                    f"{len(distinct)} distinct fragility fractures: "
                    + listing([f"{site} on {day.isoformat()}" for day, site in distinct])
                ),
            )
        on_therapy = fractures_on_therapy(history)
        if on_therapy:
            hold(_ON_THERAPY, sentence(*on_therapy))
        on_glucocorticoids = fractures_on_glucocorticoids(history)
        if on_glucocorticoids:
            hold(
                _ON_GLUCOCORTICOIDS,
                sentence(*on_glucocorticoids),
            )
    low_t = very_low_t_scores(history)
    if low_t:
        hold(_LOW_T_SCORE, sentence(*low_t))
    if high_fall_risk(history):
        hold(_FALL_RISK, "High fall risk is recorded.")
    frax = high_frax(history)
    if frax:
        hold(_FRAX, sentence(*frax))
    return RiskFindings(tuple(reasons), tuple(rationale))
