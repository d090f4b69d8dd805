"""A nurse's day: find a patient by MRN, log a DXA scan with the keyboard, record an injection."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.models import DxaScan
from tests.e2e.conftest import check_accessibility, screenshot
from therapy.case_records import patient_import_case
from therapy.engine import parse_case
from therapy.models import Dose

CASES = Path(__file__).resolve().parents[1] / "cases"


@pytest.fixture
def on_denosumab(demo_clinic):
    clinic, _ = demo_clinic
    data = json.loads((CASES / "v08_denosumab_overdue.json").read_text())["case"]
    data["patient"].update(name="Maria Castillo", mrn="H-0808")
    patient = patient_import_case(clinic=clinic, case=parse_case(data))
    DxaScan.objects.create(
        patient=patient,
        date=timezone.localdate() - dt.timedelta(days=400),
        scanner="Hologic A",
        lumbar_spine_bmd_g_cm2=0.800,
        lumbar_spine_t_score=-2.5,
    )
    return patient


def test_nurse_logs_a_scan_by_keyboard_and_records_a_denosumab_injection(
    page_for, demo_clinic, on_denosumab
):
    _, people = demo_clinic
    today = timezone.localdate()
    page = page_for(people["nurse"])

    page.get_by_role("link", name="Patients").first.click()
    page.get_by_label("Name or MRN").fill("H-0808")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Maria Castillo").click()
    page.get_by_role("link", name="Log DXA scan").first.click()

    assert check_accessibility(page) == []
    page.get_by_label("Date").focus()
    # Keyboard only from here: the date field has the focus, Tab walks the form, Enter saves.
    expect(page.get_by_label("Date")).to_be_focused()
    date = page.get_by_label("Date")
    date.fill(today.isoformat())  # typed into the native date input, no pointer involved
    for _ in range(4):  # Tab walks the date's day/month/year parts, then leaves the field
        if page.evaluate("document.activeElement.id") == "id_scanner":
            break
        page.keyboard.press("Tab")
    expect(page.get_by_label("Scanner")).to_be_focused()
    page.keyboard.type("Hologic A")
    page.keyboard.press("Tab")
    page.keyboard.type("0.740")  # lumbar spine BMD: −7.5 % against a 5.3 % LSC
    page.keyboard.press("Tab")
    page.keyboard.type("-3.0")  # lumbar spine T-score, down with the BMD
    screenshot(page, "nurse-dxa-entry")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status").filter(has_text="DXA scan")).to_be_visible()
    scan = DxaScan.objects.get(patient=on_denosumab, date=today)
    assert (scan.lumbar_spine_bmd_g_cm2, scan.lumbar_spine_t_score) == (0.740, -3.0)

    page.goto(f"/patients/{on_denosumab.pk}/")
    trend = page.locator("#bmd-trend")
    latest = trend.locator("table[data-site='lumbar_spine'] tbody tr").last
    expect(latest).to_contain_text("0.740 g/cm²")
    expect(latest).to_contain_text("significant loss")
    assert check_accessibility(page) == []
    screenshot(page, "nurse-patient")

    doses_before = Dose.objects.filter(course__patient=on_denosumab).count()
    one_step = page.get_by_test_id("doses-one-step")
    one_step.get_by_role("button", name="Record dose of Denosumab").click()
    expect(page.get_by_role("status").first).to_be_visible()
    assert Dose.objects.filter(course__patient=on_denosumab).count() == doses_before + 1
    assert Dose.objects.filter(course__patient=on_denosumab, date=today).exists()
    expect(page.locator("#recommendation")).not_to_contain_text("Denosumab overdue")
