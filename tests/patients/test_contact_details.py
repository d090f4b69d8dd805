"""Contact details and GP: demographics that clinicians and clinic admins see and edit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patients.models import Patient

CONTACT = {
    "phone": "+44 20 7946 0321",
    "email": "ann@example.org",
    "address": "12 Mill Lane\nHillside HS1 2AB",
    "preferred_contact": "phone",
    "gp_name": "Dr Priya Shah",
    "gp_practice": "Mill Lane Surgery",
}


def _url(patient):
    return reverse("patients:contact", args=[patient.pk])


@pytest.mark.parametrize("role", ["clinician", "clinic_admin"])
def test_a_clinician_or_clinic_admin_edits_contact_details_and_sees_them(
    role, patient, request, client_for
):
    client = client_for(request.getfixturevalue(role))

    assert client.get(_url(patient)).status_code == 200
    response = client.post(_url(patient), CONTACT)

    assert response.status_code == 302
    stored = Patient.objects.get(pk=patient.pk)
    assert {field: getattr(stored, field) for field in CONTACT} == CONTACT
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Dr Priya Shah, Mill Lane Surgery" in page
    assert "12 Mill Lane<br>Hillside HS1 2AB" in page
    assert "Edit contact and GP" in page


def test_the_contact_edit_is_audited(patient, clinic_admin, client_for):
    client_for(clinic_admin).post(_url(patient), CONTACT)

    latest = Patient.history.filter(id=patient.pk).first()
    assert (latest.gp_name, latest.history_user) == ("Dr Priya Shah", clinic_admin)


def test_a_nurse_sees_contact_details_but_cannot_edit_them(patient, nurse, client_for):
    Patient.objects.filter(pk=patient.pk).update(phone="0123 456")
    client = client_for(nurse)

    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "0123 456" in page
    assert "Edit contact and GP" not in page
    assert client.get(_url(patient)).status_code == 403
    assert client.post(_url(patient), CONTACT).status_code == 403
    assert Patient.objects.get(pk=patient.pk).gp_name == ""


def test_another_clinics_user_gets_404(patient, outsider, client_for):
    assert client_for(outsider).post(_url(patient), CONTACT).status_code == 404
    assert Patient.objects.get(pk=patient.pk).gp_name == ""


def test_a_bad_email_is_refused_beside_the_field_and_the_input_kept(
    patient, clinic_admin, client_for
):
    response = client_for(clinic_admin).post(_url(patient), {**CONTACT, "email": "not-an-address"})

    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    assert 'value="not-an-address"' in response.content.decode()
    assert Patient.objects.get(pk=patient.pk).email == ""
