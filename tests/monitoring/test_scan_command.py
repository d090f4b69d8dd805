"""`manage.py scan_reminders [--as-of DATE] [--batch-size N]`: the scan, run now, as JSON."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from monitoring.models import Reminder, ScanRun
from patients.models import RiskProfile
from tests import factories
from therapy.models import Dose, TherapyCourse

BASE_DIR = Path(__file__).resolve().parents[2]


def run(*args: str) -> dict:
    out = StringIO()
    call_command("scan_reminders", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def overdue(clinic):
    """A patient whose denosumab dose is overdue (last dose 2025-07-10)."""
    patient = factories.PatientFactory(clinic=clinic)
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2025, 1, 10)
    )
    for day in (dt.date(2025, 1, 10), dt.date(2025, 7, 10)):
        Dose.objects.create(course=course, date=day)
    return patient


@pytest.mark.django_db
def test_the_command_prints_what_it_created_as_json(overdue):
    summary = run("--as-of", "2026-03-01")

    assert summary["as_of"] == "2026-03-01"
    assert summary["patients"] == 1
    assert {
        "patient": overdue.pk,
        "kind": "NEXT_DOSE",
        "drug": "denosumab",
        "due": "2026-01-10",
    } in (summary["created"])
    assert {
        "patient": overdue.pk,
        "kind": "DENOSUMAB_OVERDUE",
        "drug": "",
        "due": "2026-01-10",
    } in summary["created"]
    assert (summary["moved"], summary["resolved"], summary["unchanged"]) == ([], [], 0)
    assert Reminder.objects.count() == len(summary["created"])


@pytest.mark.django_db
def test_running_the_command_twice_in_a_row_creates_nothing_the_second_time(overdue):
    first = run("--as-of", "2026-03-01")
    second = run("--as-of", "2026-03-01")

    assert first["created"]
    assert (second["created"], second["moved"], second["resolved"]) == ([], [], [])
    assert second["unchanged"] == len(first["created"])
    assert ScanRun.objects.filter(status="succeeded").count() == 2


@pytest.mark.django_db
def test_the_command_lists_moves_with_their_old_date_and_closes_what_is_gone(overdue):
    run("--as-of", "2026-03-01")
    Dose.objects.filter(date=dt.date(2025, 7, 10)).update(date=dt.date(2025, 7, 20))
    moved = run("--as-of", "2026-03-01")
    Dose.objects.create(course=TherapyCourse.objects.get(), date=dt.date(2026, 3, 1))
    resolved = run("--as-of", "2026-03-02")

    assert {
        "patient": overdue.pk,
        "kind": "NEXT_DOSE",
        "drug": "denosumab",
        "due": "2026-01-20",
        "from": "2026-01-10",
    } in moved["moved"]
    assert {entry["kind"] for entry in resolved["resolved"]} == {"NEXT_DOSE", "DENOSUMAB_OVERDUE"}


@pytest.mark.django_db
def test_without_a_date_the_command_scans_as_of_today_in_the_clinics_time_zone(clinic, settings):
    settings.TIME_ZONE = "Europe/London"
    patient = factories.PatientFactory(clinic=clinic)
    RiskProfile.objects.filter(patient=patient).update(has_hypocalcemia=True)
    late_evening = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC)  # 00:30 in London

    with time_machine.travel(late_evening, tick=False):
        summary = run()

    assert summary["as_of"] == "2026-07-01"
    assert {"kind": "CORRECT_HYPOCALCEMIA_FIRST", "due": "2026-07-01"}.items() <= next(
        entry for entry in summary["created"] if entry["kind"] == "CORRECT_HYPOCALCEMIA_FIRST"
    ).items()


@pytest.mark.django_db
def test_the_batch_size_does_not_change_what_the_command_does(clinic):
    for _ in range(5):
        factories.PatientFactory(clinic=clinic)

    summary = run("--as-of", "2026-03-01", "--batch-size", "2")

    assert summary["patients"] == 5
    assert len(summary["created"]) == 10  # MON-1 and MON-4 for each


@pytest.mark.parametrize(
    "args",
    [
        ["--as-of", "2026-13-01"],
        ["--as-of", "yesterday"],
        ["--as-of", "20260301"],
        ["--batch-size", "0"],
        ["--batch-size", "many"],
    ],
)
def test_a_bad_argument_is_refused(args):
    with pytest.raises(CommandError, match="is not a"):
        call_command("scan_reminders", *args)


def test_a_bad_date_exits_with_status_2_and_says_why_on_stderr():
    result = subprocess.run(  # noqa: S603 — our own interpreter and manage.py
        [sys.executable, "manage.py", "scan_reminders", "--as-of", "2026-02-30"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert "'2026-02-30' is not a date (YYYY-MM-DD)" in result.stderr


@pytest.mark.django_db
def test_a_dry_run_prints_the_same_summary_and_writes_and_sends_nothing(overdue, mailoutbox):
    dry = run("--as-of", "2026-03-01", "--dry-run")
    assert dry["dry_run"] is True
    assert not Reminder.objects.exists()
    assert not ScanRun.objects.exists()
    assert mailoutbox == []

    real = run("--as-of", "2026-03-01")
    assert "dry_run" not in real
    assert {k: v for k, v in dry.items() if k != "dry_run"} == real
    assert Reminder.objects.count() == len(real["created"]) > 0


@pytest.mark.django_db
def test_a_future_as_of_is_refused_unless_it_is_a_dry_run(overdue):
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        with pytest.raises(CommandError, match="after today") as refused:
            run("--as-of", "2026-03-02")
        assert refused.value.returncode == 2
        assert not Reminder.objects.exists() and not ScanRun.objects.exists()
        assert run("--as-of", "2026-09-01", "--dry-run")["created"]
        assert not Reminder.objects.exists()
        assert run("--as-of", "2026-03-01")["created"]  # today is not the future


@pytest.mark.django_db
def test_the_summary_counts_the_patients_who_left_and_what_was_closed_for_them(overdue):
    from patients.models import Patient

    run("--as-of", "2026-03-01")
    Patient.objects.filter(pk=overdue.pk).update(status="deceased", status_date=dt.date(2026, 3, 2))

    summary = run("--as-of", "2026-03-03")

    assert summary["inactive_patients"] == 1
    assert {r["kind"] for r in summary["inactive_resolved"]} == {
        "NEXT_DOSE",
        "DENOSUMAB_OVERDUE",
        "DXA_FOLLOW_UP",
        "FRACTURE_RISK_REASSESSMENT",
    }
    assert summary["resolved"] == [] and summary["held"] == []
    assert set(Reminder.objects.values_list("close_reason", flat=True)) == {"patient deceased"}


@pytest.mark.django_db
def test_a_dry_run_closes_nothing_for_a_patient_who_left(overdue):
    from patients.models import Patient

    run("--as-of", "2026-03-01")
    Patient.objects.filter(pk=overdue.pk).update(
        status="discharged", status_date=dt.date(2026, 3, 2)
    )

    summary = run("--as-of", "2026-03-03", "--dry-run")

    assert len(summary["inactive_resolved"]) == Reminder.objects.count() == 4
    assert set(Reminder.objects.values_list("status", flat=True)) == {"open"}
