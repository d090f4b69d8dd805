"""Bone-turnover markers around the start of a course (ALR-12, MON-2, MON-3; IOF-ECTS 2017).

Baseline window: [start − 90 days, start]; follow-up window: [start + 60 days, start + 180 days].
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from therapy.engine.bmd import exceeds, percent_change
from therapy.engine.case import LabTest
from therapy.engine.history import Course, History
from therapy.engine.limits import MARKER_BASELINE_DAYS, MARKER_FOLLOW_UP_DAYS, MARKER_LSC_PCT
from therapy.engine.text import number, percent

#: The markers, in the order the rationale names them.
MARKERS: tuple[LabTest, ...] = (LabTest.CTX, LabTest.P1NP)


_BASELINE = dt.timedelta(days=MARKER_BASELINE_DAYS)
_FOLLOW_UP_FIRST, _FOLLOW_UP_LAST = (dt.timedelta(days=days) for days in MARKER_FOLLOW_UP_DAYS)


def baseline_window(course: Course) -> tuple[dt.date, dt.date]:
    """[start − 90 days, start]."""
    return course.start - _BASELINE, course.start


def follow_up_window(course: Course) -> tuple[dt.date, dt.date]:
    """[start + 60 days, start + 180 days]."""
    return course.start + _FOLLOW_UP_FIRST, course.start + _FOLLOW_UP_LAST


def has_marker_between(history: History, window: tuple[dt.date, dt.date]) -> bool:
    """Any CTX or P1NP value dated within the window (both ends included)."""
    first, last = window
    return any(first <= lab.date <= last for test in MARKERS for lab in history.labs.get(test, ()))


@dataclass(frozen=True, slots=True)
class MarkerPair:
    """One marker's baseline and follow-up values around a course start (ALR-12)."""

    test: LabTest
    baseline_date: dt.date
    baseline: float
    follow_up_date: dt.date
    follow_up: float

    @property
    def fall_pct(self) -> float:
        return -percent_change(self.baseline, self.follow_up)

    @property
    def lsc_pct(self) -> float:
        return MARKER_LSC_PCT[self.test]

    @property
    def fell_beyond_lsc(self) -> bool:
        """The fall strictly exceeds the marker's LSC (P1NP 38 %, CTX 56 %)."""
        return exceeds(self.fall_pct, self.lsc_pct)

    def describe(self) -> str:
        return (
            f"{self.test.value.upper()} {number(self.baseline)} on {self.baseline_date} → "
            f"{number(self.follow_up)} on {self.follow_up_date} (fall {percent(self.fall_pct)}, "
            f"LSC {number(self.lsc_pct)} %)"
        )


def marker_pairs(history: History, course: Course) -> list[MarkerPair]:
    """Per marker, the latest baseline value and the earliest follow-up value (what ALR-12
    compares).

    Reading: several values of one marker on the same day are resolved toward the smaller fall
    (lowest baseline, highest follow-up), so that possible non-adherence is not missed.
    """
    if not any(test in history.labs for test in MARKERS):
        return []
    base_first, base_last = baseline_window(course)
    follow_first, follow_last = follow_up_window(course)
    pairs = []
    for test in MARKERS:
        results = history.labs_of(test)
        baseline = [lab for lab in results if base_first <= lab.date <= base_last]
        follow_up = [lab for lab in results if follow_first <= lab.date <= follow_last]
        if not baseline or not follow_up:
            continue
        baseline_date, follow_up_date = baseline[-1].date, follow_up[0].date
        pairs.append(
            MarkerPair(
                test,
                baseline_date,
                min(lab.value for lab in baseline if lab.date == baseline_date),
                follow_up_date,
                max(lab.value for lab in follow_up if lab.date == follow_up_date),
            )
        )
    return pairs
