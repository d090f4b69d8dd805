"""The fracture-liaison quality indicators, as pure functions: IOF Capture the Fracture KPIs 1–11
(Javaid et al., Osteoporos Int 2020;31:1193–1204) and the UK FLS-DB KPIs 1–11 (Royal College
of Physicians).

Plain Python like the engine: no Django, no clock, no database. The caller
(`quality.selectors`) reads each index fracture of the period into one `EpisodeFacts`; every
KPI is a function of those facts and a `KpiContext` (the period, the day the report is made,
the clinic's expected yearly caseload) and returns a `KpiValue` that names the episodes in its
numerator and its denominator, so the page can drill down to them.

Every KPI function reads only the episodes whose fracture is dated in the context's period
(so a caller may pass more). Each episode's events are worked out once, as days after its
fracture, when its `EpisodeFacts` is built (`EpisodeDays`), so that many thousand episodes
read by 22 KPIs and once more by month compare whole numbers, not dates.

Each KPI's docstring states its numerator, denominator and time window; where the published
definition leaves a choice, the reading chosen is written there and in `docs/quality/kpis.md`
(the KPI page shows the same notes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from operator import attrgetter
from typing import NamedTuple

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
    #: The events above as days after the fracture, worked out once here so that 22 KPIs and
    #: a run chart over many thousand episodes compare whole numbers, not dates.
    days: EpisodeDays = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", EpisodeDays.of(self))


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


# --- Days after the fracture --------------------------------------------------------------------

#: An FLS-DB KPI 1 value is "good" (green) when fewer than this many items are over the limit.
FLSDB_1_ITEMS_OVER_LIMIT_RED = 5
#: A data item is "over the limit" when more than this share (%) of its expected values is missing.
FLSDB_1_MISSING_LIMIT = 20.0

Episodes = Sequence[EpisodeFacts]

_FALLS_MET = frozenset({"done", "referred"})
_FALLS_RECORDED = frozenset({"done", "referred", "not_needed"})


def days_after_fracture(facts: EpisodeFacts, date: dt.date) -> int:
    """The day of `date` counted from the index fracture (the fracture day is day 0)."""
    return (date - facts.fracture_date).days


def alive_at(facts: EpisodeFacts, days: int) -> bool:
    """Alive at day `days`: no date of death, or a death after that day (a death on day 84
    is not "alive at 12 weeks"; a death on day 85 is)."""
    return facts.days.death > days


def window_closed(facts: EpisodeFacts, days: int, as_of: dt.date) -> bool:
    """Whether the window of day 0 to `days` has ended by `as_of`: on day `days` itself an
    event can still happen, so the window closes only once `as_of` is a later day."""
    return days_after_fracture(facts, as_of) > days


def _cohort(episodes: Episodes, period: Period) -> list[EpisodeFacts]:
    first, last = period.start.toordinal(), period.end.toordinal()
    return [facts for facts in episodes if first <= facts.days.fracture <= last]


def expected_caseload(caseload: int | None, period: Period) -> int | None:
    """The yearly caseload prorated to the period's days, rounded to a whole patient (365 is
    odd, so a whole caseload × whole days ÷ 365 is never exactly half-way)."""
    if caseload is None:
        return None
    return round(caseload * period.days / 365)


#: The day of an event that has not happened (later than every window and report day).
NEVER = 10**9


class EpisodeDays(NamedTuple):
    """An episode's events as days after its fracture (day 0); `NEVER` when there is none. An
    event dated before the fracture is none: it is not a response to this fracture. (A tuple,
    built once per episode: thousands of episodes are read 22 times and once more by month.)"""

    #: The fracture's date as an ordinal (`date.toordinal()`).
    fracture: int
    death: int
    assessed: int
    #: The first DXA scan on or after the fracture.
    dxa: int
    #: The first day medication was chosen (a decision that chose a drug, or a course started).
    medication: int
    #: The first medication decision of either kind (chosen, or "not indicated").
    decided: int
    #: Falls assessment done or referred (day 0 when recorded without a date).
    falls: int
    exercise: int
    contact_16w: int
    on_treatment_16w: int
    on_treatment_52w: int
    #: A 52-week contact on treatment and not "stopped".
    adherent_52w: int
    #: Denominator exclusions.
    is_hip: bool
    is_dxa_not_needed: bool
    is_falls_not_needed: bool
    #: The data items recorded (bits of `DATA_ITEMS`) other than the medication decision,
    #: which counts only once `decided` is on or before the report's day.
    recorded_items: int

    @classmethod
    def of(cls, facts: EpisodeFacts) -> EpisodeDays:
        fracture = facts.fracture_date
        dxa = _first_day(facts.dxa_dates, fracture)
        medication = _first_day(facts.medication_dates, fracture)
        falls = NEVER
        if facts.falls_assessment in _FALLS_MET:
            # Reading: "done" or "referred" recorded without a date counts (at any date).
            falls = (
                0 if facts.falls_assessed_on is None else _day(facts.falls_assessed_on, fracture)
            )
        contact_16w, contact_52w = facts.follow_up_16w, facts.follow_up_52w
        on_treatment_52w = _on_treatment_day(contact_52w, fracture)
        recorded = 0
        if facts.assessed_on is not None:
            recorded |= _ITEM["fls_assessment"]
        if facts.is_dxa_not_needed or dxa != NEVER:
            recorded |= _ITEM["dxa"]
        if facts.falls_assessment in _FALLS_RECORDED:
            recorded |= _ITEM["falls"]
        if contact_16w is not None:
            recorded |= _ITEM["follow_up_16w"]
        if facts.exercise_started_on is not None:
            recorded |= _ITEM["exercise"]
        if contact_52w is not None:
            recorded |= _ITEM["follow_up_52w"]
        return cls(
            fracture.toordinal(),
            # A death keeps its day even if dated before the fracture (then out of every window).
            NEVER if facts.death_date is None else (facts.death_date - fracture).days,
            _day(facts.assessed_on, fracture),
            dxa,
            medication,
            min(medication, _first_day(facts.not_indicated_dates, fracture)),
            falls,
            _day(facts.exercise_started_on, fracture),
            NEVER if contact_16w is None else _day(contact_16w.date, fracture),
            _on_treatment_day(contact_16w, fracture),
            on_treatment_52w,
            NEVER
            if contact_52w is None or contact_52w.adherence == "stopped"
            else on_treatment_52w,
            facts.fracture_site == "hip",
            facts.is_dxa_not_needed,
            facts.falls_assessment == "not_needed",
            recorded,
        )


def _day(date: dt.date | None, fracture: dt.date) -> int:
    if date is None or date < fracture:
        return NEVER
    return (date - fracture).days


def _first_day(dates: tuple[dt.date, ...], fracture: dt.date) -> int:
    """The first of `dates` on or after the fracture (they need not be sorted)."""
    first = NEVER
    for date in dates:
        if date >= fracture:
            day = (date - fracture).days
            if day < first:
                first = day
    return first


def _on_treatment_day(contact: FollowUpFacts | None, fracture: dt.date) -> int:
    if contact is None or not contact.is_on_treatment:
        return NEVER
    return _day(contact.date, fracture)


def medication_recommended_on(facts: EpisodeFacts) -> dt.date | None:
    """The first day on or after the fracture that chose a drug (a decision or a course)."""
    day = facts.days.medication
    return None if day == NEVER else facts.fracture_date + dt.timedelta(days=day)


# --- The one windowed count every patient KPI shares --------------------------------------------


def _windowed(
    key: str,
    episodes: Episodes,
    context: KpiContext,
    *,
    window: int,
    event: str,
    is_event_within_window: bool = True,
    excluded_if: str | None = None,
    is_recommended_by_window: bool = False,
) -> KpiValue:
    """Episodes of the period alive at `window` days and not `excluded_if`; the numerator has
    its `event` (an `EpisodeDays` field) on day 0 to `window` (to the report's day when not
    `is_event_within_window`), never after the report's day. Until the window has closed an
    episode not yet in the numerator is pending (in neither). With `is_recommended_by_window`
    the denominator also needs medication chosen by day `window` (an open window without it
    yet is pending)."""
    first, last = context.period.start.toordinal(), context.period.end.toordinal()
    report_day = context.as_of.toordinal()
    event_day = attrgetter(event)
    is_excluded = attrgetter(excluded_if) if excluded_if else None
    numerator: list[int] = []
    denominator: list[int] = []
    pending: list[int] = []
    for facts in episodes:
        days = facts.days
        fracture = days.fracture
        if fracture < first or fracture > last or days.death <= window:
            continue
        if is_excluded is not None and is_excluded(days):
            continue
        as_of = report_day - fracture
        limit = window if window < as_of else as_of
        if is_recommended_by_window and days.medication > limit:
            if as_of <= window:
                pending.append(facts.episode_id)
            continue
        if event_day(days) <= (limit if is_event_within_window else as_of):
            numerator.append(facts.episode_id)
            denominator.append(facts.episode_id)
        elif as_of <= window:
            pending.append(facts.episode_id)
        else:
            denominator.append(facts.episode_id)
    return KpiValue(
        key=key,
        numerator=frozenset(numerator),
        denominator=frozenset(denominator),
        pending=frozenset(pending),
    )


def _identified(
    key: str,
    episodes: Episodes,
    context: KpiContext,
    *,
    is_counted: Callable[[EpisodeFacts], bool],
) -> KpiValue:
    """Counted episodes over the expected caseload prorated to the period (no value unset)."""
    numerator = frozenset(
        facts.episode_id for facts in _cohort(episodes, context.period) if is_counted(facts)
    )
    expected = expected_caseload(context.expected_yearly_caseload, context.period)
    return KpiValue(key=key, numerator=numerator, expected=expected)


def _spine_share(key: str, episodes: Episodes, context: KpiContext) -> KpiValue:
    cohort = _cohort(episodes, context.period)
    return KpiValue(
        key=key,
        numerator=frozenset(f.episode_id for f in cohort if f.fracture_site == "vertebral"),
        denominator=frozenset(f.episode_id for f in cohort),
    )


def _assessed_within(key: str, episodes: Episodes, context: KpiContext, window: int) -> KpiValue:
    return _windowed(key, episodes, context, window=window, event="assessed")


def _dxa_within(key: str, episodes: Episodes, context: KpiContext, window: int) -> KpiValue:
    return _windowed(
        key, episodes, context, window=window, event="dxa", excluded_if="is_dxa_not_needed"
    )


def _falls_assessed(key: str, episodes: Episodes, context: KpiContext) -> KpiValue:
    return _windowed(
        key,
        episodes,
        context,
        window=WEEKS_12,
        event="falls",
        is_event_within_window=False,
        excluded_if="is_falls_not_needed",
    )


def _medication_recommended(key: str, episodes: Episodes, context: KpiContext) -> KpiValue:
    return _windowed(
        key, episodes, context, window=WEEKS_12, event="medication", is_event_within_window=False
    )


def _exercise_started(key: str, episodes: Episodes, context: KpiContext) -> KpiValue:
    return _windowed(
        key, episodes, context, window=WEEKS_16, event="exercise", excluded_if="is_hip"
    )


def _follow_up_16w(key: str, episodes: Episodes, context: KpiContext) -> KpiValue:
    return _windowed(key, episodes, context, window=WEEKS_16, event="contact_16w")


def _treatment_started_16w(key: str, episodes: Episodes, context: KpiContext) -> KpiValue:
    return _windowed(
        key,
        episodes,
        context,
        window=WEEKS_16,
        event="on_treatment_16w",
        is_recommended_by_window=True,
    )


def _treatment_at_52w(key: str, episodes: Episodes, context: KpiContext, event: str) -> KpiValue:
    return _windowed(
        key, episodes, context, window=WEEKS_52, event=event, is_recommended_by_window=True
    )


# --- Data completeness (IOF 11, FLS-DB 1) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataItem:
    """One data item and its bit in an episode's masks: what records it is read once per
    episode (`EpisodeDays.recorded_items`, `EpisodeDays.decided`), when it is expected on the
    report's day (`_missing_items`)."""

    key: str
    label: str
    bit: int


DATA_ITEMS: tuple[DataItem, ...] = tuple(
    DataItem(key, label, 1 << index)
    for index, (key, label) in enumerate(
        (
            ("fls_assessment", "FLS assessment date"),
            ("dxa", 'DXA scan or "not needed"'),
            ("falls", "Falls assessment"),
            ("medication_decision", "Medication decision"),
            ("follow_up_16w", "16-week follow-up"),
            ("exercise", "Strength and balance"),
            ("follow_up_52w", "52-week follow-up"),
        )
    )
)
_ITEM = {item.key: item.bit for item in DATA_ITEMS}
_FROM_THE_START = (
    _ITEM["fls_assessment"] | _ITEM["dxa"] | _ITEM["falls"] | _ITEM["medication_decision"]
)


def _missing_items(days: EpisodeDays, as_of_day: int) -> tuple[int, int]:
    """(expected, missing) item masks of one episode on the report's day (`as_of_day` days
    after its fracture). Expected once knowable: the first four from the start; the 16-week
    follow-up and (non-hip fractures) strength and balance once day 112 has passed and the
    patient was alive on it (reading: exercise is a 16-week item, as IOF 9 measures it); the
    52-week follow-up once day 364 has passed, alive on it."""
    expected = _FROM_THE_START
    if as_of_day > WEEKS_16 and days.death > WEEKS_16:
        expected |= _ITEM["follow_up_16w"]
        if not days.is_hip:
            expected |= _ITEM["exercise"]
        if as_of_day > WEEKS_52 and days.death > WEEKS_52:
            expected |= _ITEM["follow_up_52w"]
    recorded = days.recorded_items
    if days.decided <= as_of_day:
        recorded |= _ITEM["medication_decision"]
    return expected, expected & ~recorded


def completeness(episodes: Episodes, context: KpiContext) -> list[CompletenessItem]:
    """Each data item over the period's index fractures: recorded of expected, and the episodes
    expected but not recorded (an item is expected only once it can be known)."""
    cohort = _cohort(episodes, context.period)
    return _completeness(cohort, context.as_of.toordinal(), with_ids=True)


def _completeness(
    cohort: list[EpisodeFacts], report_day: int, *, with_ids: bool
) -> list[CompletenessItem]:
    """The items' counts from each episode's expected and missing masks, tallied by mask (a
    few dozen distinct masks, whatever the number of episodes); the missing ids if asked."""
    expected_masks: dict[int, int] = {}
    missing_masks: dict[int, int] = {}
    missing_ids: dict[int, list[int]] = {item.bit: [] for item in DATA_ITEMS}
    for facts in cohort:
        days = facts.days
        expected, missing = _missing_items(days, report_day - days.fracture)
        expected_masks[expected] = expected_masks.get(expected, 0) + 1
        if missing:
            missing_masks[missing] = missing_masks.get(missing, 0) + 1
            while with_ids and missing:
                bit = missing & -missing  # the lowest item still missing
                missing_ids[bit].append(facts.episode_id)
                missing ^= bit
    items = []
    for item in DATA_ITEMS:
        expected = sum(count for mask, count in expected_masks.items() if mask & item.bit)
        missing = sum(count for mask, count in missing_masks.items() if mask & item.bit)
        items.append(
            CompletenessItem(
                key=item.key,
                label=item.label,
                recorded=expected - missing,
                expected=expected,
                missing=frozenset(missing_ids[item.bit]),
            )
        )
    return items


def is_over_missing_limit(item: CompletenessItem) -> bool:
    """More than 20 % of the item's expected values missing (FLS-DB KPI 1)."""
    return 100.0 * (item.expected - item.recorded) > FLSDB_1_MISSING_LIMIT * item.expected


# --- The KPIs -----------------------------------------------------------------------------------


def iof_1_non_spine_identified(episodes: Episodes, context: KpiContext) -> KpiValue:
    """iof-1 — Non-spine fractures identified. Numerator: episodes with a non-vertebral index
    fracture. Denominator: the expected yearly caseload × period days ÷ 365, rounded to a whole
    patient; no value when the caseload is not set. Window: none. May exceed 100 %."""
    return _identified(
        "iof-1", episodes, context, is_counted=lambda f: f.fracture_site != "vertebral"
    )


def iof_2_spine_identified(episodes: Episodes, context: KpiContext) -> KpiValue:
    """iof-2 — Spine fractures identified. Numerator: episodes with a vertebral index fracture
    (clinical or radiological). Denominator: all episodes. Window: none."""
    return _spine_share("iof-2", episodes, context)


def iof_3_assessment_within_12_weeks(episodes: Episodes, context: KpiContext) -> KpiValue:
    """iof-3 — FLS assessment within 12 weeks. Numerator: an FLS assessment dated day 0–84.
    Denominator: episodes alive at 12 weeks. Window: 84 days; pending until day 84 has passed."""
    return _assessed_within("iof-3", episodes, context, WEEKS_12)


def iof_4_dxa_within_12_weeks(episodes: Episodes, context: KpiContext) -> KpiValue:
    """iof-4 — DXA within 12 weeks. Numerator: a DXA scan dated day 0–84. Denominator: episodes
    alive at 12 weeks, excluding "DXA not needed". Window: 84 days."""
    return _dxa_within("iof-4", episodes, context, WEEKS_12)


def iof_5_falls_assessed(episodes: Episodes, context: KpiContext) -> KpiValue:
    """iof-5 — Falls risk assessed. Numerator: falls assessment done or referred, any date from
    the fracture to `as_of` (a done/referred status without a date counts). Denominator:
    episodes alive at 12 weeks, excluding falls assessment "not needed". Window: pending until
    day 84 unless already done."""
    return _falls_assessed("iof-5", episodes, context)


def iof_6_medication_recommended(episodes: Episodes, context: KpiContext) -> KpiValue:
    """iof-6 — Anti-osteoporosis medication recommended. Numerator: a decision that chose a drug
    or a course started, from the fracture to `as_of`; "not indicated" is not a recommendation.
    Denominator: episodes alive at 12 weeks. Window: pending until day 84 unless recommended."""
    return _medication_recommended("iof-6", episodes, context)


def iof_7_follow_up_within_16_weeks(episodes: Episodes, context: KpiContext) -> KpiValue:
    """iof-7 — Follow-up within 16 weeks. Numerator: a 16-week follow-up contact dated day
    0–112. Denominator: episodes alive at 16 weeks. Window: 112 days."""
    return _follow_up_16w("iof-7", episodes, context)


def iof_8_medication_started_within_16_weeks(episodes: Episodes, context: KpiContext) -> KpiValue:
    """iof-8 — Medication started within 16 weeks. Numerator: a 16-week follow-up dated day
    0–112 that found the patient on treatment. Denominator: episodes with medication
    recommended by day 112, alive at 16 weeks. Window: 112 days; while it is open an episode
    without a recommendation yet is pending (one may still come), not left out."""
    return _treatment_started_16w("iof-8", episodes, context)


def iof_9_exercise_within_16_weeks(episodes: Episodes, context: KpiContext) -> KpiValue:
    """iof-9 — Strength and balance started within 16 weeks. Numerator: exercise started day
    0–112. Denominator: episodes with a non-hip index fracture, alive at 16 weeks. Window: 112
    days."""
    return _exercise_started("iof-9", episodes, context)


def iof_10_on_medication_at_52_weeks(episodes: Episodes, context: KpiContext) -> KpiValue:
    """iof-10 — On medication at 52 weeks. Numerator: a 52-week follow-up dated day 0–364 that
    found the patient on treatment (whatever the adherence, "stopped" included: the contact's
    on-treatment answer decides). Denominator: episodes with medication recommended by day 364,
    alive at 52 weeks. Window: 364 days; while it is open an episode without a recommendation
    yet is pending."""
    return _treatment_at_52w("iof-10", episodes, context, "on_treatment_52w")


def iof_11_data_complete(episodes: Episodes, context: KpiContext) -> KpiValue:
    """iof-11 — Data complete. Numerator: episodes with every data item recorded that is
    expected of them by `as_of`. Denominator: all episodes. Window: none (items are expected
    once knowable)."""
    cohort = _cohort(episodes, context.period)
    report_day = context.as_of.toordinal()
    return KpiValue(
        key="iof-11",
        numerator=frozenset(
            f.episode_id
            for f in cohort
            if not _missing_items(f.days, report_day - f.days.fracture)[1]
        ),
        denominator=frozenset(f.episode_id for f in cohort),
    )


def flsdb_1_data_completeness(episodes: Episodes, context: KpiContext) -> KpiValue:
    """flsdb-1 — Data completeness. Numerator: data items with at most 20 % of their expected
    values missing (an item expected of no episode is not over). Denominator: the data items.
    Window: none. Counted in fields, no drill-down; no value without episodes. Level: green when
    fewer than five items have more than 20 % missing, red otherwise."""
    cohort = _cohort(episodes, context.period)
    if not cohort:
        return KpiValue(key="flsdb-1", expected=0, numerator_count_override=0, unit="fields")
    items = _completeness(cohort, context.as_of.toordinal(), with_ids=False)
    return KpiValue(
        key="flsdb-1",
        expected=len(items),
        numerator_count_override=sum(not is_over_missing_limit(item) for item in items),
        unit="fields",
    )


def flsdb_2_all_identified(episodes: Episodes, context: KpiContext) -> KpiValue:
    """flsdb-2 — Identification (all fractures). Numerator: all episodes. Denominator: the
    expected yearly caseload × period days ÷ 365, rounded; no value when not set.
    Window: none. May exceed 100 %."""
    return _identified("flsdb-2", episodes, context, is_counted=lambda f: True)


def flsdb_3_spine_identified(episodes: Episodes, context: KpiContext) -> KpiValue:
    """flsdb-3 — Identification (spine fractures). Numerator: vertebral index fractures.
    Denominator: all episodes. Window: none (as iof-2)."""
    return _spine_share("flsdb-3", episodes, context)


def flsdb_4_assessment_within_90_days(episodes: Episodes, context: KpiContext) -> KpiValue:
    """flsdb-4 — FLS assessment within 90 days. Numerator: an assessment dated day 0–90.
    Denominator: episodes alive at 90 days. Window: 90 days."""
    return _assessed_within("flsdb-4", episodes, context, DAYS_90)


def flsdb_5_dxa_within_90_days(episodes: Episodes, context: KpiContext) -> KpiValue:
    """flsdb-5 — DXA within 90 days. Numerator: a scan dated day 0–90. Denominator: episodes
    alive at 90 days, excluding "DXA not needed". Window: 90 days."""
    return _dxa_within("flsdb-5", episodes, context, DAYS_90)


def flsdb_6_falls_assessed(episodes: Episodes, context: KpiContext) -> KpiValue:
    """flsdb-6 — Falls assessment. Numerator: done or referred, any date up to `as_of`.
    Denominator: alive at 12 weeks, excluding "not needed". Window: as iof-5."""
    return _falls_assessed("flsdb-6", episodes, context)


def flsdb_7_bone_therapy_recommended(episodes: Episodes, context: KpiContext) -> KpiValue:
    """flsdb-7 — Bone therapy recommended. Numerator, denominator and window as iof-6."""
    return _medication_recommended("flsdb-7", episodes, context)


def flsdb_8_strength_and_balance(episodes: Episodes, context: KpiContext) -> KpiValue:
    """flsdb-8 — Strength and balance. Numerator: exercise started day 0–112. Denominator:
    non-hip index fractures alive at 16 weeks. Window: 112 days (as iof-9)."""
    return _exercise_started("flsdb-8", episodes, context)


def flsdb_9_monitoring_within_16_weeks(episodes: Episodes, context: KpiContext) -> KpiValue:
    """flsdb-9 — Monitoring contact within 16 weeks. Numerator: a 16-week contact dated day
    0–112. Denominator: alive at 16 weeks. Window: 112 days (as iof-7)."""
    return _follow_up_16w("flsdb-9", episodes, context)


def flsdb_10_treatment_started_by_16_weeks(episodes: Episodes, context: KpiContext) -> KpiValue:
    """flsdb-10 — Treatment started by 16 weeks. Numerator: a 16-week follow-up dated day 0–112
    that found the patient on treatment. Denominator: medication recommended by day 112, alive
    at 16 weeks. Window: 112 days (as iof-8)."""
    return _treatment_started_16w("flsdb-10", episodes, context)


def flsdb_11_adherence_at_52_weeks(episodes: Episodes, context: KpiContext) -> KpiValue:
    """flsdb-11 — Adherence at 52 weeks. Numerator: a 52-week follow-up dated day 0–364 that
    found the patient on treatment and not "stopped". Denominator: medication recommended by
    day 364, alive at 52 weeks (as iof-10). Window: 364 days."""
    return _treatment_at_52w("flsdb-11", episodes, context, "adherent_52w")


@dataclass(frozen=True, slots=True)
class ItemCountKpiDefinition(KpiDefinition):
    """FLS-DB KPI 1: its level is a count of data items, not a percentage band — green when
    fewer than five items have more than 20 % missing, red otherwise."""

    def level(self, value: KpiValue) -> Level | None:
        if value.percent is None:
            return None
        over = value.denominator_count - value.numerator_count
        return Level.GREEN if over < FLSDB_1_ITEMS_OVER_LIMIT_RED else Level.RED


_ITEMS = len(DATA_ITEMS)
#: The same rule as a percentage of items "good" (for a page that shows bands): at least
#: items − 4 of them at most 20 % missing.
FLSDB_1_THRESHOLDS = Thresholds(
    red_below=100.0 * (_ITEMS - FLSDB_1_ITEMS_OVER_LIMIT_RED + 1) / _ITEMS, amber_upto=None
)


KPIS: tuple[KpiDefinition, ...] = (
    KpiDefinition(
        "iof-1",
        Family.IOF,
        1,
        "Non-spine fractures identified",
        STANDARD,
        iof_1_non_spine_identified,
        note="Non-vertebral index fractures over the clinic's expected yearly caseload prorated "
        "to the period's days; no value while the caseload is not set.",
    ),
    KpiDefinition(
        "iof-2",
        Family.IOF,
        2,
        "Spine fractures identified",
        SPINE,
        iof_2_spine_identified,
        note="Vertebral index fractures (clinical or radiological) among all index fractures; "
        "red below 10 %, green above 20 %.",
    ),
    KpiDefinition(
        "iof-3",
        Family.IOF,
        3,
        "FLS assessment within 12 weeks",
        STANDARD,
        iof_3_assessment_within_12_weeks,
        note="An FLS assessment dated day 0–84 after the fracture, of patients alive at 12 weeks. "
        "A fracture whose 12 weeks have not passed waits, unless already assessed.",
    ),
    KpiDefinition(
        "iof-4",
        Family.IOF,
        4,
        "DXA within 12 weeks",
        STANDARD,
        iof_4_dxa_within_12_weeks,
        note='A DXA scan dated day 0–84, of patients alive at 12 weeks; "DXA not needed" is left '
        "out.",
    ),
    KpiDefinition(
        "iof-5",
        Family.IOF,
        5,
        "Falls risk assessed",
        STANDARD,
        iof_5_falls_assessed,
        note='Done or referred, at any date; "not needed" is left out. Alive at 12 weeks; '
        "pending until day 84 unless done.",
    ),
    KpiDefinition(
        "iof-6",
        Family.IOF,
        6,
        "Anti-osteoporosis medication recommended",
        ONE_LEVEL_50,
        iof_6_medication_recommended,
        note="A decision that chose a drug (continuing one included) or a course started after "
        "the fracture; one level: 50 % and above is green.",
    ),
    KpiDefinition(
        "iof-7",
        Family.IOF,
        7,
        "Follow-up within 16 weeks",
        STANDARD,
        iof_7_follow_up_within_16_weeks,
        note="A 16-week follow-up contact dated day 0–112, of patients alive at 16 weeks.",
    ),
    KpiDefinition(
        "iof-8",
        Family.IOF,
        8,
        "Medication started within 16 weeks",
        STANDARD,
        iof_8_medication_started_within_16_weeks,
        note="On treatment at a 16-week follow-up dated day 0–112, of the patients with "
        "medication recommended by day 112 and alive at 16 weeks.",
    ),
    KpiDefinition(
        "iof-9",
        Family.IOF,
        9,
        "Strength and balance started within 16 weeks",
        STANDARD,
        iof_9_exercise_within_16_weeks,
        note="Exercise started day 0–112, of non-hip index fractures alive at 16 weeks.",
    ),
    KpiDefinition(
        "iof-10",
        Family.IOF,
        10,
        "On medication at 52 weeks",
        STANDARD,
        iof_10_on_medication_at_52_weeks,
        note="On treatment at a 52-week follow-up dated day 0–364 (whatever the adherence), of "
        "the patients with medication recommended by day 364 and alive at 52 weeks.",
    ),
    KpiDefinition(
        "iof-11",
        Family.IOF,
        11,
        "Data complete",
        STANDARD,
        iof_11_data_complete,
        note="Every data item recorded that can be known by the report's day (follow-up items "
        "only once day 112 or 364 has passed).",
    ),
    ItemCountKpiDefinition(
        "flsdb-1",
        Family.FLS_DB,
        1,
        "Data completeness",
        FLSDB_1_THRESHOLDS,
        flsdb_1_data_completeness,
        note="Data items with at most 20 % missing; green when fewer than five items have more "
        "than 20 % missing, red otherwise.",
        has_drill_down=False,
    ),
    KpiDefinition(
        "flsdb-2",
        Family.FLS_DB,
        2,
        "Identification (all fractures)",
        STANDARD,
        flsdb_2_all_identified,
        note="All index fractures over the expected yearly caseload prorated to the period's "
        "days; no value while the caseload is not set.",
    ),
    KpiDefinition(
        "flsdb-3",
        Family.FLS_DB,
        3,
        "Identification (spine fractures)",
        SPINE,
        flsdb_3_spine_identified,
        note="Vertebral index fractures among all index fractures; red below 10 %, green above "
        "20 %.",
    ),
    KpiDefinition(
        "flsdb-4",
        Family.FLS_DB,
        4,
        "FLS assessment within 90 days",
        STANDARD,
        flsdb_4_assessment_within_90_days,
        note="An FLS assessment dated day 0–90 after the fracture, of patients alive at 90 days. "
        "A fracture whose 90 days have not passed waits, unless already assessed.",
    ),
    KpiDefinition(
        "flsdb-5",
        Family.FLS_DB,
        5,
        "DXA within 90 days",
        STANDARD,
        flsdb_5_dxa_within_90_days,
        note='A DXA scan dated day 0–90, of patients alive at 90 days; "DXA not needed" is left '
        "out.",
    ),
    KpiDefinition(
        "flsdb-6",
        Family.FLS_DB,
        6,
        "Falls assessment",
        STANDARD,
        flsdb_6_falls_assessed,
        note='As IOF 5: done or referred, at any date; "not needed" is left out.',
    ),
    KpiDefinition(
        "flsdb-7",
        Family.FLS_DB,
        7,
        "Bone therapy recommended",
        ONE_LEVEL_50,
        flsdb_7_bone_therapy_recommended,
        note="As IOF 6; one level: 50 % and above is green.",
    ),
    KpiDefinition(
        "flsdb-8",
        Family.FLS_DB,
        8,
        "Strength and balance",
        STANDARD,
        flsdb_8_strength_and_balance,
        note="As IOF 9: exercise started day 0–112, non-hip index fractures.",
    ),
    KpiDefinition(
        "flsdb-9",
        Family.FLS_DB,
        9,
        "Monitoring contact within 16 weeks",
        STANDARD,
        flsdb_9_monitoring_within_16_weeks,
        note="As IOF 7: a 16-week contact dated day 0–112.",
    ),
    KpiDefinition(
        "flsdb-10",
        Family.FLS_DB,
        10,
        "Treatment started by 16 weeks",
        STANDARD,
        flsdb_10_treatment_started_by_16_weeks,
        note="As IOF 8: on treatment at the 16-week follow-up, of those recommended medication.",
    ),
    KpiDefinition(
        "flsdb-11",
        Family.FLS_DB,
        11,
        "Adherence at 52 weeks",
        STANDARD,
        flsdb_11_adherence_at_52_weeks,
        note='As IOF 10, but a patient who has "stopped" is not adherent.',
    ),
)

KPI_BY_KEY: dict[str, KpiDefinition] = {kpi.key: kpi for kpi in KPIS}


#: FLS-DB KPIs whose value is an IOF KPI's under their own key (the same private function with
#: the same window): computed once per report (a test holds them equal to their own function).
SAME_AS: dict[str, str] = {
    "flsdb-3": "iof-2",
    "flsdb-6": "iof-5",
    "flsdb-7": "iof-6",
    "flsdb-8": "iof-9",
    "flsdb-9": "iof-7",
    "flsdb-10": "iof-8",
}


def _values(cohort: list[EpisodeFacts], context: KpiContext) -> dict[str, KpiValue]:
    values: dict[str, KpiValue] = {}
    for kpi in KPIS:
        same = SAME_AS.get(kpi.key)
        if same is not None:
            values[kpi.key] = replace(values[same], key=kpi.key)
        else:
            values[kpi.key] = kpi.compute(cohort, context)
    return values


def kpi_values(episodes: Episodes, context: KpiContext) -> list[tuple[KpiDefinition, KpiValue]]:
    """Every KPI's value over the index fractures dated in the period, in `KPIS` order."""
    values = _values(_cohort(episodes, context.period), context)
    return [(kpi, values[kpi.key]) for kpi in KPIS]


def months(period: Period) -> list[Period]:
    """The calendar months overlapping the period, each cut to the period's days."""
    parts = []
    first = period.start.replace(day=1)
    while first <= period.end:
        following = (first + dt.timedelta(days=32)).replace(day=1)
        last = following - dt.timedelta(days=1)
        parts.append(Period(max(first, period.start), min(last, period.end)))
        first = following
    return parts


def run_chart(episodes: Episodes, context: KpiContext) -> list[MonthPoint]:
    """One point per calendar month of the period: each KPI over that month's index fractures
    alone (identification KPIs with the caseload prorated to the month's days in the period).
    The episodes are grouped by month once."""
    by_month: dict[tuple[int, int], list[EpisodeFacts]] = {}
    for facts in _cohort(episodes, context.period):
        date = facts.fracture_date
        by_month.setdefault((date.year, date.month), []).append(facts)
    points = []
    for part in months(context.period):
        group = by_month.get((part.start.year, part.start.month), [])
        month_context = KpiContext(
            period=part,
            as_of=context.as_of,
            expected_yearly_caseload=context.expected_yearly_caseload,
        )
        percents = {key: v.percent for key, v in _values(group, month_context).items()}
        points.append(MonthPoint(month=part.start.replace(day=1), percents=percents))
    return points
