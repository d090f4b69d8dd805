"""How reminders read on the pages and in the CSV export: the item in words, how soon it is due,
its last contact, its audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.text import capfirst

from monitoring.models import ACTIVE_REMINDER_STATUSES, ContactKind, Reminder, ReminderStatus
from monitoring.reminder_selectors import reminder_action_on
from quality.follow_ups import FOLLOW_UP_16W, FOLLOW_UP_52W
from therapy.engine import Severity
from therapy.presenters import drug_label, label


def kind_label(kind: str, drug: str = "") -> str:
    """`Next dose — Denosumab`: the engine's code in words, with the item's drug."""
    text = label(kind)
    return f"{text} — {drug_label(drug)}" if drug else text


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


def last_contact_text(reminder: Reminder) -> str:
    """`2025-06-10 · Called, no answer` from the worklist's annotations; "" when none."""
    when = getattr(reminder, "last_contact_on", None)
    if when is None:
        return ""
    kind = getattr(reminder, "last_contact_kind", "")
    words = ContactKind(kind).label if kind in ContactKind.values else kind
    return f"{when:%Y-%m-%d} · {words}"


@dataclass(frozen=True)
class RecordLink:
    """Where the record that answers a reminder is written, and the link's words."""

    url: str
    words: str


_FOLLOW_UP_ACTIONS = {
    FOLLOW_UP_16W: "Record the 16-week follow-up contact",
    FOLLOW_UP_52W: "Record the 52-week follow-up contact",
}


def record_link(reminder: Reminder) -> RecordLink | None:
    """The link to record what a follow-up call found: the fracture-liaison section of the
    patient's page (`#fracture-liaison`), where its episodes and contacts are written. None for the
    engine's items (their records have several doors on the patient's page)."""
    words = _FOLLOW_UP_ACTIONS.get(reminder.kind)
    if words is None:
        return None
    return RecordLink(f"{reverse('patients:detail', args=[reminder.patient_id])}#fracture-liaison", words)


def decorate(reminders: Iterable[Reminder], today: dt.date) -> list[Reminder]:
    """Reminders with what the pages show: `label`, `action_on`, `is_overdue`, `is_critical`,
    `due_text`, `last_contact`, `record_link`."""
    rows = list(reminders)
    for r in rows:
        r.label = kind_label(r.kind, r.drug)  # type: ignore[attr-defined]
        r.record_link = record_link(r)  # type: ignore[attr-defined]
        r.action_on = reminder_action_on(r)  # type: ignore[attr-defined]
        r.is_overdue = r.is_active and r.action_on < today  # type: ignore[attr-defined]
        r.is_critical = r.severity == Severity.CRITICAL  # type: ignore[attr-defined]
        r.due_text = due_text(r, today)  # type: ignore[attr-defined]
        r.last_contact = last_contact_text(r)  # type: ignore[attr-defined]
    return rows


# --- the CSV export -------------------------------------------------------------------------------

EXPORT_HEADER = (
    "Due",
    "Patient",
    "MRN",
    "Item",
    "Drug",
    "Severity",
    "Status",
    "Assignee",
    "Still due",
    "Last contact",
)
#: A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    """The cell as text a spreadsheet shows and never evaluates: a leading quote before a
    character that would start a formula."""
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell


def export_row(reminder: Reminder) -> list[str]:
    """One reminder as a row of `EXPORT_HEADER`, in words, every cell inert."""
    cells = [
        f"{reminder.due:%Y-%m-%d}",
        reminder.patient.name,
        reminder.patient.mrn,
        label(reminder.kind),
        drug_label(reminder.drug) if reminder.drug else "",
        "Critical" if reminder.severity == Severity.CRITICAL else "",
        str(ReminderStatus(reminder.status).label),
        person_name(reminder.assignee) if reminder.assignee else "",
        reminder.still_due,
        last_contact_text(reminder),
    ]
    return [inert(c) for c in cells]


def export_rows(reminders: Iterable[Reminder]) -> Iterator[list[str]]:
    """The header, then one row per reminder."""
    yield list(EXPORT_HEADER)
    for reminder in reminders:
        yield export_row(reminder)


@dataclass(frozen=True)
class HistoryEntry:
    when: dt.datetime
    who: str
    change_type: str  # created / changed / deleted
    fields: tuple[tuple[str, str, str], ...]  # (field label, old, new)


_IGNORED_FIELDS = ("created_at", "updated_at")
#: The audit trail's reason on the row an undo writes (`reminder_services.reminder_undo`).
UNDO_REASON = "undo"
_CHANGE_TYPES = {"+": "created", "~": "changed", "-": "deleted"}


def person_name(user: Any) -> str:
    """A user as the pages name them; no user is the reminder scan (it writes without one)."""
    return (user.get_full_name() or user.get_username()) if user else "the reminder scan"


def reminder_history(reminder: Reminder) -> list[HistoryEntry]:
    """The reminder's audit trail, oldest first, with who did what (two queries)."""
    records = list(
        reminder.history.select_related("history_user").order_by("history_date", "history_id")
    )
    assignee_ids = {r.assignee_id for r in records if r.assignee_id}
    names = {
        user.pk: person_name(user) for user in get_user_model().objects.filter(pk__in=assignee_ids)
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
                who=person_name(record.history_user),
                change_type=(
                    "undid the change before"
                    if record.history_change_reason == UNDO_REASON
                    else _CHANGE_TYPES.get(record.history_type, record.history_type)
                ),
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
