"""The access log (issue 11, M7): every page of a patient opened by a clinician or a nurse, and
every export, is written once — user, time, patient, clinic, page. The clinic's clinicians read
it per patient; a superuser reads all of it in the Django admin."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from monitoring.models import Reminder
from patients.models import AccessLogEntry
from tests import factories

#: Pages of one patient that show its clinical record (GET), by the roles that open them.
CLINICAL_PAGES = [
    ("patients:detail", "clinician"),
    ("patients:detail", "nurse"),
    ("patients:summary", "nurse"),
    ("patients:letter", "clinician"),
    ("patients:risk-factors", "clinician"),
    ("patients:intake", "clinician"),
    ("monitoring:dxa-create", "nurse"),
    ("therapy:course-create", "clinician"),
]


@pytest.mark.parametrize(("name", "role"), CLINICAL_PAGES)
def test_a_clinical_page_writes_one_row_naming_user_patient_clinic_and_page(
    name, role, request, clinic, patient, client_for
):
    user = request.getfixturevalue(role)

    response = client_for(user).get(reverse(name, args=[patient.pk]))

    assert response.status_code == 200
    entry = AccessLogEntry.objects.get()
    assert (entry.user, entry.patient, entry.clinic, entry.route) == (user, patient, clinic, name)
    assert entry.patient_ref == f"{patient.pk} · {patient.mrn}"


def test_the_pdf_of_the_summary_is_logged_as_its_own_page(patient, clinician, client_for):
    client_for(clinician).get(reverse("patients:summary-pdf", args=[patient.pk]))

    assert list(AccessLogEntry.objects.values_list("route", flat=True)) == ["patients:summary-pdf"]


def test_a_clinic_admin_reading_demographics_is_not_logged(patient, clinic_admin, client_for):
    response = client_for(clinic_admin).get(reverse("patients:detail", args=[patient.pk]))

    assert response.status_code == 200
    assert not AccessLogEntry.objects.exists()


@pytest.mark.parametrize(
    ("role", "name", "status"),
    [
        ("nurse", "patients:letter", 403),
        ("clinic_admin", "patients:summary", 403),
        ("outsider", "patients:detail", 404),
    ],
)
def test_a_refused_page_writes_nothing(role, name, status, request, patient, client_for):
    response = client_for(request.getfixturevalue(role)).get(reverse(name, args=[patient.pk]))

    assert response.status_code == status
    assert not AccessLogEntry.objects.exists()


def test_the_worklist_export_logs_each_patient_it_holds_once(clinic, nurse, client_for):
    patients = [factories.PatientFactory(clinic=clinic) for _ in range(3)]
    for p in patients:
        for kind in ("NEXT_DOSE", "DXA_FOLLOW_UP"):
            Reminder.objects.create(patient=p, kind=kind, due="2026-01-01")

    response = client_for(nurse).get(reverse("reminders:export"), {"assignee": "anyone"})
    b"".join(response.streaming_content)

    rows = AccessLogEntry.objects.all()
    assert sorted(e.patient_id for e in rows) == sorted(p.pk for p in patients)
    assert {(e.user, e.route) for e in rows} == {(nurse, "reminders:export")}


def test_export_case_is_logged_as_the_servers(patient):
    call_command("export_case", str(patient.pk), stdout=io.StringIO())

    entry = AccessLogEntry.objects.get()
    assert (entry.user, entry.patient, entry.route) == (None, patient, "export_case")


def test_the_log_outlives_the_patient(patient, clinician, client_for):
    client_for(clinician).get(reverse("patients:detail", args=[patient.pk]))
    ref = f"{patient.pk} · {patient.mrn}"

    patient.delete()

    entry = AccessLogEntry.objects.get()
    assert (entry.patient, entry.patient_ref) == (None, ref)


# --- reading it -----------------------------------------------------------------------------


def test_a_clinician_reads_who_opened_the_record(clinic, patient, nurse, clinician, client_for):
    other = factories.PatientFactory(clinic=clinic)
    client_for(nurse).get(reverse("patients:detail", args=[patient.pk]))
    client_for(nurse).get(reverse("patients:detail", args=[other.pk]))
    client = client_for(clinician)

    detail = client.get(reverse("patients:detail", args=[patient.pk]))
    page = client.get(reverse("patients:access-log", args=[patient.pk]))

    assert reverse("patients:access-log", args=[patient.pk]) in detail.content.decode()
    shown = [(e.user.username, e.route) for e in page.context["page"].object_list]
    # newest first; reading the log is itself a page of the patient, and is logged
    assert shown == [
        ("clinician", "patients:access-log"),
        ("clinician", "patients:detail"),
        ("nurse", "patients:detail"),
    ]


@pytest.mark.parametrize(("role", "status"), [("nurse", 403), ("clinic_admin", 403)])
def test_a_nurse_or_an_admin_cannot_read_the_log(role, status, request, patient, client_for):
    client = client_for(request.getfixturevalue(role))

    assert client.get(reverse("patients:access-log", args=[patient.pk])).status_code == status
    assert (
        "Who opened this record"
        not in client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    )


def test_a_clinician_of_another_clinic_cannot_read_the_log(patient, outsider, client_for):
    response = client_for(outsider).get(reverse("patients:access-log", args=[patient.pk]))

    assert response.status_code == 404


def test_a_superuser_reads_all_of_it_in_the_admin_and_cannot_change_it(
    patient, other_clinic, clinician, client_for
):
    client_for(clinician).get(reverse("patients:detail", args=[patient.pk]))
    root = factories.UserFactory(username="root", is_superuser=True, is_staff=True)
    client = client_for(root)
    entry = AccessLogEntry.objects.get()

    listed = client.get(reverse("admin:patients_accesslogentry_changelist"))
    changed = client.post(
        reverse("admin:patients_accesslogentry_change", args=[entry.pk]), {"route": "forged"}
    )

    assert listed.status_code == 200
    assert entry.patient_ref in listed.content.decode()
    assert changed.status_code == 403
    assert AccessLogEntry.objects.get().route == "patients:detail"


@pytest.mark.parametrize("entries", [3, 60])
def test_the_log_page_costs_the_same_queries_for_3_or_60_entries(
    entries, patient, clinician, nurse, client_for, django_assert_num_queries
):
    for _ in range(entries):
        AccessLogEntry.objects.create(
            user=nurse, clinic=patient.clinic, patient=patient, patient_ref="x", route="r"
        )
    client = client_for(clinician)

    # session, user, patient + role, the access-log row of this read, count, the page of
    # entries with their users, the navigation's memberships; the session is not stored again
    with django_assert_num_queries(7):
        response = client.get(reverse("patients:access-log", args=[patient.pk]))

    assert response.status_code == 200
