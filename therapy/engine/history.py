"""A case as seen on one evaluation date: everything after as_of dropped, indexed once.

RULES.md conventions applied here, once, so that every rule reads the same facts:
- anything dated after as_of (fracture, dose, scan, lab, course start) is ignored; only
  fragility fractures count; a course whose end lies after as_of is active;
- **supersession**: a course is treated as ended the day before a course of a different
  osteoporosis drug starts after it (if it had no earlier end), so `Course.end` is the
  *effective* end every rule sees;
- **started last**: courses are ordered by start; on one start day the one active longest
  (open, else the later end) comes later, then the one listed later in the case;
- **the last denosumab dose** is counted across all denosumab courses.

Entries that the rule book reads as a set (fractures, scans, labs, events, exposures) are put in
a canonical order here, so that the order they were listed in never changes an assessment.

The engine's internal values (this index and the findings each step returns) are NamedTuples:
immutable like the frozen dataclasses of `Case` and `Assessment`, and about twice as cheap to
build, which shows on the hot path (bench/engine.py).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

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
    TherapyCourse,
)
from therapy.engine.catalogue import OSTEOPOROSIS_THERAPIES, PTH_ANALOGUES
from therapy.engine.dates import days_to_months, exposure_days

_ONE_DAY = dt.timedelta(days=1)
T = TypeVar("T")


class Course(NamedTuple):
    """An osteoporosis-therapy course that started on or before as_of.

    `position` is its index in `case.therapies`; `end` is its effective end (its recorded end,
    or the day before a later course of another drug started, whichever is earlier);
    `doses` are those on or before as_of, sorted; `last_dose` is the latest of them, or the
    course's start when none is recorded.
    """

    position: int
    drug: Drug
    start: dt.date
    end: dt.date | None
    doses: tuple[dt.date, ...]
    last_dose: dt.date
    #: The recorded end, before supersession (for the rationale's wording only).
    recorded_end: dt.date | None

    def is_active_on(self, day: dt.date) -> bool:
        """RULES.md: active on d if start ≤ d and (end is null or d ≤ end)."""
        return self.start <= day and (self.end is None or day <= self.end)

    def has_ended_by(self, as_of: dt.date) -> bool:
        """ALR-3, ALR-5: `end ≤ as_of`."""
        return self.end is not None and self.end <= as_of

    @property
    def is_superseded(self) -> bool:
        """Its effective end comes from a later course of another drug, not from its record."""
        return self.end != self.recorded_end


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
    #: Fragility fractures on or before as_of, by date then site.
    fractures: tuple[Fracture, ...]
    fracture_dates: tuple[dt.date, ...]
    #: Osteoporosis-therapy courses started on or before as_of, in "started last" order: the
    #: last of them started last.
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
    #: The latest denosumab dose on or before as_of across all denosumab courses; if none was
    #: recorded, the start of the denosumab course that started last; None without denosumab.
    last_denosumab_dose: dt.date | None

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
        """The courses of `drugs`, in "started last" order."""
        return tuple([course for course in self.courses if course.drug in drugs])

    def active_of(self, drugs: frozenset[Drug]) -> tuple[Course, ...]:
        """The courses of `drugs` active on as_of, in "started last" order."""
        return tuple([course for course in self.active if course.drug in drugs])

    def labs_of(self, test: LabTest) -> tuple[LabResult, ...]:
        return self.labs.get(test, ())


def _effective_ends(
    therapies: list[tuple[int, Drug, dt.date, dt.date | None]],
) -> list[dt.date | None]:
    """Supersession: each course's end, or the day before the first later-starting course of
    another drug, whichever is earlier. `therapies` are sorted by start."""
    ends: list[dt.date | None] = []
    count = len(therapies)
    for index, (_, drug, start, end) in enumerate(therapies):
        for _, other, later_start, _ in therapies[index + 1 : count]:
            if later_start > start and other != drug:
                cut = later_start - _ONE_DAY
                if end is None or end > cut:
                    end = cut
                break
        ends.append(end)
    return ends


def _started_last_key(course: Course) -> tuple[dt.date, int, dt.date, int]:
    """RULES.md "started last": the latest start; on one start day the course active longest
    (open, else the later effective end), then the one listed later in the case."""
    is_open = course.end is None
    return (course.start, is_open, course.end or course.start, course.position)


def _exposure_key(exposure: GlucocorticoidExposure) -> tuple[dt.date, dt.date, float]:
    return (exposure.start, exposure.end or dt.date.max, exposure.prednisone_mg_per_day)


def _scan_key(scan: DxaScan) -> tuple[dt.date, str, str]:
    """Scans by date; same-day scans in a fixed order whatever the case's listing order."""
    return (scan.date, scan.scanner or "", repr(scan.sites))


def _in_order(items: list[T], key: Callable[[T], Any]) -> list[T]:
    """`items` by date; entries of one day in the fixed order of `key`, whatever order the case
    listed them in (the full key is built only when two entries share a day)."""
    items.sort(key=_BY_DATE)
    if len({item.date for item in items}) < len(items):  # type: ignore[attr-defined]
        items.sort(key=key)
    return items


def history_of(case: Case, as_of: dt.date) -> History:
    """Index `case` on `as_of`."""
    started = []
    for position, therapy in enumerate(case.therapies):
        if therapy.drug in OSTEOPOROSIS_THERAPIES and therapy.start <= as_of:
            started.append((position, therapy))
    started.sort(key=lambda item: (item[1].start, item[0]))
    ends = _effective_ends([(p, t.drug, t.start, t.end) for p, t in started])

    courses = []
    pth_analogue_days = romosozumab_doses = 0
    denosumab_doses: list[dt.date] = []
    for (position, therapy), end in zip(started, ends, strict=True):
        drug, start = therapy.drug, therapy.start
        # Sorted first, then cut at as_of by bisection: the same doses as filtering first.
        all_doses = sorted(therapy.doses)
        doses = tuple(all_doses[: bisect_right(all_doses, as_of)])
        courses.append(
            Course(position, drug, start, end, doses, doses[-1] if doses else start, therapy.end)
        )
        if drug in PTH_ANALOGUES:
            pth_analogue_days += exposure_days(start, end, as_of)
        elif drug == _ROMOSOZUMAB:
            romosozumab_doses += len(doses)
        elif drug == _DENOSUMAB:
            denosumab_doses.extend(doses)
    courses.sort(key=_started_last_key)

    last_denosumab_dose = max(denosumab_doses, default=None)
    if last_denosumab_dose is None:
        denosumab_courses = [course for course in courses if course.drug == _DENOSUMAB]
        if denosumab_courses:
            last_denosumab_dose = denosumab_courses[-1].start

    labs: dict[LabTest, list[LabResult]] = {}
    # By date only: every rule reads same-day values of a test as a set (lowest, highest, any).
    # A stable sort, then a cut at as_of by bisection: the same labs, in the same order, as
    # dropping the later ones first, without a Python-level test of each date.
    by_date = sorted(case.labs, key=_BY_DATE)
    for lab in by_date[: bisect_right(by_date, as_of, key=_BY_DATE)]:
        labs.setdefault(lab.test, []).append(lab)

    risk = case.risk_factors
    fractures = tuple(
        _in_order([f for f in case.fractures if f.fragility and f.date <= as_of], _FRACTURE_KEY)
    )
    events = [e for e in risk.cardiovascular_events if e.date <= as_of]
    scans = _in_order([scan for scan in case.dxa if scan.date <= as_of], _scan_key)
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
        cardiovascular_events=tuple(_in_order(events, _EVENT_KEY)),
        glucocorticoids=tuple(
            sorted([g for g in risk.glucocorticoids if g.start <= as_of], key=_exposure_key)
        ),
        scans=tuple(scans),
        scan_dates=tuple([scan.date for scan in scans]),
        labs={test: tuple(results) for test, results in labs.items()},
        latest_reassessment=max([d for d in case.reassessments if d <= as_of], default=None),
        pth_analogue_days=pth_analogue_days,
        romosozumab_doses=romosozumab_doses,
        last_denosumab_dose=last_denosumab_dose,
    )


def active_course(case: Case) -> TherapyCourse | None:
    """The case's entry for "the active course" on `case.as_of`, as every rule sees it: the
    osteoporosis-therapy course active on as_of that started last, after supersession (a course
    ends the day before a later course of another osteoporosis drug starts) and the "started
    last" tie-breaks (open beats ended, then the later end, then the one listed later). None
    when no osteoporosis therapy is active. For pages that name the current therapy; the rules
    read `History.current`."""
    current = history_of(case, case.as_of).current
    return None if current is None else case.therapies[current.position]


_ROMOSOZUMAB, _DENOSUMAB = Drug.ROMOSOZUMAB, Drug.DENOSUMAB
_BY_DATE = attrgetter("date")
_FRACTURE_KEY = attrgetter("date", "site")
_EVENT_KEY = attrgetter("date", "kind")
