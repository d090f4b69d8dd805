"""The same scan, lab value or fracture posted twice at once (a double click, two tabs): one is
saved, the other gets the form error its validation would give, never a 500 (issue 11, L1).
Doses: tests/therapy/test_integrity.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from monitoring.labs import LabEntry, lab_panel_record
from monitoring.models import DxaScan, LabResult
from patients.models import Fracture
from patients.services import record_save
from tests import factories
from tests.patients.conftest import field_error_html
from tests.therapy.test_integrity import TRIES, _both_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def _saved_once(outcomes, model, **rows):
    saved = [o for o in outcomes if not isinstance(o, (ValidationError, Exception))]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert (len(saved), len(refused)) == (1, 1), outcomes
    assert model.objects.filter(**rows).count() == 1
    return refused[0]


def test_the_same_scan_saved_twice_at_once(require_postgres, clinic):
    for _ in range(TRIES):
        patient = factories.PatientFactory(clinic=clinic)

        def save(p=patient):
            return record_save(
                instance=DxaScan(patient=p, date=dt.date(2024, 2, 2), lumbar_spine_t_score=-2.5),
                actor=None,
            )

        refused = _saved_once(_both_at_once(save, save), DxaScan, patient=patient)
        assert refused.message_dict == {
            "date": ["A scan on this date is already recorded for this patient; edit it instead."]
        }


def test_the_same_fracture_saved_twice_at_once(require_postgres, clinic):
    for _ in range(TRIES):
        patient = factories.PatientFactory(clinic=clinic)

        def save(p=patient):
            return record_save(
                instance=Fracture(patient=p, date=dt.date(2020, 5, 1), site="hip"), actor=None
            )

        refused = _saved_once(_both_at_once(save, save), Fracture, patient=patient)
        assert list(refused.message_dict) == ["date"]


def test_the_same_lab_panel_saved_twice_at_once(require_postgres, clinic):
    for _ in range(TRIES):
        patient = factories.PatientFactory(clinic=clinic)

        def save(p=patient):
            return lab_panel_record(
                patient=p,
                date=dt.date(2024, 2, 2),
                entries=[LabEntry(test="ctx", value=0.3, unit="ng/mL")],
                actor=None,
            )

        refused = _saved_once(_both_at_once(save, save), LabResult, patient=patient)
        assert "ctx" in refused.message_dict or "__all__" in refused.message_dict


def test_a_scan_the_database_refuses_is_shown_beside_the_date(
    patient, clinician, client_for, monkeypatch
):
    """The race forced through the page: validation passes, the database's unique constraint
    refuses the second row; the page answers 400 with the message beside the date."""
    DxaScan.objects.create(patient=patient, date=dt.date(2024, 2, 2), lumbar_spine_t_score=-2.5)
    monkeypatch.setattr(DxaScan, "validate_constraints", lambda self, exclude=None: None)
    monkeypatch.setattr("patients.models.check_unique_beside_field", lambda instance: None)

    response = client_for(clinician).post(
        reverse("monitoring:dxa-create", args=[patient.pk]),
        {"date": "2024-02-02", "lumbar_spine_t_score": "-2.5"},
    )

    assert response.status_code == 400
    assert "already recorded" in field_error_html(response.content.decode(), "date")
    assert DxaScan.objects.filter(patient=patient).count() == 1
