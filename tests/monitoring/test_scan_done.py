"""Done means done: a reminder resolves when the record shows the action; one marked done stays
done for its due date while the scan still finds it due (saying why), until the date moves or the
clinic's hold runs out; and patients who left get no reminders."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from monitoring import scan as scan_module
from monitoring.models import DxaScan, LabResult, Reassessment, Reminder, ReminderStatus
from monitoring.reminder_services import reminder_done
from monitoring.tasks import rescan_patient_task
from patients.models import Clinic, Patient, PatientStatus, RiskProfile
from patients.services import record_save
from tests import factories
from tests.monitoring.test_scan import NEXT_DOSE_DUE, on, on_denosumab, scan, settled
from therapy.models import Dose, TherapyCourse


def reminder(patient: Patient, kind: str) -> Reminder:
    return Reminder.objects.get(patient=patient, kind=kind)


def mark_done(r: Reminder, note: str = "Given at the GP surgery") -> Reminder:
    return reminder_done(reminder=r, actor=None, note=note, now=timezone.now())


# --- the record shows the action: the reminder resolves by itself --------------------------------


@pytest.fixture
def save_and_rescan(monkeypatch, django_capture_on_commit_callbacks):
    """`save_and_rescan(row, actor)`: a clinical save as the pages make it (`record_save`), whose
    queued rescan a worker runs at once. Returns the patients rescanned."""
    rescanned: list[int] = []

    def worker_runs_it(args, **options):
        rescanned.append(args[0])
        rescan_patient_task.apply(args=args)

    monkeypatch.setattr(rescan_patient_task, "apply_async", worker_runs_it)

    def save(row, actor):
        with django_capture_on_commit_callbacks(execute=True):
            record_save(instance=row, actor=actor)
        return rescanned

    return save


@pytest.mark.django_db
def test_a_recorded_dose_resolves_the_next_dose_reminder_at_the_patients_rescan(
    clinic, nurse, save_and_rescan
):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    assert reminder(patient, "NEXT_DOSE").status == "open"

    with on(dt.date(2026, 7, 8), hour=15):
        course = TherapyCourse.objects.get(patient=patient)
        rescanned = save_and_rescan(Dose(course=course, date=dt.date(2026, 7, 8)), nurse)

    assert rescanned == [patient.pk]
    assert reminder(patient, "NEXT_DOSE").status == "resolved"


@pytest.mark.django_db
def test_a_recorded_dxa_scan_resolves_the_dxa_reminder(clinic, nurse, save_and_rescan):
    patient = factories.PatientFactory(clinic=clinic)
    Reassessment.objects.create(patient=patient, date=dt.date(2026, 3, 1))
    DxaScan.objects.create(patient=patient, date=dt.date(2024, 6, 1), total_hip_t_score=-2.6)
    with on(dt.date(2026, 6, 1)):
        scan()
    assert reminder(patient, "DXA_FOLLOW_UP").due == dt.date(2026, 6, 1)

    with on(dt.date(2026, 6, 3), hour=15):
        rescanned = save_and_rescan(
            DxaScan(patient=patient, date=dt.date(2026, 6, 3), total_hip_t_score=-2.5), nurse
        )

    assert rescanned == [patient.pk]
    assert reminder(patient, "DXA_FOLLOW_UP").status == "resolved"


@pytest.mark.django_db
def test_a_recorded_lab_resolves_the_marker_check_reminder(clinic, nurse, save_and_rescan):
    patient = settled(factories.PatientFactory(clinic=clinic))
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2026, 5, 1)
    )
    Dose.objects.create(course=course, date=dt.date(2026, 5, 1))
    LabResult.objects.create(patient=patient, date=dt.date(2026, 4, 25), test="ctx", value=0.5)
    with on(dt.date(2026, 7, 20)):
        scan()
    assert reminder(patient, "BTM_3_MONTHS").status == "open"

    with on(dt.date(2026, 7, 25), hour=15):
        rescanned = save_and_rescan(
            LabResult(patient=patient, date=dt.date(2026, 7, 25), test="ctx", value=0.2), nurse
        )

    assert rescanned == [patient.pk]
    assert reminder(patient, "BTM_3_MONTHS").status == "resolved"


@pytest.mark.django_db
def test_a_recorded_reassessment_resolves_the_reassessment_reminder(
    clinic, clinician, save_and_rescan
):
    patient = factories.PatientFactory(clinic=clinic)
    Reassessment.objects.create(patient=patient, date=dt.date(2025, 6, 10))
    DxaScan.objects.create(patient=patient, date=dt.date(2026, 3, 1), total_hip_t_score=-2.6)
    with on(dt.date(2026, 6, 1)):
        scan()
    assert reminder(patient, "FRACTURE_RISK_REASSESSMENT").due == dt.date(2026, 6, 10)

    with on(dt.date(2026, 6, 2), hour=15):
        rescanned = save_and_rescan(
            Reassessment(patient=patient, date=dt.date(2026, 6, 2)), clinician
        )

    assert rescanned == [patient.pk]
    assert reminder(patient, "FRACTURE_RISK_REASSESSMENT").status == "resolved"


# --- marked done, still due: it stays done and says why ------------------------------------------


@pytest.mark.django_db
def test_a_reminder_marked_done_stays_done_and_says_why_it_is_still_due(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
        done = mark_done(reminder(patient, "NEXT_DOSE"))

    with on(dt.date(2026, 6, 21)):
        summary = scan()

    done.refresh_from_db()
    assert (done.status, done.close_reason) == ("done", "Given at the GP surgery")
    assert done.still_due == "no denosumab dose recorded since 2026-01-10"
    assert Reminder.objects.filter(patient=patient, kind="NEXT_DOSE").count() == 1
    assert summary.created == []
    assert summary.held == [
        {
            "patient": patient.pk,
            "kind": "NEXT_DOSE",
            "drug": "denosumab",
            "due": NEXT_DOSE_DUE.isoformat(),
            "still_due": "no denosumab dose recorded since 2026-01-10",
        }
    ]


@pytest.mark.django_db
def test_a_second_scan_after_holding_changes_nothing(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
        mark_done(reminder(patient, "NEXT_DOSE"))
    with on(dt.date(2026, 6, 21)):
        scan()
    history = Reminder.history.count()

    with on(dt.date(2026, 6, 22)):
        summary = scan()

    assert (summary.held, summary.created, summary.moved, summary.resolved) == ([], [], [], [])
    assert Reminder.history.count() == history


@pytest.mark.parametrize(
    ("setup", "kind", "words"),
    [
        ("dxa", "DXA_FOLLOW_UP", "no DXA scan since 2024-06-01"),
        ("reassessment", "FRACTURE_RISK_REASSESSMENT", "no reassessment since 2025-06-10"),
    ],
)
@pytest.mark.django_db
def test_the_still_due_words_come_from_the_patients_record(clinic, setup, kind, words):
    patient = factories.PatientFactory(clinic=clinic)
    Reassessment.objects.create(
        patient=patient,
        date=dt.date(2025, 6, 10) if setup == "reassessment" else dt.date(2026, 3, 1),
    )
    DxaScan.objects.create(
        patient=patient,
        date=dt.date(2024, 6, 1) if setup == "dxa" else dt.date(2026, 3, 1),
        total_hip_t_score=-2.6,
    )
    with on(dt.date(2026, 6, 1)):
        scan()
        done = mark_done(reminder(patient, kind))
    with on(dt.date(2026, 6, 2)):
        scan()

    done.refresh_from_db()
    assert (done.status, done.still_due) == ("done", words)


@pytest.mark.django_db
def test_a_done_reminder_returns_as_a_new_open_one_when_its_due_date_moves(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
        done = mark_done(reminder(patient, "NEXT_DOSE"))
    with on(dt.date(2026, 6, 21)):
        scan()
    # The last dose was given on another day than recorded: the engine's date moves.
    Dose.objects.filter(date=dt.date(2026, 1, 10)).update(date=dt.date(2026, 1, 20))

    with on(dt.date(2026, 6, 22)):
        summary = scan()

    done.refresh_from_db()
    assert (done.status, done.due, done.still_due) == ("done", NEXT_DOSE_DUE, "")
    moved = Reminder.objects.get(patient=patient, kind="NEXT_DOSE", status="open")
    assert moved.due == dt.date(2026, 7, 20)
    assert {
        "patient": patient.pk,
        "kind": "NEXT_DOSE",
        "drug": "denosumab",
        "due": "2026-07-20",
    } in (summary.created)


@pytest.mark.parametrize(
    ("hold_days", "reopens_on"), [(14, dt.date(2026, 7, 4)), (3, dt.date(2026, 6, 23))]
)
@pytest.mark.django_db
def test_a_done_reminder_still_due_reopens_when_the_clinics_hold_runs_out(
    clinic, hold_days, reopens_on
):
    Clinic.objects.filter(pk=clinic.pk).update(done_hold_days=hold_days)
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
        done = mark_done(reminder(patient, "NEXT_DOSE"), note="Booked at the GP")

    with on(reopens_on - dt.timedelta(days=1)):
        scan()
    done.refresh_from_db()
    assert done.status == "done"

    with on(reopens_on):
        summary = scan()

    done.refresh_from_db()
    assert (done.status, done.closed_at, done.close_reason, done.still_due) == (
        "open",
        None,
        "",
        "",
    )
    assert summary.created == [
        {"patient": patient.pk, "kind": "NEXT_DOSE", "drug": "denosumab", "due": "2026-07-10"}
    ]
    # The close reason is kept in the reminder's history.
    assert "Booked at the GP" in done.history.values_list("close_reason", flat=True)


@pytest.mark.django_db
def test_a_critical_alert_marked_done_follows_the_same_rule(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 8, 20)):  # more than 7 months after the last dose: ALR-2
        scan()
        done = mark_done(reminder(patient, "DENOSUMAB_OVERDUE"))

    with on(dt.date(2026, 8, 21)):
        scan()
    done.refresh_from_db()
    assert (done.status, done.still_due) == ("done", "no denosumab dose recorded since 2026-01-10")

    with on(dt.date(2026, 9, 3)):  # 14 days after it was marked done
        scan()
    done.refresh_from_db()
    assert (done.status, done.still_due) == ("open", "")


@pytest.mark.django_db
def test_an_undated_critical_alert_marked_done_holds_and_then_reopens_with_its_date(clinic):
    patient = settled(factories.PatientFactory(clinic=clinic))
    RiskProfile.objects.filter(patient=patient).update(has_hypocalcemia=True)
    with on(dt.date(2026, 9, 1)):
        scan()
        done = mark_done(reminder(patient, "CORRECT_HYPOCALCEMIA_FIRST"))

    with on(dt.date(2026, 9, 10)):
        summary = scan()
    done.refresh_from_db()
    assert done.status == "done"
    assert done.still_due.startswith("no calcium result")
    assert summary.created == []

    with on(dt.date(2026, 9, 15)):
        scan()
    done.refresh_from_db()
    assert (done.status, done.due) == ("open", dt.date(2026, 9, 1))
    assert Reminder.objects.filter(patient=patient).count() == 1


@pytest.mark.django_db
def test_a_done_reminder_whose_item_is_gone_loses_its_still_due_words(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
        done = mark_done(reminder(patient, "NEXT_DOSE"))
    with on(dt.date(2026, 6, 21)):
        scan()
    Dose.objects.create(
        course=TherapyCourse.objects.get(patient=patient), date=dt.date(2026, 6, 21)
    )

    with on(dt.date(2026, 6, 22)):
        scan()

    done.refresh_from_db()
    assert (done.status, done.still_due) == ("done", "")


@pytest.mark.django_db
def test_a_dry_run_says_what_it_would_hold_and_writes_nothing(clinic):
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
        done = mark_done(reminder(patient, "NEXT_DOSE"))

    with on(dt.date(2026, 6, 21)):
        summary = scan(dry_run=True)

    done.refresh_from_db()
    assert len(summary.held) == 1
    assert done.still_due == ""


# --- patients who left --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (PatientStatus.DECEASED, "patient deceased"),
        (PatientStatus.TRANSFERRED, "patient transferred"),
        (PatientStatus.DISCHARGED, "patient discharged"),
    ],
)
@pytest.mark.django_db
def test_the_scan_closes_the_reminders_of_a_patient_who_left_and_makes_no_new_ones(
    clinic, status, reason
):
    left, staying = on_denosumab(clinic), on_denosumab(clinic)
    with on(dt.date(2026, 8, 20)):
        scan()
        done = mark_done(reminder(left, "DENOSUMAB_OVERDUE"))
    # Changed outside the status service (an import, the admin): the next scan cleans up.
    Patient.objects.filter(pk=left.pk).update(status=status, status_date=dt.date(2026, 8, 25))

    with on(dt.date(2026, 8, 26)):
        summary = scan()

    closed = Reminder.objects.filter(patient=left).exclude(pk=done.pk)
    assert {(r.status, r.close_reason) for r in closed} == {("resolved", reason)}
    assert done.status == Reminder.objects.get(pk=done.pk).status == "done"
    assert summary.inactive_patients == 1
    assert len(summary.inactive_resolved) == closed.count() > 0
    assert summary.counts()["inactive_resolved"] == closed.count()
    assert summary.resolved == []
    assert Reminder.objects.filter(patient=staying, status="open").exists()

    with on(dt.date(2027, 3, 1)):  # much later: still nothing for them
        later = scan()
    assert not Reminder.objects.filter(patient=left, status__in=["open", "snoozed"]).exists()
    assert (later.inactive_patients, later.inactive_resolved) == (1, [])


@pytest.mark.django_db
def test_a_patient_who_left_is_not_evaluated(clinic, monkeypatch):
    left = on_denosumab(clinic)
    Patient.objects.filter(pk=left.pk).update(
        status=PatientStatus.DECEASED, status_date=dt.date(2026, 1, 1)
    )
    evaluated = []
    real = scan_module.cases_for_patients

    def spy(ids, **kwargs):
        evaluated.extend(ids)
        return real(ids, **kwargs)

    monkeypatch.setattr(scan_module, "cases_for_patients", spy)
    with on(dt.date(2026, 7, 20)):
        scan()

    assert evaluated == []
    assert not Reminder.objects.exists()


# --- racing a person ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_marking_done_while_a_batch_runs_is_kept_and_the_batch_is_computed_again(
    require_postgres, clinic, monkeypatch
):
    """The batch has read the reminder (snoozed, its snooze ending today: it would open it) when
    a person marks it done on another connection. The batch's locked re-read sees the change,
    the batch is computed again, and the reminder stays done, with why it is still due."""
    patient = on_denosumab(clinic)
    with on(dt.date(2026, 6, 20)):
        scan()
    Reminder.objects.filter(patient=patient, kind="NEXT_DOSE").update(
        status=ReminderStatus.SNOOZED, snoozed_until=dt.date(2026, 6, 25)
    )
    real_write = scan_module._write
    attempts = []

    def person_marks_done_meanwhile(plan, *, now):
        attempts.append(sorted(plan.open))
        if len(attempts) == 1:

            def person():
                try:
                    mark_done(Reminder.objects.get(patient=patient, kind="NEXT_DOSE"))
                finally:
                    connection.close()

            thread = threading.Thread(target=person)
            thread.start()
            thread.join(timeout=30)
        real_write(plan, now=now)

    monkeypatch.setattr(scan_module, "_write", person_marks_done_meanwhile)
    with on(dt.date(2026, 6, 25)):
        summary = scan()

    r = Reminder.objects.get(patient=patient, kind="NEXT_DOSE")
    assert len(attempts) == 2
    assert (r.status, r.still_due) == ("done", "no denosumab dose recorded since 2026-01-10")
    assert summary.snooze_ended == []


# --- cost -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("patients", [3, 30])
@pytest.mark.django_db
def test_holding_done_reminders_costs_no_more_queries_per_batch(
    clinic, patients, django_assert_max_num_queries
):
    for _ in range(patients):
        on_denosumab(clinic)
    with on(dt.date(2026, 7, 20)):
        scan()
        for r in Reminder.objects.filter(kind="NEXT_DOSE"):
            mark_done(r)
        # interrupted runs; the run; clinics; the batch's bounds; savepoint; lock; eleven reads
        # of the histories; the open FLS episodes; reminders; locked re-read; update + audit;
        # release; the run.
        with django_assert_max_num_queries(25):
            summary = scan()

    assert len(summary.held) == patients
