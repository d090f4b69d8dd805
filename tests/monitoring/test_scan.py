"""The reminder scan (`monitoring.scan.reminders_scan`): what it creates, keeps, moves, resolves
and leaves alone, on days reached by time travel."""

from __future__ import annotations

import datetime as dt
import gc
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from monitoring import scan as scan_module
from monitoring.models import DxaScan, Reassessment, Reminder, ReminderStatus, ScanRun
from monitoring.scan import reminders_scan
from patients.models import (
    Clinic,
    Patient,
    RiskProfile,
)
from tests import factories
from therapy.models import Dose, TherapyCourse

LONDON = ZoneInfo("Europe/London")
DENOSUMAB_DOSES = (dt.date(2025, 1, 10), dt.date(2025, 7, 10), dt.date(2026, 1, 10))
NEXT_DOSE_DUE = dt.date(2026, 7, 10)  # last dose + 6 months (MON-5)


def on(day: dt.date, hour: int = 2) -> time_machine.travel:
    """Travel to `day` at 02:30 in the clinic's time zone (the nightly scan's time)."""
    moment = dt.datetime(day.year, day.month, day.day, hour, 30, tzinfo=LONDON)
    return time_machine.travel(moment, tick=False)


def scan(**kwargs):
    """Tonight's scan, as the task runs it: today and now from the (travelled) clock."""
    return reminders_scan(as_of=timezone.localdate(), now=timezone.now(), **kwargs)


def settled(patient: Patient) -> Patient:
    """A recent reassessment and DXA scan, so MON-1 and MON-4 are not due for a long while."""
    Reassessment.objects.create(patient=patient, date=dt.date(2026, 3, 1))
    DxaScan.objects.create(
        patient=patient,
        date=dt.date(2026, 3, 1),
        lumbar_spine_bmd_g_cm2=0.8,
        lumbar_spine_t_score=-2.6,
    )
    return patient


def on_denosumab(clinic: Clinic, doses=DENOSUMAB_DOSES) -> Patient:
    patient = settled(factories.PatientFactory(clinic=clinic))
    course = TherapyCourse.objects.create(patient=patient, drug="denosumab", start=doses[0])
    for day in doses:
        Dose.objects.create(course=course, date=day)
    return patient


def with_hypocalcemia(clinic: Clinic, value: bool = True) -> Patient:
    patient = settled(factories.PatientFactory(clinic=clinic))
    RiskProfile.objects.filter(patient=patient).update(has_hypocalcemia=value)
    return patient


def set_hypocalcemia(patient: Patient, value: bool) -> None:
    RiskProfile.objects.filter(patient=patient).update(has_hypocalcemia=value)


def rows(patient: Patient | None = None) -> list[tuple]:
    queryset = Reminder.objects.order_by("patient_id", "kind", "drug", "due")
    if patient is not None:
        queryset = queryset.filter(patient=patient)
    return list(queryset.values_list("kind", "drug", "due", "status"))


def dismiss(reminder: Reminder, reason: str = "Patient treated elsewhere") -> None:
    reminder.status = ReminderStatus.DISMISSED
    reminder.close_reason = reason
    reminder.closed_at = timezone.now()
    reminder.snoozed_until = None
    reminder.save()


# --- creating ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_monitoring_item_due_within_the_lead_time_becomes_an_open_reminder(clinic):
    patient = on_denosumab(clinic)

    with on(dt.date(2026, 6, 20)):
        summary = scan()

    assert rows(patient) == [("NEXT_DOSE", "denosumab", NEXT_DOSE_DUE, "open")]
    assert summary.created == [
        {"patient": patient.pk, "kind": "NEXT_DOSE", "drug": "denosumab", "due": "2026-07-10"}
    ]
    assert Reminder.objects.get().severity == ""


@pytest.mark.parametrize(
    ("lead_days", "today", "reminded"),
    [
        (30, dt.date(2026, 6, 9), False),  # due in 31 days
        (30, dt.date(2026, 6, 10), True),  # due in 30 days: on the horizon
        (0, dt.date(2026, 7, 9), False),
        (0, dt.date(2026, 7, 10), True),  # due today
        (90, dt.date(2026, 4, 11), True),
        (90, dt.date(2026, 4, 10), False),
    ],
)
@pytest.mark.django_db
def test_the_clinics_lead_time_decides_how_early_a_reminder_is_created(
    clinic, lead_days, today, reminded
):
    Clinic.objects.filter(pk=clinic.pk).update(reminder_lead_days=lead_days)
    on_denosumab(clinic)

    with on(today):
        scan()

    assert Reminder.objects.filter(kind="NEXT_DOSE").exists() is reminded


@pytest.mark.django_db
def test_each_clinic_uses_its_own_lead_time(clinic, other_clinic):
    Clinic.objects.filter(pk=other_clinic.pk).update(reminder_lead_days=60)
    hillside, riverside = on_denosumab(clinic), on_denosumab(other_clinic)

    with on(dt.date(2026, 5, 20)):
        scan()

    assert rows(hillside) == []
    assert rows(riverside) == [("NEXT_DOSE", "denosumab", NEXT_DOSE_DUE, "open")]


@pytest.mark.django_db
def test_a_critical_alert_becomes_a_critical_reminder_with_the_alerts_due_date(clinic):
    patient = on_denosumab(clinic)

    with on(dt.date(2026, 8, 20)):  # more than 7 months after the last dose: ALR-2
        scan()

    overdue = Reminder.objects.get(patient=patient, kind="DENOSUMAB_OVERDUE")
    assert (overdue.drug, overdue.due, overdue.severity) == ("", NEXT_DOSE_DUE, "critical")
    assert Reminder.objects.filter(patient=patient, kind="NEXT_DOSE").exists()


@pytest.mark.django_db
def test_a_warning_alert_makes_no_reminder(clinic):
    on_denosumab(clinic)

    with on(dt.date(2026, 6, 20)):  # ALR-1, a warning, holds
        scan()

    assert not Reminder.objects.filter(kind="DENOSUMAB_DOSE_DUE").exists()


@pytest.mark.django_db
def test_an_undated_critical_alert_is_due_on_the_day_it_was_first_seen(clinic):
    patient = with_hypocalcemia(clinic)

    with on(dt.date(2026, 9, 1)):
        scan()
    with on(dt.date(2026, 9, 5)):
        summary = scan()

    reminder = Reminder.objects.get(patient=patient)
    assert (reminder.kind, reminder.due, reminder.status) == (
        "CORRECT_HYPOCALCEMIA_FIRST",
        dt.date(2026, 9, 1),
        "open",
    )
    assert summary.moved == [] and summary.unchanged == 1


@pytest.mark.django_db
def test_an_item_dated_today_for_want_of_a_date_keeps_its_first_due_date(clinic):
    patient = factories.PatientFactory(clinic=clinic)  # no reassessment, no scan: MON-1, MON-4

    with on(dt.date(2026, 9, 1)):
        scan()
    with on(dt.date(2026, 9, 20)):
        summary = scan()

    assert rows(patient) == [
        ("DXA_FOLLOW_UP", "", dt.date(2026, 9, 1), "open"),
        ("FRACTURE_RISK_REASSESSMENT", "", dt.date(2026, 9, 1), "open"),
    ]
    assert summary.moved == []


# --- later scans --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_scanning_twice_in_a_row_changes_nothing_the_second_time(clinic):
    on_denosumab(clinic)
    with_hypocalcemia(clinic)
    factories.PatientFactory(clinic=clinic)

    with on(dt.date(2026, 8, 20)):
        first = scan()
        before = list(Reminder.objects.order_by("pk").values())
        second = scan()

    assert first.created
    assert (second.created, second.moved, second.resolved, second.snooze_ended) == ([], [], [], [])
    assert second.unchanged == len(first.created)
    assert list(Reminder.objects.order_by("pk").values()) == before


@pytest.mark.django_db
def test_a_changed_due_date_moves_the_reminder(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    reminder = Reminder.objects.get()
    Dose.objects.filter(date=dt.date(2026, 1, 10)).update(date=dt.date(2026, 1, 20))

    with on(dt.date(2026, 6, 21)):
        summary = scan()

    reminder.refresh_from_db()
    assert (reminder.due, reminder.status) == (dt.date(2026, 7, 20), "open")
    assert summary.moved == [
        {
            "patient": patient.pk,
            "kind": "NEXT_DOSE",
            "drug": "denosumab",
            "due": "2026-07-20",
            "from": "2026-07-10",
        }
    ]


@pytest.mark.django_db
def test_a_reminder_whose_item_is_gone_is_resolved(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    Dose.objects.create(course=TherapyCourse.objects.get(), date=dt.date(2026, 7, 8))

    with on(dt.date(2026, 7, 9)):
        summary = scan()

    reminder = Reminder.objects.get()
    assert reminder.status == "resolved"
    assert reminder.closed_at == dt.datetime(2026, 7, 9, 2, 30, tzinfo=LONDON)
    assert summary.resolved == [
        {"patient": patient.pk, "kind": "NEXT_DOSE", "drug": "denosumab", "due": "2026-07-10"}
    ]


@pytest.mark.django_db
def test_the_next_dose_is_reminded_again_when_it_comes_within_the_lead_time(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    Dose.objects.create(course=TherapyCourse.objects.get(), date=dt.date(2026, 7, 8))
    with on(dt.date(2026, 7, 9)):
        scan()

    with on(dt.date(2026, 12, 10)):
        scan()

    assert rows(patient) == [
        ("NEXT_DOSE", "denosumab", dt.date(2026, 7, 10), "resolved"),
        ("NEXT_DOSE", "denosumab", dt.date(2027, 1, 8), "open"),
    ]


@pytest.mark.django_db
def test_a_snoozed_reminder_stays_snoozed_until_its_day_then_opens(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    Reminder.objects.update(status="snoozed", snoozed_until=dt.date(2026, 6, 25))

    with on(dt.date(2026, 6, 24)):
        before = scan()
    assert Reminder.objects.get().status == "snoozed"

    with on(dt.date(2026, 6, 25)):
        after = scan()
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.snoozed_until) == ("open", None)
    assert before.snooze_ended == []
    assert after.snooze_ended == [
        {"patient": patient.pk, "kind": "NEXT_DOSE", "drug": "denosumab", "due": "2026-07-10"}
    ]


@pytest.mark.django_db
def test_a_snoozed_reminder_whose_date_changed_moves_and_stays_snoozed(clinic):
    on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    Reminder.objects.update(status="snoozed", snoozed_until=dt.date(2026, 7, 1))
    Dose.objects.filter(date=dt.date(2026, 1, 10)).update(date=dt.date(2026, 1, 15))

    with on(dt.date(2026, 6, 21)):
        scan()

    reminder = Reminder.objects.get()
    assert (reminder.due, reminder.status, reminder.snoozed_until) == (
        dt.date(2026, 7, 15),
        "snoozed",
        dt.date(2026, 7, 1),
    )


# --- dismissed, done, resolved ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_dismissed_reminder_is_not_created_again_for_the_same_due_date(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    dismiss(Reminder.objects.get())

    with on(dt.date(2026, 6, 21)):
        summary = scan()
    with on(dt.date(2026, 8, 1)):
        scan()

    assert rows(patient) == [("NEXT_DOSE", "denosumab", NEXT_DOSE_DUE, "dismissed")]
    assert summary.created == []


@pytest.mark.django_db
def test_a_dismissed_item_comes_back_when_its_due_date_changes(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    dismiss(Reminder.objects.get())
    Dose.objects.filter(date=dt.date(2026, 1, 10)).update(date=dt.date(2026, 1, 20))

    with on(dt.date(2026, 6, 21)):
        scan()

    assert rows(patient) == [
        ("NEXT_DOSE", "denosumab", dt.date(2026, 7, 10), "dismissed"),
        ("NEXT_DOSE", "denosumab", dt.date(2026, 7, 20), "open"),
    ]


@pytest.mark.django_db
def test_a_reminder_moved_onto_a_dismissed_date_is_resolved(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    dismiss(Reminder.objects.get())
    last = Dose.objects.get(date=dt.date(2026, 1, 10))
    last.date = dt.date(2026, 1, 20)
    last.save()
    with on(dt.date(2026, 6, 21)):
        scan()  # a new reminder for 2026-07-20
    last.date = dt.date(2026, 1, 10)
    last.save()

    with on(dt.date(2026, 6, 22)):
        scan()

    assert rows(patient) == [
        ("NEXT_DOSE", "denosumab", dt.date(2026, 7, 10), "dismissed"),
        ("NEXT_DOSE", "denosumab", dt.date(2026, 7, 20), "resolved"),
    ]


@pytest.mark.django_db
def test_a_dismissed_undated_alert_stays_dismissed_until_its_condition_has_cleared_once(clinic):
    patient = with_hypocalcemia(clinic)
    with on(dt.date(2026, 9, 1)):
        scan()
    dismiss(Reminder.objects.get())

    with on(dt.date(2026, 9, 2)):
        scan()
    with on(dt.date(2026, 9, 10)):
        scan()
    assert rows(patient) == [("CORRECT_HYPOCALCEMIA_FIRST", "", dt.date(2026, 9, 1), "dismissed")]

    set_hypocalcemia(patient, False)
    with on(dt.date(2026, 9, 11)):
        scan()
    dismissed = Reminder.objects.get()
    assert (dismissed.status, dismissed.snoozed_until) == ("dismissed", dt.date(2026, 9, 11))

    set_hypocalcemia(patient, True)
    with on(dt.date(2026, 9, 12)):
        summary = scan()
    assert rows(patient) == [
        ("CORRECT_HYPOCALCEMIA_FIRST", "", dt.date(2026, 9, 1), "dismissed"),
        ("CORRECT_HYPOCALCEMIA_FIRST", "", dt.date(2026, 9, 12), "open"),
    ]
    assert [entry["kind"] for entry in summary.created] == ["CORRECT_HYPOCALCEMIA_FIRST"]


@pytest.mark.django_db
def test_an_undated_alert_that_clears_and_returns_the_same_day_reopens_its_reminder(clinic):
    patient = with_hypocalcemia(clinic)
    with on(dt.date(2026, 9, 1)):
        scan()
        dismiss(Reminder.objects.get())
        set_hypocalcemia(patient, False)
        scan()
        set_hypocalcemia(patient, True)
        scan()

    assert rows(patient) == [("CORRECT_HYPOCALCEMIA_FIRST", "", dt.date(2026, 9, 1), "open")]


@pytest.mark.django_db
def test_dismissing_again_after_a_lapse_holds_again(clinic):
    patient = with_hypocalcemia(clinic)
    with on(dt.date(2026, 9, 1)):
        scan()
    dismiss(Reminder.objects.get())
    set_hypocalcemia(patient, False)
    with on(dt.date(2026, 9, 2)):
        scan()
    set_hypocalcemia(patient, True)
    with on(dt.date(2026, 9, 3)):
        scan()
    dismiss(Reminder.objects.get(status="open"))

    with on(dt.date(2026, 9, 4)):
        summary = scan()

    assert summary.created == []
    assert [r[3] for r in rows(patient)] == ["dismissed", "dismissed"]


# A reminder marked done stays done instead: tests/monitoring/test_scan_done.py.
@pytest.mark.parametrize("closed", ["resolved"])
@pytest.mark.django_db
def test_a_closed_reminder_for_the_same_due_date_is_reopened_not_duplicated(clinic, closed):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    reminder = Reminder.objects.get()
    Reminder.objects.update(status=closed, closed_at=timezone.now(), close_reason="called")

    with on(dt.date(2026, 6, 21)):
        summary = scan()

    reopened = Reminder.objects.get()
    assert reopened.pk == reminder.pk
    assert (reopened.status, reopened.closed_at, reopened.close_reason) == ("open", None, "")
    assert summary.created == [
        {"patient": patient.pk, "kind": "NEXT_DOSE", "drug": "denosumab", "due": "2026-07-10"}
    ]


@pytest.mark.django_db
def test_the_database_refuses_two_active_reminders_for_one_item(clinic):
    patient = factories.PatientFactory(clinic=clinic)
    Reminder.objects.create(patient=patient, kind="NEXT_DOSE", drug="denosumab", due=NEXT_DOSE_DUE)

    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(
            patient=patient, kind="NEXT_DOSE", drug="denosumab", due=dt.date(2026, 8, 1)
        )


@pytest.mark.django_db
def test_the_database_refuses_two_reminders_for_one_item_and_due_date(clinic):
    patient = factories.PatientFactory(clinic=clinic)
    Reminder.objects.create(
        patient=patient, kind="NEXT_DOSE", drug="denosumab", due=NEXT_DOSE_DUE, status="done"
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(
            patient=patient, kind="NEXT_DOSE", drug="denosumab", due=NEXT_DOSE_DUE
        )


# --- the audit trail and the run record ---------------------------------------------------------


@pytest.mark.django_db
def test_every_change_the_scan_makes_is_in_the_audit_trail(clinic):
    on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    Dose.objects.create(course=TherapyCourse.objects.get(), date=dt.date(2026, 7, 8))
    with on(dt.date(2026, 7, 9)):
        scan()

    history = list(
        Reminder.objects.get()
        .history.order_by("history_date")
        .values_list("history_type", "status", "history_user", "history_change_reason")
    )
    assert history == [
        ("+", "open", None, "reminder scan"),
        ("~", "resolved", None, "reminder scan"),
    ]


@pytest.mark.django_db
def test_a_full_scan_is_recorded_with_its_counts(clinic):
    on_denosumab(clinic)
    with_hypocalcemia(clinic)

    with on(dt.date(2026, 8, 20)):
        summary = scan()

    run = ScanRun.objects.get()
    assert (run.as_of, run.status, run.patients, run.created, run.error) == (
        dt.date(2026, 8, 20),
        "succeeded",
        2,
        len(summary.created),
        "",
    )
    assert run.finished_at is not None


@pytest.mark.django_db
def test_a_run_left_running_by_a_dead_worker_is_recorded_as_failed_by_the_next_run(clinic):
    with on(dt.date(2026, 8, 18)):
        dead = ScanRun.objects.create(as_of=dt.date(2026, 8, 18))
    with on(dt.date(2026, 8, 19), hour=3):
        recent = ScanRun.objects.create(as_of=dt.date(2026, 8, 19))
        scan()

    dead.refresh_from_db()
    recent.refresh_from_db()
    assert (dead.status, dead.error) == ("failed", scan_module.INTERRUPTED)
    assert recent.status == "running"  # may still be at work


@pytest.mark.django_db
def test_a_scan_of_some_patients_scans_only_them_and_is_not_recorded_as_a_run(clinic):
    one, other = on_denosumab(clinic), on_denosumab(clinic)

    with on(dt.date(2026, 6, 20)):
        summary = scan(patient_ids=[one.pk])

    assert summary.patients == 1
    assert rows(one) and not rows(other)
    assert not ScanRun.objects.exists()


class Killed(Exception):
    """The worker dies."""


def _every_kind_of_patient(clinic: Clinic) -> None:
    """Patients in each state the scan handles, with reminders already in each status."""
    for _ in range(2):
        on_denosumab(clinic)  # NEXT_DOSE (+ DENOSUMAB_OVERDUE later)
    with_hypocalcemia(clinic)
    factories.PatientFactory(clinic=clinic)  # floating MON-1 and MON-4
    gone = on_denosumab(clinic, doses=(dt.date(2025, 1, 10), dt.date(2026, 6, 1)))
    Reminder.objects.create(patient=gone, kind="NEXT_DOSE", drug="denosumab", due=NEXT_DOSE_DUE)
    moving = on_denosumab(clinic)
    Reminder.objects.create(
        patient=moving,
        kind="NEXT_DOSE",
        drug="denosumab",
        due=dt.date(2026, 7, 1),
        status="snoozed",
        snoozed_until=dt.date(2026, 8, 1),
    )
    blocked = on_denosumab(clinic)
    Reminder.objects.create(
        patient=blocked,
        kind="NEXT_DOSE",
        drug="denosumab",
        due=NEXT_DOSE_DUE,
        status="dismissed",
        close_reason="moved away",
    )
    done = with_hypocalcemia(clinic)
    Reminder.objects.create(
        patient=done,
        kind="CORRECT_HYPOCALCEMIA_FIRST",
        due=dt.date(2026, 8, 20),
        severity="critical",
        status="done",
    )


def _table() -> list[tuple]:
    return list(
        Reminder.objects.order_by("patient__mrn", "kind", "drug", "due").values_list(
            "patient__mrn",
            "kind",
            "drug",
            "due",
            "status",
            "severity",
            "snoozed_until",
            "closed_at",
            "close_reason",
        )
    )


@pytest.mark.django_db
def test_a_scan_killed_half_way_and_run_again_leaves_what_one_clean_run_leaves(clinic, monkeypatch):
    _every_kind_of_patient(clinic)

    def die_after_the_first_batch(number: int) -> None:
        if number == 1:
            raise Killed

    with on(dt.date(2026, 8, 20)):
        with transaction.atomic():
            monkeypatch.setattr(scan_module, "_after_batch", die_after_the_first_batch)
            with pytest.raises(Killed):
                scan(batch_size=3)
            assert ScanRun.objects.get().status == "failed"
            half_way = _table()
            monkeypatch.undo()
            scan(batch_size=3)
            killed_then_rerun = _table()
            transaction.set_rollback(True)  # back to the data before either run

        assert _table() != half_way  # the kill did leave work undone
        scan(batch_size=3)
        clean = _table()

    assert killed_then_rerun == clean
    assert half_way != clean


@pytest.mark.django_db
def test_the_batch_size_does_not_change_the_result(clinic):
    _every_kind_of_patient(clinic)

    with on(dt.date(2026, 8, 20)):
        with transaction.atomic():
            one_by_one = scan(batch_size=1)
            table_one_by_one = _table()
            transaction.set_rollback(True)
        all_at_once = scan(batch_size=500)

    assert _table() == table_one_by_one
    assert one_by_one.as_json() == all_at_once.as_json()


@pytest.mark.django_db
def test_a_failing_scan_is_recorded_as_failed_with_its_error(clinic, monkeypatch):
    on_denosumab(clinic)

    def broken(*args, **kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(scan_module, "schedule", broken)
    with on(dt.date(2026, 6, 20)), pytest.raises(RuntimeError):
        scan()

    run = ScanRun.objects.get()
    assert run.status == "failed"
    assert "engine exploded" in run.error


@pytest.mark.django_db
def test_a_batch_whose_reminder_changed_between_reading_and_writing_is_computed_again(
    clinic, monkeypatch
):
    on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    Reminder.objects.update(status="snoozed", snoozed_until=dt.date(2026, 7, 5))
    Dose.objects.filter(date=dt.date(2026, 1, 10)).update(date=dt.date(2026, 1, 20))
    real_write = scan_module._write
    seen = []

    def read_before_the_admin_snoozed_it(plan, *, now):
        seen.append({pk: row.status for pk, row in plan.snapshot.items()})
        if len(seen) == 1:  # the first read predates the admin's snooze
            for row in plan.snapshot.values():
                row.status, row.snoozed_until = "open", None
        real_write(plan, now=now)

    monkeypatch.setattr(scan_module, "_write", read_before_the_admin_snoozed_it)
    with on(dt.date(2026, 6, 21)):
        scan()

    reminder = Reminder.objects.get()
    assert (reminder.due, reminder.status) == (dt.date(2026, 7, 20), "snoozed")
    assert len(seen) == 2


@pytest.mark.django_db
def test_a_batch_runs_with_the_garbage_collector_paused_and_turns_it_back_on(clinic, monkeypatch):
    """The cyclic collector is off while a batch evaluates (it cost a third of the batch's time
    on long histories) and on again after it, after a failure too; a caller's own "off" stays."""
    on_denosumab(clinic)
    real_schedule = scan_module.schedule
    seen = []

    def spy(case):
        seen.append(gc.isenabled())
        return real_schedule(case)

    monkeypatch.setattr(scan_module, "schedule", spy)
    with on(dt.date(2026, 6, 20)):
        scan()
    assert seen == [False]
    assert gc.isenabled()

    def broken(case):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(scan_module, "schedule", broken)
    with on(dt.date(2026, 6, 21)), pytest.raises(RuntimeError):
        scan()
    assert gc.isenabled()

    monkeypatch.setattr(scan_module, "schedule", spy)
    gc.disable()
    try:
        with on(dt.date(2026, 6, 22)):
            scan()
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert seen == [False, False]


# --- cost -----------------------------------------------------------------------------------------


# On SQLite bulk_create splits its rows into INSERTs of at most 999 parameters, so the count grows
# with the rows there by design; the fixed budget is PostgreSQL's, where the scan runs for real.
@pytest.mark.usefixtures("require_postgres")
@pytest.mark.parametrize("patients", [3, 30])
@pytest.mark.django_db
def test_a_batch_costs_the_same_number_of_queries_however_many_patients_it_holds(
    clinic, patients, django_assert_max_num_queries
):
    for _ in range(patients):
        patient = on_denosumab(clinic)
        factories.add_long_history(patient, years=3, start=dt.date(2020, 1, 10))

    with on(dt.date(2026, 8, 20)):
        scan()  # the first scan creates every reminder
        Dose.objects.filter(date=dt.date(2026, 1, 10)).update(date=dt.date(2026, 1, 11))
        # interrupted runs; the run; clinics; the batch's bounds; savepoint; lock; eleven
        # reads of the histories; the open FLS episodes; reminders; locked re-read; update +
        # audit; release; the run.
        # (SQLite splits the audit rows of 60 reminders into two INSERTs: its parameter limit.)
        with django_assert_max_num_queries(25):
            summary = scan()

    assert len(summary.moved) == 2 * patients  # NEXT_DOSE and DENOSUMAB_OVERDUE of each
