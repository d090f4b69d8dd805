"""The Celery side of the reminders: the tasks, the nightly schedule, and the rescan a save asks
for — which must never cost the save, not even with the broker down."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import OperationalError
from django_celery_beat.models import PeriodicTask

from config.celery import app as celery_app
from monitoring import scan as scan_module
from monitoring import tasks
from monitoring.models import DxaScan, Reminder, ScanRun
from monitoring.tasks import enqueue_patient_rescan, rescan_patient_task, scan_reminders_task
from patients.models import Membership, Role
from patients.services import record_delete, record_save
from tests import factories
from therapy.case_records import patient_import_case
from therapy.engine import parse_case
from therapy.models import Dose, TherapyCourse

BASE_DIR = Path(__file__).resolve().parents[2]
LONDON = ZoneInfo("Europe/London")
DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def eager():
    """The nightly task's batch tasks run at once, in this process (as in a test settings'
    CELERY_TASK_ALWAYS_EAGER), through the same code a worker runs."""
    was = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = was


@pytest.fixture
def queued(monkeypatch):
    """The patient ids whose rescan was sent to the broker."""
    sent: list[int] = []
    monkeypatch.setattr(
        rescan_patient_task, "apply_async", lambda args, **options: sent.append(args[0])
    )
    monkeypatch.setattr(
        tasks.rescan_patients_task, "apply_async", lambda args, **options: sent.extend(args[0])
    )
    return sent


def a_scan(patient) -> DxaScan:
    return DxaScan(patient=patient, date=dt.date(2026, 3, 1), total_hip_t_score=-2.6)


# --- what a save queues ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_saving_a_dxa_scan_queues_a_rescan_of_its_patient_after_commit(
    patient, nurse, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record_save(instance=a_scan(patient), actor=nurse)
    assert queued == []  # nothing leaves before the commit

    for callback in callbacks:
        callback()
    assert queued == [patient.pk]


@pytest.mark.django_db
def test_saving_a_dose_queues_a_rescan_of_the_courses_patient(
    patient, nurse, queued, django_capture_on_commit_callbacks
):
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2026, 1, 5)
    )

    with django_capture_on_commit_callbacks(execute=True):
        record_save(instance=Dose(course=course, date=dt.date(2026, 1, 5)), actor=nurse)

    assert queued == [patient.pk]


@pytest.mark.django_db
def test_deleting_a_record_queues_a_rescan_and_deleting_a_patient_does_not(
    patient, clinician, queued, django_capture_on_commit_callbacks
):
    scan = DxaScan.objects.create(patient=patient, date=dt.date(2026, 3, 1), total_hip_t_score=-2)
    with django_capture_on_commit_callbacks(execute=True):
        record_delete(instance=scan, actor=clinician)
    assert queued == [patient.pk]

    other = factories.PatientFactory(clinic=patient.clinic)
    with django_capture_on_commit_callbacks(execute=True):
        record_delete(instance=other, actor=clinician)
    assert queued == [patient.pk]


@pytest.mark.django_db
def test_a_row_of_no_patient_queues_nothing(
    clinic, outsider, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        record_save(instance=Membership(user=outsider, clinic=clinic, role=Role.NURSE), actor=None)

    assert queued == []


@pytest.mark.django_db
def test_a_transaction_that_writes_a_whole_history_queues_one_rescan(
    clinic, queued, django_capture_on_commit_callbacks
):
    case = json.loads((BASE_DIR / "tests/cases/v08_denosumab_overdue.json").read_text())["case"]
    case["patient"]["mrn"] = "IMPORT-1"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        patient = patient_import_case(clinic=clinic, case=parse_case(case))

    assert queued == [patient.pk]
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_a_rescan_queued_inside_a_rolled_back_savepoint_is_dropped(
    patient, queued, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                enqueue_patient_rescan(patient.pk)
                raise RuntimeError("the save failed")
        except RuntimeError:
            pass

    assert queued == []


@pytest.mark.django_db
def test_a_rescan_dropped_by_a_rolled_back_savepoint_is_queued_again_by_a_later_save(
    patient, queued, django_capture_on_commit_callbacks
):
    """The constant-time de-duplication must not trust a callback a rollback removed."""
    from django.db import transaction

    other = factories.PatientFactory(clinic=patient.clinic)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_patient_rescan(other.pk)
        try:
            with transaction.atomic():
                enqueue_patient_rescan(patient.pk)
                enqueue_patient_rescan(patient.pk)
                raise RuntimeError("the save failed")
        except RuntimeError:
            pass
        enqueue_patient_rescan(patient.pk)
        enqueue_patient_rescan(other.pk)
        enqueue_patient_rescan(patient.pk)

    assert queued == [other.pk, patient.pk]
    assert len(callbacks) == 2


@pytest.mark.django_db
def test_a_rescan_moved_in_the_pending_list_is_still_found(
    patient, queued, django_capture_on_commit_callbacks
):
    """A callback no longer at its recorded index (the list rebuilt by a rollback) is looked
    for again: found, it is not queued twice."""
    from django.db import connection

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_patient_rescan(patient.pk)
        connection.run_on_commit.insert(0, (list(connection.savepoint_ids), lambda: None, True))
        enqueue_patient_rescan(patient.pk)
        enqueue_patient_rescan(patient.pk)

    assert queued == [patient.pk]
    assert len([f for f in callbacks if isinstance(f, tasks._Rescan)]) == 1


class _WalkCountingList(list):
    """The pending on-commit list, counting how often it is walked from the start."""

    walks = 0

    def __iter__(self):
        type(self).walks += 1
        return super().__iter__()


@pytest.mark.django_db
def test_many_saves_of_many_patients_queue_one_rescan_each_without_walking_the_list(
    queued, django_capture_on_commit_callbacks
):
    """5,000 saves of 1,000 patients: one rescan each, in the order first saved, and the
    pending list is never walked (walking it at each save made a bulk import quadratic)."""
    from django.db import connection

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        connection.run_on_commit = _WalkCountingList(connection.run_on_commit)
        _WalkCountingList.walks = 0
        for _ in range(5):
            for pk in range(1, 1001):
                enqueue_patient_rescan(pk)
        walks = _WalkCountingList.walks

    assert walks == 0
    assert queued == list(range(1, 1001))
    assert len(callbacks) == 1000


@pytest.mark.django_db
def test_a_batch_of_rescans_shares_one_callback_and_skips_the_queued(
    queued, django_capture_on_commit_callbacks
):
    """(`enqueue_patients_rescan`: a bulk import's batch, its tasks sent over one connection.)"""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_patient_rescan(2)
        tasks.enqueue_patients_rescan([1, 2, 3, 3])
        tasks.enqueue_patients_rescan([3, 1])
        enqueue_patient_rescan(1)

    assert [f.patient_ids for f in callbacks] == [[2], [1, 3]]
    assert queued == [2, 1, 3]


@pytest.mark.django_db(transaction=True)
def test_each_transaction_queues_its_own_rescan(queued):
    """The map of queued rescans does not outlive its transaction, even when the next one
    has another callback pending before its first save."""
    from django.db import transaction

    with transaction.atomic():
        enqueue_patient_rescan(7)
        enqueue_patient_rescan(7)
    assert queued == [7]
    with transaction.atomic():
        transaction.on_commit(lambda: None)
        enqueue_patient_rescan(7)
        enqueue_patient_rescan(7)
    assert queued == [7, 7]
    enqueue_patient_rescan(7)  # outside a transaction: at once
    assert queued == [7, 7, 7]


# --- the broker is down ---------------------------------------------------------------------


@pytest.fixture
def dead_broker(monkeypatch):
    """Point the Celery app at a port where no broker listens (as if Redis were down)."""
    conf = celery_app.conf
    saved = {key: conf.get(key) for key in ("broker_url", "broker_transport_options")}

    def use(values):
        conf.update(values)
        celery_app._pool = None  # connections are pooled per URL: start afresh
        celery_app.amqp._producer_pool = None

    monkeypatch.setenv("CELERY_BROKER_URL", DEAD_BROKER)  # celery reads it before its settings
    use(
        {
            "broker_url": DEAD_BROKER,
            "broker_transport_options": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
    )
    yield
    monkeypatch.undo()
    use(saved)


@pytest.mark.django_db
def test_saving_a_scan_and_a_dose_with_the_broker_down_succeeds_and_is_logged(
    patient, nurse, dead_broker, caplog, django_capture_on_commit_callbacks
):
    """(Two patients: one transaction queues one rescan per patient.)"""
    other = factories.PatientFactory(clinic=patient.clinic)
    course = TherapyCourse.objects.create(
        patient=other, drug="denosumab", start=dt.date(2026, 1, 5)
    )
    started = time.monotonic()

    with caplog.at_level(logging.WARNING, logger="monitoring.tasks"):
        with django_capture_on_commit_callbacks(execute=True):
            record_save(instance=a_scan(patient), actor=nurse)
        with django_capture_on_commit_callbacks(execute=True):
            record_save(instance=Dose(course=course, date=dt.date(2026, 1, 5)), actor=nurse)

    assert DxaScan.objects.filter(patient=patient).exists()
    assert Dose.objects.filter(course=course).exists()
    warnings = [r for r in caplog.records if "could not queue the reminder rescan" in r.message]
    assert len(warnings) == 2
    assert "nightly scan" in warnings[0].message
    assert time.monotonic() - started < 5  # the save does not hang on the broker


# --- the tasks ------------------------------------------------------------------------------------


def _overdue_on_denosumab(clinic):
    patient = factories.PatientFactory(clinic=clinic)
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2025, 1, 10)
    )
    for day in (dt.date(2025, 1, 10), dt.date(2025, 7, 10)):
        Dose.objects.create(course=course, date=day)
    return patient


@pytest.mark.django_db
def test_the_rescan_task_brings_one_patients_reminders_up_to_date(clinic):
    one, other = _overdue_on_denosumab(clinic), _overdue_on_denosumab(clinic)

    with time_machine.travel(dt.datetime(2026, 7, 1, 10, tzinfo=LONDON), tick=False):
        result = rescan_patient_task.apply(args=(one.pk,))

    assert result.successful()
    assert Reminder.objects.filter(patient=one, kind="DENOSUMAB_OVERDUE").exists()
    assert not Reminder.objects.filter(patient=other).exists()
    assert not ScanRun.objects.exists()


@pytest.mark.django_db
def test_the_nightly_task_scans_everyone_as_of_the_clinics_today(clinic, eager):
    _overdue_on_denosumab(clinic)

    # 00:30 in London is still the day before in UTC: the clinic's date counts
    with time_machine.travel(dt.datetime(2026, 7, 1, 0, 30, tzinfo=LONDON), tick=False):
        result = scan_reminders_task.apply()

    assert result.successful()
    assert result.result["as_of"] == "2026-07-01"
    run = ScanRun.objects.get()
    assert (run.as_of, run.status) == (dt.date(2026, 7, 1), "succeeded")
    assert Reminder.objects.filter(kind="DENOSUMAB_OVERDUE").exists()


@pytest.mark.django_db
def test_the_nightly_task_takes_the_date_to_scan_as_text(clinic, eager):
    _overdue_on_denosumab(clinic)

    result = scan_reminders_task.apply(kwargs={"as_of": "2026-02-01"})

    assert result.result["as_of"] == "2026-02-01"
    assert ScanRun.objects.get().as_of == dt.date(2026, 2, 1)


@pytest.mark.django_db
def test_a_task_whose_database_is_briefly_away_is_retried(clinic, monkeypatch, eager):
    calls = []
    real_start = scan_module.scan_run_start

    def database_away_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_start(**kwargs)

    monkeypatch.setattr(scan_module, "scan_run_start", database_away_once)

    result = scan_reminders_task.apply(kwargs={"as_of": "2026-07-01"})

    assert result.successful()
    assert len(calls) == 2
    assert ScanRun.objects.get().status == "succeeded"


@pytest.mark.parametrize("task", [scan_reminders_task, rescan_patient_task])
def test_the_tasks_are_acknowledged_late_and_retried_with_backoff(task):
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert OperationalError in task.autoretry_for
    assert task.retry_backoff and task.max_retries


def test_a_batch_task_is_acknowledged_late_and_retries_itself():
    assert tasks.scan_batch_task.acks_late is True
    assert tasks.scan_batch_task.reject_on_worker_lost is True
    assert OperationalError in tasks.BATCH_RETRY_FOR
    assert tasks.scan_batch_task.max_retries


def test_the_worker_knows_the_tasks_by_their_scheduled_names():
    celery_app.loader.import_default_modules()

    assert {
        "monitoring.tasks.scan_reminders_task",
        "monitoring.tasks.rescan_patient_task",
        "monitoring.tasks.scan_batch_task",
    } <= set(celery_app.tasks)


# --- the schedule and the configuration -----------------------------------------------------------


@pytest.mark.django_db
def test_a_migration_schedules_the_nightly_scan_at_half_past_two_in_the_clinics_time_zone():
    from importlib import import_module

    from django.apps import apps

    # Transactional tests elsewhere (live server, real worker) flush the tables the migration
    # filled; running its (idempotent) step again gives the state a fresh database has.
    import_module("monitoring.migrations.0003_nightly_reminder_scan").schedule(apps, None)
    task = PeriodicTask.objects.select_related("crontab").get(name="Nightly reminder scan")

    assert task.task == "monitoring.tasks.scan_reminders_task"
    assert task.enabled
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("30", "2", "*")
    assert str(crontab.timezone) == settings.TIME_ZONE


def test_the_migration_creates_the_schedule_once_and_leaves_a_moved_one_alone():
    from importlib import import_module

    migration = import_module("monitoring.migrations.0003_nightly_reminder_scan")
    assert migration.TASK_NAME == "Nightly reminder scan"
    assert callable(migration.unschedule)  # reversible


@pytest.mark.django_db(transaction=True)
def test_the_schedule_migration_is_reversible_and_idempotent():
    from django.core.management import call_command

    call_command("migrate", "monitoring", "0002", verbosity=0)
    assert not PeriodicTask.objects.filter(name="Nightly reminder scan").exists()
    call_command("migrate", "monitoring", verbosity=0)
    task = PeriodicTask.objects.get(name="Nightly reminder scan")
    task.crontab.hour = "4"
    task.crontab.save()

    call_command("migrate", "monitoring", "0002", verbosity=0)
    call_command("migrate", "monitoring", verbosity=0)
    assert PeriodicTask.objects.filter(name="Nightly reminder scan").count() == 1


def test_celery_is_configured_for_reliable_delivery():
    conf = celery_app.conf

    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.worker_max_tasks_per_child
    assert conf.broker_connection_timeout <= 5
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def _settings_with(**env: str) -> dict:
    code = (
        "import json, config.settings as s; print(json.dumps({'url': s.CELERY_BROKER_URL, "
        "'options': s.CELERY_BROKER_TRANSPORT_OPTIONS}))"
    )
    out = subprocess.run(  # noqa: S603 — our own interpreter and a fixed script
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_a_redis_broker_gets_short_socket_timeouts_and_a_visibility_timeout_beyond_any_task():
    configured = _settings_with(CELERY_BROKER_URL="redis://127.0.0.1:6379/3")

    options = configured["options"]
    assert options["socket_timeout"] <= 5 and options["socket_connect_timeout"] <= 5
    assert options["visibility_timeout"] > settings.CELERY_TASK_TIME_LIMIT


def test_the_file_broker_is_the_default():
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    code = "import config.settings as s; print(s.CELERY_BROKER_URL)"
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "filesystem://"


@pytest.mark.django_db
def test_a_bulk_write_sends_one_rescan_message_per_chunk_not_one_per_patient(clinic, monkeypatch):
    single, many = [], []
    monkeypatch.setattr(
        tasks.rescan_patient_task, "apply_async", lambda args, **o: single.append(args[0])
    )
    monkeypatch.setattr(
        tasks.rescan_patients_task, "apply_async", lambda args, **o: many.append(list(args[0]))
    )
    monkeypatch.setattr(tasks, "RESCAN_CHUNK", 3)

    tasks._Rescan(*range(1, 8))()
    tasks._Rescan(42)()

    assert many == [[1, 2, 3], [4, 5, 6], [7]]
    assert single == [42]


@pytest.mark.django_db
def test_the_many_patients_rescan_brings_each_patients_reminders_up_to_date(clinic):
    patients = [factories.PatientFactory(clinic=clinic, mrn=f"M{n}") for n in range(3)]

    result = tasks.rescan_patients_task.apply(args=([p.pk for p in patients],))

    assert result.successful()
    assert result.result["patients"] == 3
