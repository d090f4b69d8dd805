"""The reminders each role's dashboard shows (`patients.dashboards` lays them out per clinic).

- clinician: patients with active critical reminders, with those critical reminders and a count
  of all their active reminders;
- nurse: the scans, labs and doses due within a horizon, overdue ones included;
- clinic admin: counts of the active reminders per clinic;
- every role: the last full scan that finished, and the one running now if any.

Each read is one query (three for the clinician's, when anybody has a critical reminder), however
many patients, reminders or clinics there are.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Count, IntegerField, Min, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder, ReminderStatus, ScanRun
from monitoring.reminder_presenters import decorate
from monitoring.reminder_selectors import action_date
from monitoring.scan import INTERRUPTED_AFTER
from patients.models import Patient
from therapy.engine import MonitoringCode, Severity

#: The monitoring items a nurse carries out, grouped as the nurse's dashboard shows them.
NURSE_TASKS: dict[str, tuple[str, ...]] = {
    "scans": (MonitoringCode.DXA_FOLLOW_UP.value,),
    "labs": (MonitoringCode.BTM_BASELINE.value, MonitoringCode.BTM_3_MONTHS.value),
    "doses": (MonitoringCode.NEXT_DOSE.value,),
}
NURSE_TASK_LABELS = {"scans": "DXA scans", "labs": "Bone-turnover labs", "doses": "Doses"}


@dataclass
class CriticalPatient:
    patient: Patient
    #: The patient's active critical reminders, decorated for the page.
    reminders: list[Reminder]
    #: All the patient's active reminders, critical or not.
    active_count: int
    #: One of the patient's active reminders is assigned to the user.
    is_mine: bool


def critical_patients(
    *, user: AbstractBaseUser, clinic_ids: list[int], today: dt.date, limit: int
) -> tuple[list[CriticalPatient], bool]:
    """The patients of these clinics with an active critical reminder — first those with a
    reminder assigned to `user`, then by their earliest critical due date — at most `limit`,
    and whether there were more.

    The order is found from the active critical reminders grouped by patient (an index of their
    own), not by evaluating three subqueries for every patient of the clinic; then the page's
    patients, with their count of active reminders, and their critical reminders."""
    active = Reminder.objects.filter(status__in=ACTIVE_REMINDER_STATUSES)
    mine = active.filter(assignee=user).values("patient_id")
    ranked = list(
        active.filter(severity=Severity.CRITICAL, patient__clinic_id__in=clinic_ids)
        .values("patient_id", "patient__name")
        .annotate(
            first_due=Min("due"),
            is_mine=Case(
                When(patient_id__in=mine, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
        .order_by("-is_mine", "first_due", "patient__name", "patient_id")
        .values_list("patient_id", "is_mine")[: limit + 1]
    )
    if not ranked:
        return [], False
    has_more = len(ranked) > limit
    ranked = ranked[:limit]
    active_count = (
        active.filter(patient=OuterRef("pk")).order_by().values("patient").annotate(n=Count("pk"))
    )
    by_pk = Patient.objects.annotate(
        active_count=Coalesce(Subquery(active_count.values("n")), 0, output_field=IntegerField())
    ).in_bulk([pk for pk, _ in ranked])
    reminders: dict[int, list[Reminder]] = defaultdict(list)
    rows = active.filter(patient__in=list(by_pk), severity=Severity.CRITICAL).order_by("due", "pk")
    for r in decorate(rows, today):
        reminders[r.patient_id].append(r)
    return [
        CriticalPatient(
            patient=by_pk[pk],
            reminders=reminders[pk],
            active_count=by_pk[pk].active_count,  # type: ignore[attr-defined]
            is_mine=bool(is_mine),
        )
        for pk, is_mine in ranked
    ], has_more


def nurse_tasks_due(
    *, clinic_ids: list[int], until: dt.date, today: dt.date, limit: int
) -> tuple[dict[int, dict[str, list[Reminder]]], bool]:
    """The active nurse tasks (`NURSE_TASKS`) of these clinics that need attention by `until`,
    overdue ones included, earliest first: at most `limit`, by clinic and task group, decorated
    for the page; and whether there were more."""
    group_of = {kind: group for group, kinds in NURSE_TASKS.items() for kind in kinds}
    rows = list(
        Reminder.objects.filter(
            patient__clinic_id__in=clinic_ids,
            status__in=ACTIVE_REMINDER_STATUSES,
            kind__in=list(group_of),
        )
        .annotate(action_on=action_date())
        .filter(action_on__lte=until)
        .select_related("patient")
        .order_by("action_on", "due", "pk")[: limit + 1]
    )
    due = {clinic_id: {group: [] for group in NURSE_TASKS} for clinic_id in clinic_ids}
    for r in decorate(rows[:limit], today):
        due[r.patient.clinic_id][group_of[r.kind]].append(r)
    return due, len(rows) > limit


def reminder_counts_by_clinic(
    clinic_ids: Iterable[int], *, today: dt.date, soon_days: int = 30
) -> dict[int, dict[str, int]]:
    """Active reminders per clinic: overdue, due within `soon_days`, open, snoozed, critical,
    routine — in one grouped aggregate query."""
    active = Q(status__in=ACTIVE_REMINDER_STATUSES)
    rows = (
        Reminder.objects.filter(patient__clinic_id__in=list(clinic_ids))
        .filter(active)
        .alias(action_on=action_date())
        .values("patient__clinic_id")
        .annotate(
            overdue=Count("pk", filter=Q(action_on__lt=today)),
            due_soon=Count(
                "pk",
                filter=Q(action_on__gte=today, action_on__lte=today + dt.timedelta(soon_days)),
            ),
            open=Count("pk", filter=Q(status=ReminderStatus.OPEN)),
            snoozed=Count("pk", filter=Q(status=ReminderStatus.SNOOZED)),
            critical=Count("pk", filter=Q(severity=Severity.CRITICAL)),
            routine=Count("pk", filter=~Q(severity=Severity.CRITICAL)),
        )
        .order_by()
    )
    return {row.pop("patient__clinic_id"): row for row in rows}


@dataclass(frozen=True)
class ScanStatus:
    #: The last full scan that finished (succeeded or failed).
    last: ScanRun | None
    #: A full scan running now (started within `INTERRUPTED_AFTER`: an older one died).
    running: ScanRun | None


def scan_status(*, now: dt.datetime) -> ScanStatus:
    """The last finished full scan and the one running now, in one query."""
    finished = Q(status__in=[ScanRun.Status.SUCCEEDED, ScanRun.Status.FAILED])
    last_finished = ScanRun.objects.filter(finished).order_by("-started_at", "-pk").values("pk")
    runs = list(
        ScanRun.objects.filter(
            Q(status=ScanRun.Status.RUNNING, started_at__gte=now - INTERRUPTED_AFTER)
            | Q(pk=Subquery(last_finished[:1]))
        )
        # the batches' bookkeeping is not shown (and grows with the clinic while a run goes)
        .defer("counted_batches", "new_critical")
        .order_by("-started_at", "-pk")[:5]
    )
    return ScanStatus(
        last=next((r for r in runs if r.status != ScanRun.Status.RUNNING), None),
        running=next((r for r in runs if r.status == ScanRun.Status.RUNNING), None),
    )
