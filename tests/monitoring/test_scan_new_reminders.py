"""The scan builds its new reminders positionally (`monitoring.scan._reminder_builder`): each
must be the instance `Reminder(**values)` would be, defaults included."""

from __future__ import annotations

import datetime as dt
import itertools

from monitoring.models import Reminder, ReminderStatus
from monitoring.scan import _reminder_builder

VALUES = {
    "patient_id": 7,
    "kind": "NEXT_DOSE",
    "drug": "denosumab",
    "due": dt.date(2026, 12, 1),
    "severity": "critical",
    "status": ReminderStatus.OPEN,
    "engine_version": "2",
}


def _fields(reminder: Reminder) -> dict[str, object]:
    return {f.attname: getattr(reminder, f.attname) for f in Reminder._meta.concrete_fields}


def test_a_built_reminder_is_the_one_the_keywords_make():
    built = _reminder_builder()(**VALUES)
    made = Reminder(**VALUES)
    assert _fields(built) == _fields(made)
    assert built._state.adding and built._state.db is None
    assert built.note == "" and built.closed_at is None and built.pk is None


def test_a_callable_default_is_called_for_each_reminder(monkeypatch):
    counter = itertools.count()
    note = Reminder._meta.get_field("note")
    monkeypatch.setattr(note, "default", lambda: f"note {next(counter)}")
    monkeypatch.delitem(note.__dict__, "_get_default", raising=False)  # Django caches it
    build = _reminder_builder()
    first, second = build(**VALUES), build(**VALUES)
    assert (first.note, second.note) == ("note 1", "note 2")


def test_an_unknown_field_is_refused():
    build = _reminder_builder()
    try:
        build(**VALUES, colour="red")
    except KeyError:
        return
    raise AssertionError("an unknown field was accepted")
