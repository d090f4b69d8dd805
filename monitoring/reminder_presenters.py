"""How reminders read on the pages and in the CSV export: the item in words, how soon it is due,
its last contact, its audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst

from monitoring.models import ACTIVE_REMINDER_STATUSES, ContactKind, Reminder, ReminderStatus
from monitoring.reminder_selectors import COUNT_CAP, reminder_action_on
from patients.presenters import url_for_ids
from quality.follow_ups import FOLLOW_UP_16W, FOLLOW_UP_52W
from quality.models import FOLLOW_UP_REMINDER_KINDS
from therapy.engine import Severity
from therapy.presenters import drug_label, label


def kind_label(kind: str, drug: str = "") -> str:
    """`Next dose — Denosumab`: the engine's code in words, with the item's drug."""
    text = label(kind)
    return f"{text} — {drug_label(drug)}" if drug else text


def count_text(count: int, *, more: bool = False) -> str:
    """A capped count as people read it (the worklist's tabs, the clinic admin's dashboard):
    "1,000+" past `COUNT_CAP`, or when `more` says a part of a sum was past it."""
    return f"{COUNT_CAP:,}+" if more or count > COUNT_CAP else f"{count:,}"


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


#: The reminder kind → the follow-up contact's kind ("16w", "52w").
_FOLLOW_UP_KIND = {code: kind for kind, code in FOLLOW_UP_REMINDER_KINDS.items()}
_FOLLOW_UP_ACTIONS = {
    FOLLOW_UP_16W: "Record the 16-week follow-up contact",
    FOLLOW_UP_52W: "Record the 52-week follow-up contact",
}


def record_link(reminder: Reminder) -> RecordLink | None:
    """The link to record what a follow-up call found: the follow-up form with the call's kind
    chosen (and the patient's open episode, when there is one). None for the engine's items
    (their records have several doors on the patient's page)."""
    words = _FOLLOW_UP_ACTIONS.get(reminder.kind)
    if words is None:
        return None
    url = reverse("fls:fls-follow-up-create", args=[reminder.patient_id])
    return RecordLink(f"{url}?kind={_FOLLOW_UP_KIND[reminder.kind]}", words)


def decorate(reminders: Iterable[Reminder], today: dt.date) -> list[Reminder]:
    """Reminders with what the pages show: `label`, `action_on`, `is_overdue`, `is_critical`,
    `due_on` (the due date as text: the pages list many, and the template's date filter was the
    dearest thing in their rows), `due_text`, `last_contact`, `record_link`."""
    rows = list(reminders)
    for r in rows:
        r.label = kind_label(r.kind, r.drug)  # type: ignore[attr-defined]
        r.record_link = record_link(r)  # type: ignore[attr-defined]
        r.action_on = reminder_action_on(r)  # type: ignore[attr-defined]
        r.is_overdue = r.is_active and r.action_on < today  # type: ignore[attr-defined]
        r.is_critical = r.severity == Severity.CRITICAL  # type: ignore[attr-defined]
        r.due_on = f"{r.due:%Y-%m-%d}"  # type: ignore[attr-defined]
        r.due_text = due_text(r, today)  # type: ignore[attr-defined]
        r.last_contact = last_contact_text(r)  # type: ignore[attr-defined]
    return rows


# --- the worklist's rows --------------------------------------------------------------------------


def worklist_rows(reminders: Iterable[Reminder], today: dt.date) -> list[dict[str, Any]]:
    """What each worklist row shows, already in words, as a dict per row: `key` (the id as
    text, for the row's element ids), `links` (a dict of where its links and forms go), the
    patient's `patient_name`, `mrn` and `clinic_name`, the `decorate`d texts, `due_on`,
    `closed_on`, `status_text`, `assignee_name`, and `is_selected` (False; the page ticks the
    rows of a refused bulk form). `reminder` is the row's reminder, for Python only.

    The row template then only places text: its date filters, URL tags and number formatting were
    most of the page's time at 50 rows (issue 14). Dicts, not the reminders themselves: the
    template looks a name up about 2,300 times a page, and it tries `row[name]` before
    `row.name`, so on a model instance every lookup first raised and caught a TypeError (with
    its message formatted), a seventh of the page's template time."""
    detail, patient = url_for_ids("reminders:detail"), url_for_ids("patients:detail")
    actions = url_for_ids("reminders:actions")
    assign, snooze = url_for_ids("reminders:assign"), url_for_ids("reminders:snooze")
    done, undo = url_for_ids("reminders:done"), url_for_ids("reminders:undo")
    rows = []
    for r in decorate(reminders, today):
        closed = timezone.localtime(r.closed_at) if r.closed_at else None
        rows.append(
            {
                "reminder": r,
                "key": str(r.pk),
                "links": {
                    "detail": detail(r.pk),
                    "patient": patient(r.patient_id),
                    "actions": actions(r.pk),
                    "assign": assign(r.pk),
                    "snooze": snooze(r.pk),
                    "done": done(r.pk),
                    "undo": undo(r.pk),
                },
                "patient_name": r.patient.name,
                "mrn": r.patient.mrn,
                "clinic_name": r.patient.clinic.name,
                "label": r.label,  # type: ignore[attr-defined]
                "record_link": r.record_link,  # type: ignore[attr-defined]
                "is_active": r.is_active,
                "is_overdue": r.is_overdue,  # type: ignore[attr-defined]
                "is_critical": r.is_critical,  # type: ignore[attr-defined]
                "due_on": r.due_on,  # type: ignore[attr-defined]
                "due_text": r.due_text,  # type: ignore[attr-defined]
                "status": r.status,
                "status_text": str(ReminderStatus(r.status).label),
                "closed_on": f"{closed:%Y-%m-%d}" if closed else "",
                "assignee_name": person_name(r.assignee) if r.assignee else "",
                "note": r.note,
                "close_reason": r.close_reason,
                "still_due": r.still_due,
                "last_contact": r.last_contact,  # type: ignore[attr-defined]
                "is_selected": False,
            }
        )
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
