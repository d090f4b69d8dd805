"""The daily digest: one e-mail per recipient per day, listing their new critical and newly overdue
reminders, never sent twice for one day (claimed first), retried after a failed send."""

from __future__ import annotations

import datetime as dt
import logging
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from monitoring.models import Reminder, ReminderDigest
from monitoring.notifications import digest_pending, reminders_digest_send
from monitoring.reminder_settings import DIGEST_TASK_NAME
from monitoring.tasks import send_reminder_digest_task
from patients.models import Clinic, Membership, Patient, PatientStatus, Role
from tests import factories

LONDON = ZoneInfo("Europe/London")
DAY = dt.date(2026, 9, 2)
MORNING = dt.datetime(2026, 9, 2, 7, 0, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def hospital_domains(monkeypatch):
    """The clinics' shared mailboxes (bones@…) are in an allowed domain (issue 11, M8)."""
    monkeypatch.setenv("OSSA_ALLOWED_EMAIL_DOMAINS", "hillside.example, riverside.example")


@pytest.fixture
def team(clinic, clinician, nurse):
    clinician.email = "clinician@hillside.example"
    clinician.save()
    nurse.email = "nurse@hillside.example"
    nurse.save()
    Clinic.objects.filter(pk=clinic.pk).update(notification_emails="bones@hillside.example")
    return clinician, nurse


@pytest.fixture
def morning():
    with time_machine.travel(MORNING, tick=False):
        yield


def schedule_digest() -> None:
    """What migration 0008 does. Transactional tests elsewhere (live server, real worker) flush
    the tables the migration filled; its (idempotent) step run again gives a fresh database's."""
    from django.apps import apps

    import_module("monitoring.migrations.0008_daily_reminder_digest").schedule(apps, None)


def reminder(patient: Patient, kind: str, due: dt.date, **fields) -> Reminder:
    return Reminder.objects.create(patient=patient, kind=kind, due=due, **fields)


def send(day: dt.date = DAY) -> int:
    return reminders_digest_send(day=day, now=timezone.now())


def to(address: str):
    return next(m for m in mail.outbox if m.to == [address])


@pytest.mark.django_db
def test_each_recipient_gets_one_digest_of_their_new_critical_and_newly_overdue_reminders(
    clinic, team, nurse, morning
):
    patient = factories.PatientFactory(clinic=clinic, mrn="H-0042")
    alert = reminder(patient, "DENOSUMAB_OVERDUE", dt.date(2026, 9, 10), severity="critical")
    overdue = reminder(patient, "DXA_FOLLOW_UP", dt.date(2026, 8, 30))
    mine = reminder(patient, "NEXT_DOSE", dt.date(2026, 9, 1), drug="denosumab", assignee=nurse)
    reminder(patient, "FRACTURE_RISK_REASSESSMENT", dt.date(2026, 9, 20))  # not due yet

    assert send() == 3

    assert sorted(m.to[0] for m in mail.outbox) == [
        "bones@hillside.example",
        "clinician@hillside.example",
        "nurse@hillside.example",
    ]
    clinician_mail = to("clinician@hillside.example")
    assert "New critical reminders (1)" in clinician_mail.body
    assert "Newly overdue reminders (1)" in clinician_mail.body
    assert f"https://ossa.test/reminders/{alert.pk}/" in clinician_mail.body
    assert f"https://ossa.test/reminders/{overdue.pk}/" in clinician_mail.body
    assert f"reminders/{mine.pk}/" not in clinician_mail.body  # assigned to the nurse
    assert "MRN H-0042" in clinician_mail.body
    assert patient.name not in clinician_mail.subject + clinician_mail.body
    nurse_mail = to("nurse@hillside.example")
    assert f"https://ossa.test/reminders/{mine.pk}/" in nurse_mail.body
    assert f"reminders/{alert.pk}/" not in nurse_mail.body
    assert len(to("bones@hillside.example").body.split("MRN H-0042")) == 4  # all three
    digest = ReminderDigest.objects.get(recipient="clinician@hillside.example")
    assert (digest.day, digest.sent_at, digest.reminders) == (DAY, MORNING, 2)
    assert set(Reminder.objects.filter(digested_at=MORNING).values_list("pk", flat=True)) == {
        alert.pk,
        overdue.pk,
        mine.pk,
    }


@pytest.mark.django_db
def test_a_second_run_the_same_day_sends_nothing(clinic, team, morning):
    patient = factories.PatientFactory(clinic=clinic)
    reminder(patient, "DXA_FOLLOW_UP", dt.date(2026, 8, 30))
    send()
    reminder(patient, "FRACTURE_RISK_REASSESSMENT", dt.date(2026, 8, 1))  # found later today

    assert send() == 0
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_what_was_digested_is_not_listed_again_until_it_falls_due(clinic, team):
    patient = factories.PatientFactory(clinic=clinic)
    soon = reminder(patient, "DENOSUMAB_OVERDUE", dt.date(2026, 9, 4), severity="critical")
    late = reminder(patient, "DXA_FOLLOW_UP", dt.date(2026, 8, 30))
    with time_machine.travel(MORNING, tick=False):
        send()

    assert set(digest_pending(DAY + dt.timedelta(days=1))) == set()
    # The critical one was listed as new before its date; once overdue it is listed again.
    assert set(digest_pending(dt.date(2026, 9, 5))) == {soon}
    assert late not in digest_pending(dt.date(2026, 9, 30))


@pytest.mark.django_db
def test_a_snoozed_reminder_is_overdue_only_once_its_snooze_has_ended(clinic, team):
    patient = factories.PatientFactory(clinic=clinic)
    snoozed = reminder(
        patient,
        "DXA_FOLLOW_UP",
        dt.date(2026, 8, 30),
        status="snoozed",
        snoozed_until=dt.date(2026, 9, 5),
    )

    assert snoozed not in digest_pending(DAY)
    assert snoozed in digest_pending(dt.date(2026, 9, 6))


@pytest.mark.parametrize("status", ["done", "dismissed", "resolved"])
@pytest.mark.django_db
def test_closed_reminders_are_not_in_the_digest(clinic, team, status):
    patient = factories.PatientFactory(clinic=clinic)
    reminder(
        patient,
        "DENOSUMAB_OVERDUE",
        dt.date(2026, 8, 1),
        severity="critical",
        status=status,
        close_reason="for the test",
    )

    assert list(digest_pending(DAY)) == []


@pytest.mark.django_db
def test_the_reminders_of_a_patient_who_left_are_not_in_the_digest(clinic, team):
    patient = factories.PatientFactory(clinic=clinic)
    reminder(patient, "DENOSUMAB_OVERDUE", dt.date(2026, 8, 1), severity="critical")
    Patient.objects.filter(pk=patient.pk).update(
        status=PatientStatus.TRANSFERRED, status_date=dt.date(2026, 8, 20)
    )

    assert list(digest_pending(DAY)) == []


@pytest.mark.django_db
def test_a_recipient_another_worker_has_claimed_today_is_left_to_it(clinic, team, morning):
    patient = factories.PatientFactory(clinic=clinic)
    reminder(patient, "DXA_FOLLOW_UP", dt.date(2026, 8, 30))
    ReminderDigest.objects.create(recipient="clinician@hillside.example", day=DAY)

    assert send() == 1

    assert [m.to for m in mail.outbox] == [["bones@hillside.example"]]


@pytest.mark.django_db
def test_a_failed_send_releases_its_claim_and_the_retry_sends_it_once(
    clinic, team, morning, monkeypatch, caplog
):
    patient = factories.PatientFactory(clinic=clinic)
    overdue = reminder(patient, "DXA_FOLLOW_UP", dt.date(2026, 8, 30))
    real = EmailBackend.send_messages

    def clinician_unreachable(self, messages):
        if messages[0].to == ["clinician@hillside.example"]:
            raise ConnectionRefusedError("SMTP says no")
        return real(self, messages)

    with monkeypatch.context() as patch:
        patch.setattr(EmailBackend, "send_messages", clinician_unreachable)
        with caplog.at_level(logging.ERROR, logger="monitoring.notifications"):
            assert send() == 1
    assert "daily digest: sending to clinician@hillside.example failed" in caplog.text
    assert not ReminderDigest.objects.filter(recipient="clinician@hillside.example").exists()
    overdue.refresh_from_db()
    assert overdue.digested_at is None  # still owed to the clinician

    assert send() == 1  # the task's retry

    assert sorted(m.to[0] for m in mail.outbox) == [
        "bones@hillside.example",
        "clinician@hillside.example",
    ]
    overdue.refresh_from_db()
    assert overdue.digested_at == MORNING


@pytest.mark.django_db
def test_the_digest_costs_a_fixed_number_of_queries_per_recipient(
    clinic, team, morning, django_assert_max_num_queries
):
    for _ in range(20):
        reminder(factories.PatientFactory(clinic=clinic), "DXA_FOLLOW_UP", dt.date(2026, 8, 1))

    # the reminders with patients and clinics; the clinicians; the clinics' staff addresses;
    # per recipient (2): savepoint, claim, release, sent; the digested stamp
    with django_assert_max_num_queries(4 + 2 * 4):
        assert send() == 2


# --- the beat task ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_digest_task_sends_todays_digest(clinic, team, morning):
    reminder(factories.PatientFactory(clinic=clinic), "DXA_FOLLOW_UP", dt.date(2026, 8, 30))

    result = send_reminder_digest_task.apply()

    assert result.successful()
    assert result.result == 2
    assert set(ReminderDigest.objects.values_list("day", flat=True)) == {DAY}


@pytest.mark.django_db
def test_the_digest_task_takes_its_day_as_text(clinic, team, morning):
    reminder(factories.PatientFactory(clinic=clinic), "DXA_FOLLOW_UP", dt.date(2026, 8, 30))

    send_reminder_digest_task.apply(kwargs={"day": "2026-08-31"})

    assert set(ReminderDigest.objects.values_list("day", flat=True)) == {dt.date(2026, 8, 31)}


@pytest.mark.django_db
def test_a_migration_schedules_the_digest_every_morning_at_seven():
    schedule_digest()
    task = PeriodicTask.objects.select_related("crontab").get(name=DIGEST_TASK_NAME)

    assert task.task == "monitoring.tasks.send_reminder_digest_task"
    assert task.enabled
    assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_week) == ("7", "0", "*")


@pytest.mark.django_db
def test_nobody_else_gets_a_digest(clinic, other_clinic, team, morning):
    """A clinician of another clinic hears nothing of Hillside's reminders."""
    outsider = factories.UserFactory(username="elsewhere", email="elsewhere@riverside.example")
    Membership.objects.create(user=outsider, clinic=other_clinic, role=Role.CLINICIAN)
    reminder(factories.PatientFactory(clinic=clinic), "DXA_FOLLOW_UP", dt.date(2026, 8, 30))

    send()

    assert "elsewhere@riverside.example" not in [m.to[0] for m in mail.outbox]


@pytest.mark.django_db(transaction=True)
def test_the_digest_schedule_migration_is_reversible_and_leaves_a_moved_one_alone():
    from django.core.management import call_command

    call_command("migrate", "monitoring", "0007", verbosity=0)
    assert not PeriodicTask.objects.filter(name=DIGEST_TASK_NAME).exists()
    call_command("migrate", "monitoring", verbosity=0)
    task = PeriodicTask.objects.get(name=DIGEST_TASK_NAME)
    task.crontab.hour = "6"
    task.crontab.save()

    schedule_digest()  # run again: no second task, the moved time kept
    assert PeriodicTask.objects.filter(name=DIGEST_TASK_NAME).count() == 1
    assert PeriodicTask.objects.get(name=DIGEST_TASK_NAME).crontab.hour == "6"


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_days_digest_at_once_send_each_recipient_one(
    require_postgres, clinic, team
):
    import threading

    from django.db import connection

    for _ in range(5):
        reminder(factories.PatientFactory(clinic=clinic), "DXA_FOLLOW_UP", dt.date(2026, 8, 30))
    start = threading.Barrier(2)
    sent: list[int] = []

    def worker():
        try:
            start.wait(timeout=10)
            sent.append(reminders_digest_send(day=DAY, now=MORNING))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(sent) == 2
    assert sorted(m.to[0] for m in mail.outbox) == [
        "bones@hillside.example",
        "clinician@hillside.example",
    ]
    assert ReminderDigest.objects.filter(sent_at__isnull=False).count() == 2
