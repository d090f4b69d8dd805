"""patients.bulk.create_with_history writes what simple-history's bulk helper writes: the same
rows, one "+" audit row each, keys on the instances — by COPY on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_lazy
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history

from monitoring.models import Reminder, ReminderStatus
from patients.bulk import create_with_history
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
_COMPARED = ("patient_id", "kind", "drug", "severity", "due", "status", "assignee_id", "note")


def _reminders(patient, *, kinds=("NEXT_DOSE", "REASSESSMENT_DUE"), assignee=None):
    return [
        Reminder(
            patient=patient,
            kind=kind,
            drug="denosumab" if kind == "NEXT_DOSE" else "",
            severity="critical" if kind == "NEXT_DOSE" else "",
            due=dt.date(2026, 12, 1) + dt.timedelta(days=n),
            assignee=assignee,
            note="«ünïcode» ; tab\there",
        )
        for n, kind in enumerate(kinds)
    ]


def _stored(pks):
    return [
        tuple(getattr(r, name) for name in _COMPARED)
        for r in Reminder.objects.filter(pk__in=pks).order_by("due")
    ]


def test_rows_and_audit_rows_are_those_simple_history_writes(clinic):
    nurse = UserFactory()
    ours = create_with_history(
        _reminders(PatientFactory(clinic=clinic), assignee=nurse),
        Reminder,
        change_reason="scan",
        date=WHEN,
    )
    theirs = bulk_create_with_history(
        _reminders(PatientFactory(clinic=clinic), assignee=nurse),
        Reminder,
        default_change_reason="scan",
        default_date=WHEN,
    )
    assert all(r.pk is not None and not r._state.adding for r in ours)
    assert [row[1:] for row in _stored([r.pk for r in ours])] == [
        row[1:] for row in _stored([r.pk for r in theirs])
    ]
    for reminder in ours:
        stored = Reminder.objects.get(pk=reminder.pk)
        assert stored.created_at is not None and stored.updated_at is not None
        (audit,) = reminder.history.all()
        assert (audit.history_type, audit.history_change_reason, audit.history_date) == (
            "+",
            "scan",
            WHEN,
        )
        assert audit.history_user_id is None
        assert (audit.kind, audit.due, audit.assignee_id, audit.note) == (
            stored.kind,
            stored.due,
            nurse.pk,
            stored.note,
        )


def test_an_instances_own_history_user_wins_and_the_default_user_is_recorded(clinic):
    clinician, nurse = UserFactory(), UserFactory()
    first, second = _reminders(PatientFactory(clinic=clinic))
    first._history_user = nurse
    create_with_history([first, second], Reminder, change_reason="import", user=clinician)
    assert first.history.get().history_user_id == nurse.pk
    assert second.history.get().history_user_id == clinician.pk


def test_keys_follow_the_tables_sequence_for_later_inserts(clinic):
    (made,) = create_with_history(
        _reminders(PatientFactory(clinic=clinic), kinds=("NEXT_DOSE",)),
        Reminder,
        change_reason="scan",
    )
    later = Reminder.objects.create(
        patient=PatientFactory(clinic=clinic), kind="REASSESSMENT_DUE", due=dt.date(2027, 1, 1)
    )
    assert later.pk > made.pk


def test_a_duplicate_is_djangos_integrity_error_and_nothing_is_written(clinic):
    patient = PatientFactory(clinic=clinic)
    create_with_history(
        _reminders(patient, kinds=("NEXT_DOSE",)), Reminder, change_reason="scan", date=WHEN
    )
    before = (Reminder.objects.count(), Reminder.history.count())
    with pytest.raises(IntegrityError), transaction.atomic():
        create_with_history(
            _reminders(patient, kinds=("REASSESSMENT_DUE", "NEXT_DOSE")),
            Reminder,
            change_reason="scan",
            date=WHEN,
        )
    assert (Reminder.objects.count(), Reminder.history.count()) == before


def test_nothing_to_write_is_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert create_with_history([], Reminder, change_reason="scan") == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_on_postgresql_it_is_copy_not_bulk_create(clinic, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("bulk_create was called")

    monkeypatch.setattr(Reminder.objects, "bulk_create", refuse)
    made = create_with_history(
        _reminders(PatientFactory(clinic=clinic)), Reminder, change_reason="scan", date=WHEN
    )
    assert Reminder.objects.filter(pk__in=[r.pk for r in made]).count() == 2


def test_each_audit_row_copies_its_row_with_its_own_date_reason_and_user(clinic):
    clinician, nurse = UserFactory(), UserFactory()
    later = WHEN + dt.timedelta(hours=1)
    made = _reminders(
        PatientFactory(clinic=clinic),
        kinds=("NEXT_DOSE", "REASSESSMENT_DUE", "DXA_DUE", "LABS_DUE"),
        assignee=nurse,
    )
    made[1]._history_user = nurse
    made[2]._change_reason = "corrected"
    made[3]._history_date = later
    create_with_history(made, Reminder, change_reason="scan", date=WHEN, user=clinician)
    stamps = [
        (
            a.history_date,
            a.history_change_reason,
            a.history_user_id,
            a.history_type,
        )
        for a in (r.history.get() for r in made)
    ]
    assert stamps == [
        (WHEN, "scan", clinician.pk, "+"),
        (WHEN, "scan", nurse.pk, "+"),
        (WHEN, "corrected", clinician.pk, "+"),
        (later, "scan", clinician.pk, "+"),
    ]
    tracked = [f.attname for f in Reminder.history.model.tracked_fields]
    for reminder in made:
        stored = Reminder.objects.get(pk=reminder.pk)
        audit = reminder.history.get()
        assert [getattr(audit, name) for name in tracked] == [
            getattr(stored, name) for name in tracked
        ]
        assert stored.created_at == reminder.created_at


def test_a_column_with_one_value_to_prepare_is_prepared_for_that_value(clinic):
    patient = PatientFactory(clinic=clinic)
    made = _reminders(patient, kinds=("NEXT_DOSE", "REASSESSMENT_DUE", "DXA_DUE"))
    made[1].note = gettext_lazy("call the patient")  # not a str: Django makes it one
    made[2].status = ReminderStatus.SNOOZED  # an enum member, stored as its value
    made[2].snoozed_until = dt.date(2026, 12, 24)
    create_with_history(made, Reminder, change_reason="scan", date=WHEN)
    stored = {r.kind: r for r in Reminder.objects.filter(patient=patient)}
    assert stored["REASSESSMENT_DUE"].note == "call the patient"
    assert stored["NEXT_DOSE"].note == made[0].note
    assert (stored["DXA_DUE"].status, stored["DXA_DUE"].snoozed_until) == (
        "snoozed",
        dt.date(2026, 12, 24),
    )
    assert all(r.created_at is not None and r.updated_at is not None for r in stored.values())
    assert made[0].created_at == stored["NEXT_DOSE"].created_at


class _Request:
    """What simple-history's middleware leaves in its thread-local context while serving."""

    def __init__(self, user):
        self.user = user


@pytest.fixture
def serving():
    """Set the request simple-history's middleware would record for the thread, then clear it."""

    def serve(user):
        HistoricalRecords.context.request = _Request(user)

    yield serve
    del HistoricalRecords.context.request


def test_without_a_user_the_request_being_served_is_the_audit_user(clinic, serving):
    clinician, nurse = UserFactory(), UserFactory()
    serving(clinician)
    made = _reminders(PatientFactory(clinic=clinic), kinds=("NEXT_DOSE", "DXA_DUE", "LABS_DUE"))
    made[1]._history_user = nurse
    create_with_history(made, Reminder, change_reason="scan", date=WHEN)
    assert [r.history.get().history_user_id for r in made] == [clinician.pk, nurse.pk, clinician.pk]


def test_an_own_history_user_on_the_first_object_is_not_the_default_of_the_others(clinic):
    nurse = UserFactory()
    made = _reminders(PatientFactory(clinic=clinic), kinds=("NEXT_DOSE", "DXA_DUE", "LABS_DUE"))
    made[0]._history_user = nurse
    create_with_history(made, Reminder, change_reason="scan", date=WHEN)
    assert [r.history.get().history_user_id for r in made] == [nurse.pk, None, None]


def test_a_get_user_of_the_models_own_is_asked_for_each_object(clinic, monkeypatch):
    """A `get_user` may answer object by object (here: the reminder's assignee), so it is not
    asked once for all."""
    monkeypatch.setattr(
        Reminder.history.model,
        "get_default_history_user",
        staticmethod(lambda instance: instance.assignee),
    )
    nurse, clinician = UserFactory(), UserFactory()
    made = _reminders(PatientFactory(clinic=clinic), kinds=("NEXT_DOSE", "DXA_DUE", "LABS_DUE"))
    for reminder, assignee in zip(made, (nurse, clinician, None), strict=True):
        reminder.assignee = assignee
    create_with_history(made, Reminder, change_reason="scan", date=WHEN)
    assert [r.history.get().history_user_id for r in made] == [nurse.pk, clinician.pk, None]
