"""The fracture-liaison quality indicators, as pure functions: IOF Capture the Fracture KPIs 1–11
(Javaid et al., Osteoporos Int 2020;31:1193–1204) and the UK FLS-DB KPIs 1–11 (Royal College
of Physicians).

Plain Python like the engine: no Django, no clock, no database. The caller
(`quality.selectors`) reads each index fracture of the period into one `EpisodeFacts`; every
KPI is a function of those facts and a `KpiContext` (the period, the day the report is made,
the clinic's expected yearly caseload) and returns a `KpiValue` that names the episodes in its
numerator and its denominator, so the page can drill down to them.

Each KPI's docstring states its numerator, denominator and time window; where the published
definition leaves a choice, the reading chosen is written there and in `docs/quality/kpis.md`
(the KPI page shows the same notes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

#: Windows after the index fracture, in days (a scan on day 84 is within 12 weeks, day 85 not).
WEEKS_12 = 84
DAYS_90 = 90
WEEKS_16 = 112
WEEKS_52 = 364


class Family(StrEnum):
    IOF = "IOF"
    FLS_DB = "FLS-DB"


class Level(StrEnum):
    """The achievement level of a KPI's value (green / amber / red on the page)."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Red below `red_below` %; green above `amber_upto` % (or, with no amber band, from
    `red_below` %); amber in between, both ends included."""

    red_below: float
    amber_upto: float | None

    def level(self, percent: float) -> Level:
        if percent < self.red_below:
            return Level.RED
        if self.amber_upto is None or percent > self.amber_upto:
            return Level.GREEN
        return Level.AMBER


#: IOF: "<50 %, 50–80 % and >80 %" (50 and 80 themselves are amber).
STANDARD = Thresholds(red_below=50.0, amber_upto=80.0)
#: IOF KPI 6 and FLS-DB KPI 7, treatment recommended: one level at 50 % (reading: 50 % is green).
ONE_LEVEL_50 = Thresholds(red_below=50.0, amber_upto=None)
#: Spine fractures among those identified (FLS-DB benchmark: >20 % green, <10 % red).
SPINE = Thresholds(red_below=10.0, amber_upto=20.0)


@dataclass(frozen=True, slots=True)
class FollowUpFacts:
    """One follow-up contact (16 or 52 weeks)."""

    date: dt.date
    is_on_treatment: bool
    #: "as_prescribed", "missed_doses", "stopped", or "" when not on treatment.
    adherence: str


@dataclass(frozen=True, slots=True)
class EpisodeFacts:
    """What the indicators read about one index fracture and its patient."""

    episode_id: int
    patient_id: int
    fracture_date: dt.date
    #: The engine's FractureSite value: "vertebral", "hip", "wrist", "humerus", "pelvis", "other".
    fracture_site: str
    identified_on: dt.date
    #: "clinical" or "radiological".
    identified_by: str
    assessed_on: dt.date | None
    #: "done", "referred", "not_needed", or "" when not recorded.
    falls_assessment: str
    falls_assessed_on: dt.date | None
    exercise_started_on: dt.date | None
    is_dxa_not_needed: bool
    closed_on: dt.date | None
    #: The episode's outcome ("" while open).
    outcome: str
    death_date: dt.date | None
    birth_year: int
    sex: str
    #: The patient's DXA scan dates on or after the fracture date, ascending.
    dxa_dates: tuple[dt.date, ...] = ()
    #: Days on or after the fracture when anti-osteoporosis medication was chosen (a decision
    #: that chose a drug, or a therapy course started), ascending.
    medication_dates: tuple[dt.date, ...] = ()
    #: Days on or after the fracture of a "no anti-osteoporosis medication indicated" decision.
    not_indicated_dates: tuple[dt.date, ...] = ()
    follow_up_16w: FollowUpFacts | None = None
    follow_up_52w: FollowUpFacts | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """The index fractures dated from `start` to `end`, both included."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True, slots=True)
class KpiContext:
    period: Period
    #: The day the report is made: a window that has not closed by then is pending.
    as_of: dt.date
    #: The clinic's expected fragility fractures per year (None: not set).
    expected_yearly_caseload: int | None


@dataclass(frozen=True, slots=True)
class KpiValue:
    """One KPI's value for one cohort.

    `numerator` and `denominator` are episode ids (the drill-down lists their patients); for
    the identification KPIs `expected` is the denominator's size (a number of patients the
    clinic expects, not a list), and for FLS-DB KPI 1 the counts are of data fields
    (`unit` "fields", no ids). `pending`: episodes whose window has not closed yet (counted in
    neither until it has, unless already in the numerator)."""

    key: str
    numerator: frozenset[int] = frozenset()
    denominator: frozenset[int] = frozenset()
    pending: frozenset[int] = frozenset()
    expected: int | None = None
    numerator_count_override: int | None = None
    unit: str = "patients"

    @property
    def numerator_count(self) -> int:
        if self.numerator_count_override is not None:
            return self.numerator_count_override
        return len(self.numerator)

    @property
    def denominator_count(self) -> int:
        return self.expected if self.expected is not None else len(self.denominator)

    @property
    def percent(self) -> float | None:
        """The value in %, or None when the denominator is empty (nothing to measure)."""
        if not self.denominator_count:
            return None
        return 100.0 * self.numerator_count / self.denominator_count


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    key: str  # "iof-4", "flsdb-5"
    family: Family
    number: int
    title: str
    thresholds: Thresholds
    compute: Callable[[Sequence[EpisodeFacts], KpiContext], KpiValue]
    #: The reading chosen where the published definition leaves a choice (shown on the page).
    note: str = ""
    #: Whether the value has a patient drill-down (not for FLS-DB KPI 1, counted in fields).
    has_drill_down: bool = True

    def level(self, value: KpiValue) -> Level | None:
        percent = value.percent
        return None if percent is None else self.thresholds.level(percent)


@dataclass(frozen=True, slots=True)
class CompletenessItem:
    """How complete one data item is: recorded in `recorded` of the `expected` episodes."""

    key: str
    label: str
    recorded: int
    expected: int
    missing: frozenset[int] = field(default_factory=frozenset)

    @property
    def percent(self) -> float | None:
        return None if not self.expected else 100.0 * self.recorded / self.expected


@dataclass(frozen=True, slots=True)
class MonthPoint:
    """One month of the run chart: each KPI's value for the index fractures of that month."""

    month: dt.date  # the first day of the month
    percents: dict[str, float | None]
