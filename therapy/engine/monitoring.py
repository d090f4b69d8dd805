"""§7 Monitoring schedule: MON-1 to MON-6 (SEED "Monitoring treatment response").

"The active course" of MON-2 to MON-4 is the osteoporosis-therapy course active on as_of that
started last; MON-2 and MON-3 are omitted when none is active; MON-1 and MON-4 are always listed.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from therapy.engine.alerts import DenosumabStop
from therapy.engine.assessment import MonitoringItem, Rationale
from therapy.engine.case import Drug
from therapy.engine.catalogue import DRUG_NAMES
from therapy.engine.codes import DrugGroup, MonitoringCode, RuleId
from therapy.engine.dates import add_months, within_days_before
from therapy.engine.history import Course, History
from therapy.engine.limits import (
    BASELINE_MARKERS_DAYS,
    DENOSUMAB_INTERVAL_MONTHS,
    DXA_AFTER_START_MONTHS,
    DXA_INTERVAL_MONTHS,
    MARKER_CHECK_MONTHS,
    MARKER_CHECK_OPEN_MONTHS,
    REASSESSMENT_INTERVAL_MONTHS,
    ROMOSOZUMAB_INTERVAL_MONTHS,
    ROMOSOZUMAB_MAX_DOSES,
    ZOLEDRONIC_INTERVAL_MONTHS,
)
from therapy.engine.markers import baseline_window, follow_up_window, has_marker_between
from therapy.engine.text import sentence


class MonitoringFindings(NamedTuple):
    items: tuple[MonitoringItem, ...]
    rationale: tuple[Rationale, ...]


def reassessment_due(history: History) -> tuple[dt.date, str]:
    """MON-1: latest reassessment + 12 months; as_of if there is none (SEED)."""
    latest = history.latest_reassessment
    if latest is None:
        return history.as_of, "No fracture-risk reassessment recorded: due now."
    due = add_months(latest, REASSESSMENT_INTERVAL_MONTHS)
    return (
        due,
        f"Fracture-risk reassessment due on {due}, {REASSESSMENT_INTERVAL_MONTHS} months after "
        f"the last on {latest}.",
    )


def baseline_markers_due(history: History, course: Course) -> dt.date | None:
    """MON-2: the active course started within 90 days before as_of and has no CTX/P1NP value
    in [start − 90 days, start]: due on its start (SEED)."""
    if not within_days_before(course.start, history.as_of, BASELINE_MARKERS_DAYS):
        return None
    if has_marker_between(history, baseline_window(course)):
        return None
    return course.start


def three_month_markers_due(history: History, course: Course) -> dt.date | None:
    """MON-3: no CTX/P1NP value in [start + 60 days, start + 180 days] and as_of ≤ start +
    6 months: due on start + 3 months (SEED; IOF-ECTS 2017)."""
    if history.as_of > add_months(course.start, MARKER_CHECK_OPEN_MONTHS):
        return None
    if has_marker_between(history, follow_up_window(course)):
        return None
    return add_months(course.start, MARKER_CHECK_MONTHS)


def dxa_due(history: History) -> tuple[dt.date, str]:
    """MON-4: as_of if there is no scan; the active course's start + 12 months if it started
    on or after the latest scan date (a scan on the start day is its baseline); otherwise the
    latest scan + 24 months (SEED)."""
    if not history.scans:
        return history.as_of, "No DXA scan recorded: DXA due now."
    latest = history.scans[-1].date
    course = history.current
    if course is not None and course.start >= latest:
        due = add_months(course.start, DXA_AFTER_START_MONTHS)
        return due, (
            f"DXA due on {due}, {DXA_AFTER_START_MONTHS} months after {DRUG_NAMES[course.drug]} "
            f"started on {course.start} (latest scan {latest})."
        )
    due = add_months(latest, DXA_INTERVAL_MONTHS)
    return due, f"DXA due on {due}, {DXA_INTERVAL_MONTHS} months after the latest scan on {latest}."


#: MON-5: dosing interval of the drugs whose next dose the schedule lists.
DOSE_INTERVAL_MONTHS: dict[Drug, int] = {
    Drug.DENOSUMAB: DENOSUMAB_INTERVAL_MONTHS,
    Drug.ZOLEDRONIC_ACID: ZOLEDRONIC_INTERVAL_MONTHS,
    Drug.ROMOSOZUMAB: ROMOSOZUMAB_INTERVAL_MONTHS,
}


def next_doses(history: History, *, romosozumab_stopped: bool) -> list[tuple[Drug, dt.date]]:
    """MON-5: for each active course of denosumab (the course's last dose + 6 months),
    zoledronic acid (+ 12 months) or romosozumab (+ 1 month, only while < 12 doses are given in
    total and no ALR-8); a course with no dose recorded on or before as_of has its first dose
    due on its start; identical items are listed once (SEED; labels)."""
    doses = []
    for course in history.active:
        interval = DOSE_INTERVAL_MONTHS.get(course.drug)
        if interval is None:
            continue
        if course.drug == _ROMOSOZUMAB and (
            romosozumab_stopped or history.romosozumab_doses >= ROMOSOZUMAB_MAX_DOSES
        ):
            continue
        due = add_months(course.doses[-1], interval) if course.doses else course.start
        if (course.drug, due) not in doses:  # two open courses of one drug, one due date
            doses.append((course.drug, due))
    return sorted(doses)


class FollowOn(NamedTuple):
    """A MON-6 item: when the follow-on must start, which class, and why."""

    due: dt.date
    drug: DrugGroup
    text: str


def follow_on_start(*, stop: DenosumabStop | None, anabolic_ended: Course | None) -> list[FollowOn]:
    """MON-6: when ALR-3 or ALR-4 holds, a bisphosphonate from last denosumab dose + 6 months;
    when ALR-5 holds, an antiresorptive from the anabolic course's end (SEED; ECTS 2021).
    Sorted by drug, as the schedule is."""
    items = []
    if anabolic_ended is not None and anabolic_ended.end is not None:
        items.append(
            FollowOn(
                anabolic_ended.end,
                DrugGroup.ANTIRESORPTIVE,
                f"start an antiresorptive from {anabolic_ended.end}, when "
                f"{DRUG_NAMES[anabolic_ended.drug]} ended",
            )
        )
    if stop is not None:
        items.append(
            FollowOn(
                stop.due,
                DrugGroup.BISPHOSPHONATE,
                f"start a bisphosphonate by {stop.due}, {DENOSUMAB_INTERVAL_MONTHS} months after "
                f"the last denosumab dose on {stop.last_dose}",
            )
        )
    return items


_ROMOSOZUMAB = Drug.ROMOSOZUMAB


def assess_monitoring(
    history: History,
    *,
    stop: DenosumabStop | None,
    anabolic_ended: Course | None,
    romosozumab_stopped: bool,
) -> MonitoringFindings:
    """§7: the schedule, sorted by rule id then drug: items are listed in rule order, MON-5's
    by drug and due date, MON-6's antiresorptive before bisphosphonate."""
    due, text = reassessment_due(history)
    items = [MonitoringItem(_REASSESSMENT, due, None, _MON_1)]
    rationale = [Rationale(_MON_1, text)]

    course = history.current
    if course is not None:
        baseline = baseline_markers_due(history, course)
        if baseline is not None:
            items.append(MonitoringItem(_BTM_BASELINE, baseline, None, _MON_2))
            rationale.append(
                Rationale(
                    _MON_2,
                    f"{DRUG_NAMES[course.drug].capitalize()} started on {course.start} with no "
                    "CTX or P1NP before it: measure baseline bone-turnover markers.",
                )
            )
        three_months = three_month_markers_due(history, course)
        if three_months is not None:
            items.append(MonitoringItem(_BTM_3_MONTHS, three_months, None, _MON_3))
            rationale.append(
                Rationale(
                    _MON_3,
                    f"Bone-turnover markers due on {three_months}, {MARKER_CHECK_MONTHS} months "
                    f"after {DRUG_NAMES[course.drug]} started on {course.start}, to check "
                    "adherence.",
                )
            )

    due, text = dxa_due(history)
    items.append(MonitoringItem(_DXA, due, None, _MON_4))
    rationale.append(Rationale(_MON_4, text))

    doses = next_doses(history, romosozumab_stopped=romosozumab_stopped)
    if doses:
        items.extend([MonitoringItem(_NEXT_DOSE, due, drug, _MON_5) for drug, due in doses])
        rationale.append(
            Rationale(
                _MON_5,
                sentence(*[f"next {DRUG_NAMES[drug]} dose due on {due}" for drug, due in doses]),
            )
        )

    follow_ons = follow_on_start(stop=stop, anabolic_ended=anabolic_ended)
    if follow_ons:
        items.extend([MonitoringItem(_FOLLOW_ON, f.due, f.drug, _MON_6) for f in follow_ons])
        rationale.append(Rationale(_MON_6, sentence(*[f.text for f in follow_ons])))
    return MonitoringFindings(tuple(items), tuple(rationale))


_MON_1, _MON_2, _MON_3, _MON_4, _MON_5, _MON_6 = (
    RuleId.MON_1,
    RuleId.MON_2,
    RuleId.MON_3,
    RuleId.MON_4,
    RuleId.MON_5,
    RuleId.MON_6,
)
_REASSESSMENT = MonitoringCode.FRACTURE_RISK_REASSESSMENT
_BTM_BASELINE, _BTM_3_MONTHS = MonitoringCode.BTM_BASELINE, MonitoringCode.BTM_3_MONTHS
_DXA, _NEXT_DOSE = MonitoringCode.DXA_FOLLOW_UP, MonitoringCode.NEXT_DOSE
_FOLLOW_ON = MonitoringCode.FOLLOW_ON_START
