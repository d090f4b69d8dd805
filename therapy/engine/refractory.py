"""§1 Refractory status: REF-1 to REF-5, and which drugs failed (SEED, thresholds ADDED)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from therapy.engine.assessment import Rationale
from therapy.engine.bmd import (
    BmdChange,
    at_least,
    bmd_change,
    percent_change,
)
from therapy.engine.case import Drug, DxaScan, DxaSite, Fracture
from therapy.engine.catalogue import ANABOLICS, BISPHOSPHONATES, DRUG_NAMES
from therapy.engine.codes import RefractoryReason, RuleId
from therapy.engine.dates import add_months, months_between
from therapy.engine.history import Course, History
from therapy.engine.limits import (
    ANABOLIC_FAILURE_MONTHS,
    ANTIRESORPTIVE_FAILURE_MONTHS,
    BMD_LOSS_MIN_PCT_PER_YEAR,
    BMD_PAIR_MIN_MONTHS,
    DAYS_PER_YEAR,
    ORAL_BP_MIN_CRCL_ML_MIN,
)
from therapy.engine.text import number, percent, sentence

_DENOSUMAB = frozenset({Drug.DENOSUMAB})
_SITES: tuple[DxaSite, ...] = tuple(DxaSite)
_BY_FRACTURE_THEN_COURSE = attrgetter("fracture.date", "course.start", "course.position")


class FractureOnCourse(NamedTuple):
    """A fracture that counts as a failure of the course it fell in (REF-1, REF-5)."""

    fracture: Fracture
    course: Course

    def describe(self) -> str:
        months = months_between(self.course.start, self.fracture.date)
        return (
            f"{self.fracture.site} fracture on {self.fracture.date} during "
            f"{DRUG_NAMES[self.course.drug]}, {months} month{'' if months == 1 else 's'} "
            "after it started"
        )


@dataclass(frozen=True, slots=True)
class BmdLoss:
    """A significant, fast BMD fall between two scans within one course (REF-2)."""

    course: Course
    earlier: dt.date
    later: dt.date
    change: BmdChange
    annual_fall_pct: float

    def describe(self) -> str:
        c = self.change
        site = c.site.replace("_", " ")
        return (
            f"{site} BMD fell {percent(c.fall_pct)} from {number(c.earlier_g_cm2)} to "
            f"{number(c.later_g_cm2)} g/cm² between {self.earlier} and {self.later} during "
            f"{DRUG_NAMES[self.course.drug]}: more than the {number(c.lsc_pct)} % LSC and "
            f"{percent(self.annual_fall_pct)}/year (≥ {number(BMD_LOSS_MIN_PCT_PER_YEAR)} %/year)"
        )


class RefractoryFindings(NamedTuple):
    reasons: tuple[RefractoryReason, ...]
    #: Drugs that failed: a REF-1/REF-5 fracture or REF-2 loss during one of their courses.
    failed: frozenset[Drug]
    rationale: tuple[Rationale, ...]

    @property
    def status(self) -> bool:
        return bool(self.reasons)


def _fractures_during(
    history: History, drugs: frozenset[Drug], months: int
) -> list[FractureOnCourse]:
    """Fractures on a day a course of `drugs` is active, at least `months` after it started.

    Reading: when courses of several drugs are active on the day of the fracture, only the
    courses that meet the duration condition failed (a drug started a month before a fracture
    has not had time to work, IOF 2012).
    """
    found: list[FractureOnCourse] = []
    if not history.fractures:
        return found
    for course in history.courses:
        if course.drug in drugs:
            judged_from = add_months(course.start, months)
            found.extend(
                [
                    FractureOnCourse(fracture, course)
                    for fracture in history.fractures_between(judged_from, course.end)
                ]
            )
    found.sort(key=_BY_FRACTURE_THEN_COURSE)
    return found


def fractures_on_bisphosphonate(history: History) -> list[FractureOnCourse]:
    """REF-1: a fracture on a day a bisphosphonate course is active, ≥ 12 months after that
    course started (SEED; IOF 2012 threshold)."""
    return _fractures_during(history, BISPHOSPHONATES, ANTIRESORPTIVE_FAILURE_MONTHS)


def fractures_on_other_therapy(history: History) -> list[FractureOnCourse]:
    """REF-5: a fracture on a day a denosumab course is active ≥ 12 months after its start, or
    an anabolic course ≥ 6 months after its start (SEED third line; thresholds ADDED)."""
    found = _fractures_during(history, _DENOSUMAB, ANTIRESORPTIVE_FAILURE_MONTHS)
    found += _fractures_during(history, ANABOLICS, ANABOLIC_FAILURE_MONTHS)
    found.sort(key=_BY_FRACTURE_THEN_COURSE)
    return found


_Reading = tuple[dt.date, float, float | None, str | None, dt.date]


def bmd_losses_on_treatment(history: History) -> list[BmdLoss]:
    """REF-2: two scans of one site, both within one course, ≥ 6 months apart, whose fall
    strictly exceeds the LSC (the later scan's `lsc_pct`, else the site default) and is ≥ 10 %
    a year once annualised (SEED "bone loss ≥ 10 %/year"; LSC ADDED, ISCD). A pair of scans
    from two different named scanners is not compared (ISCD: not comparable without
    cross-calibration); a pair where either scanner is unrecorded is.

    Readings: pairs are taken within each course separately, so when two courses are active at
    both scans, both drugs failed. Scanner names are compared ignoring case and surrounding
    spaces ("Hologic A" and "hologic a " are one machine).

    One loss per course, the first found (see `_first_loss`): one pair is enough for the course's
    drug to have failed, and the rationale names that pair only, so no further pair is looked for.
    """
    losses: list[BmdLoss] = []
    if len(history.scans) < 2:
        return losses
    for course in history.courses:
        scans = history.scans_between(course.start, course.end)
        if len(scans) < 2:
            continue
        loss = _first_loss(course, scans)
        if loss is not None:
            losses.append(loss)
    return losses


def _first_loss(course: Course, scans: tuple[DxaScan, ...]) -> BmdLoss | None:
    """REF-2 within one course: its first pair of `scans` that is a loss, by site (DxaSite
    order), then earlier scan, then later scan; None when no pair is."""
    # Per site, each scan's (date, BMD, its LSC, scanner, and the date from which a later scan
    # is far enough to pair with it), worked out once per scan.
    by_site: dict[DxaSite, list[_Reading]] = {}
    for scan in scans:
        scanner = _machine(scan.scanner)
        pairs_from = add_months(scan.date, BMD_PAIR_MIN_MONTHS)
        for site, reading in scan.sites:
            if reading.bmd_g_cm2 is not None:
                by_site.setdefault(site, []).append(
                    (scan.date, reading.bmd_g_cm2, reading.lsc_pct, scanner, pairs_from)
                )
    for site in _SITES:
        readings = by_site.get(site, [])
        for index, (earlier, old, _, first_machine, later_from) in enumerate(readings[:-1]):
            for later, new, lsc_pct, second_machine, _ in readings[index + 1 :]:
                # A BMD that did not fall from a positive reading (a fall ≤ 0) is no loss of
                # ≥ 10 %/year, whatever the LSC: passed over before any percentage.
                if new >= old > 0:
                    continue
                if later < later_from:
                    continue
                if first_machine and second_machine and first_machine != second_machine:
                    continue
                # The 10 %/year test first: most falls beyond the LSC are slower, so the LSC
                # (the later scan's, else the site default) is only looked up after it.
                fall = -percent_change(old, new)
                annual = fall * DAYS_PER_YEAR / (later - earlier).days
                if at_least(annual, BMD_LOSS_MIN_PCT_PER_YEAR):
                    change = bmd_change(site, old, new, lsc_pct)
                    if change.is_significant_loss:
                        return BmdLoss(course, earlier, later, change, annual)
    return None


def _machine(scanner: str | None) -> str | None:
    return None if scanner is None else scanner.strip().casefold() or None


def comparable_scanners(first: str | None, second: str | None) -> bool:
    """BMD from two scans can be compared unless both name their scanner and the names differ
    (RULES.md REF-2; ISCD). Also what the BMD trend uses to mark a change significant."""
    one, other = _machine(first), _machine(second)
    return one is None or other is None or one == other


def oral_bisphosphonate_intolerance(history: History) -> bool:
    """REF-3: `oral_bisphosphonate_intolerance` is true (GI side effects; SEED)."""
    return history.risk.oral_bisphosphonate_intolerance


def oral_bisphosphonate_contraindications(history: History) -> list[str]:
    """REF-4: oral bisphosphonates contraindicated (oesophageal stricture or achalasia, cannot
    stay upright 30 minutes), or creatinine clearance < 35 mL/min (SEED; CrCl threshold ADDED,
    alendronate label)."""
    risk = history.risk
    found = []
    if risk.oral_bisphosphonate_contraindication:
        found.append(
            "oral bisphosphonates contraindicated (oesophageal stricture or achalasia, "
            "or cannot stay upright for 30 minutes)"
        )
    crcl = risk.creatinine_clearance_ml_min
    if crcl is not None and crcl < ORAL_BP_MIN_CRCL_ML_MIN:
        found.append(
            f"creatinine clearance {number(crcl)} mL/min, below "
            f"{number(ORAL_BP_MIN_CRCL_ML_MIN)} mL/min: oral bisphosphonates not recommended"
        )
    return found


_INTOLERANCE = Rationale(
    RuleId.REF_3, "Oral bisphosphonates are not tolerated (gastrointestinal side effects)."
)


def assess_refractory(history: History) -> RefractoryFindings:
    """§1: every REF reason that holds, the drugs that failed, one sentence per rule."""
    reasons: list[RefractoryReason] = []
    rationale: list[Rationale] = []
    failed: set[Drug] = set()

    on_bisphosphonate = fractures_on_bisphosphonate(history)
    if on_bisphosphonate:
        reasons.append(RefractoryReason.FRACTURE_ON_BISPHOSPHONATE)
        failed.update(hit.course.drug for hit in on_bisphosphonate)
        rationale.append(
            Rationale(RuleId.REF_1, sentence(*[hit.describe() for hit in on_bisphosphonate]))
        )

    losses = bmd_losses_on_treatment(history)
    if losses:
        reasons.append(RefractoryReason.BMD_LOSS_ON_TREATMENT)
        failed.update(loss.course.drug for loss in losses)
        rationale.append(Rationale(RuleId.REF_2, sentence(*[loss.describe() for loss in losses])))

    if oral_bisphosphonate_intolerance(history):
        reasons.append(RefractoryReason.ORAL_BP_INTOLERANCE)
        rationale.append(_INTOLERANCE)

    contraindications = oral_bisphosphonate_contraindications(history)
    if contraindications:
        reasons.append(RefractoryReason.ORAL_BP_CONTRAINDICATED)
        rationale.append(Rationale(RuleId.REF_4, sentence(*contraindications)))

    on_other = fractures_on_other_therapy(history)
    if on_other:
        reasons.append(RefractoryReason.FRACTURE_ON_OTHER_THERAPY)
        failed.update(hit.course.drug for hit in on_other)
        rationale.append(Rationale(RuleId.REF_5, sentence(*[hit.describe() for hit in on_other])))

    return RefractoryFindings(tuple(reasons), frozenset(failed), tuple(rationale))
