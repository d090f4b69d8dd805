"""Issue 9's lab and DXA journeys: a clinician sets the clinic's units and scanners, a nurse logs
a lab panel in nmol/L (the conversion shown as she types, stored and shown right) and a scan on
another scanner (shown as not comparable, never as a significant loss)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.models import ClinicLabUnit, DxaScan, DxaScanner, LabResult
from tests import factories
from tests.e2e.conftest import check_accessibility, screenshot


@pytest.fixture
def patient(demo_clinic):
    clinic, _ = demo_clinic
    return factories.PatientFactory(clinic=clinic, name="Edith Harding", mrn="H-0909")


def test_a_clinician_sets_the_clinics_lab_units_and_scanners(page_for, demo_clinic):
    clinic, people = demo_clinic
    DxaScanner.objects.create(clinic=clinic, name="Hologic Horizon A, room 2")
    page = page_for(people["clinician"])

    page.goto(f"/clinics/{clinic.slug}/lab-units-and-scanners/")
    page.get_by_label("25-OH vitamin D").select_option("nmol/L")
    page.get_by_role("button", name="Save lab units").click()
    expect(page.get_by_role("status")).to_contain_text("Lab units of Hillside Bone Clinic saved")
    page.get_by_label("Scanner name").fill("Lunar iDXA, room 5")
    page.get_by_role("button", name="Add scanner").click()

    expect(page.get_by_role("status")).to_contain_text(
        "“Lunar iDXA, room 5” is on the scanner list"
    )
    expect(page.locator("#scanners tbody tr")).to_have_count(2)
    assert ClinicLabUnit.objects.get(clinic=clinic, test="vitamin_d_25oh").unit == "nmol/L"
    assert check_accessibility(page) == []
    screenshot(page, "clinician-lab-units-and-scanners")


def test_a_nurse_logs_a_lab_panel_in_nmol_l_and_sees_the_conversion_as_she_types(
    page_for, demo_clinic, patient
):
    clinic, people = demo_clinic
    ClinicLabUnit.objects.create(clinic=clinic, test="vitamin_d_25oh", unit="nmol/L")
    page = page_for(people["nurse"])
    page.goto(f"/patients/{patient.pk}/")

    page.get_by_role("link", name="Log lab").first.click()
    page.get_by_label("Sample date").fill("2025-01-10")
    vitamin_d = page.get_by_role("group", name="25-OH vitamin D")
    expect(vitamin_d.get_by_label("Unit")).to_have_value("nmol/L")  # the clinic's unit
    vitamin_d.get_by_label("Value", exact=True).press_sequentially("75")
    expect(vitamin_d.locator(".lab-conversion")).to_have_text("= 30.05 ng/mL stored")
    calcium = page.get_by_role("group", name="Calcium")
    calcium.get_by_label("Unit").select_option("mg/dL")
    calcium.get_by_label("Value", exact=True).press_sequentially("9.6")
    expect(calcium.locator(".lab-conversion")).to_have_text("= 2.395 mmol/L stored")
    page.get_by_role("group", name="CTX").get_by_label("Value", exact=True).press_sequentially(
        "0.31"
    )
    assert check_accessibility(page) == []
    screenshot(page, "nurse-lab-panel")
    page.get_by_role("button", name="Save and log another (same date)").click()

    expect(page.get_by_role("status")).to_contain_text(
        "25-OH vitamin D 30.05 ng/mL (entered as 75 nmol/L)"
    )
    expect(page.get_by_role("status")).to_contain_text("on 2025-01-10 recorded")
    expect(page.get_by_label("Sample date")).to_have_value("2025-01-10")
    expect(page.get_by_role("group", name="CTX").get_by_label("Value", exact=True)).to_have_value(
        ""
    )
    stored = {lab.test: lab for lab in LabResult.objects.filter(patient=patient)}
    assert set(stored) == {"vitamin_d_25oh", "calcium", "ctx"}
    vitamin = stored["vitamin_d_25oh"]
    assert (vitamin.value, vitamin.unit, vitamin.entered_text) == (30.05, "ng/mL", "75 nmol/L")
    assert (stored["calcium"].value, stored["calcium"].entered_text) == (2.395, "9.6 mg/dL")

    page.goto(f"/patients/{patient.pk}/")
    expect(page.locator("#labs")).to_contain_text("30.05 ng/mL")
    page.goto(f"/patients/{patient.pk}/lab/{vitamin.pk}/edit/")
    expect(page.locator("#id_value")).to_have_value("75")  # as she typed it
    expect(page.locator("#id_unit")).to_have_value("nmol/L")


def test_an_unusual_value_asks_for_a_confirmation_and_keeps_what_was_typed(
    page_for, demo_clinic, patient, watch
):
    _, people = demo_clinic
    watch.expected.append("status of 400")  # the form asks, re-rendered with 400
    page = page_for(people["nurse"])
    page.goto(f"/patients/{patient.pk}/lab/add/")
    vitamin_d = page.get_by_role("group", name="25-OH vitamin D")

    vitamin_d.get_by_label("Value", exact=True).press_sequentially("95")
    expect(vitamin_d.locator(".lab-conversion")).to_have_text("outside the usual 3–80 ng/mL")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#unusual-warning")).to_be_visible()
    expect(vitamin_d).to_contain_text("Typed in nmol/L? Then choose nmol/L")
    expect(vitamin_d.get_by_label("Value", exact=True)).to_have_value("95")
    box = vitamin_d.get_by_role("checkbox")
    expect(box).to_be_focused()
    assert not LabResult.objects.exists()
    assert check_accessibility(page) == []
    screenshot(page, "nurse-lab-unusual-value")
    page.keyboard.press("Space")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("25-OH vitamin D 95 ng/mL")
    assert LabResult.objects.get().value == 95


def test_a_scan_on_another_scanner_is_shown_as_not_comparable(page_for, demo_clinic, patient):
    clinic, people = demo_clinic
    for name in ("Hologic A", "Lunar iDXA"):
        DxaScanner.objects.create(clinic=clinic, name=name)
    today = timezone.localdate()
    DxaScan.objects.create(
        patient=patient,
        date=today - dt.timedelta(days=400),
        scanner="Hologic A",
        lumbar_spine_bmd_g_cm2=0.900,
        lumbar_spine_t_score=-2.2,
    )
    page = page_for(people["nurse"])
    page.goto(f"/patients/{patient.pk}/dxa/add/")

    page.get_by_label("Date").fill(today.isoformat())
    expect(page.get_by_label("Other scanner")).to_be_hidden()  # until "Another scanner"
    page.get_by_label("Scanner", exact=True).select_option("Another scanner (type its name)")
    expect(page.get_by_label("Other scanner")).to_be_focused()
    page.get_by_label("Scanner", exact=True).select_option("Lunar iDXA")
    expect(page.get_by_label("Other scanner")).to_be_hidden()
    spine = page.get_by_role("group", name="Lumbar spine")
    spine.get_by_label("BMD (g/cm²)").fill("0.780")  # −13 %: a significant loss on one machine
    spine.get_by_label("T-score").fill("-3.2")
    assert check_accessibility(page) == []
    screenshot(page, "nurse-dxa-scanner-list")
    page.get_by_role("button", name="Save and return to the patient").click()

    expect(page.get_by_role("status").filter(has_text="DXA scan")).to_be_visible()
    assert DxaScan.objects.get(patient=patient, date=today).scanner == "Lunar iDXA"
    latest = page.locator("#bmd-trend table[data-site='lumbar_spine'] tbody tr").last
    expect(latest).to_contain_text("Lunar iDXA")
    expect(latest).to_contain_text("not comparable: different scanners")
    expect(latest).to_contain_text("new baseline: first scan on this scanner")
    expect(page.locator("#bmd-trend")).not_to_contain_text("significant loss")
    expect(page.locator("#bmd-trend caption").first).to_contain_text(
        "not comparable: different scanners (the latest scan, on Lunar iDXA, is the first"
    )
    assert check_accessibility(page) == []
    screenshot(page, "nurse-cross-scanner-trend")


@pytest.mark.parametrize("width", [1280, 768])
def test_the_new_pages_are_accessible_and_fit_a_tablet(page_for, demo_clinic, patient, width):
    clinic, people = demo_clinic
    DxaScanner.objects.create(clinic=clinic, name="Hologic Horizon A, room 2")
    lab = LabResult.objects.create(
        patient=patient, date=dt.date(2025, 1, 10), test="ctx", value=0.45, unit="ng/mL"
    )
    page = page_for(people["clinician"], width=width)
    for path in (
        f"/patients/{patient.pk}/lab/add/",
        f"/patients/{patient.pk}/lab/{lab.pk}/edit/",
        f"/patients/{patient.pk}/dxa/add/",
        f"/clinics/{clinic.slug}/lab-units-and-scanners/",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert page.locator("h1").count() == 1, path
        assert check_accessibility(page) == [], path
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
