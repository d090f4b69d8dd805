"""A clinician's day: alerts first, then a patient's recommendation, then a decision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.scan import reminders_scan
from tests.e2e.conftest import check_accessibility, screenshot
from therapy.case_records import patient_import_case
from therapy.engine import parse_case

CASES = Path(__file__).resolve().parents[1] / "cases"


def _import(clinic, name: str, mrn: str, patient_name: str):
    data = json.loads((CASES / name).read_text())["case"]
    data["patient"].update(name=patient_name, mrn=mrn)
    return patient_import_case(clinic=clinic, case=parse_case(data))


@pytest.fixture
def stopped_denosumab(demo_clinic):
    clinic, _ = demo_clinic
    patient = _import(clinic, "v09_denosumab_stopped_no_follow_on.json", "H-0009", "Ruth Okafor")
    reminders_scan(as_of=timezone.localdate(), now=timezone.now())  # last night's scan
    return patient


def test_clinician_reads_the_recommendation_and_records_the_second_option(
    page_for, demo_clinic, stopped_denosumab
):
    _, people = demo_clinic
    page = page_for(people["clinician"])

    main = page.get_by_role("main")
    expect(main).to_contain_text("Denosumab stopped without follow-on")
    main.get_by_role("link", name="Ruth Okafor").first.click()
    expect(page.get_by_role("heading", name="Ruth Okafor")).to_be_visible()

    critical = page.get_by_role("alert").filter(has_text="Denosumab stopped without follow-on")
    expect(critical).to_be_visible()
    options = page.get_by_test_id("options").get_by_role("listitem")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text("Zoledronic acid")
    expect(options.nth(1)).to_contain_text("Alendronate")
    page.get_by_text("Why: drugs to avoid, advice and the rules that fired").click()
    expect(page.get_by_test_id("rationale")).to_contain_text("ALR-3")
    monitoring = page.get_by_test_id("monitoring")
    expect(monitoring).to_contain_text("Start of the follow-on drug")
    assert check_accessibility(page) == []
    screenshot(page, "clinician-patient")

    page.get_by_role("link", name="Record decision").click()
    page.get_by_label("2. Alendronate (antiresorptive)").check()
    page.get_by_label("Reason").fill("Prefers tablets; no infusion chair until January")
    start = page.get_by_label("Start the course")
    expect(start).not_to_be_checked()  # nothing that starts a course is ticked in advance
    start.check()
    assert check_accessibility(page) == []
    screenshot(page, "clinician-decision")
    page.get_by_role("button", name="Record decision").click()

    expect(page.get_by_role("status").filter(has_text="Decision recorded")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="Denosumab stopped")).to_have_count(0)
    expect(page.get_by_test_id("monitoring")).not_to_contain_text("Start of the follow-on drug")
    decisions = page.locator("#decisions")
    expect(decisions).to_contain_text("Alendronate (option 2)")
    expect(decisions).to_contain_text("Prefers tablets")


def test_another_clinics_clinician_gets_a_404_page_for_the_same_patient(
    page_for, demo_clinic, stopped_denosumab, watch
):
    _, people = demo_clinic
    watch.expected.append("status of 404")
    page = page_for(people["outsider"])
    response = page.goto(f"/patients/{stopped_denosumab.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert "Ruth Okafor" not in page.content()


def test_an_idle_session_is_sent_to_the_login_page(
    page_for, demo_clinic, settings, stopped_denosumab
):
    _, people = demo_clinic
    page = page_for(people["clinician"])
    # The session's expiry is in the cookie and the database row; make it lapse now.
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    Session.objects.update(expire_date=timezone.now())
    page.goto(f"/patients/{stopped_denosumab.pk}/")
    expect(page).to_have_url(f"/accounts/login/?next=/patients/{stopped_denosumab.pk}/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
