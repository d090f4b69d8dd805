"""Patients who leave: deceased, transferred or discharged, audited; their reminders close at
once; reactivation clears the date. Who may change the status, and who may not."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Reminder, ReminderStatus
from patients.models import Patient, PatientStatus
from patients.services import patient_set_status

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def _reminder(patient, kind="NEXT_DOSE", **fields):
    return Reminder.objects.create(
        patient=patient, kind=kind, drug=fields.pop("drug", ""), due=dt.date(2026, 12, 1), **fields
    )


def _url(patient):
    return reverse("patients:status", args=[patient.pk])


def test_recording_a_death_resolves_every_active_reminder_with_that_reason(patient, clinician):
    open_one = _reminder(patient)
    snoozed = _reminder(
        patient, kind="DXA_FOLLOW_UP", status=ReminderStatus.SNOOZED, snoozed_until=NOW.date()
    )
    done = _reminder(patient, kind="MARKER_CHECK", status=ReminderStatus.DONE)

    resolved = patient_set_status(
        patient=patient,
        status="deceased",
        status_date=dt.date(2026, 11, 20),
        note="Died at home",
        actor=clinician,
        now=NOW,
    )

    assert resolved == 2
    for reminder in (open_one, snoozed):
        reminder.refresh_from_db()
        assert reminder.status == ReminderStatus.RESOLVED
        assert reminder.close_reason == "patient deceased"
        assert reminder.closed_at == NOW
        assert reminder.snoozed_until is None
        assert reminder.history.first().history_user == clinician
    done.refresh_from_db()
    assert done.status == ReminderStatus.DONE
    patient.refresh_from_db()
    assert (patient.status, patient.status_date, patient.status_note) == (
        "deceased",
        dt.date(2026, 11, 20),
        "Died at home",
    )


@pytest.mark.parametrize(
    ("status", "reason"),
    [("transferred", "patient transferred"), ("discharged", "patient discharged")],
)
def test_a_transfer_or_discharge_closes_reminders_with_its_own_reason(
    status, reason, patient, clinician
):
    reminder = _reminder(patient)

    patient_set_status(
        patient=patient, status=status, status_date=dt.date(2026, 10, 1), actor=clinician, now=NOW
    )

    reminder.refresh_from_db()
    assert reminder.close_reason == reason


def test_the_status_change_is_in_the_audit_trail_with_its_author(patient, clinician, client_for):
    patient_set_status(
        patient=patient,
        status="transferred",
        status_date=dt.date(2026, 10, 1),
        actor=clinician,
        now=NOW,
    )

    latest = Patient.history.filter(id=patient.pk).first()
    assert (latest.status, latest.history_user) == ("transferred", clinician)
    html = client_for(clinician).get(reverse("patients:detail", args=[patient.pk])).content
    assert "Transferred to another service" in html.decode()


@pytest.mark.parametrize(
    ("status_date", "message"),
    [
        (None, "Give the date of death."),
        (dt.date(1940, 1, 1), "before the patient's birth date"),
        (dt.date(2999, 1, 1), "must be between"),
    ],
    ids=["missing", "before-birth", "far-future"],
)
def test_a_death_needs_a_plausible_date(status_date, message, patient, clinician):
    reminder = _reminder(patient)

    with pytest.raises(Exception, match=message):
        patient_set_status(
            patient=patient, status="deceased", status_date=status_date, actor=clinician, now=NOW
        )

    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.OPEN
    assert Patient.objects.get(pk=patient.pk).status == "active"


def test_a_date_of_death_tomorrow_is_refused_beside_the_field(patient, clinician, client_for):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()

    response = client_for(clinician).post(
        _url(patient), {"status": "deceased", "status_date": tomorrow}
    )

    assert response.status_code == 400
    assert "in the future" in response.context["form"].errors["status_date"][0]
    assert f'value="{tomorrow}"' in response.content.decode()
    assert Patient.objects.get(pk=patient.pk).status == "active"


def test_reactivation_clears_the_date_and_keeps_closed_reminders_closed(patient, clinician):
    reminder = _reminder(patient)
    patient_set_status(
        patient=patient,
        status="discharged",
        status_date=dt.date(2026, 9, 1),
        actor=clinician,
        now=NOW,
    )

    resolved = patient_set_status(
        patient=patient, status="active", status_date=dt.date(2026, 9, 1), actor=clinician, now=NOW
    )

    patient.refresh_from_db()
    assert resolved == 0
    assert (patient.status, patient.status_date) == ("active", None)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.RESOLVED


def test_a_clinician_records_a_death_through_the_page(patient, clinician, client_for):
    _reminder(patient)
    client = client_for(clinician)

    response = client.post(
        _url(patient), {"status": "deceased", "status_date": "2026-11-20", "status_note": ""}
    )

    assert response.status_code == 302
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Deceased 2026-11-20" in page
    assert "No reminders are generated for this patient" in page
    assert not Reminder.objects.filter(patient=patient, status="open").exists()


@pytest.mark.parametrize("role", ["nurse", "clinic_admin"])
def test_a_nurse_or_clinic_admin_cannot_change_the_status(role, patient, request, client_for):
    reminder = _reminder(patient)
    client = client_for(request.getfixturevalue(role))

    assert client.get(_url(patient)).status_code == 403
    response = client.post(_url(patient), {"status": "deceased", "status_date": "2026-11-20"})

    assert response.status_code == 403
    assert Patient.objects.get(pk=patient.pk).status == PatientStatus.ACTIVE
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.OPEN


def test_a_clinician_of_another_clinic_gets_404(patient, outsider, client_for):
    client = client_for(outsider)

    assert client.get(_url(patient)).status_code == 404
    assert (
        client.post(_url(patient), {"status": "deceased", "status_date": "2026-11-20"}).status_code
        == 404
    )
    assert Patient.objects.get(pk=patient.pk).status == PatientStatus.ACTIVE


def test_an_active_patient_shows_no_status_badge(patient, clinician, client_for):
    page = client_for(clinician).get(reverse("patients:detail", args=[patient.pk])).content

    assert b'data-testid="patient-status"' not in page


@pytest.mark.parametrize("role", ["nurse", "clinic_admin"])
def test_the_patient_page_offers_the_status_change_to_clinicians_only(
    role, patient, clinician, request, client_for
):
    link = reverse("patients:status", args=[patient.pk])
    detail = reverse("patients:detail", args=[patient.pk])

    assert link in client_for(clinician).get(detail).content.decode()
    assert link not in client_for(request.getfixturevalue(role)).get(detail).content.decode()
