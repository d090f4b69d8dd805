"""Actions on reminders: assign, snooze, mark done, dismiss with a reason, reopen — one at a time
or many at once.

Every action is one service, keyword-only, with the acting user recorded by simple-history and
the clock passed in (`today`, `now`). Refusals are `ValidationError`s naming the field they
belong to, which the views show beside that field or as a message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder, ReminderStatus
from monitoring.reminder_presenters import person_name
from monitoring.reminder_selectors import ASSIGNABLE_ROLES
from patients.models import Membership

_CLOSED_WORDS = {
    ReminderStatus.DONE: "already done",
    ReminderStatus.DISMISSED: "dismissed",
}


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
                    "assignee": f"{person_name(assignee)} is not a clinician or nurse of "
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
