"""The nightly scan as Celery work: one task per batch of patients, each counted on the run's
`ScanRun` row; the last one in finishes the run and sends the immediate e-mail once. The batch
tasks run eagerly here (CELERY_TASK_ALWAYS_EAGER), through the code a worker runs;
test_celery_worker.py sends them through a real worker."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.core import mail
from django.db import OperationalError
from django.utils import timezone

from config.celery import app as celery_app
from monitoring import scan as scan_module
from monitoring.models import Reminder, ScanRun
from monitoring.scan import reminders_scan, scan_run_start
from monitoring.tasks import scan_batch_task, scan_reminders_task
from patients.models import Clinic, Patient
from tests.monitoring.test_scan import _every_kind_of_patient, _table, on, with_hypocalcemia

TONIGHT = dt.date(2026, 8, 20)
COUNTS = ("patients", "created", "moved", "resolved", "unchanged")


@pytest.fixture(autouse=True)
def eager():
    was = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = was


@pytest.fixture
def sent(monkeypatch):
    """The argument tuples of the batch tasks sent (each still runs)."""
    calls: list[tuple] = []
    real = scan_batch_task.apply_async

    def record(args, **options):
        calls.append(args)
        return real(args, **options)

    monkeypatch.setattr(scan_batch_task, "apply_async", record)
    return calls


def nightly(batch_size: int) -> ScanRun:
    with on(TONIGHT):
        result = scan_reminders_task.apply(kwargs={"batch_size": batch_size})
    assert result.successful(), result.traceback
    return ScanRun.objects.get(pk=result.result["run"])


def counts(run: ScanRun) -> dict[str, int]:
    return {name: getattr(run, name) for name in COUNTS}


@pytest.mark.django_db
def test_the_nightly_task_sends_one_task_per_batch_and_sums_what_one_process_finds(clinic, sent):
    _every_kind_of_patient(clinic)
    patients = Patient.objects.count()
    before = list(Reminder.objects.values())
    with on(TONIGHT):
        reminders_scan(as_of=TONIGHT, now=timezone.now(), batch_size=3)
    in_one_process = _table()
    one = ScanRun.objects.get()
    Reminder.objects.all().delete()
    Reminder.objects.bulk_create(Reminder(**row) for row in before)

    run = nightly(batch_size=3)

    assert len(sent) == math.ceil(patients / 3) == run.batches
    assert [after_pk for _, after_pk, *_ in sent] == sorted({a for _, a, *_ in sent})
    assert sent[-1][2] is None  # the last batch is open-ended
    assert all(isinstance(day, str) for *_, day, now in sent)
    assert (run.status, run.batches_done, run.batches_failed) == ("succeeded", run.batches, 0)
    assert counts(run) == counts(one) and run.patients == patients and run.created > 0
    assert _table() == in_one_process
    assert run.finished_at is not None and run.new_critical == []


@pytest.mark.django_db
def test_an_exact_multiple_of_the_batch_size_makes_no_empty_batch(clinic, sent):
    for _ in range(4):
        with_hypocalcemia(clinic)

    run = nightly(batch_size=2)

    assert len(sent) == run.batches == run.batches_done == 2
    assert run.patients == 4


@pytest.mark.django_db
def test_a_run_of_no_patient_is_finished_at_once(sent):
    run = nightly(batch_size=2)

    assert sent == []
    assert (run.status, run.batches, run.patients) == ("succeeded", 0, 0)


@pytest.mark.django_db
def test_a_batch_whose_database_is_away_once_is_retried_and_the_run_succeeds(clinic, monkeypatch):
    _every_kind_of_patient(clinic)
    real, calls = scan_module._scan_batch, []

    def away_once(batch, **kwargs):
        calls.append(batch)
        if len(calls) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real(batch, **kwargs)

    monkeypatch.setattr(scan_module, "_scan_batch", away_once)

    run = nightly(batch_size=3)

    assert len(calls) == run.batches + 1
    assert calls[1] == calls[2]  # the second batch, again
    assert (run.status, run.batches_done, run.batches_failed) == ("succeeded", 3, 0)
    assert run.patients == Patient.objects.count()


@pytest.mark.django_db
def test_a_batch_that_fails_for_good_is_counted_and_fails_the_run_with_its_bounds(
    clinic, monkeypatch
):
    _every_kind_of_patient(clinic)
    pks = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    real, attempts = scan_module._scan_batch, []

    def second_batch_down(batch, **kwargs):
        if batch.after_pk == pks[2]:
            attempts.append(batch)
            raise OperationalError("could not connect to server")
        return real(batch, **kwargs)

    monkeypatch.setattr(scan_module, "_scan_batch", second_batch_down)
    untouched = list(Reminder.objects.filter(patient_id__in=pks[3:6]).order_by("pk").values())

    run = nightly(batch_size=3)

    assert len(attempts) == scan_batch_task.max_retries + 1
    assert (run.status, run.batches, run.batches_done, run.batches_failed) == ("failed", 3, 2, 1)
    [failure] = run.failed_batches
    assert (failure["after_pk"], failure["upto_pk"]) == (pks[2], pks[5])
    assert "could not connect to server" in failure["error"]
    assert f"1 of 3 batches failed: patients {pks[2]}<pk≤{pks[5]}" in run.error
    assert run.patients == len(pks) - 3  # the other batches were scanned and counted
    assert list(Reminder.objects.filter(patient_id__in=pks[3:6]).order_by("pk").values()) == (
        untouched
    )
    assert Reminder.objects.filter(patient_id__in=pks[:3], status="open").exists()


@pytest.mark.django_db
def test_a_batch_with_a_bug_is_not_retried_but_counted_as_failed(clinic, monkeypatch):
    _every_kind_of_patient(clinic)
    calls = []

    def broken(batch, **kwargs):
        calls.append(batch)
        raise KeyError("kind")

    monkeypatch.setattr(scan_module, "_scan_batch", broken)

    run = nightly(batch_size=4)

    assert len(calls) == run.batches == run.batches_failed == 2
    assert run.status == "failed" and "KeyError" in run.error


@pytest.mark.django_db
def test_running_the_nightly_scan_twice_changes_nothing_the_second_time(clinic):
    _every_kind_of_patient(clinic)
    first = nightly(batch_size=3)
    after_first = _table()

    second = nightly(batch_size=3)

    assert _table() == after_first
    assert (second.created, second.moved, second.resolved) == (0, 0, 0)
    assert second.status == "succeeded" and second.patients == first.patients


@pytest.mark.django_db
def test_a_batch_delivered_again_is_counted_once(clinic):
    _every_kind_of_patient(clinic)
    with on(TONIGHT):
        now = timezone.now()
        run, batches = scan_run_start(as_of=TONIGHT, now=now, batch_size=5)
        args = [
            (run.pk, b.after_pk, b.upto_pk, TONIGHT.isoformat(), now.isoformat()) for b in batches
        ]
        scan_batch_task.apply(args[0])
        again = scan_batch_task.apply(args[0])  # its worker died before acknowledging it
        halfway = ScanRun.objects.get(pk=run.pk)
        scan_batch_task.apply(args[1])
        late = scan_batch_task.apply(args[1])  # after the run finished

    assert again.result is None and late.result is None
    assert (halfway.status, halfway.batches_done, halfway.patients) == ("running", 1, 5)
    run.refresh_from_db()
    assert (run.status, run.batches_done, run.patients) == ("succeeded", 2, Patient.objects.count())
    assert run.counted_batches == [b.after_pk for b in batches]


@pytest.mark.django_db
def test_the_immediate_email_goes_once_per_recipient_per_run(
    clinic, clinician, django_capture_on_commit_callbacks
):
    Clinic.objects.filter(pk=clinic.pk).update(immediate_critical_email=True)
    clinician.email = "clinician@hillside.example"
    clinician.save()
    for _ in range(5):
        with_hypocalcemia(clinic)  # a new critical alert each, in three batches

    with django_capture_on_commit_callbacks(execute=True):
        run = nightly(batch_size=2)

    assert run.batches == 3
    assert [m.to for m in mail.outbox] == [["clinician@hillside.example"]]
    assert "5 new critical reminders" in mail.outbox[0].subject
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        nightly(batch_size=2)

    assert mail.outbox == []


# --- where the last scan is shown ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_dashboard_shows_a_running_scans_batches_and_a_failed_ones_bounds(
    clinic_admin, client_for
):
    ScanRun.objects.create(
        as_of=TONIGHT,
        status="failed",
        patients=1000,
        batches=3,
        batches_done=2,
        batches_failed=1,
        failed_batches=[
            {"after_pk": 500, "upto_pk": None, "error": "OperationalError('server gone')"}
        ],
        error="1 of 3 batches failed: …",
    )
    ScanRun.objects.create(as_of=TONIGHT, batches=4, batches_done=1)  # running

    html = client_for(clinic_admin).get("/").content.decode()

    assert "the worklist is filling (1 of 4 batches done)." in html
    assert "1 of 3 batches of patients failed after their retries" in html
    assert "patients with id 501 and above: <code>OperationalError(&#x27;server gone&#x27;)" in html
