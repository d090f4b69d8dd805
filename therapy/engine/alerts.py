"""§6 Alerts for all patients: ALR-1 to ALR-14.

ALR-3/ALR-4 (denosumab stopped) and ALR-5 (anabolic ended) also decide the pathway (SEL-1,
SEL-2) and MON-6, so their conditions are computed once, here, before selection.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from therapy.engine.assessment import Alert, Option, Rationale
from therapy.engine.case import CardiovascularEvent, Drug, LabResult, LabTest
from therapy.engine.catalogue import (
    ANABOLICS,
    ANTIRESORPTIVES,
    BISPHOSPHONATES,
    DRUG_NAMES,
    PTH_ANALOGUES,
)
from therapy.engine.codes import AlertCode, Pathway, RuleId, Severity
from therapy.engine.dates import add_months
from therapy.engine.history import Course, History
from therapy.engine.limits import (
    DENOSUMAB_DUE_NOTICE_DAYS,
    DENOSUMAB_INTERVAL_MONTHS,
    DENOSUMAB_OVERDUE_MONTHS,
    DENOSUMAB_SEVERE_CKD_ML_MIN,
    PTH_ANALOGUE_ENDING_MONTHS,
    PTH_ANALOGUE_LIFETIME_MONTHS,
    ROMOSOZUMAB_ENDING_DOSES,
    ROMOSOZUMAB_MAX_DOSES,
    VITAMIN_D_MIN_NG_ML,
    VITAMIN_D_RECENT_MONTHS,
)
from therapy.engine.markers import MarkerPair, marker_pairs
from therapy.engine.text import cardiovascular_event, listing, number, pathway_name, sentence

_DENOSUMAB, _ROMOSOZUMAB = Drug.DENOSUMAB, Drug.ROMOSOZUMAB
_DENOSUMAB_ONLY, _ROMOSOZUMAB_ONLY = frozenset({_DENOSUMAB}), frozenset({_ROMOSOZUMAB})


class DenosumabStop(NamedTuple):
    """Denosumab stopped with no bisphosphonate since: the condition ALR-3 and ALR-4 share."""

    #: The denosumab course that started last (it has ended).
    course: Course
    #: The last denosumab dose, across courses (RULES.md conventions).
    last_dose: dt.date
    #: Last dose + 6 months: when the follow-on bisphosphonate is due (ECTS 2021).
    due: dt.date


def denosumab_stop(history: History) -> DenosumabStop | None:
    """The denosumab course that started last has ended (end ≤ as_of), no denosumab course is
    active on as_of, and no bisphosphonate course starts on or after the last denosumab dose:
    what ALR-3 and ALR-4 both require before they look at the date."""
    courses = history.courses_of(_DENOSUMAB_ONLY)
    if not courses or not courses[-1].has_ended_by(history.as_of):
        return None
    if _DENOSUMAB in history.active_drugs:
        return None
    last = history.last_denosumab_dose
    if last is None or any(c.start >= last for c in history.courses_of(BISPHOSPHONATES)):
        return None
    return DenosumabStop(courses[-1], last, add_months(last, DENOSUMAB_INTERVAL_MONTHS))


def denosumab_stopped_without_follow_on(
    history: History, stop: DenosumabStop | None
) -> DenosumabStop | None:
    """ALR-3: denosumab stopped with no bisphosphonate since, and as_of > last denosumab dose +
    6 months (SEED pitfall; ECTS 2021)."""
    return stop if stop is not None and history.as_of > stop.due else None


def denosumab_follow_on_needed(
    history: History, stop: DenosumabStop | None
) -> DenosumabStop | None:
    """ALR-4: as ALR-3, but as_of ≤ last denosumab dose + 6 months: the follow-on is still
    ahead (ECTS 2021)."""
    return stop if stop is not None and history.as_of <= stop.due else None


def anabolic_without_follow_on(history: History) -> Course | None:
    """ALR-5: the anabolic course that started last has ended (end ≤ as_of), no anabolic course
    is active on as_of, and no antiresorptive course starts after that course's start (SEED).

    Reading: an antiresorptive starting on the anabolic's first day does not start "after" it,
    so the alert stays.
    """
    courses = history.courses_of(ANABOLICS)
    if not courses or not courses[-1].has_ended_by(history.as_of):
        return None
    if history.active_drugs & ANABOLICS:
        return None
    latest = courses[-1]
    if any(c.start > latest.start for c in history.courses_of(ANTIRESORPTIVES)):
        return None
    return latest


def romosozumab_cardiovascular_events(history: History) -> list[CardiovascularEvent]:
    """ALR-8: an MI or stroke dated on a day a romosozumab course is active: discontinue
    (SEED; Evenity label).

    Reading: this holds for any romosozumab course, also one that has since ended.
    """
    courses = history.courses_of(_ROMOSOZUMAB_ONLY)
    return [
        event
        for event in history.cardiovascular_events
        if any(course.is_active_on(event.date) for course in courses)
    ]


class AlertFindings(NamedTuple):
    alerts: tuple[Alert, ...]
    rationale: tuple[Rationale, ...]


class _Alerts:
    """Collects alerts and their sentences in rule order."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.rationale: list[Rationale] = []

    def add(
        self,
        rule: RuleId,
        code: AlertCode,
        severity: Severity,
        text: str,
        due: dt.date | None = None,
    ) -> None:
        self.alerts.append(Alert(code, severity, due, (rule,)))
        self.rationale.append(Rationale(rule, text))


class DenosumabSchedule(NamedTuple):
    """Where the patient stands on denosumab's 6-monthly schedule (ALR-1, ALR-2)."""

    last_dose: dt.date
    due: dt.date
    overdue_after: dt.date


def denosumab_schedule(history: History) -> DenosumabSchedule | None:
    """The schedule from the last denosumab dose (across courses), when a denosumab course is
    active on as_of: what ALR-1 and ALR-2 both read, worked out once."""
    last = history.last_denosumab_dose
    if last is None or _DENOSUMAB not in history.active_drugs:
        return None
    return DenosumabSchedule(
        last,
        add_months(last, DENOSUMAB_INTERVAL_MONTHS),
        add_months(last, DENOSUMAB_OVERDUE_MONTHS),
    )


def denosumab_dose_due(
    history: History, schedule: DenosumabSchedule | None
) -> DenosumabSchedule | None:
    """ALR-1: a denosumab course is active on as_of, and last denosumab dose + 6 months − 28
    days ≤ as_of ≤ last denosumab dose + 7 months (Prolia label)."""
    if schedule is None:
        return None
    notice_from = schedule.due - dt.timedelta(days=DENOSUMAB_DUE_NOTICE_DAYS)
    return schedule if notice_from <= history.as_of <= schedule.overdue_after else None


def denosumab_overdue(
    history: History, schedule: DenosumabSchedule | None
) -> DenosumabSchedule | None:
    """ALR-2: a denosumab course is active on as_of, and as_of > last denosumab dose + 7 months
    (Prolia label; rebound vertebral fractures, ECTS 2021). A course restarted without a
    recorded injection stays overdue: the last dose is counted across courses."""
    return schedule if schedule is not None and history.as_of > schedule.overdue_after else None


def anabolic_exposure(history: History, *, months: float, doses: int) -> list[str]:
    """An active PTH-analogue course with PTH-analogue exposure ≥ `months`, or an active
    romosozumab course with ≥ `doses` doses given in total: what ALR-6 and ALR-7 measure."""
    found = []
    drugs = history.active_drugs
    if drugs & PTH_ANALOGUES and history.pth_analogue_months >= months:
        found.append(
            f"teriparatide/abaloparatide exposure {history.pth_analogue_months:.1f} months "
            f"of {PTH_ANALOGUE_LIFETIME_MONTHS}"
        )
    if _ROMOSOZUMAB in drugs and history.romosozumab_doses >= doses:
        found.append(
            f"{history.romosozumab_doses} of {ROMOSOZUMAB_MAX_DOSES} romosozumab doses given"
        )
    return found


def anabolic_course_ending(history: History) -> list[str]:
    """ALR-6: an active PTH-analogue course with exposure ≥ 21 months, or an active romosozumab
    course with ≥ 10 doses given: plan the antiresorptive now (SEED).

    Reading: it still holds once ALR-7 holds (≥ 21 months is also true at ≥ 24), so both are
    listed.
    """
    return anabolic_exposure(
        history, months=PTH_ANALOGUE_ENDING_MONTHS, doses=ROMOSOZUMAB_ENDING_DOSES
    )


def anabolic_limit_reached(history: History) -> list[str]:
    """ALR-7: an active PTH-analogue course with exposure ≥ 24 months, or an active romosozumab
    course with 12 doses given (SEED)."""
    return anabolic_exposure(
        history, months=PTH_ANALOGUE_LIFETIME_MONTHS, doses=ROMOSOZUMAB_MAX_DOSES
    )


def denosumab_with_immunosuppression(history: History, *, is_immunosuppressed: bool) -> bool:
    """ALR-9: a denosumab course is active and the patient is in population IMMUNOSUPPRESSED
    (SEED)."""
    return is_immunosuppressed and _DENOSUMAB in history.active_drugs


def hypocalcemia(history: History) -> bool:
    """ALR-10: `hypocalcemia` is true: correct it before any osteoporosis drug (ADDED, labels)."""
    return history.risk.hypocalcemia


def low_vitamin_d(history: History) -> LabResult | None:
    """ALR-11: the latest 25-OH vitamin D within 12 months before as_of is < 30 ng/mL; of
    several values on that day the lowest counts (ADDED, BHOF 2022)."""
    as_of = history.as_of
    # RULES.md "within N months before as_of": as_of − N months < date ≤ as_of, bound worked
    # out once, not per result.
    since = add_months(as_of, -VITAMIN_D_RECENT_MONTHS)
    recent = [lab for lab in history.labs_of(LabTest.VITAMIN_D_25OH) if since < lab.date <= as_of]
    if not recent:
        return None
    latest = min((lab for lab in recent if lab.date == recent[-1].date), key=lambda lab: lab.value)
    return latest if latest.value < VITAMIN_D_MIN_NG_ML else None


def possible_non_adherence(history: History) -> tuple[Course, list[MarkerPair]] | None:
    """ALR-12: for the active antiresorptive course that started last, at least one marker has
    a baseline and a follow-up value and none of those pairs fell by more than its LSC (SEED
    purpose; thresholds ADDED, IOF-ECTS 2017)."""
    active = history.active_of(ANTIRESORPTIVES)
    if not active:
        return None
    course = active[-1]
    pairs = marker_pairs(history, course)
    if pairs and not any(pair.fell_beyond_lsc for pair in pairs):
        return course, pairs
    return None


def severe_ckd_with_denosumab(
    history: History, options: tuple[Option, ...]
) -> tuple[float, str] | None:
    """ALR-13: creatinine clearance < 30 mL/min and denosumab is active or among the options
    (ADDED, Prolia 2024 boxed warning); the clearance and how denosumab is involved."""
    crcl = history.risk.creatinine_clearance_ml_min
    if crcl is None or crcl >= DENOSUMAB_SEVERE_CKD_ML_MIN:
        return None
    if _DENOSUMAB in history.active_drugs:
        return crcl, "active"
    if any(option.drug == _DENOSUMAB for option in options):
        return crcl, "among the options"
    return None


def no_eligible_option(empty_pathway: Pathway | None) -> Pathway | None:
    """ALR-14: a pathway applies and SEL-9 left it without a candidate (critical)."""
    return empty_pathway


def assess_alerts(
    history: History,
    *,
    is_immunosuppressed: bool,
    stop: DenosumabStop | None,
    anabolic_ended: Course | None,
    cardiovascular_events_on_romosozumab: list[CardiovascularEvent],
    options: tuple[Option, ...],
    empty_pathway: Pathway | None,
) -> AlertFindings:
    """§6: every alert that holds, in rule order, one sentence per rule.

    `empty_pathway` is the pathway that was left without a candidate (SEL-9), if any.
    """
    alerts = _Alerts()
    schedule = denosumab_schedule(history)
    due_soon = denosumab_dose_due(history, schedule)
    if due_soon is not None:
        alerts.add(
            RuleId.ALR_1,
            AlertCode.DENOSUMAB_DOSE_DUE,
            Severity.WARNING,
            sentence(
                f"denosumab last given on {due_soon.last_dose}: next dose due on "
                f"{due_soon.due}, overdue after {due_soon.overdue_after}"
            ),
            due_soon.due,
        )
    overdue = denosumab_overdue(history, schedule)
    if overdue is not None:
        alerts.add(
            RuleId.ALR_2,
            AlertCode.DENOSUMAB_OVERDUE,
            Severity.CRITICAL,
            sentence(
                f"denosumab last given on {overdue.last_dose}: the next dose was due on "
                f"{overdue.due} and more than {DENOSUMAB_OVERDUE_MONTHS} months have passed "
                f"(since {overdue.overdue_after}); risk of rebound vertebral fractures"
            ),
            overdue.due,
        )

    late = denosumab_stopped_without_follow_on(history, stop)
    if late is not None:
        alerts.add(
            RuleId.ALR_3,
            AlertCode.DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON,
            Severity.CRITICAL,
            sentence(
                _stopped(late),
                f"the follow-on was due on {late.due}: risk of rapid bone loss and "
                "multiple vertebral fractures",
            ),
            late.due,
        )
    ahead = denosumab_follow_on_needed(history, stop)
    if ahead is not None:
        alerts.add(
            RuleId.ALR_4,
            AlertCode.DENOSUMAB_FOLLOW_ON_NEEDED,
            Severity.WARNING,
            sentence(_stopped(ahead), f"start a bisphosphonate by {ahead.due}"),
            ahead.due,
        )

    if anabolic_ended is not None:
        alerts.add(
            RuleId.ALR_5,
            AlertCode.SEQUENTIAL_ANTIRESORPTIVE_REQUIRED,
            Severity.CRITICAL,
            sentence(
                f"{DRUG_NAMES[anabolic_ended.drug]} course ended on {anabolic_ended.end} with "
                f"no antiresorptive started after it began on {anabolic_ended.start}: bone "
                "gains are lost without one"
            ),
        )

    ending = anabolic_course_ending(history)
    if ending:
        alerts.add(
            RuleId.ALR_6,
            AlertCode.ANABOLIC_COURSE_ENDING,
            Severity.WARNING,
            sentence(*ending, "plan the antiresorptive that follows now"),
        )
    reached = anabolic_limit_reached(history)
    if reached:
        alerts.add(
            RuleId.ALR_7,
            AlertCode.ANABOLIC_LIMIT_REACHED,
            Severity.CRITICAL,
            sentence(*reached, "the limit is reached: stop and start the antiresorptive"),
        )

    if cardiovascular_events_on_romosozumab:
        events = listing(cardiovascular_event(e) for e in cardiovascular_events_on_romosozumab)
        alerts.add(
            RuleId.ALR_8,
            AlertCode.ROMOSOZUMAB_CV_EVENT,
            Severity.CRITICAL,
            sentence(f"{events} during romosozumab: discontinue romosozumab"),
        )

    if denosumab_with_immunosuppression(history, is_immunosuppressed=is_immunosuppressed):
        alerts.add(
            RuleId.ALR_9,
            AlertCode.DENOSUMAB_WITH_IMMUNOSUPPRESSION,
            Severity.WARNING,
            "Denosumab is active while the patient is immunosuppressed (infection risk).",
        )

    if hypocalcemia(history):
        alerts.add(
            RuleId.ALR_10,
            AlertCode.CORRECT_HYPOCALCEMIA_FIRST,
            Severity.CRITICAL,
            "Hypocalcaemia: correct it before giving any osteoporosis drug.",
        )

    vitamin_d = low_vitamin_d(history)
    if vitamin_d is not None:
        alerts.add(
            RuleId.ALR_11,
            AlertCode.VITAMIN_D_LOW,
            Severity.WARNING,
            sentence(
                f"25-OH vitamin D {number(vitamin_d.value)} ng/mL on {vitamin_d.date}, below "
                f"{number(VITAMIN_D_MIN_NG_ML)} ng/mL"
            ),
        )

    non_adherence = possible_non_adherence(history)
    if non_adherence is not None:
        course, pairs = non_adherence
        alerts.add(
            RuleId.ALR_12,
            AlertCode.POSSIBLE_NON_ADHERENCE,
            Severity.WARNING,
            sentence(
                f"after {DRUG_NAMES[course.drug]} started on {course.start}, "
                f"{listing(pair.describe() for pair in pairs)}: no fall beyond the least "
                "significant change; check adherence"
            ),
        )

    severe_ckd = severe_ckd_with_denosumab(history, options)
    if severe_ckd is not None:
        crcl, involvement = severe_ckd
        alerts.add(
            RuleId.ALR_13,
            AlertCode.SEVERE_CKD_DENOSUMAB,
            Severity.WARNING,
            sentence(
                f"creatinine clearance {number(crcl)} mL/min, below "
                f"{number(DENOSUMAB_SEVERE_CKD_ML_MIN)} mL/min, with denosumab "
                f"{involvement}: risk of severe hypocalcaemia"
            ),
        )

    empty = no_eligible_option(empty_pathway)
    if empty is not None:
        alerts.add(
            RuleId.ALR_14,
            AlertCode.NO_ELIGIBLE_OPTION,
            Severity.CRITICAL,
            sentence(f"no eligible drug remains in the {pathway_name(empty)} pathway"),
        )
    return AlertFindings(tuple(alerts.alerts), tuple(alerts.rationale))


def _stopped(stop: DenosumabStop) -> str:
    course = stop.course
    ended = f"ended on {course.end}"
    if course.is_superseded:
        ended += " (when another drug started)"
    return (
        f"denosumab course {ended}, last dose {stop.last_dose}, with no bisphosphonate "
        "started since"
    )
