"""The reminder worklist in the browser: a nurse works the reminders assigned to her (and the
unassigned ones), logs a call, marks a dose done with a note and undoes it — on the reminder's
page without JavaScript's help and in the list's row with htmx; a clinician exports the list as
CSV and the spreadsheet-dangerous cells arrive inert, and snoozes every reminder matching a filter
(not only the page's) and takes it back in one go."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from simple_history.utils import bulk_create_with_history

from monitoring.models import Reminder, ReminderStatus
from monitoring.reminder_services import reminder_assign
from tests import factories
from tests.e2e.conftest import check_accessibility, screenshot


@pytest.fixture
def worklist(demo_clinic):
    """Reminders of three patients: a dose assigned to the nurse, a DXA scan nobody took, bone
    markers assigned to the clinician, and a reassessment (the clinician's kind of item)."""
    clinic, people = demo_clinic
    today = timezone.localdate()

    def patient(given: str, family: str, mrn: str):
        return factories.PatientFactory(
            clinic=clinic, given_name=given, family_name=family, mrn=mrn
        )

    castillo = patient("Maria", "Castillo", "H-0008")
    okafor = patient("Ruth", "Okafor", "H-0009")
    hughes = patient("Helen", "Hughes", "H-0010")
    made = {
        "dose": Reminder.objects.create(
            patient=castillo, kind="NEXT_DOSE", drug="denosumab", due=today - dt.timedelta(days=2)
        ),
        "dxa": Reminder.objects.create(
            patient=okafor, kind="DXA_FOLLOW_UP", due=today + dt.timedelta(days=5)
        ),
        "markers": Reminder.objects.create(
            patient=hughes, kind="BTM_3_MONTHS", due=today + dt.timedelta(days=1)
        ),
        "reassessment": Reminder.objects.create(
            patient=castillo, kind="FRACTURE_RISK_REASSESSMENT", due=today
        ),
    }
    reminder_assign(reminder=made["dose"], assignee=people["nurse"], actor=people["clinician"])
    reminder_assign(
        reminder=made["markers"], assignee=people["clinician"], actor=people["clinician"]
    )
    return made


def _patients_listed(page) -> list[str]:
    return [
        re.sub(r"\s+", " ", t).strip()
        for t in page.locator("tbody tr td:nth-child(2) a").all_inner_texts()
    ]


def test_the_nurse_works_what_is_assigned_to_her_marks_it_done_with_a_note_and_undoes_it(
    page_for, demo_clinic, worklist, watch
):
    _, people = demo_clinic
    watch.expected.append("status of 400")  # the "mark done" without a note, on purpose
    page = page_for(people["nurse"])

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reminders").click()
    expect(page.get_by_role("heading", name="Reminders", exact=True)).to_be_visible()
    # Hers and the unassigned ones of her kinds: not the clinician's, not the reassessment.
    assert _patients_listed(page) == ["Maria Castillo", "Ruth Okafor"]
    expect(page.locator("tbody")).not_to_contain_text("reassessment")
    assert check_accessibility(page) == []
    screenshot(page, "nurse-worklist")

    page.get_by_label("Assignee").select_option(label="Me")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"assignee=me"))
    assert _patients_listed(page) == ["Maria Castillo"]

    page.get_by_role("link", name="Next dose — Denosumab").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maria Castillo")

    # A call that went unanswered, in the contact log.
    page.get_by_label("How").select_option(label="Called, no answer")
    page.get_by_role("button", name="Log").click()
    contacts = page.locator("#contacts table")
    expect(contacts).to_contain_text(timezone.localdate().isoformat())
    expect(contacts).to_contain_text("Called, no answer")
    expect(contacts).to_contain_text("Noor Nurse")

    # "Mark done" without a note: refused beside the field, nothing changed.
    page.get_by_role("button", name="Mark done").click()
    note = page.get_by_label("Note on what was done")
    expect(page.locator("#id_note_error")).to_contain_text("Say what was done")
    assert Reminder.objects.get(pk=worklist["dose"].pk).status == ReminderStatus.OPEN

    note.fill("Given at the GP surgery, batch 4411")
    page.get_by_role("button", name="Mark done").click()
    notice = page.locator("#undo-notice")
    expect(notice).to_contain_text("Marked done: Next dose — Denosumab, Maria Castillo.")
    expect(page.locator(".facts")).to_contain_text("Given at the GP surgery, batch 4411")
    assert Reminder.objects.get(pk=worklist["dose"].pk).status == ReminderStatus.DONE
    assert check_accessibility(page) == []
    screenshot(page, "nurse-reminder-done")

    notice.get_by_role("button", name="Undo").click()
    expect(page.locator(".facts")).to_contain_text("Open")
    dose = Reminder.objects.get(pk=worklist["dose"].pk)
    assert (dose.status, dose.close_reason, dose.closed_at) == (ReminderStatus.OPEN, "", None)

    # In the list, with htmx: the row says what was done and offers to undo it in place.
    page.goto("/reminders/?assignee=me")
    row = page.locator(f"#reminder-{dose.pk}")
    row.locator("summary").click()
    row.get_by_label("Note on what was done").fill("Given on the ward")
    row.get_by_role("button", name="Mark done").click()
    expect(row).to_contain_text("Marked done.")
    expect(row.locator("td").nth(4)).to_have_text(re.compile(r"^\s*Done"))
    row.get_by_role("button", name="Undo").click()
    expect(row).to_contain_text("Undone.")
    expect(row.locator("td").nth(4)).to_have_text(re.compile(r"^\s*Open"))
    assert Reminder.objects.get(pk=dose.pk).status == ReminderStatus.OPEN


def test_a_nurse_who_opens_a_reassessment_is_told_it_is_not_hers(
    page_for, demo_clinic, worklist, watch
):
    _, people = demo_clinic
    watch.expected.append("status of 403")
    page = page_for(people["nurse"])

    response = page.goto(f"/reminders/{worklist['reassessment'].pk}/")

    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_the_clinician_exports_the_worklist_and_formulas_arrive_inert(
    page_for, demo_clinic, worklist
):
    clinic, people = demo_clinic
    today = timezone.localdate()
    formula = factories.PatientFactory(
        clinic=clinic,
        given_name='=HYPERLINK("http://evil.example","Click")',
        family_name="Smith",
        mrn="H-0666",
    )
    sum_ = factories.PatientFactory(clinic=clinic, given_name="", family_name="-1+1", mrn="H-0667")
    Reminder.objects.create(patient=formula, kind="DXA_FOLLOW_UP", due=today)
    Reminder.objects.create(
        patient=sum_,
        kind="DENOSUMAB_OVERDUE",
        due=today - dt.timedelta(days=1),
        severity="critical",
    )
    page = page_for(people["clinician"])
    page.goto("/reminders/?assignee=anyone&sort=patient")
    assert check_accessibility(page) == []

    with page.expect_download() as download:
        page.get_by_role("link", name="Export these reminders (CSV)").click()
    path = Path(download.value.path())
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))

    assert rows[0][:4] == ["Due", "Patient", "MRN", "Item"]
    by_mrn = {row[2]: row for row in rows[1:]}
    assert by_mrn["H-0666"][1] == """'=HYPERLINK("http://evil.example","Click") Smith"""
    assert by_mrn["H-0667"][1] == "'-1+1"
    assert by_mrn["H-0667"][3:7] == ["Denosumab overdue", "", "Critical", "Open"]
    assert by_mrn["H-0010"][7] == "Clara Clinician"
    assert by_mrn["H-0008"][3] in {"Next dose", "Fracture-risk reassessment"}
    # Sorted by family name, as the page was; every reminder of the clinic, in words.
    mrns = [row[2] for row in rows[1:]]
    order = [mrns.index(m) for m in ("H-0008", "H-0010", "H-0009", "H-0666")]
    assert order == sorted(order)  # Castillo, Hughes, Okafor, Smith
    assert len(rows) - 1 == Reminder.objects.count()
    assert not any("_" in cell and cell.isupper() for row in rows for cell in row)


def test_the_clinician_snoozes_every_matching_reminder_across_pages_and_undoes_it(
    page_for, demo_clinic, worklist
):
    clinic, people = demo_clinic
    today = timezone.localdate()
    patients = [factories.PatientFactory(clinic=clinic) for _ in range(3)]
    bulk_create_with_history(
        [
            Reminder(patient=patients[n % 3], kind="DXA_FOLLOW_UP", drug=f"d{n}", due=today)
            for n in range(60)
        ],
        Reminder,
    )
    page = page_for(people["clinician"])
    page.goto("/reminders/")
    page.get_by_label("Kind").select_option(label="DXA follow-up")
    page.get_by_role("button", name="Filter").click()
    # Page 1 does not count the list; "select all" says how many match.
    expect(page.get_by_text("Reminders 1–50 of more, overdue first · page 1")).to_be_visible()

    bulk = page.get_by_role("form", name="Act on the ticked reminders")
    bulk.get_by_label("Select all 61 reminders matching these filters").check()
    bulk.get_by_label("Action").select_option(label="Snooze until…")
    bulk.get_by_label("Snooze until").fill((today + dt.timedelta(days=7)).isoformat())
    bulk.get_by_role("button", name="Apply").click()

    expect(page.locator("#undo-notice")).to_contain_text("61 reminders snoozed.")
    assert Reminder.objects.filter(kind="DXA_FOLLOW_UP", status="snoozed").count() == 61
    assert Reminder.objects.exclude(kind="DXA_FOLLOW_UP").filter(status="snoozed").count() == 0

    page.locator("#undo-notice").get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Undone for 61 reminders.")).to_be_visible()
    assert Reminder.objects.filter(status="snoozed").count() == 0
