"""A clinician records a decision that changes the therapy, in one step: a same-day switch from
denosumab to zoledronic acid, and a first start with its first infusion.

The danger the switch guards: stopping denosumab without its follow-on causes rapid bone loss,
so the app raises critical alerts and e-mails them. A correct switch — denosumab stopped the day
before, zoledronic acid started today with its first infusion — must raise none and send none.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.models import Reminder
from monitoring.scan import reminders_scan
from monitoring.tasks import rescan_patient_task, scan_reminders_task
from tests.e2e.conftest import check_accessibility, screenshot
from therapy.case_records import patient_import_case
from therapy.engine import parse_case
from therapy.engine.dates import add_months
from therapy.models import RecommendationRecord, TherapyCourse

CASES = Path(__file__).resolve().parents[1] / "cases"


@pytest.fixture
def queued(monkeypatch):
    """The rescans the web app sends to the broker, kept here so the test can run them as the
    worker would (no worker runs beside the live server)."""
    sent: list[int] = []
    monkeypatch.setattr(
        rescan_patient_task, "apply_async", lambda args, **options: sent.append(args[0])
    )
    return sent


@pytest.fixture
def on_denosumab(demo_clinic):
    """Denosumab every six months for two years; the last injection 5½ months ago (its next one
    is due within the reminder lead time), a DXA scan last year, reassessed two months ago."""
    clinic, people = demo_clinic
    for username in ("clinician", "clinicadmin"):
        people[username].email = f"{username}@hillside.example"
        people[username].save()
    today = timezone.localdate()
    last = today - dt.timedelta(days=168)
    doses = [add_months(last, -6 * k).isoformat() for k in range(4, -1, -1)]
    case = {
        "as_of": today.isoformat(),
        "patient": {
            "sex": "female",
            "birth_date": "1951-03-14",
            "name": "Margaret Ellison",
            "mrn": "H-0017",
        },
        "therapies": [{"drug": "denosumab", "start": doses[0], "end": None, "doses": doses}],
        "dxa": [
            {
                "date": (today - dt.timedelta(days=300)).isoformat(),
                "sites": {"lumbar_spine": {"bmd_g_cm2": 0.81, "t_score": -2.6}},
            }
        ],
        "reassessments": [(today - dt.timedelta(days=60)).isoformat()],
    }
    patient = patient_import_case(clinic=clinic, case=parse_case(case))
    reminders_scan(as_of=today, now=timezone.now())  # last night's scan
    return patient


def test_a_same_day_switch_from_denosumab_to_zoledronic_acid_leaves_no_critical_alert_or_mail(
    page_for, demo_clinic, on_denosumab, queued, watch
):
    _, people = demo_clinic
    watch.expected.append("status of 400")  # the overlap question re-renders the form unsaved
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    assert Reminder.objects.filter(patient=on_denosumab, kind="NEXT_DOSE", drug="denosumab")
    page = page_for(people["clinician"])

    page.goto(f"/patients/{on_denosumab.pk}/")
    expect(page.get_by_test_id("headline")).to_contain_text("Continue denosumab")
    page.get_by_role("link", name="Record decision").click()

    # Nothing is chosen for the clinician; the questions appear with the choice.
    expect(page.get_by_label("Start the course")).to_be_hidden()
    page.get_by_label("Another drug").check()
    page.get_by_label("Drug", exact=True).select_option("zoledronic_acid")
    page.get_by_label("Reason").fill("Planned end of denosumab after 2 years: bisphosphonate")
    start = page.get_by_label("Start the course")
    expect(start).not_to_be_checked()
    start.check()
    expect(page.get_by_label("Start date")).to_have_value(today.isoformat())
    page.get_by_label("Yes: record the dose").check()
    stop = page.get_by_label("Stop denosumab")
    expect(stop).not_to_be_checked()
    expect(page.get_by_label("Last day of the stopped course")).to_have_value(yesterday.isoformat())

    # Forgetting to stop denosumab asks first, and keeps every answer.
    page.get_by_role("button", name="Record decision").click()
    warning = page.get_by_test_id("overlap-warning")
    expect(warning).to_contain_text("would stay open beside the new course")
    expect(page.get_by_label("Reason")).to_have_value(
        "Planned end of denosumab after 2 years: bisphosphonate"
    )
    expect(page.get_by_label("Drug", exact=True)).to_have_value("zoledronic_acid")
    expect(page.get_by_label("Yes: record the dose")).to_be_checked()
    assert not TherapyCourse.objects.filter(drug="zoledronic_acid").exists()

    page.get_by_label("Stop denosumab").check()
    page.get_by_label("Why it stops").select_option("completed")
    assert check_accessibility(page) == []
    screenshot(page, "clinician-decision-switch")
    page.get_by_role("button", name="Record decision").click()

    expect(page.get_by_role("status").filter(has_text="Decision recorded")).to_contain_text(
        f"zoledronic acid started on {today:%Y-%m-%d}, first dose recorded; "
        f"denosumab stopped on {yesterday:%Y-%m-%d}"
    )
    expect(page.get_by_test_id("headline")).to_contain_text("Continue zoledronic acid")
    expect(page.get_by_role("alert").filter(has_text="Critical")).to_have_count(0)
    assert check_accessibility(page) == []
    screenshot(page, "clinician-patient-after-switch")

    # The web app queued one rescan; run it as the worker would, then the nightly scan.
    assert queued == [on_denosumab.pk]
    rescan_patient_task.apply(args=(on_denosumab.pk,))
    scan_reminders_task.apply(kwargs={"as_of": today.isoformat()})

    assert mail.outbox == []
    assert not Reminder.objects.filter(patient=on_denosumab, severity="critical").exists()
    active = Reminder.objects.filter(patient=on_denosumab, status__in=["open", "snoozed"])
    assert not active.filter(drug="denosumab").exists()
    assert not active.filter(kind="NEXT_DOSE").exists()  # the first infusion was given today
    record = RecommendationRecord.objects.get(patient=on_denosumab)
    assert record.first_dose is not None and record.first_dose.date == today
    assert list(record.stopped_courses.values_list("end", flat=True)) == [yesterday]


def test_a_first_start_of_zoledronic_acid_records_the_infusion_given_today(page_for, demo_clinic):
    clinic, people = demo_clinic
    data = json.loads((CASES / "v07_transplant_on_steroids.json").read_text())["case"]
    data["patient"].update(name="Joan Whitfield", mrn="H-0007")
    patient = patient_import_case(clinic=clinic, case=parse_case(data))
    today = timezone.localdate()
    page = page_for(people["clinician"])

    page.goto(f"/patients/{patient.pk}/")
    expect(page.get_by_test_id("headline")).to_contain_text("Start zoledronic acid")
    page.get_by_role("link", name="Record decision").click()
    expect(page.get_by_label("Last day of the stopped course")).to_have_count(0)  # none open
    page.get_by_label("1. Zoledronic acid (antiresorptive)").check()
    dose_given = page.get_by_label("Yes: record the dose")
    expect(dose_given).to_be_hidden()  # asked once the course starts
    page.get_by_label("Start the course").check()
    dose_given.check()
    page.get_by_role("button", name="Record decision").click()

    expect(page.get_by_role("status").filter(has_text="Decision recorded")).to_contain_text(
        f"zoledronic acid started on {today:%Y-%m-%d}, first dose recorded."
    )
    expect(page.get_by_test_id("headline")).to_contain_text("Continue zoledronic acid")
    next_infusion = add_months(today, 12)
    expect(page.get_by_test_id("monitoring")).to_contain_text(f"{next_infusion:%Y-%m-%d}")
    course = TherapyCourse.objects.get(patient=patient, drug="zoledronic_acid")
    assert list(course.doses.values_list("date", flat=True)) == [today]
    assert RecommendationRecord.objects.get(patient=patient).chosen_rank == 1
