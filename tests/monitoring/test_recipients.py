"""Who may receive a clinic's critical e-mails (issue 11, M8): its active staff (their account's
address) or addresses in OSSA_ALLOWED_EMAIL_DOMAINS; any other is refused beside the field and
nothing is saved. Every change of the clinic's settings is in its history, with its author."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from monitoring.reminder_settings import clinic_reminder_settings_update
from patients.email_domains import allowed_email_domains
from patients.models import Clinic


def _save(client, clinic, emails):
    return client.post(
        reverse("reminders:settings", args=[clinic.slug]),
        {
            "reminder_lead_days": 30,
            "done_hold_days": 14,
            "notification_emails": emails,
            "save_settings": "1",
        },
    )


@pytest.fixture
def staff_addresses(clinician, nurse):
    clinician.email, nurse.email = "Doc@Hillside.example", "nurse@hillside.example"
    clinician.save()
    nurse.save()


def test_an_outside_address_is_refused_beside_the_field_and_nothing_is_saved(
    clinic, clinic_admin, client_for, staff_addresses
):
    # M8's probe: an admin added their own outside mailbox to the critical e-mails.
    response = _save(client_for(clinic_admin), clinic, "doc@hillside.example, leak@mail.example")

    html = response.content.decode()
    assert response.status_code == 400
    start = html.index('id="id_notification_emails_error"')
    assert "leak@mail.example" in html[start : start + 400]
    assert "doc@hillside.example" not in html[start : start + 400]
    clinic.refresh_from_db()
    assert clinic.notification_emails == ""
    assert response.context["settings_form"]["notification_emails"].value() == (
        "doc@hillside.example, leak@mail.example"
    )


def test_the_clinics_active_staff_are_accepted_whatever_the_case(
    clinic, clinic_admin, client_for, staff_addresses
):
    response = _save(
        client_for(clinic_admin), clinic, "DOC@hillside.example, nurse@hillside.example"
    )

    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.notification_emails == "DOC@hillside.example, nurse@hillside.example"


def test_a_deactivated_colleague_or_another_clinics_member_is_refused(
    clinic, clinic_admin, nurse, outsider, staff_addresses
):
    outsider.email = "out@riverside.example"
    outsider.save()
    nurse.is_active = False
    nurse.save()

    for address in ("nurse@hillside.example", "out@riverside.example"):
        with pytest.raises(ValidationError) as refusal:
            clinic_reminder_settings_update(
                clinic=clinic, lead_days=30, notification_emails=address, actor=clinic_admin
            )
        assert address in str(refusal.value.message_dict["notification_emails"])


def test_an_address_in_an_allowed_domain_is_accepted(clinic, clinic_admin, client_for, monkeypatch):
    monkeypatch.setenv("OSSA_ALLOWED_EMAIL_DOMAINS", " hospital.example , @Trust.example ")

    response = _save(
        client_for(clinic_admin), clinic, "bone-team@hospital.example, x@TRUST.example"
    )

    assert response.status_code == 302
    assert allowed_email_domains() == {"hospital.example", "trust.example"}


def test_a_subdomain_of_an_allowed_domain_is_not_allowed(clinic, clinic_admin, monkeypatch):
    monkeypatch.setenv("OSSA_ALLOWED_EMAIL_DOMAINS", "hospital.example")

    with pytest.raises(ValidationError):
        clinic_reminder_settings_update(
            clinic=clinic,
            lead_days=30,
            notification_emails="a@evil.hospital.example",
            actor=clinic_admin,
        )


def test_a_settings_change_is_in_the_clinics_history_with_its_author(
    clinic, clinic_admin, client_for, staff_addresses
):
    _save(client_for(clinic_admin), clinic, "doc@hillside.example")

    latest = Clinic.history.filter(id=clinic.pk).latest("history_date")
    assert (latest.notification_emails, latest.history_user) == (
        "doc@hillside.example",
        clinic_admin,
    )
    assert Clinic.history.filter(id=clinic.pk).count() == 2  # created, then changed
