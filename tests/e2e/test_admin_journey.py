"""A clinic admin's day: the reminder worklist, overdue first."""

from __future__ import annotations

import datetime as dt
import json
import re
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
PATIENTS = [
    ("v08_denosumab_overdue.json", "H-0008", "Maria Castillo"),
    ("v09_denosumab_stopped_no_follow_on.json", "H-0009", "Ruth Okafor"),
    ("v10_teriparatide_finished_no_antiresorptive.json", "H-0010", "Helen Hughes"),
    ("v13_severe_ckd.json", "H-0013", "Joan Bergström"),
]


@pytest.fixture
def worklist(demo_clinic):
    clinic, _ = demo_clinic
    patients = []
    for name, mrn, patient_name in PATIENTS:
        data = json.loads((CASES / name).read_text())["case"]
        data["patient"].update(name=patient_name, mrn=mrn)
        patients.append(patient_import_case(clinic=clinic, case=parse_case(data)))
    reminders_scan(as_of=timezone.localdate(), now=timezone.now())
    return patients


def _status_count(page, label: str) -> int:
    link = page.get_by_role("navigation", name="Reminders by status").get_by_role(
        "link", name=re.compile(rf"^{label} ")
    )
    return int(link.locator(".badge").inner_text())


def test_admin_filters_overdue_assigns_snoozes_and_dismisses(page_for, demo_clinic, worklist):
    _, people = demo_clinic
    today = timezone.localdate()
    page = page_for(people["clinicadmin"])
    assert check_accessibility(page) == []
    screenshot(page, "admin-dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reminders").click()
    expect(page.get_by_role("heading", name="Reminders", exact=True)).to_be_visible()
    open_before = _status_count(page, "Open")
    assert open_before >= 3

    page.get_by_label("Due to").fill((today - dt.timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    expect(rows.first).to_contain_text("Overdue")
    overdue = rows.count()
    assert overdue >= 3
    assert check_accessibility(page) == []
    screenshot(page, "admin-worklist")

    first, second, third = rows.nth(0), rows.nth(1), rows.nth(2)
    third_id = third.get_attribute("id")
    first.locator("summary").click()
    first.get_by_label("Assign to").select_option(label="Clara Clinician (clinician)")
    first.get_by_role("button", name="Assign").click()
    expect(page.locator(f"#{first.get_attribute('id')}")).to_contain_text("Clara Clinician")

    second.locator("summary").click()
    second.get_by_label("Snooze until").fill((today + dt.timedelta(days=14)).isoformat())
    second.get_by_role("button", name="Snooze").click()
    expect(page.locator(f"#{second.get_attribute('id')}")).to_contain_text("Snoozed")

    page.locator(f"#{third_id}").locator("summary").click()
    page.locator(f"#{third_id}").get_by_role("link", name="Dismiss…").click()
    page.get_by_label("Reason for dismissing").fill("Patient moved to another hospital")
    page.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_text("Patient moved to another hospital", exact=True)).to_be_visible()

    page.goto("/reminders/?assignee=anyone")  # the reminder assigned to Clara included
    assert _status_count(page, "Open") == open_before - 2
    assert _status_count(page, "Snoozed") == 1
    assert _status_count(page, "Dismissed") == 1
    assert Reminder.objects.filter(status=ReminderStatus.DISMISSED).get().close_reason


def test_a_clinic_admin_cannot_open_a_clinical_form(page_for, demo_clinic, worklist, watch):
    _, people = demo_clinic
    watch.expected.append("status of 403")
    page = page_for(people["clinicadmin"])
    response = page.goto(f"/patients/{worklist[0].pk}/dxa/add/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
