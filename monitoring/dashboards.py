"""The reminders each role's dashboard shows (`patients.dashboards` lays them out per clinic).

- clinician: patients with active critical reminders, with those critical reminders and a count
  of all their active reminders;
- nurse: the scans, labs and doses due within a horizon, overdue ones included;
- clinic admin: counts of the active reminders per clinic, each up to a cap;
- every role: the last full scan that finished, and the one running now if any.

Each read is one query (three for the clinician's, when anybody has a critical reminder; four
in the rare fallback of its ranking), however many patients, reminders or clinics there are, and
each stops early: the clinician's reads its patients in order from an index, the admin's counts
stop at `COUNT_CAP`, the nurse's reads its tasks in the order of an index (0012).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder, ReminderStatus, ScanRun
from monitoring.reminder_presenters import decorate
from monitoring.reminder_selectors import CappedCount, action_date
from monitoring.scan import INTERRUPTED_AFTER
from patients.models import Clinic, Patient
from patients.presenters import url_for_ids
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
    #: The patient's page (reversed once for the list: `url_for_ids`).
    url: str


#: How many critical reminders the ranking reads per patient it needs before it falls back to
#: grouping them all: a patient has few active critical reminders (1.2 on average in the bench
#: clinic), so two rows per place nearly always name enough patients.
RANKING_ROWS_PER_PATIENT = 2


def critical_patients(
    *, user: AbstractBaseUser, clinic_ids: list[int], today: dt.date, limit: int
) -> tuple[list[CriticalPatient], bool]:
    """The patients of these clinics with an active critical reminder — first those with an
    active reminder assigned to `user`, then by their earliest critical due date, then by name
    and id — at most `limit`, and whether there were more.

    The order comes from `_ranked`; then the page's patients, with their count of active
    reminders, and their critical reminders."""
    ranked = _ranked(user=user, clinic_ids=clinic_ids, limit=limit)
    if not ranked:
        return [], False
    has_more = len(ranked) > limit
    ranked = ranked[:limit]
    active = Reminder.objects.filter(status__in=ACTIVE_REMINDER_STATUSES)
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
    url = url_for_ids("patients:detail")
    return [
        CriticalPatient(
            patient=by_pk[pk],
            reminders=reminders[pk],
            active_count=by_pk[pk].active_count,  # type: ignore[attr-defined]
            is_mine=is_mine,
            url=url(pk),
        )
        for pk, is_mine in ranked
    ], has_more


def _ranked(*, user: AbstractBaseUser, clinic_ids: list[int], limit: int) -> list[tuple[int, bool]]:
    """The first `limit` + 1 patients in `critical_patients`' order, as (id, is the user's).

    A patient's place within its half (the user's patients, the others) — earliest critical
    due, name, id — is that of its first active critical reminder in the order (due, patient's
    name, patient's id). So the first rows of that order name the first patients, and
    PostgreSQL reads them from an index of the active critical reminders by due date
    (`reminder_active_critical_due`, migration 0013), stopping after a few rows, instead of
    grouping every critical reminder of the clinic by patient to rank them (150 ms at 38,000
    of them, most of the page's time; 10 ms now). One query reads both halves, each numbered
    in its own order. For the user's half PostgreSQL chooses, from its statistics of assignees,
    between walking that order (a user with many assignments) and starting from the user's own
    active reminders (`reminder_active_assignee`, a user with few). When the rows read name too
    few patients (patients with many critical reminders each), the grouping
    (`_ranked_by_grouping`) answers instead: one query more."""
    if not connection.features.supports_slicing_ordering_in_compound:
        # SQLite (`make run`, `make test`) cannot union two LIMITed reads, and has no index of
        # 0013 to read them from: the grouping answers there, in one query too.
        return _ranked_by_grouping(user=user, clinic_ids=clinic_ids, limit=limit)
    wanted = limit + 1
    rows = wanted * RANKING_ROWS_PER_PATIENT
    active = Reminder.objects.filter(status__in=ACTIVE_REMINDER_STATUSES)
    mine = Exists(active.filter(assignee=user, patient_id=OuterRef("patient_id")))
    order = ("due", "patient__name", "patient_id")
    critical = _critical(clinic_ids).order_by(*order)

    def half(is_mine: bool) -> QuerySet:
        return (
            critical.filter(mine if is_mine else ~mine)
            .annotate(
                is_mine=Value(is_mine, output_field=BooleanField()),
                place=Window(RowNumber(), order_by=[F(field).asc() for field in order]),
            )
            .values_list("is_mine", "place", "patient_id")[:rows]
        )

    found: dict[bool, list[int]] = {True: [], False: []}
    read = {True: 0, False: 0}
    for is_mine, _, patient_id in (
        half(True).union(half(False), all=True).order_by("-is_mine", "place")
    ):
        read[is_mine] += 1
        if patient_id not in found[is_mine]:
            found[is_mine].append(patient_id)
    ranked = [(pk, True) for pk in found[True]] + [(pk, False) for pk in found[False]]
    # A half read in full names all its patients; one cut at `rows` names only its first ones,
    # which is enough when they reach the `wanted`-th place.
    mine_known = read[True] < rows or len(found[True]) >= wanted
    others_known = read[False] < rows or len(ranked) >= wanted
    if not (mine_known and others_known):
        return _ranked_by_grouping(user=user, clinic_ids=clinic_ids, limit=limit)
    return ranked[:wanted]


def _critical(clinic_ids: list[int]) -> QuerySet[Reminder]:
    return Reminder.objects.filter(
        status__in=ACTIVE_REMINDER_STATUSES,
        severity=Severity.CRITICAL,
        patient__clinic_id__in=clinic_ids,
    )


def _ranked_by_grouping(
    *, user: AbstractBaseUser, clinic_ids: list[int], limit: int
) -> list[tuple[int, bool]]:
    """`_ranked` from the active critical reminders grouped by patient: every one of the clinics'
    is read, however few patients are shown."""
    mine = Reminder.objects.filter(status__in=ACTIVE_REMINDER_STATUSES, assignee=user)
    rows = (
        _critical(clinic_ids)
        .values("patient_id", "patient__name")
        .annotate(
            first_due=Min("due"),
            is_mine=Case(
                When(patient_id__in=mine.values("patient_id"), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
        .order_by("-is_mine", "first_due", "patient__name", "patient_id")
        .values_list("patient_id", "is_mine")[: limit + 1]
    )
    return [(pk, bool(is_mine)) for pk, is_mine in rows]


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


#: The admin's counts of a clinic's active reminders, by what each counts.
COUNTED = ("overdue", "due_soon", "open", "snoozed", "critical", "routine")


def reminder_counts_by_clinic(
    clinic_ids: Iterable[int], *, today: dt.date, soon_days: int = 30
) -> dict[int, dict[str, int]]:
    """Active reminders per clinic (`COUNTED`): overdue, due within `soon_days`, open, snoozed,
    critical, routine. Each is counted up to `COUNT_CAP` + 1, as the worklist's tabs are (a LIMIT
    under each count): a value above `COUNT_CAP` means "more than that"
    (`monitoring.reminder_presenters.count_text`).

    One query, a row per clinic of six counts that each stop at the cap: the grouped aggregate
    it replaces read every active reminder of the clinic (165,000 in the bench clinic, 200 ms)
    on each view of the page. On PostgreSQL each count walks an index of active reminders (by
    patient, by status, or by action date: migrations 0012 and 0013) and joins the patients for
    their clinic, 12 ms for the six at 500,000 reminders."""
    conditions = {
        "overdue": Q(action_on__lt=today),
        "due_soon": Q(action_on__gte=today, action_on__lte=today + dt.timedelta(soon_days)),
        "open": Q(status=ReminderStatus.OPEN),
        "snoozed": Q(status=ReminderStatus.SNOOZED),
        "critical": Q(severity=Severity.CRITICAL),
        "routine": ~Q(severity=Severity.CRITICAL),
    }
    active = (
        Reminder.objects.filter(
            patient__clinic_id=OuterRef("pk"), status__in=ACTIVE_REMINDER_STATUSES
        )
        .alias(action_on=action_date())
        .order_by()
    )
    rows = (
        Clinic.objects.filter(pk__in=list(clinic_ids))
        .annotate(**{key: CappedCount(active.filter(conditions[key])) for key in COUNTED})
        .values_list("pk", *COUNTED)
    )
    return {pk: dict(zip(COUNTED, counts, strict=True)) for pk, *counts in rows}


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
