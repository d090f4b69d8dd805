"""Patients who leave, and reaching those who stay: a clinician records a death on the patient
page, and the clinic admin's worklist and the default patient list no longer show the patient;
a clinic admin records contact details and the GP, whom the clinician's letter then addresses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.models import Reminder, ReminderStatus
from monitoring.scan import reminders_scan
from tests.e2e.conftest import check_accessibility, screenshot
from therapy.case_records import patient_import_case
from therapy.engine import parse_case

CASES = Path(__file__).resolve().parents[1] / "cases"


@pytest.fixture
def two_patients(demo_clinic):
    """Two patients with open reminders: the one who dies, and one who stays."""
    clinic, _ = demo_clinic
    imported = []
    for name, mrn, patient_name in [
        ("v08_denosumab_overdue.json", "H-0008", "Maria Castillo"),
        ("v09_denosumab_stopped_no_follow_on.json", "H-0009", "Ruth Okafor"),
    ]:
        data = json.loads((CASES / name).read_text())["case"]
        data["patient"].update(name=patient_name, mrn=mrn)
        imported.append(patient_import_case(clinic=clinic, case=parse_case(data)))
    reminders_scan(as_of=timezone.localdate(), now=timezone.now())
    for patient in imported:
        assert Reminder.objects.filter(patient=patient, status=ReminderStatus.OPEN).exists()
    return imported


def test_a_deceased_patient_disappears_from_the_worklist_and_the_patient_list(
    page_for, demo_clinic, two_patients
):
    _, people = demo_clinic
    dying, staying = two_patients
    day = timezone.localdate().isoformat()

    admin = page_for(people["clinicadmin"])
    admin.goto("/reminders/")
    worklist = admin.locator("main")
    expect(worklist).to_contain_text("Maria Castillo")
    expect(worklist).to_contain_text("Ruth Okafor")

    clinician = page_for(people["clinician"])
    clinician.goto(f"/patients/{dying.pk}/")
    clinician.get_by_role("link", name="Deceased, transferred or discharged…").click()
    assert check_accessibility(clinician) == []
    clinician.get_by_label("Status").select_option("deceased")
    clinician.get_by_label("Date").fill(day)
    clinician.get_by_label("Note").fill("Died at home")
    clinician.get_by_role("button", name="Save").click()

    expect(clinician.get_by_test_id("patient-status")).to_have_text(f"Deceased {day}")
    expect(clinician.get_by_test_id("status-notice")).to_contain_text(
        "No reminders are generated for this patient"
    )
    assert check_accessibility(clinician) == []
    screenshot(clinician, "patient-deceased")

    admin.reload()
    expect(worklist).to_contain_text("Ruth Okafor")
    expect(worklist).not_to_contain_text("Maria Castillo")

    clinician.goto("/patients/")
    listing = clinician.locator("main table")
    expect(listing).to_contain_text("Ruth Okafor")
    expect(listing).not_to_contain_text("Maria Castillo")
    clinician.get_by_label("Status").select_option("deceased")
    clinician.get_by_role("button", name="Search").click()
    expect(clinician.locator("main table")).to_contain_text("Maria Castillo")
    expect(clinician.locator("main table")).to_contain_text(f"Deceased {day}")
    assert not Reminder.objects.filter(
        patient=dying, status__in=[ReminderStatus.OPEN, ReminderStatus.SNOOZED]
    ).exists()


def test_a_clinic_admin_records_contact_details_and_the_gp_that_the_letter_then_addresses(
    page_for, demo_clinic, two_patients
):
    _, people = demo_clinic
    patient = two_patients[0]

    admin = page_for(people["clinicadmin"])
    admin.goto(f"/patients/{patient.pk}/")
    admin.get_by_role("link", name="Edit contact and GP").click()
    assert check_accessibility(admin) == []
    admin.get_by_label("Telephone").fill("01234 567001")
    admin.get_by_label("Postal address").fill("3 Mill Lane\nHillside HS1 3AB")
    admin.get_by_label("Preferred contact").select_option("phone")
    admin.get_by_label("GP's name").fill("Dr Amira Haddad")
    admin.get_by_label("GP practice").fill("Mill Lane Surgery")
    admin.get_by_role("button", name="Save").click()

    details = admin.get_by_test_id("contact-details")
    expect(details).to_contain_text("01234 567001")
    expect(details).to_contain_text("Dr Amira Haddad, Mill Lane Surgery")

    clinician = page_for(people["clinician"])
    clinician.goto(f"/patients/{patient.pk}/letter/")
    expect(clinician.get_by_test_id("letter-to")).to_contain_text("Dr Amira Haddad")
    expect(clinician.locator("article")).to_contain_text("Dear Dr Amira Haddad,")
