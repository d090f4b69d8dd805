"""Actions on reminders: assign, snooze, mark done with a note, dismiss with a reason, reopen —
one at a time or many at once; the contact log; and undoing any of these.

Every action is one service, keyword-only, with the acting user recorded by simple-history and
the clock passed in (`today`, `now`). Refusals are `ValidationError`s naming the field they
belong to, which the views show beside that field or as a message.

Undo, and what it guarantees
    `reminder_undo` puts back the fields a person's action changed (status, due date, assignee,
    snooze, notes) from the reminder's audit trail: the state before its latest change. It runs
    under the row's lock and only while that change is still the latest one (nobody — a
    colleague, the scan — wrote the reminder since) and was made by the same person; otherwise
    it refuses and changes nothing. The undo is itself a change in the audit trail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from monitoring.models import (
    ACTIVE_REMINDER_STATUSES,
    ContactKind,
    Reminder,
    ReminderContact,
    ReminderStatus,
)
from monitoring.reminder_presenters import UNDO_REASON, kind_label, person_name
from patients.models import Membership, Role
from patients.permissions import role_works_on_reminder

#: The note "Mark done" asks for, when no record (dose, scan, lab) shows the item was done.
DONE_NOTE_REQUIRED = "Say what was done, for the record (for example “given at the GP”)."

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
    """Give the reminder to a member of its patient's clinic whose role acts on its kind
    (`patients.permissions.role_works_on_reminder`); None unassigns."""
    _locked(reminder)
    _refuse_closed(reminder)
    if assignee is not None:
        clinic = reminder.patient.clinic
        role = (
            Membership.objects.filter(user=assignee, clinic_id=clinic.pk)
            .values_list("role", flat=True)
            .first()
        )
        if role is None:
            raise ValidationError(
                {"assignee": f"{person_name(assignee)} is not a member of {clinic.name}."},
                code="not_staff",
            )
        if not role_works_on_reminder(role, reminder.kind):
            raise ValidationError(
                {
                    "assignee": f"{person_name(assignee)} cannot take this reminder: "
                    f"{Role(role).label.lower()}s do not act on "
                    f"“{kind_label(reminder.kind, reminder.drug)}”."
                },
                code="role_cannot_act",
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
    *, reminder: Reminder, actor: AbstractBaseUser | None, note: str, now: dt.datetime
) -> Reminder:
    """The item was carried out without a record that shows it (a dose, scan or lab recorded
    resolves the reminder by itself): `note` says what was done and is required."""
    note = note.strip()
    if not note:
        raise ValidationError({"note": DONE_NOTE_REQUIRED}, code="note_required")
    _locked(reminder)
    _refuse_closed(reminder)
    reminder.status = ReminderStatus.DONE
    reminder.snoozed_until = None
    reminder.closed_at = now
    reminder.close_reason = note
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
    if reminder.status != ReminderStatus.SNOOZED and _another_is_active(reminder):
        raise ValidationError(
            "A newer reminder for the same item is already active; work on that one.",
            code="superseded",
        )
    reminder.status = ReminderStatus.OPEN
    reminder.snoozed_until = None
    reminder.closed_at = None
    reminder.close_reason = ""
    return _save(reminder, actor, ["status", "snoozed_until", "closed_at", "close_reason"])


def _another_is_active(reminder: Reminder) -> bool:
    """Whether a reminder of the same item (patient, kind, drug) is open or snoozed: this one
    cannot become active beside it (the database allows one per item)."""
    return Reminder.objects.filter(
        patient_id=reminder.patient_id,
        kind=reminder.kind,
        drug=reminder.drug,
        status__in=ACTIVE_REMINDER_STATUSES,
    ).exists()


# --- undo -------------------------------------------------------------------------------------

#: The fields a person's action changes, and an undo puts back.
UNDONE_FIELDS = ("status", "due", "assignee", "snoozed_until", "note", "close_reason", "closed_at")
STALE_UNDO = (
    "This can no longer be undone: the reminder was changed since (by a colleague or the "
    "reminder scan). Nothing was undone."
)


@transaction.atomic
def reminder_undo(*, reminder: Reminder, change_id: int, actor: AbstractBaseUser) -> Reminder:
    """Put back what audit row `change_id` (the actor's latest change) changed; see the module's
    docstring for when it refuses."""
    _locked(reminder)
    rows = list(reminder.history.order_by("-history_id")[:2])
    latest = rows[0] if rows else None
    previous = rows[1] if len(rows) == 2 else None
    if (
        latest is None
        or previous is None
        or latest.history_id != change_id
        or latest.history_type != "~"
        or latest.updated_at != reminder.updated_at
    ):
        raise ValidationError(STALE_UNDO, code="stale")
    if latest.history_user_id != actor.pk:
        raise ValidationError("Only the person who made a change can undo it.", code="not_yours")
    back_to_active = previous.status in ACTIVE_REMINDER_STATUSES
    if back_to_active and not reminder.is_active and _another_is_active(reminder):
        raise ValidationError(
            "A newer reminder for the same item is already active; nothing was undone.",
            code="superseded",
        )
    for name in UNDONE_FIELDS:
        attname = Reminder._meta.get_field(name).attname
        setattr(reminder, attname, getattr(previous, attname))
    reminder._change_reason = UNDO_REASON  # type: ignore[attr-defined]  # read by simple-history
    return _save(reminder, actor, [Reminder._meta.get_field(n).attname for n in UNDONE_FIELDS])


# --- the contact log ------------------------------------------------------------------------------


@transaction.atomic
def reminder_contact_record(
    *,
    reminder: Reminder,
    kind: str,
    date: dt.date,
    note: str,
    actor: AbstractBaseUser,
    today: dt.date,
) -> ReminderContact:
    """One attempt to reach the patient about this reminder, on `date` (today or before)."""
    if date > today:
        raise ValidationError(
            {"date": f"This date is in the future (today is {today:%Y-%m-%d})."}, code="future"
        )
    if kind not in ContactKind.values:
        raise ValidationError({"kind": "Choose how the patient was contacted."}, code="kind")
    contact = ReminderContact(
        reminder=reminder, kind=kind, date=date, note=note.strip(), user=actor
    )
    contact.full_clean()
    contact._history_user = actor  # type: ignore[attr-defined]  # read by simple-history
    contact.save()
    return contact


@transaction.atomic
def reminder_contact_undo(*, contact: ReminderContact, actor: AbstractBaseUser) -> None:
    """Take back a contact log entry: only its author may (the audit trail keeps it)."""
    if contact.user_id != actor.pk:
        raise ValidationError(
            "Only the person who logged a contact can take it back.", code="not_yours"
        )
    contact._history_user = actor  # type: ignore[attr-defined]  # read by simple-history
    contact.delete()


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


@transaction.atomic
def reminders_bulk_undo(
    *, reminders: Sequence[Reminder], changes: dict[int, int], actor: AbstractBaseUser
) -> int:
    """Undo one bulk action (`changes`: reminder id → the audit row it wrote), all or nothing:
    a reminder changed since refuses, naming its patient, and nothing is undone."""
    for reminder in reminders:
        try:
            reminder_undo(reminder=reminder, change_id=changes[reminder.pk], actor=actor)
        except ValidationError as error:
            raise ValidationError(
                f"{reminder.patient.name} ({reminder.patient.mrn}): {' '.join(error.messages)}",
                code="bulk_undo_refused",
            ) from error
    return len(reminders)
