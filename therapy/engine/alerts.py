"""§6 Alerts for all patients: ALR-1 to ALR-14.

ALR-3/ALR-4 (denosumab stopped) and ALR-5 (anabolic ended) also decide the pathway (SEL-1,
SEL-2) and MON-6, so their conditions are computed once, here, before selection.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from therapy.engine.assessment import Alert, Option, Rationale
from therapy.engine.case import CardiovascularEvent, Drug, LabTest
from therapy.engine.catalogue import (
    ANABOLICS,
    ANTIRESORPTIVES,
    BISPHOSPHONATES,
    DRUG_NAMES,
    PTH_ANALOGUES,
)
from therapy.engine.codes import AlertCode, Pathway, RuleId, Severity
from therapy.engine.dates import add_months, within_months_before
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
from therapy.engine.markers import marker_pairs
from therapy.engine.text import cardiovascular_event, listing, number, sentence

_DENOSUMAB, _ROMOSOZUMAB = Drug.DENOSUMAB, Drug.ROMOSOZUMAB
_DENOSUMAB_ONLY, _ROMOSOZUMAB_ONLY = frozenset({_DENOSUMAB}), frozenset({_ROMOSOZUMAB})


class DenosumabStop(NamedTuple):
    """ALR-3/ALR-4: the latest-started denosumab course has ended with no bisphosphonate after."""

    course: Course
    #: Last dose + 6 months: when the follow-on bisphosphonate is due (ECTS 2021).
    due: dt.date
    #: as_of is past `due` (ALR-3), else the follow-on is still ahead (ALR-4).
    is_late: bool


def denosumab_stop(history: History) -> DenosumabStop | None:
    """ALR-3/ALR-4 condition (SEED pitfall; ECTS 2021): the latest-started denosumab course has
    ended (end ≤ as_of) and no bisphosphonate course starts on or after its last dose."""
    courses = history.courses_of(_DENOSUMAB_ONLY)
    if not courses or not courses[-1].has_ended_by(history.as_of):
        return None
    latest = courses[-1]
    if any(c.start >= latest.last_dose for c in history.courses_of(BISPHOSPHONATES)):
        return None
    due = add_months(latest.last_dose, DENOSUMAB_INTERVAL_MONTHS)
    return DenosumabStop(latest, due, history.as_of > due)


def anabolic_without_follow_on(history: History) -> Course | None:
    """ALR-5 condition (SEED): the latest-started anabolic course has ended (end ≤ as_of) and no
    antiresorptive course starts after that course's start.

    Reading: an antiresorptive starting on the anabolic's first day does not start "after" it,
    so the alert stays.
    """
    courses = history.courses_of(ANABOLICS)
    if not courses or not courses[-1].has_ended_by(history.as_of):
        return None
    latest = courses[-1]
    if any(c.start > latest.start for c in history.courses_of(ANTIRESORPTIVES)):
        return None
    return latest


def romosozumab_cardiovascular_events(history: History) -> list[CardiovascularEvent]:
    """ALR-8 condition (SEED; Evenity label): MI or stroke on a day a romosozumab course is
    active.

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


def _denosumab_dose(history: History, alerts: _Alerts) -> None:
    """ALR-1 (warning) and ALR-2 (critical; Prolia label, rebound risk), for the latest-started
    denosumab course active on as_of: due = last dose + 6 months; ALR-1 from 28 days before due
    until last dose + 7 months, ALR-2 after that."""
    if _DENOSUMAB not in history.active_drugs:
        return
    active = [course for course in history.active if course.drug == _DENOSUMAB]
    last = active[-1].last_dose
    due = add_months(last, DENOSUMAB_INTERVAL_MONTHS)
    overdue_after = add_months(last, DENOSUMAB_OVERDUE_MONTHS)
    notice_from = due - dt.timedelta(days=DENOSUMAB_DUE_NOTICE_DAYS)
    if history.as_of > overdue_after:
        alerts.add(
            RuleId.ALR_2,
            AlertCode.DENOSUMAB_OVERDUE,
            Severity.CRITICAL,
            sentence(
                f"denosumab last given on {last}: the next dose was due on {due} and more than "
                f"{DENOSUMAB_OVERDUE_MONTHS} months have passed (since {overdue_after}); "
                "risk of rebound vertebral fractures"
            ),
            due,
        )
    elif history.as_of >= notice_from:
        alerts.add(
            RuleId.ALR_1,
            AlertCode.DENOSUMAB_DOSE_DUE,
            Severity.WARNING,
            sentence(
                f"denosumab last given on {last}: next dose due on {due}, "
                f"overdue after {overdue_after}"
            ),
            due,
        )


def _denosumab_stopped(stop: DenosumabStop | None, alerts: _Alerts) -> None:
    """ALR-3 (critical, as_of > last dose + 6 months) or ALR-4 (warning, until then)."""
    if stop is None:
        return
    what = (
        f"denosumab course ended on {stop.course.end} (last dose {stop.course.last_dose}) "
        "with no bisphosphonate started since"
    )
    if stop.is_late:
        alerts.add(
            RuleId.ALR_3,
            AlertCode.DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON,
            Severity.CRITICAL,
            sentence(
                what,
                f"the follow-on was due on {stop.due}: risk of rapid bone loss and "
                "multiple vertebral fractures",
            ),
            stop.due,
        )
    else:
        alerts.add(
            RuleId.ALR_4,
            AlertCode.DENOSUMAB_FOLLOW_ON_NEEDED,
            Severity.WARNING,
            sentence(what, f"start a bisphosphonate by {stop.due}"),
            stop.due,
        )


def _anabolic_ended(course: Course | None, alerts: _Alerts) -> None:
    """ALR-5 (critical)."""
    if course is None:
        return
    alerts.add(
        RuleId.ALR_5,
        AlertCode.SEQUENTIAL_ANTIRESORPTIVE_REQUIRED,
        Severity.CRITICAL,
        sentence(
            f"{DRUG_NAMES[course.drug]} course ended on {course.end} with no antiresorptive "
            f"started after it began on {course.start}: bone gains are lost without one"
        ),
    )


def anabolic_exposure(history: History, *, months: float, doses: int) -> list[str]:
    """ALR-6/ALR-7: an active PTH-analogue course with PTH-analogue exposure ≥ `months`, or an
    active romosozumab course with ≥ `doses` doses given (in total)."""
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


def _anabolic_limits(history: History, alerts: _Alerts) -> None:
    """ALR-6 (warning: ≥ 21 months or ≥ 10 doses) and ALR-7 (critical: ≥ 24 months or 12 doses).

    Reading: ALR-6's condition still holds once ALR-7's does, so both are listed.
    """
    ending = anabolic_exposure(
        history, months=PTH_ANALOGUE_ENDING_MONTHS, doses=ROMOSOZUMAB_ENDING_DOSES
    )
    if ending:
        alerts.add(
            RuleId.ALR_6,
            AlertCode.ANABOLIC_COURSE_ENDING,
            Severity.WARNING,
            sentence(*ending, "plan the antiresorptive that follows now"),
        )
    reached = anabolic_exposure(
        history, months=PTH_ANALOGUE_LIFETIME_MONTHS, doses=ROMOSOZUMAB_MAX_DOSES
    )
    if reached:
        alerts.add(
            RuleId.ALR_7,
            AlertCode.ANABOLIC_LIMIT_REACHED,
            Severity.CRITICAL,
            sentence(*reached, "the limit is reached: stop and start the antiresorptive"),
        )


def _vitamin_d(history: History, alerts: _Alerts) -> None:
    """ALR-11 (ADDED, BHOF 2022): the latest 25-OH vitamin D within 12 months is < 30 ng/mL.

    Reading: of several values on that latest day, the lowest counts.
    """
    recent = [
        lab
        for lab in history.labs_of(LabTest.VITAMIN_D_25OH)
        if within_months_before(lab.date, history.as_of, VITAMIN_D_RECENT_MONTHS)
    ]
    if not recent:
        return
    latest = min((lab for lab in recent if lab.date == recent[-1].date), key=lambda lab: lab.value)
    if latest.value < VITAMIN_D_MIN_NG_ML:
        alerts.add(
            RuleId.ALR_11,
            AlertCode.VITAMIN_D_LOW,
            Severity.WARNING,
            sentence(
                f"25-OH vitamin D {number(latest.value)} ng/mL on {latest.date}, below "
                f"{number(VITAMIN_D_MIN_NG_ML)} ng/mL"
            ),
        )


def _non_adherence(history: History, alerts: _Alerts) -> None:
    """ALR-12 (SEED purpose; thresholds ADDED, IOF-ECTS 2017): for the active antiresorptive
    course that started last, at least one marker has a baseline and a follow-up value and none
    of those pairs fell by more than its LSC."""
    active = [course for course in history.active if course.drug in ANTIRESORPTIVES]
    if not active:
        return
    course = active[-1]
    pairs = marker_pairs(history, course)
    if pairs and not any(pair.fell_beyond_lsc for pair in pairs):
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
    risk = history.risk
    alerts = _Alerts()
    _denosumab_dose(history, alerts)
    _denosumab_stopped(stop, alerts)
    _anabolic_ended(anabolic_ended, alerts)
    _anabolic_limits(history, alerts)

    if cardiovascular_events_on_romosozumab:
        events = listing(cardiovascular_event(e) for e in cardiovascular_events_on_romosozumab)
        alerts.add(
            RuleId.ALR_8,
            AlertCode.ROMOSOZUMAB_CV_EVENT,
            Severity.CRITICAL,
            sentence(f"{events} during romosozumab: discontinue romosozumab"),
        )

    on_denosumab = _DENOSUMAB in history.active_drugs
    if on_denosumab and is_immunosuppressed:
        alerts.add(
            RuleId.ALR_9,
            AlertCode.DENOSUMAB_WITH_IMMUNOSUPPRESSION,
            Severity.WARNING,
            "Denosumab is active while the patient is immunosuppressed (infection risk).",
        )

    if risk.hypocalcemia:
        alerts.add(
            RuleId.ALR_10,
            AlertCode.CORRECT_HYPOCALCEMIA_FIRST,
            Severity.CRITICAL,
            "Hypocalcaemia: correct it before giving any osteoporosis drug.",
        )

    _vitamin_d(history, alerts)
    _non_adherence(history, alerts)

    crcl = risk.creatinine_clearance_ml_min
    offered = any(option.drug == _DENOSUMAB for option in options)
    if crcl is not None and crcl < DENOSUMAB_SEVERE_CKD_ML_MIN and (on_denosumab or offered):
        alerts.add(
            RuleId.ALR_13,
            AlertCode.SEVERE_CKD_DENOSUMAB,
            Severity.WARNING,
            sentence(
                f"creatinine clearance {number(crcl)} mL/min, below "
                f"{number(DENOSUMAB_SEVERE_CKD_ML_MIN)} mL/min, with denosumab "
                f"{'active' if on_denosumab else 'among the options'}: risk of severe "
                "hypocalcaemia"
            ),
        )

    if empty_pathway is not None:
        alerts.add(
            RuleId.ALR_14,
            AlertCode.NO_ELIGIBLE_OPTION,
            Severity.CRITICAL,
            sentence(f"no eligible drug remains in the {empty_pathway.value} pathway"),
        )
    return AlertFindings(tuple(alerts.alerts), tuple(alerts.rationale))
