"""A new patient's history in one page: add the patient, then the previous fractures and courses
with the dates as precisely as the clinician knows them ("2016", "2019-03")."""

from __future__ import annotations

from playwright.sync_api import expect

from patients.models import Patient
from tests.e2e.conftest import check_accessibility, screenshot


def test_a_clinician_adds_a_patient_and_their_history_with_approximate_dates(
    page_for, demo_clinic, watch
):
    _, people = demo_clinic
    watch.expected.append("status of 400")  # the refused row, on purpose
    page = page_for(people["clinician"])

    page.get_by_role("link", name="Patients").first.click()
    page.get_by_role("link", name="Add a patient").click()
    page.get_by_label("Medical record number").fill("H-2016")
    page.get_by_label("Given names").fill("Ada")
    page.get_by_label("Family name").fill("Newcomer")
    page.get_by_label("Birth date").fill("1950-05-05")
    page.get_by_label("Sex").select_option("female")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Previous history")).to_be_visible()
    first = page.get_by_role("group", name="Fracture 1")
    first.get_by_label("When").fill("2016")
    first.get_by_label("Site").select_option("vertebral")
    page.get_by_role("button", name="Add another fracture").click()
    second = page.get_by_role("group", name="Fracture 2")
    expect(second.get_by_label("When")).to_be_focused()
    second.get_by_label("When").fill("2019-13")
    second.get_by_label("Site").select_option("wrist")
    course = page.get_by_role("group", name="Treatment 1")
    course.get_by_label("Drug").select_option("alendronate")
    course.get_by_label("Started").fill("2010")
    course.get_by_label("Ended").fill("2015")
    course.get_by_label("Stop reason").select_option("completed")
    # A row added by mistake is removed again, and not saved.
    page.get_by_role("button", name="Add another treatment").click()
    page.get_by_role("group", name="Treatment 2").get_by_label("Drug").select_option("denosumab")
    page.get_by_role("button", name="Remove treatment 2").click()
    expect(page.get_by_role("group", name="Treatment 2")).to_have_count(0)
    assert check_accessibility(page) == []
    screenshot(page, "clinician-intake")
    page.get_by_role("button", name="Save history").click()

    # The month that is no month is refused beside its field; everything typed is still there.
    second = page.get_by_role("group", name="Fracture 2")
    expect(second).to_contain_text("2019-13 is not a date of the calendar.")
    expect(second.get_by_label("When")).to_have_value("2019-13")
    expect(page.get_by_role("group", name="Fracture 1").get_by_label("When")).to_have_value("2016")
    expect(page.get_by_role("group", name="Treatment 1").get_by_label("Ended")).to_have_value(
        "2015"
    )
    assert check_accessibility(page) == []
    second.get_by_label("When").fill("2019-03")
    page.get_by_role("button", name="Save history").click()

    expect(page.get_by_role("heading", name="Ada Newcomer")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(
        "Recorded 2 previous fractures and 1 previous course."
    )
    fractures = page.locator("#fractures")
    # The date cells themselves, not only the edit links' names, say what is known.
    fracture_rows = fractures.locator("tbody tr")
    expect(fracture_rows.nth(0).get_by_role("cell").nth(0)).to_have_text("≈ 2016")
    expect(fracture_rows.nth(1).get_by_role("cell").nth(0)).to_have_text("≈ 2019-03")
    expect(fractures.get_by_role("link", name="Edit Vertebral fracture, ≈ 2016")).to_be_visible()
    expect(fractures.get_by_role("link", name="Edit Wrist fracture, ≈ 2019-03")).to_be_visible()
    therapy = page.locator("#therapy")
    course_cells = therapy.locator("table tbody tr").nth(0).get_by_role("cell")
    expect(course_cells.nth(1)).to_have_text("≈ 2010")
    expect(course_cells.nth(2)).to_have_text("≈ 2015")
    timeline = therapy.get_by_role("listitem")
    expect(timeline.nth(0)).to_contain_text("≈ 2010 — started Alendronate (oral)")
    expect(timeline.nth(1)).to_contain_text("≈ 2015 — stopped Alendronate (oral) (completed)")
    expect(
        therapy.get_by_role("link", name="Edit Alendronate (oral) ≈ 2010 – ≈ 2015")
    ).to_be_visible()
    patient = Patient.objects.get(mrn="H-2016")
    assert [str(c) for c in patient.therapy_courses.all()] == ["Alendronate (oral) ≈ 2010 – ≈ 2015"]
