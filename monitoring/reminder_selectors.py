"""Reads of reminders: who may see which, the worklist's rows and counts, and when a reminder
needs attention.

Reminders are created, moved and resolved by the scan (`monitoring/scan.py`); people act on them
through `monitoring.reminder_services`. Every read here is scoped by `patients.access`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, F, Q, QuerySet, When
from django.db.models.functions import Coalesce
from django.http import Http404

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder, ReminderStatus
from patients.access import clinics_for_user, patient_for_user, patients_for_user
from patients.models import Clinic, Membership, Role
from patients.permissions import Action
from therapy.engine import Severity

AnyUser = AbstractBaseUser | AnonymousUser

#: Rows per page of the worklist.
PAGE_SIZE = 50
#: Roles a reminder may be assigned to: the people who do the work.
ASSIGNABLE_ROLES = (Role.CLINICIAN, Role.NURSE)


def action_date() -> Case:
    """The day a reminder needs attention: the snooze's end while snoozed, else its due date.

    A snoozed reminder leaves the top of the list until its snooze ends, then counts as overdue
    like any other."""
    return Case(
        When(status=ReminderStatus.SNOOZED, then=Coalesce(F("snoozed_until"), F("due"))),
        default=F("due"),
    )


def reminder_action_on(reminder: Reminder) -> dt.date:
    """`action_date()` for one reminder in memory."""
    if reminder.status == ReminderStatus.SNOOZED and reminder.snoozed_until:
        return reminder.snoozed_until
    return reminder.due


def admin_clinics(user: AnyUser) -> list[Clinic]:
    """The clinics where the user manages reminders."""
    return list(clinics_for_user(user, Action.MANAGE_REMINDERS).order_by("name"))


def reminders_in(clinics: Iterable[Clinic]) -> QuerySet[Reminder]:
    """Every reminder of these clinics (from `admin_clinics`: scoped by the access helper)."""
    return Reminder.objects.filter(patient__clinic_id__in=[c.pk for c in clinics])


def reminder_for_user(user: AnyUser, pk: int) -> Reminder:
    """Reminder `pk` for a clinic admin of its clinic: 404 outside the user's clinics (as if it
    did not exist), 403 for a member of the clinic who does not manage reminders."""
    reminder = (
        Reminder.objects.filter(pk=pk, patient__in=patients_for_user(user))
        .select_related("assignee")
        .first()
    )
    if reminder is None:
        raise Http404("No such reminder.")
    access = patient_for_user(user, reminder.patient_id, Action.MANAGE_REMINDERS)
    reminder.patient = access.patient
    return reminder


def assignable_staff(clinic_ids: Iterable[int]) -> list[Membership]:
    """The clinicians and nurses of these clinics, who reminders can be assigned to."""
    return list(
        Membership.objects.filter(clinic_id__in=list(clinic_ids), role__in=ASSIGNABLE_ROLES)
        .select_related("user", "clinic")
        .order_by("clinic__name", "user__last_name", "user__first_name", "user__username")
    )


@dataclass(frozen=True)
class WorklistFilters:
    """What the worklist shows. `status` "" means the active ones (open or snoozed), "all" any;
    `assignee` "" means anyone, "none" nobody, else a user id; `severity` "critical" or
    "routine" (monitoring items)."""

    clinic: str = ""
    kind: str = ""
    status: str = ""
    assignee: str = ""
    severity: str = ""
    due_from: dt.date | None = None
    due_to: dt.date | None = None


def _filtered(queryset: QuerySet[Reminder], filters: WorklistFilters) -> QuerySet[Reminder]:
    """`queryset` filtered by everything but the status; it must carry `action_on`."""
    if filters.clinic:
        queryset = queryset.filter(patient__clinic__slug=filters.clinic)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.assignee == "none":
        queryset = queryset.filter(assignee__isnull=True)
    elif filters.assignee:
        queryset = queryset.filter(assignee_id=filters.assignee)
    if filters.severity == "critical":
        queryset = queryset.filter(severity=Severity.CRITICAL)
    elif filters.severity == "routine":
        queryset = queryset.exclude(severity=Severity.CRITICAL)
    if filters.due_from:
        queryset = queryset.filter(action_on__gte=filters.due_from)
    if filters.due_to:
        queryset = queryset.filter(action_on__lte=filters.due_to)
    return queryset


def _with_status(queryset: QuerySet[Reminder], status: str) -> QuerySet[Reminder]:
    if status == "all":
        return queryset
    if status:
        return queryset.filter(status=status)
    return queryset.filter(status__in=ACTIVE_REMINDER_STATUSES)


def worklist(
    queryset: QuerySet[Reminder], *, filters: WorklistFilters, today: dt.date
) -> QuerySet[Reminder]:
    """The rows of the worklist: overdue first (most overdue first), then by the day they need
    attention (`action_on`)."""
    rows = _filtered(queryset.annotate(action_on=action_date()), filters)
    return (
        _with_status(rows, filters.status)
        .select_related("patient__clinic", "assignee")
        .order_by("action_on", "due", "pk")
    )


def worklist_counts(
    queryset: QuerySet[Reminder], *, filters: WorklistFilters, today: dt.date
) -> dict[str, int]:
    """Reminders per status (and active ones overdue) for the filters without their status,
    in one aggregate query."""
    rows = _filtered(queryset.alias(action_on=action_date()), filters)
    counts = {status.value: Count("pk", filter=Q(status=status.value)) for status in ReminderStatus}
    return rows.aggregate(
        **counts,
        overdue=Count("pk", filter=Q(status__in=ACTIVE_REMINDER_STATUSES, action_on__lt=today)),
    )


def worklist_kinds(queryset: QuerySet[Reminder]) -> list[str]:
    """The kinds (engine codes) present among these reminders, for the kind filter."""
    return list(queryset.order_by("kind").values_list("kind", flat=True).distinct())
