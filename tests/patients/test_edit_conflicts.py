"""Optimistic concurrency on every edit form (issue 11, M3): a form opened on a row carries the
row's version; saving it after someone else changed the row is refused with what they changed,
nothing is overwritten, the form keeps what was typed, and saving again keeps it."""

from __future__ import annotations

import datetime as dt
import inspect
import re

import pytest
from django import forms
from django.urls import reverse

from monitoring import forms as monitoring_forms
from monitoring.models import DxaScan, LabResult, Reassessment
from patients import forms as patient_forms
from patients import intake_forms
from patients.models import (
    CardiovascularEvent,
    Fracture,
    GlucocorticoidExposure,
    Immunosuppressant,
    Patient,
)
from patients.services import record_save
from patients.versions import VERSION_FIELD, EditConflict, VersionedForm, version_of
from tests import factories
from tests.patients.conftest import input_tag
from therapy import forms as therapy_forms
from therapy.models import Dose, TherapyCourse


def _token(html: str) -> str:
    tag = input_tag(html, VERSION_FIELD)
    assert 'type="hidden"' in tag
    return re.search(r'value="([^"]*)"', tag).group(1)


def _posted(form: forms.BaseForm) -> dict[str, str]:
    """What the browser posts for an unchanged form: each field's initial value as text."""
    data = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif value is None:
            data[name] = ""
        elif isinstance(value, dt.date):
            data[name] = value.isoformat()
        else:
            data[name] = str(value)
    return data


def _someone_else_saves(row, user, **changes):
    for name, value in changes.items():
        setattr(row, name, value)
    record_save(instance=row, actor=user)


# --- the lost update, refused ------------------------------------------------------------------


def test_demographics_changed_meanwhile_are_not_overwritten(patient, clinician, client_for):
    patient.family_name, patient.given_name = "Okafor", "Ada"
    record_save(instance=patient, actor=clinician)
    client = client_for(clinician)
    url = reverse("patients:edit", args=[patient.pk])
    opened = _token(client.get(url).content.decode())
    other = factories.UserFactory(username="colleague")
    _someone_else_saves(Patient.objects.get(pk=patient.pk), other, family_name="Okafor-Smith")

    mine = {
        "mrn": patient.mrn,
        "given_name": "Ada",
        "family_name": "Okafor",
        "birth_date": "1950-04-02",  # my correction of the birth date
        "sex": patient.sex,
        VERSION_FIELD: opened,
    }
    response = client.post(url, mine)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Someone else changed this record by colleague" in html
    assert "Family name: Okafor → Okafor-Smith" in html
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.family_name, stored.birth_date) == ("Okafor-Smith", dt.date(1948, 4, 2))
    assert 'value="1950-04-02"' in input_tag(html, "birth_date")  # what I typed is kept
    refreshed = _token(html)
    assert refreshed == version_of(stored) != opened

    # Saving again, knowingly, keeps my entries.
    again = client.post(url, {**mine, VERSION_FIELD: refreshed})
    assert again.status_code == 302
    stored.refresh_from_db()
    assert (stored.family_name, stored.birth_date) == ("Okafor", dt.date(1950, 4, 2))


def test_a_t_score_correction_over_a_changed_scan_is_refused(patient, clinician, client_for):
    scan = record_save(
        instance=DxaScan(patient=patient, date=dt.date(2024, 2, 2), lumbar_spine_t_score=-2.5),
        actor=clinician,
    )
    client = client_for(clinician)
    url = reverse("monitoring:dxa-update", args=[patient.pk, scan.pk])
    page = client.get(url)
    opened = _token(page.content.decode())
    data = _posted(page.context["form"])
    _someone_else_saves(DxaScan.objects.get(pk=scan.pk), clinician, lumbar_spine_t_score=-2.8)

    response = client.post(url, {**data, "lumbar_spine_t_score": "-3.1", VERSION_FIELD: opened})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Lumbar spine T-score: -2.5 → -2.8" in html
    assert DxaScan.objects.get(pk=scan.pk).lumbar_spine_t_score == -2.8
    assert 'value="-3.1"' in input_tag(html, "lumbar_spine_t_score")


def test_risk_factors_changed_meanwhile_are_not_overwritten(patient, clinician, client_for):
    client = client_for(clinician)
    url = reverse("patients:risk-factors", args=[patient.pk])
    page = client.get(url)
    opened = _token(page.content.decode())
    data = _posted(page.context["form"])
    profile = patient.risk_profile
    _someone_else_saves(profile, clinician, is_current_smoker=True)

    response = client.post(url, {**data, "has_high_fall_risk": "on", VERSION_FIELD: opened})

    assert response.status_code == 400
    assert "Current smoker: no → yes" in response.content.decode()
    profile.refresh_from_db()
    assert (profile.is_current_smoker, profile.has_high_fall_risk) == (True, False)


def test_a_form_opened_on_the_current_version_saves(patient, clinician, client_for):
    client = client_for(clinician)
    url = reverse("patients:risk-factors", args=[patient.pk])
    page = client.get(url)
    data = {**_posted(page.context["form"]), "has_high_fall_risk": "on"}

    assert client.post(url, data).status_code == 302
    patient.risk_profile.refresh_from_db()
    assert patient.risk_profile.has_high_fall_risk is True


def test_the_service_refuses_a_stale_version_without_a_form(patient, clinician):
    """The check is in the write path, under the row's lock: any caller that says which
    version it read is refused the same way."""
    fracture = record_save(
        instance=Fracture(patient=patient, date=dt.date(2020, 1, 1), site="hip"),
        actor=clinician,
    )
    stale = version_of(fracture)
    _someone_else_saves(Fracture.objects.get(pk=fracture.pk), clinician, site="wrist")
    fracture._expected_version = stale
    fracture.site = "spine"

    with pytest.raises(EditConflict) as refused:
        record_save(instance=fracture, actor=clinician)

    assert "Site: hip → wrist" in refused.value.messages[0]
    assert Fracture.objects.get(pk=fracture.pk).site == "wrist"


# --- every edit form carries the token ---------------------------------------------------------

#: Forms that only ever create rows (the history intake adds new fractures and courses).
CREATE_ONLY = {intake_forms.FractureRowForm, intake_forms.CourseRowForm}


def _model_forms():
    for module in (patient_forms, monitoring_forms, therapy_forms, intake_forms):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, forms.ModelForm)
                and cls.__module__ == module.__name__
                and getattr(cls._meta, "model", None) is not None
            ):
                yield cls


def test_every_model_form_editing_a_row_is_versioned():
    found = list(_model_forms())
    assert len(found) >= 12
    unversioned = [
        cls.__name__
        for cls in found
        if cls not in CREATE_ONLY and not issubclass(cls, VersionedForm)
    ]
    assert unversioned == []
    assert issubclass(monitoring_forms.LabValueForm, VersionedForm)  # a plain form on one row


def _edit_pages(patient, user):
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2024, 1, 1)
    )
    rows = {
        "patients:edit": (patient, [patient.pk]),
        "patients:contact": (patient, [patient.pk]),
        "patients:risk-factors": (patient.risk_profile, [patient.pk]),
    }
    for slug, row in [
        ("therapy:course", course),
        ("therapy:dose", Dose.objects.create(course=course, date=dt.date(2024, 1, 1))),
        (
            "patients:fracture",
            Fracture.objects.create(patient=patient, date=dt.date(2020, 1, 1), site="hip"),
        ),
        (
            "patients:cardiovascular-event",
            CardiovascularEvent.objects.create(
                patient=patient, kind="stroke", date=dt.date(2019, 1, 1)
            ),
        ),
        (
            "patients:glucocorticoid",
            GlucocorticoidExposure.objects.create(
                patient=patient, prednisone_mg_per_day=5, start=dt.date(2018, 1, 1)
            ),
        ),
        (
            "patients:immunosuppressant",
            Immunosuppressant.objects.create(patient=patient, name="Tacrolimus"),
        ),
        (
            "monitoring:dxa",
            DxaScan.objects.create(
                patient=patient, date=dt.date(2024, 2, 2), lumbar_spine_t_score=-2.5
            ),
        ),
        (
            "monitoring:lab",
            LabResult.objects.create(
                patient=patient, date=dt.date(2024, 2, 2), test="ctx", value=0.3, unit="ng/mL"
            ),
        ),
        (
            "monitoring:reassessment",
            Reassessment.objects.create(patient=patient, date=dt.date(2024, 3, 1), note="Seen"),
        ),
    ]:
        rows[f"{slug}-update"] = (row, [patient.pk, row.pk])
    return rows


def test_every_edit_page_sends_the_rows_version(patient, clinician, client_for):
    client = client_for(clinician)
    pages = _edit_pages(patient, clinician)
    assert len(pages) == 12

    for name, (row, args) in pages.items():
        response = client.get(reverse(name, args=args))
        assert response.status_code == 200, name
        assert _token(response.content.decode()) == version_of(row), name
