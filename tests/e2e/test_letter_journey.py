"""A clinician writes the GP letter of a patient on denosumab: reads it, prints it on A4 and
downloads it as PDF; a nurse is offered no letter. The printable summary prints on A4 too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import check_accessibility, screenshot
from tests.patients.test_summary import is_a4, pdf_page_sizes
from therapy.case_records import patient_import_case
from therapy.engine import parse_case

CASES = Path(__file__).resolve().parents[1] / "cases"


@pytest.fixture
def on_denosumab(demo_clinic):
    clinic, _ = demo_clinic
    clinic.address = "Metabolic Bone Unit, Level 2\n1 Example Road\nHillside HS1 1AA"
    clinic.phone = "01234 567890"
    clinic.save()
    data = json.loads((CASES / "v08_denosumab_overdue.json").read_text())["case"]
    data["patient"].update(name="Margaret Hale", mrn="H-0008")
    return patient_import_case(clinic=clinic, case=parse_case(data))


def test_clinician_writes_the_gp_letter_and_it_prints_on_one_a4_sheet(
    page_for, demo_clinic, on_denosumab
):
    _, people = demo_clinic
    page = page_for(people["clinician"])
    page.goto(f"/patients/{on_denosumab.pk}/")

    page.get_by_role("link", name="Letter to GP").click()

    letter = page.get_by_role("article")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Re: Margaret Hale, born 1 June 1950, MRN H-0008"
    )
    expect(page.get_by_test_id("letterhead")).to_contain_text("1 Example Road")
    expect(letter).to_contain_text("Dear Doctor,")
    expect(page.get_by_test_id("headline")).to_contain_text("Continue denosumab")
    expect(page.get_by_test_id("plan")).to_contain_text("every 6 months")
    expect(page.get_by_test_id("must-not-forget")).to_contain_text(
        "must never be stopped or delayed without a follow-on treatment"
    )
    expect(page.get_by_test_id("next-dates")).to_contain_text("Fracture-risk reassessment")
    expect(page.get_by_test_id("advice")).to_contain_text("Calcium 1000–1200 mg/day")
    expect(page.get_by_test_id("signature")).to_contain_text("Clara Clinician")
    expect(page.get_by_test_id("signature")).to_contain_text("Clinician, Hillside Bone Clinic")
    assert check_accessibility(page) == []
    screenshot(page, "clinician-letter")

    # Printed, the letter is the page: no navigation or buttons, one A4 sheet.
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    printed = page.pdf(format="A4", prefer_css_page_size=True)
    sizes = pdf_page_sizes(printed)
    assert len(sizes) == 1 and is_a4(sizes[0]), sizes
    page.emulate_media(media="screen")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename.startswith("letter-h-0008-")
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    assert [is_a4(size) for size in pdf_page_sizes(data)] == [True]


def test_the_letter_fits_a_tablet_screen(page_for, demo_clinic, on_denosumab):
    _, people = demo_clinic
    page = page_for(people["clinician"], width=768)

    page.goto(f"/patients/{on_denosumab.pk}/letter/")

    expect(page.get_by_text("Dear Doctor,")).to_be_visible()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    assert check_accessibility(page) == []


def test_the_printable_summary_prints_on_a4_with_the_dxa_labs_and_plan(
    page_for, demo_clinic, on_denosumab
):
    _, people = demo_clinic
    page = page_for(people["nurse"])
    page.goto(f"/patients/{on_denosumab.pk}/")
    page.get_by_role("link", name="Printable summary").click()

    expect(page.get_by_test_id("headline")).to_contain_text("Continue denosumab")
    expect(page.get_by_test_id("current-therapy")).to_contain_text("On denosumab since")
    for heading in ["DXA scans", "Latest labs", "Monitoring plan", "Latest decision"]:
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("link", name="Letter to GP")).to_have_count(0)  # nurses sign none
    assert check_accessibility(page) == []

    page.emulate_media(media="print")
    sizes = pdf_page_sizes(page.pdf(format="A4", prefer_css_page_size=True))
    assert sizes and all(is_a4(size) for size in sizes), sizes


def test_a_nurse_is_offered_no_letter_and_is_refused_one(
    page_for, demo_clinic, on_denosumab, watch
):
    _, people = demo_clinic
    watch.expected.append("status of 403")
    page = page_for(people["nurse"])
    page.goto(f"/patients/{on_denosumab.pk}/")
    expect(page.get_by_role("link", name="Printable summary")).to_be_visible()
    expect(page.get_by_role("link", name="Letter to GP")).to_have_count(0)

    response = page.goto(f"/patients/{on_denosumab.pk}/letter/")

    assert response is not None and response.status == 403
