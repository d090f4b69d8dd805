"""A case as seen on one evaluation date: everything after as_of dropped, indexed once.

RULES.md conventions: anything dated after as_of (fracture, dose, scan, lab, course start) is
ignored; only fragility fractures count; a course whose end lies after as_of is active; the
"last dose" of a course is its latest dose on or before as_of, or its start if it has none;
"the active course" is the one that started last. Every rule reads this index instead of
scanning the raw case again.

The engine's internal values (this index and the findings each step returns) are NamedTuples:
immutable like the frozen dataclasses of `Case` and `Assessment`, and about twice as cheap to
build, which shows on the hot path (bench/engine.py).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from operator import attrgetter
from typing import NamedTuple

from therapy.engine.case import (
    CardiovascularEvent,
    Case,
    Drug,
    DxaScan,
    Fracture,
    GlucocorticoidExposure,
    LabResult,
    LabTest,
    RiskFactors,
    Sex,
)
from therapy.engine.catalogue import OSTEOPOROSIS_THERAPIES, PTH_ANALOGUES
from therapy.engine.dates import days_to_months, exposure_days


class Course(NamedTuple):
    """An osteoporosis-therapy course that started on or before as_of.

    `position` is its index in `case.therapies`; `doses` are those on or before as_of, sorted.
    """

    position: int
    drug: Drug
    start: dt.date
    end: dt.date | None
    doses: tuple[dt.date, ...]
    last_dose: dt.date

    def is_active_on(self, day: dt.date) -> bool:
        """RULES.md: active on d if start ≤ d and (end is null or d ≤ end)."""
        return self.start <= day and (self.end is None or day <= self.end)

    def has_ended_by(self, as_of: dt.date) -> bool:
        """ALR-3, ALR-5: `end ≤ as_of`."""
        return self.end is not None and self.end <= as_of


def _span(dates: tuple[dt.date, ...], first: dt.date, last: dt.date | None) -> slice:
    """The slice of sorted `dates` within [first, last]; found by bisection, so long histories
    cost no more than short ones per course."""
    stop = len(dates) if last is None else bisect_right(dates, last)
    return slice(bisect_left(dates, first), stop)


def glucocorticoid_is_active_on(exposure: GlucocorticoidExposure, day: dt.date) -> bool:
    """A glucocorticoid exposure is active as a course is (VHR-4, POP-1, POP-2)."""
    return exposure.start <= day and (exposure.end is None or day <= exposure.end)


class History(NamedTuple):
    """The evaluation's index of a case on `as_of`. Build it with `history_of`."""

    as_of: dt.date
    sex: Sex | None
    risk: RiskFactors
    #: Fragility fractures on or before as_of, by date.
    fractures: tuple[Fracture, ...]
    fracture_dates: tuple[dt.date, ...]
    #: Osteoporosis-therapy courses started on or before as_of, by start (then case order).
    courses: tuple[Course, ...]
    #: The courses of `courses` active on as_of, same order; the last one is "the active course".
    active: tuple[Course, ...]
    #: The drugs of `active`.
    active_drugs: frozenset[Drug]
    cardiovascular_events: tuple[CardiovascularEvent, ...]
    glucocorticoids: tuple[GlucocorticoidExposure, ...]
    #: DXA scans on or before as_of, by date.
    scans: tuple[DxaScan, ...]
    scan_dates: tuple[dt.date, ...]
    #: Lab results on or before as_of, by test, each by date.
    labs: Mapping[LabTest, tuple[LabResult, ...]]
    latest_reassessment: dt.date | None
    #: Days of teriparatide and abaloparatide, summed over courses (RULES.md conventions).
    pth_analogue_days: int
    #: Romosozumab doses on or before as_of, across courses.
    romosozumab_doses: int

    @property
    def current(self) -> Course | None:
        """The osteoporosis-therapy course active on as_of that started last ("the active
        course")."""
        return self.active[-1] if self.active else None

    @property
    def pth_analogue_months(self) -> float:
        return days_to_months(self.pth_analogue_days)

    def fractures_between(self, first: dt.date, last: dt.date | None) -> tuple[Fracture, ...]:
        """Fractures dated in [first, last] (to as_of when `last` is None)."""
        return self.fractures[_span(self.fracture_dates, first, last)]

    def fracture_positions_between(self, first: dt.date, last: dt.date | None) -> range:
        """Positions in `fractures` of those dated in [first, last]."""
        return range(len(self.fractures))[_span(self.fracture_dates, first, last)]

    def scans_between(self, first: dt.date, last: dt.date | None) -> tuple[DxaScan, ...]:
        """Scans dated in [first, last] (to as_of when `last` is None)."""
        return self.scans[_span(self.scan_dates, first, last)]

    def courses_of(self, drugs: frozenset[Drug]) -> tuple[Course, ...]:
        return tuple([course for course in self.courses if course.drug in drugs])

    def labs_of(self, test: LabTest) -> tuple[LabResult, ...]:
        return self.labs.get(test, ())


def history_of(case: Case, as_of: dt.date) -> History:
    """Index `case` on `as_of`.

    Reading: when several courses start on the same day, the one listed later in the case
    counts as "started last" (the most recently recorded), so the choice is deterministic.
    """
    courses = []
    pth_analogue_days = romosozumab_doses = 0
    for position, therapy in enumerate(case.therapies):
        drug, start = therapy.drug, therapy.start
        if drug not in OSTEOPOROSIS_THERAPIES or start > as_of:
            continue
        doses = tuple(sorted([day for day in therapy.doses if day <= as_of]))
        courses.append(
            Course(position, drug, start, therapy.end, doses, doses[-1] if doses else start)
        )
        if drug in PTH_ANALOGUES:
            pth_analogue_days += exposure_days(start, therapy.end, as_of)
        elif drug == _ROMOSOZUMAB:
            romosozumab_doses += len(doses)
    courses.sort(key=_BY_START)

    labs: dict[LabTest, list[LabResult]] = {}
    for lab in sorted([lab for lab in case.labs if lab.date <= as_of], key=_BY_DATE):
        labs.setdefault(lab.test, []).append(lab)

    risk = case.risk_factors
    fractures = tuple(
        sorted([f for f in case.fractures if f.fragility and f.date <= as_of], key=_BY_DATE)
    )
    events = [e for e in risk.cardiovascular_events if e.date <= as_of]
    scans = tuple(sorted([scan for scan in case.dxa if scan.date <= as_of], key=_BY_DATE))
    active = tuple([course for course in courses if course.is_active_on(as_of)])
    return History(
        as_of=as_of,
        sex=case.patient.sex,
        risk=risk,
        fractures=fractures,
        fracture_dates=tuple([fracture.date for fracture in fractures]),
        courses=tuple(courses),
        active=active,
        active_drugs=frozenset([course.drug for course in active]),
        cardiovascular_events=tuple(sorted(events, key=_BY_DATE)),
        glucocorticoids=tuple([g for g in risk.glucocorticoids if g.start <= as_of]),
        scans=scans,
        scan_dates=tuple([scan.date for scan in scans]),
        labs={test: tuple(results) for test, results in labs.items()},
        latest_reassessment=max([d for d in case.reassessments if d <= as_of], default=None),
        pth_analogue_days=pth_analogue_days,
        romosozumab_doses=romosozumab_doses,
    )


_ROMOSOZUMAB = Drug.ROMOSOZUMAB
_BY_DATE = attrgetter("date")
#: Courses by start; same-day starts keep case order (later listed = started last).
_BY_START = attrgetter("start", "position")
