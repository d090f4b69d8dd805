"""E-mail for critical reminders: one message per reminder, to the right people, never twice."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import psycopg
import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from monitoring.models import DxaScan, Reassessment, Reminder
from monitoring.notifications import reminders_notify_pending
from monitoring.scan import reminders_scan
from patients.models import Clinic, Membership, RiskProfile, Role
from tests import factories

LONDON = ZoneInfo("Europe/London")
TONIGHT = dt.datetime(2026, 9, 1, 2, 30, tzinfo=LONDON)


@pytest.fixture
def staff(clinic, clinician, nurse, clinic_admin):
    """The Hillside team with addresses, and a second clinician."""
    for user, address in (
        (clinician, "clinician@hillside.example"),
        (nurse, "nurse@hillside.example"),
        (clinic_admin, "admin@hillside.example"),
    ):
        user.email = address
        user.save()
    second = factories.UserFactory(username="second", email="second@hillside.example")
    Membership.objects.create(user=second, clinic=clinic, role=Role.CLINICIAN)
    return clinician, second


def hypocalcemic(clinic: Clinic):
    """A patient with an undated critical alert (ALR-10) and nothing else due."""
    patient = factories.PatientFactory(clinic=clinic)
    RiskProfile.objects.filter(patient=patient).update(has_hypocalcemia=True)
    Reassessment.objects.create(patient=patient, date=dt.date(2026, 3, 1))
    DxaScan.objects.create(patient=patient, date=dt.date(2026, 3, 1), total_hip_t_score=-2.6)
    return patient


@pytest.fixture
def tonight():
    with time_machine.travel(TONIGHT, tick=False):
        yield


def scan(capture, **kwargs):
    """The scan, running its after-commit e-mails as a worker's commit would."""
    with capture(execute=True):
        return reminders_scan(as_of=timezone.localdate(), now=timezone.now(), **kwargs)


@pytest.mark.django_db
def test_a_new_critical_reminder_is_mailed_once_to_the_clinicians_and_the_clinic_addresses(
    clinic, staff, tonight, django_capture_on_commit_callbacks
):
    Clinic.objects.filter(pk=clinic.pk).update(
        notification_emails="bones@hillside.example, CLINICIAN@hillside.example"
    )
    patient = hypocalcemic(clinic)

    scan(django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [
        "clinician@hillside.example",
        "second@hillside.example",
        "bones@hillside.example",
    ]
    assert f"MRN {patient.mrn}" in message.subject
    assert "Correct hypocalcaemia first" in message.subject
    assert "Due: 2026-09-01" in message.body
    assert patient.name not in message.subject + message.body
    assert Reminder.objects.get().notified_at == TONIGHT


@pytest.mark.django_db
def test_an_assigned_critical_reminder_is_mailed_to_its_assignee_only(
    clinic, staff, nurse, tonight, django_capture_on_commit_callbacks
):
    Clinic.objects.filter(pk=clinic.pk).update(notification_emails="bones@hillside.example")
    patient = hypocalcemic(clinic)
    Reminder.objects.create(
        patient=patient,
        kind="CORRECT_HYPOCALCEMIA_FIRST",
        severity="critical",
        due=dt.date(2026, 8, 30),
        assignee=nurse,
    )

    scan(django_capture_on_commit_callbacks)

    assert [m.to for m in mail.outbox] == [["nurse@hillside.example", "bones@hillside.example"]]


@pytest.mark.django_db
def test_a_critical_reminder_is_never_mailed_twice(
    clinic, staff, tonight, django_capture_on_commit_callbacks
):
    hypocalcemic(clinic)

    scan(django_capture_on_commit_callbacks)
    scan(django_capture_on_commit_callbacks)
    sent_again = reminders_notify_pending(now=timezone.now())

    assert len(mail.outbox) == 1
    assert sent_again == 0


@pytest.mark.django_db
def test_a_reopened_critical_reminder_is_not_mailed_again(
    clinic, staff, tonight, django_capture_on_commit_callbacks
):
    hypocalcemic(clinic)
    scan(django_capture_on_commit_callbacks)
    Reminder.objects.update(status="done", closed_at=timezone.now())

    scan(django_capture_on_commit_callbacks)

    assert Reminder.objects.get().status == "open"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_routine_reminders_send_no_mail(clinic, staff, tonight, django_capture_on_commit_callbacks):
    factories.PatientFactory(clinic=clinic)  # MON-1 and MON-4 due: routine reminders

    scan(django_capture_on_commit_callbacks)

    assert Reminder.objects.count() == 2
    assert mail.outbox == []


@pytest.mark.django_db
def test_no_mail_leaves_the_transaction_of_the_scan_before_it_commits(clinic, staff, tonight):
    hypocalcemic(clinic)

    reminders_scan(as_of=timezone.localdate(), now=timezone.now())  # the test never commits

    assert mail.outbox == []
    assert Reminder.objects.get().notified_at is None


@pytest.mark.django_db
def test_a_failed_send_is_logged_and_retried_by_the_next_scan(
    clinic, staff, tonight, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    hypocalcemic(clinic)

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("SMTP server unreachable")

    with monkeypatch.context() as patch:
        patch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", smtp_down)
        with caplog.at_level(logging.ERROR, logger="monitoring.notifications"):
            scan(django_capture_on_commit_callbacks)
    assert Reminder.objects.get().notified_at is None
    assert "sending the e-mail failed" in caplog.text
    assert mail.outbox == []

    scan(django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    assert Reminder.objects.get().notified_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_reminder_another_worker_is_claiming_is_left_to_it(
    require_postgres, clinic, staff, tonight
):
    patient = hypocalcemic(clinic)
    reminder = Reminder.objects.create(
        patient=patient, kind="CORRECT_HYPOCALCEMIA_FIRST", severity="critical", due=TONIGHT.date()
    )
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )
    try:
        other.execute("SELECT 1 FROM monitoring_reminder WHERE id = %s FOR UPDATE", [reminder.pk])
        assert reminders_notify_pending(now=timezone.now()) == 0  # locked: not waited for

        other.execute(
            "UPDATE monitoring_reminder SET notified_at = now() WHERE id = %s", [reminder.pk]
        )
        other.commit()  # the other worker claimed it
        assert reminders_notify_pending(now=timezone.now()) == 0
    finally:
        other.close()

    assert mail.outbox == []


@pytest.mark.django_db
def test_with_nobody_to_tell_the_reminder_waits_and_a_warning_is_logged(
    clinic, tonight, django_capture_on_commit_callbacks, caplog
):
    hypocalcemic(clinic)  # the clinic has no clinician and no notification address

    with caplog.at_level(logging.WARNING, logger="monitoring.notifications"):
        scan(django_capture_on_commit_callbacks)

    assert mail.outbox == []
    assert "nobody to tell" in caplog.text
    assert Reminder.objects.get().notified_at is None


@pytest.mark.django_db
def test_notifying_a_batch_costs_a_fixed_number_of_queries(
    clinic, staff, tonight, django_assert_max_num_queries
):
    for _ in range(10):
        patient = hypocalcemic(clinic)
        Reminder.objects.create(
            patient=patient,
            kind="CORRECT_HYPOCALCEMIA_FIRST",
            severity="critical",
            due=TONIGHT.date(),
        )

    # savepoint; the pending reminders, locked, with patients and clinics; the clinicians;
    # the claim; release
    with django_assert_max_num_queries(5):
        assert reminders_notify_pending(now=timezone.now()) == 10
