"""The clinic admin's reminder worklist: reads (selectors) and actions (services).

Reminders are created, moved and resolved by the scan (`monitoring/scan.py`); people act on them
here: assign, snooze, mark done, dismiss with a reason, reopen. Every action is one service,
keyword-only, with the acting user recorded by simple-history and the clock passed in (`today`,
`now`). Refusals are `ValidationError`s naming the field they belong to, which the views show
beside that field or as a message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Case, Count, F, Q, QuerySet, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.text import capfirst
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder, ReminderStatus, ScanRun
from patients.access import clinics_for_user, patient_for_user, patients_for_user
from patients.models import Clinic, Membership, Role
from patients.permissions import Action
from therapy.engine import MonitoringCode, Severity
from therapy.presenters import drug_label, label

AnyUser = AbstractBaseUser | AnonymousUser

#: The django-celery-beat task that runs the scan every night (created by a migration).
NIGHTLY_SCAN_TASK_NAME = "Nightly reminder scan"
PAGE_SIZE = 50
#: Roles a reminder may be assigned to: the people who do the work.
ASSIGNABLE_ROLES = (Role.CLINICIAN, Role.NURSE)

#: The monitoring items a nurse carries out, grouped as the nurse's dashboard shows them.
NURSE_TASKS: dict[str, tuple[str, ...]] = {
    "scans": (MonitoringCode.DXA_FOLLOW_UP.value,),
    "labs": (MonitoringCode.BTM_BASELINE.value, MonitoringCode.BTM_3_MONTHS.value),
    "doses": (MonitoringCode.NEXT_DOSE.value,),
}

_CLOSED_WORDS = {
    ReminderStatus.DONE: "already done",
    ReminderStatus.DISMISSED: "dismissed",
}


# --- reading ----------------------------------------------------------------------------------


def kind_label(kind: str, drug: str = "") -> str:
    """`Next dose — Denosumab`: the engine's code in words, with the item's drug."""
    text = label(kind)
    return f"{text} — {drug_label(drug)}" if drug else text


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


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def due_text(reminder: Reminder, today: dt.date) -> str:
    """`overdue by 3 days`, `due today`, `due in 12 days`, `snoozed until 2025-07-01`."""
    if reminder.status not in ACTIVE_REMINDER_STATUSES:
        return ""
    when = reminder_action_on(reminder)
    days = (when - today).days
    if reminder.status == ReminderStatus.SNOOZED:
        if days > 0:
            return f"snoozed until {when:%Y-%m-%d}"
        return "snooze ends today" if days == 0 else f"snooze ended {_days(-days)} ago"
    if days < 0:
        return f"overdue by {_days(-days)}"
    return "due today" if days == 0 else f"due in {_days(days)}"


def decorate(reminders: Iterable[Reminder], today: dt.date) -> list[Reminder]:
    """Reminders with what the pages show: `label`, `action_on`, `is_overdue`, `is_critical`,
    `due_text`."""
    rows = list(reminders)
    for r in rows:
        r.label = kind_label(r.kind, r.drug)  # type: ignore[attr-defined]
        r.action_on = reminder_action_on(r)  # type: ignore[attr-defined]
        r.is_overdue = r.is_active and r.action_on < today  # type: ignore[attr-defined]
        r.is_critical = r.severity == Severity.CRITICAL  # type: ignore[attr-defined]
        r.due_text = due_text(r, today)  # type: ignore[attr-defined]
    return rows


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


@dataclass(frozen=True)
class HistoryEntry:
    when: dt.datetime
    who: str
    change_type: str  # created / changed / deleted
    fields: tuple[tuple[str, str, str], ...]  # (field label, old, new)


_IGNORED_FIELDS = ("created_at", "updated_at")
_CHANGE_TYPES = {"+": "created", "~": "changed", "-": "deleted"}


def _user_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user else "the reminder scan"


def reminder_history(reminder: Reminder) -> list[HistoryEntry]:
    """The reminder's audit trail, oldest first, with who did what (two queries)."""
    records = list(
        reminder.history.select_related("history_user").order_by("history_date", "history_id")
    )
    assignee_ids = {r.assignee_id for r in records if r.assignee_id}
    names = {
        user.pk: _user_name(user) for user in get_user_model().objects.filter(pk__in=assignee_ids)
    }
    entries: list[HistoryEntry] = []
    previous = None
    for record in records:
        fields: tuple[tuple[str, str, str], ...] = ()
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous, excluded_fields=_IGNORED_FIELDS)
            fields = tuple(
                (
                    capfirst(str(Reminder._meta.get_field(change.field).verbose_name)),
                    _show(change.field, change.old, names),
                    _show(change.field, change.new, names),
                )
                for change in delta.changes
            )
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=_user_name(record.history_user),
                change_type=_CHANGE_TYPES.get(record.history_type, record.history_type),
                fields=fields,
            )
        )
        previous = record
    return entries


def _show(field: str, value: Any, names: dict[int, str]) -> str:
    if value is None or value == "":
        return "—"
    if field == "assignee":
        return names.get(value, f"user {value}")
    if field == "status":
        return str(ReminderStatus(value).label)
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --- acting on one reminder -------------------------------------------------------------------


def _refuse_closed(reminder: Reminder) -> None:
    if reminder.status == ReminderStatus.RESOLVED:
        raise ValidationError(
            f"{reminder} was resolved by the scan: its item is no longer due.", code="resolved"
        )
    if reminder.status not in ACTIVE_REMINDER_STATUSES:
        word = _CLOSED_WORDS.get(ReminderStatus(reminder.status), reminder.status)
        raise ValidationError(f"{reminder} is {word}; reopen it first.", code="closed")


def _locked(reminder: Reminder) -> None:
    """Re-read the row under a lock, so an action never races the scan closing or moving it
    (and the history row it writes holds the current values, not the page's)."""
    reminder.refresh_from_db(
        from_queryset=Reminder.objects.select_for_update(of=("self",)).select_related(
            "patient__clinic", "assignee"
        )
    )


def _save(reminder: Reminder, actor: AbstractBaseUser | None, fields: Sequence[str]) -> Reminder:
    if actor is not None:
        reminder._history_user = actor  # type: ignore[attr-defined]  # read by simple-history
    reminder.save(update_fields=[*fields, "updated_at"])
    return reminder


@transaction.atomic
def reminder_assign(
    *, reminder: Reminder, assignee: AbstractBaseUser | None, actor: AbstractBaseUser | None
) -> Reminder:
    """Give the reminder to a clinician or nurse of its patient's clinic (None: unassign)."""
    _locked(reminder)
    _refuse_closed(reminder)
    if assignee is not None:
        clinic_id = reminder.patient.clinic_id
        if not Membership.objects.filter(
            user=assignee, clinic_id=clinic_id, role__in=ASSIGNABLE_ROLES
        ).exists():
            raise ValidationError(
                {
                    "assignee": f"{_user_name(assignee)} is not a clinician or nurse of "
                    f"{reminder.patient.clinic.name}."
                },
                code="not_staff",
            )
    reminder.assignee = assignee  # type: ignore[assignment]
    return _save(reminder, actor, ["assignee"])


@transaction.atomic
def reminder_snooze(
    *, reminder: Reminder, until: dt.date, actor: AbstractBaseUser | None, today: dt.date
) -> Reminder:
    """Put the reminder aside until `until`, a day after today."""
    _locked(reminder)
    _refuse_closed(reminder)
    if until <= today:
        raise ValidationError(
            {"until": f"Snooze to a date after today ({today:%Y-%m-%d})."}, code="not_future"
        )
    reminder.status = ReminderStatus.SNOOZED
    reminder.snoozed_until = until
    return _save(reminder, actor, ["status", "snoozed_until"])


@transaction.atomic
def reminder_done(
    *, reminder: Reminder, actor: AbstractBaseUser | None, note: str = "", now: dt.datetime
) -> Reminder:
    """The item was carried out; `note` (optional) is kept as the closing remark."""
    _locked(reminder)
    _refuse_closed(reminder)
    reminder.status = ReminderStatus.DONE
    reminder.snoozed_until = None
    reminder.closed_at = now
    reminder.close_reason = note.strip()
    return _save(reminder, actor, ["status", "snoozed_until", "closed_at", "close_reason"])


@transaction.atomic
def reminder_dismiss(
    *, reminder: Reminder, reason: str, actor: AbstractBaseUser | None, now: dt.datetime
) -> Reminder:
    """Close the reminder without doing the item; the reason is required and kept."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"reason": "Say why this reminder is dismissed."}, code="reason_required"
        )
    _locked(reminder)
    _refuse_closed(reminder)
    reminder.status = ReminderStatus.DISMISSED
    reminder.snoozed_until = None
    reminder.closed_at = now
    reminder.close_reason = reason
    return _save(reminder, actor, ["status", "snoozed_until", "closed_at", "close_reason"])


@transaction.atomic
def reminder_reopen(*, reminder: Reminder, actor: AbstractBaseUser | None) -> Reminder:
    """Back to open: ends a snooze early, or undoes a done or dismissed by mistake. A reminder
    the scan resolved stays closed (the engine no longer lists its item)."""
    _locked(reminder)
    if reminder.status == ReminderStatus.OPEN:
        raise ValidationError(f"{reminder} is already open.", code="open")
    if reminder.status == ReminderStatus.RESOLVED:
        raise ValidationError(
            f"{reminder} was resolved by the scan: its item is no longer due.", code="resolved"
        )
    if (
        reminder.status != ReminderStatus.SNOOZED
        and Reminder.objects.filter(
            patient_id=reminder.patient_id,
            kind=reminder.kind,
            drug=reminder.drug,
            status__in=ACTIVE_REMINDER_STATUSES,
        ).exists()
    ):
        raise ValidationError(
            "A newer reminder for the same item is already active; work on that one.",
            code="superseded",
        )
    reminder.status = ReminderStatus.OPEN
    reminder.snoozed_until = None
    reminder.closed_at = None
    reminder.close_reason = ""
    return _save(reminder, actor, ["status", "snoozed_until", "closed_at", "close_reason"])


# --- acting on many ---------------------------------------------------------------------------


class BulkAction(StrEnum):
    ASSIGN = "assign"
    SNOOZE = "snooze"
    DONE = "done"
    DISMISS = "dismiss"


BULK_VERBS = {
    BulkAction.ASSIGN: "assigned",
    BulkAction.SNOOZE: "snoozed",
    BulkAction.DONE: "marked done",
    BulkAction.DISMISS: "dismissed",
}


@transaction.atomic
def reminders_bulk_act(
    *,
    reminders: Sequence[Reminder],
    action: BulkAction,
    actor: AbstractBaseUser | None,
    now: dt.datetime,
    today: dt.date,
    assignee: AbstractBaseUser | None = None,
    until: dt.date | None = None,
    reason: str = "",
    note: str = "",
) -> int:
    """One action on many reminders, all or nothing: the first refusal rolls every change back
    and is raised naming the reminder it concerns."""
    for reminder in reminders:
        try:
            if action is BulkAction.ASSIGN:
                reminder_assign(reminder=reminder, assignee=assignee, actor=actor)
            elif action is BulkAction.SNOOZE:
                if until is None:
                    raise ValidationError({"until": "Choose the date to snooze to."})
                reminder_snooze(reminder=reminder, until=until, actor=actor, today=today)
            elif action is BulkAction.DONE:
                reminder_done(reminder=reminder, actor=actor, note=note, now=now)
            else:
                reminder_dismiss(reminder=reminder, reason=reason, actor=actor, now=now)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                raise  # a problem with the form's input (reason, date…), not with this row
            raise ValidationError(
                f"{reminder.patient.name} ({reminder.patient.mrn}): {' '.join(error.messages)}"
                " Nothing was changed.",
                code="bulk_refused",
            ) from error
    return len(reminders)


# --- dashboards -------------------------------------------------------------------------------


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


def last_scan_run() -> ScanRun | None:
    return ScanRun.objects.order_by("-started_at", "-pk").first()


# --- clinic settings --------------------------------------------------------------------------


def normalise_emails(text: str) -> str:
    """`a@x.org ,b@y.org,, ` → `a@x.org, b@y.org`; each address validated, duplicates dropped.
    Raises a ValidationError naming every invalid address."""
    seen: dict[str, str] = {}
    bad: list[str] = []
    for part in text.replace("\n", ",").replace(";", ",").split(","):
        address = part.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
            continue
        seen.setdefault(address.lower(), address)
    if bad:
        raise ValidationError(f"Not an e-mail address: {', '.join(bad)}.", code="invalid_email")
    return ", ".join(seen.values())


@transaction.atomic
def clinic_reminder_settings_update(
    *, clinic: Clinic, lead_days: int, notification_emails: str, actor: AbstractBaseUser | None
) -> Clinic:
    """Lead time and notification recipients of one clinic. (Clinic has no history table; the
    change is not audited beyond this save.)"""
    clinic.reminder_lead_days = lead_days
    clinic.notification_emails = normalise_emails(notification_emails)
    clinic.full_clean(exclude=["slug", "name"])
    clinic.save(update_fields=["reminder_lead_days", "notification_emails"])
    return clinic


def nightly_scan_task() -> PeriodicTask | None:
    return (
        PeriodicTask.objects.filter(name=NIGHTLY_SCAN_TASK_NAME).select_related("crontab").first()
    )


def can_change_scan_time(user: AnyUser) -> bool:
    """The scan's time is global (one beat for every clinic): only a superuser, or a user who
    is clinic admin in every clinic, may move it."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:  # type: ignore[union-attr]
        return True
    admin_of = Membership.objects.filter(user=user, role=Role.CLINIC_ADMIN).values("clinic_id")
    return Clinic.objects.exists() and not Clinic.objects.exclude(pk__in=admin_of).exists()


@transaction.atomic
def reminder_scan_schedule_update(
    *, hour: int, minute: int, actor: AbstractBaseUser
) -> PeriodicTask:
    """Run the nightly scan at hour:minute (the server's time zone) from now on. The task points
    to a crontab of its own, so no other schedule sharing the old crontab moves with it."""
    if not can_change_scan_time(actor):
        raise ValidationError(
            "Only an admin of every clinic may change the time of the nightly scan.",
            code="not_allowed",
        )
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValidationError("Choose an hour 0–23 and a minute 0–59.", code="bad_time")
    task = PeriodicTask.objects.select_for_update().filter(name=NIGHTLY_SCAN_TASK_NAME).first()
    if task is None:
        raise ValidationError(
            "The nightly scan is not scheduled on this server (run the migrations).",
            code="no_task",
        )
    timezone_name = task.crontab.timezone if task.crontab else None
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(minute),
        hour=str(hour),
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=timezone_name or settings.TIME_ZONE,
    )
    task.crontab = crontab
    task.save()  # django-celery-beat's signals tell the beat to reload its schedule
    return task


def scan_time(task: PeriodicTask | None) -> tuple[int, int] | None:
    """(hour, minute) of the nightly scan, or None when its crontab is not a plain daily time."""
    if task is None or task.crontab is None:
        return None
    try:
        return int(task.crontab.hour), int(task.crontab.minute)
    except ValueError:
        return None
