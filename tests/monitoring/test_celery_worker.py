"""End to end: a real Celery worker (`celery -A config worker`) takes the scan from the configured
broker — Redis in CI (a Redis that is down fails the run there), kombu's file transport by
default — and writes the reminders into this test's database.

The worker is a separate process, so it reads the test database itself: PostgreSQL's test
database by name, or, on SQLite (whose test database lives in this process's memory), a file
copy of it, read back when the worker is done. Each test uses a queue of its own, so messages
other tests queued on a shared broker never reach this worker.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from monitoring.tasks import rescan_patient_task, scan_reminders_task
from patients.models import RiskProfile
from tests import factories
from therapy.models import Dose, TherapyCourse

BASE_DIR = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60


@pytest.fixture
def broker(request) -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis://"):
        request.getfixturevalue("require_redis")
    elif not url.startswith("filesystem://"):
        pytest.skip(f"no worker test for the broker {url}")
    return url


class Database:
    """Where the worker finds the test's data, and how the test reads the worker's writes."""

    def __init__(self, tmp_path: Path) -> None:
        db = settings.DATABASES["default"]
        self.vendor = connection.vendor
        if self.vendor == "postgresql":
            auth = quote(db["USER"] or "")
            if db.get("PASSWORD"):
                auth += ":" + quote(db["PASSWORD"])
            host = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
            self.url = f"postgres://{auth}@{host}/{db['NAME']}"
        else:
            self.file = tmp_path / "worker.sqlite3"
            self.url = f"sqlite:///{self.file}"

    def hand_over(self) -> None:
        """Make what the test wrote visible to the worker."""
        if self.vendor != "postgresql":
            connection.ensure_connection()
            target = sqlite3.connect(self.file)
            connection.connection.backup(target)
            target.close()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), params)
                return cursor.fetchall()
        with sqlite3.connect(self.file) as db:
            return db.execute(sql, params).fetchall()


def wait_for(condition: Callable[[], bool], worker: subprocess.Popen, what: str) -> None:
    """Poll `condition` until it holds; fail with the worker's log after TIMEOUT_S."""
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}) before {what}:\n{_log(worker)}")
        if time.monotonic() > deadline:
            worker.terminate()
            pytest.fail(f"no {what} after {TIMEOUT_S} s; worker log:\n{_log(worker)}")
        time.sleep(0.1)


def _log(worker: subprocess.Popen) -> str:
    try:
        out, _ = worker.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        worker.kill()
        out, _ = worker.communicate()
    return out or ""


@pytest.fixture
def start_worker(broker, tmp_path) -> Iterator[Callable[[Database], tuple[subprocess.Popen, str]]]:
    workers: list[subprocess.Popen] = []

    def start(database: Database) -> tuple[subprocess.Popen, str]:
        queue = f"ossa-test-{uuid.uuid4().hex[:12]}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database.url,
            "CELERY_BROKER_URL": broker,
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
        worker = subprocess.Popen(  # noqa: S603 — our own interpreter running celery
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                f"--queues={queue}",
                f"--hostname={queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        workers.append(worker)
        return worker, queue

    yield start
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def _overdue_on_denosumab(clinic):
    patient = factories.PatientFactory(clinic=clinic)
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2025, 1, 10)
    )
    for day in (dt.date(2025, 1, 10), dt.date(2025, 7, 10)):
        Dose.objects.create(course=course, date=day)
    return patient


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_nightly_scan_as_two_batch_tasks_from_the_broker(
    clinic, start_worker, tmp_path
):
    patients = [_overdue_on_denosumab(clinic) for _ in range(3)]
    database = Database(tmp_path)
    database.hand_over()
    worker, queue = start_worker(database)

    # Two batches (of 2 and 1 patients), each its own task through the broker.
    scan_reminders_task.apply_async(kwargs={"as_of": "2026-03-01", "batch_size": 2}, queue=queue)

    def scan_finished() -> bool:
        rows = database.query("SELECT status, error FROM monitoring_scanrun")
        assert not [row for row in rows if row[0] == "failed"], rows
        return bool(rows) and rows[0][0] == "succeeded"

    wait_for(scan_finished, worker, "finished scan")
    reminders = database.query(
        "SELECT patient_id, kind, drug, due, status FROM monitoring_reminder "
        "ORDER BY patient_id, kind"
    )
    expected = []
    for patient in patients:
        expected += [
            (patient.pk, "DENOSUMAB_OVERDUE", "", "2026-01-10", "open"),
            (patient.pk, "DXA_FOLLOW_UP", "", "2026-03-01", "open"),
            (patient.pk, "FRACTURE_RISK_REASSESSMENT", "", "2026-03-01", "open"),
            (patient.pk, "NEXT_DOSE", "denosumab", "2026-01-10", "open"),
        ]
    assert [(p, k, d, str(due), s) for p, k, d, due, s in reminders] == expected
    assert database.query(
        "SELECT patients, created, batches, batches_done, batches_failed FROM monitoring_scanrun"
    ) == [(3, 12, 2, 2, 0)]
    worker.terminate()
    log = _log(worker)
    assert log.count("monitoring.tasks.scan_batch_task[") >= 2, log


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_rescans_one_patient(clinic, start_worker, tmp_path):
    patient = factories.PatientFactory(clinic=clinic)
    RiskProfile.objects.filter(patient=patient).update(has_hypocalcemia=True)
    bystander = factories.PatientFactory(clinic=clinic)
    database = Database(tmp_path)
    database.hand_over()
    worker, queue = start_worker(database)

    rescan_patient_task.apply_async((patient.pk,), queue=queue)

    def reminded() -> bool:
        return bool(
            database.query(
                "SELECT 1 FROM monitoring_reminder WHERE patient_id = ? AND kind = ?",
                (patient.pk, "CORRECT_HYPOCALCEMIA_FIRST"),
            )
        )

    wait_for(reminded, worker, "reminder for the rescanned patient")
    assert database.query(
        "SELECT count(*) FROM monitoring_reminder WHERE patient_id = ?", (bystander.pk,)
    ) == [(0,)]
