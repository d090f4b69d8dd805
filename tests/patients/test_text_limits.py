"""Plausibility limits everywhere (issue 11, M4/L6): free text has a documented length, held by
the field's validator (beside the field) and by a CHECK constraint (for writes that bypass
validation); dates and numbers outside CASE_FORMAT's limits are refused on every model."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from monitoring.models import LabResult, Reassessment, Reminder, ReminderContact
from patients.limits import NOTE_MAX_CHARS
from patients.models import Clinic, Patient
from patients.services import record_save
from tests import factories
from therapy.models import TherapyCourse

TEXTS = [
    (Patient, "status_note"),
    (Patient, "address"),
    (Clinic, "address"),
    (Reassessment, "note"),
    (Reminder, "note"),
    (Reminder, "close_reason"),
    (ReminderContact, "note"),
]


def _row(model, patient):
    if model is Patient:
        return Patient.objects.get(pk=patient.pk)
    if model is Clinic:
        return patient.clinic
    if model is Reassessment:
        return Reassessment.objects.create(patient=patient, date=dt.date(2024, 1, 1))
    reminder = Reminder.objects.create(
        patient=patient, kind="DXA_FOLLOW_UP", due=dt.date(2024, 1, 1)
    )
    if model is Reminder:
        return reminder
    return ReminderContact.objects.create(
        reminder=reminder, kind="called", date=dt.date(2024, 1, 1), user=factories.UserFactory()
    )


@pytest.mark.parametrize(("model", "field"), TEXTS, ids=[f"{m.__name__}.{f}" for m, f in TEXTS])
def test_free_text_longer_than_the_limit_is_refused_beside_its_field(patient, model, field):
    row = _row(model, patient)
    setattr(row, field, "x" * NOTE_MAX_CHARS)
    row.full_clean()  # the limit itself is accepted

    setattr(row, field, "x" * (NOTE_MAX_CHARS + 1))
    with pytest.raises(ValidationError) as refused:
        row.full_clean()
    assert list(refused.value.message_dict) == [field]
    assert "at most 2000 characters" in refused.value.message_dict[field][0]


@pytest.mark.parametrize(("model", "field"), TEXTS, ids=[f"{m.__name__}.{f}" for m, f in TEXTS])
def test_the_database_refuses_free_text_longer_than_the_limit(patient, model, field):
    row = _row(model, patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field: "x" * (NOTE_MAX_CHARS + 1)})


def test_a_decision_reason_longer_than_the_limit_is_refused_by_the_database(db):
    from therapy.models import RecommendationRecord

    field = RecommendationRecord._meta.get_field("reason")
    assert field.max_length == NOTE_MAX_CHARS
    with pytest.raises(ValidationError):
        field.run_validators("x" * (NOTE_MAX_CHARS + 1))


def test_implausible_dates_and_numbers_are_refused(patient, clinician):
    patient.birth_date = dt.date(1, 1, 1)
    with pytest.raises(ValidationError) as refused:
        patient.full_clean()
    assert "birth_date" in refused.value.message_dict

    course = TherapyCourse(
        patient=patient, drug="denosumab", start=dt.date(2020, 1, 1), end=dt.date(2300, 1, 1)
    )
    with pytest.raises(ValidationError) as refused:
        record_save(instance=course, actor=clinician)
    assert "end" in refused.value.message_dict

    lab = LabResult(
        patient=patient, date=dt.date(2024, 1, 1), test="ctx", value=1e308, unit="ng/mL"
    )
    with pytest.raises(ValidationError) as refused:
        record_save(instance=lab, actor=clinician)
    assert "value" in refused.value.message_dict


def test_the_decision_form_refuses_a_reason_longer_than_the_limit_beside_it():
    from therapy.forms import DecisionForm

    field = DecisionForm.base_fields["reason"]
    assert field.max_length == NOTE_MAX_CHARS
    with pytest.raises(ValidationError):
        field.clean("x" * (NOTE_MAX_CHARS + 1))
