"""The immediate e-mail of new critical reminders (clinics that opt in): one message per
recipient per scan, to the right people, never twice. The daily digest: test_digest.py."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import psycopg
import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring import notifications
from monitoring.models import DxaScan, Reassessment, Reminder
from monitoring.notifications import reminders_digest_send, reminders_notify_new_critical
from monitoring.scan import reminders_scan
from patients.models import Clinic, Membership, RiskProfile, Role
from tests import factories

LONDON = ZoneInfo("Europe/London")
TONIGHT = dt.datetime(2026, 9, 1, 2, 30, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def hospital_domains(monkeypatch):
    """The clinics' shared mailboxes (bones@…) are in an allowed domain (issue 11, M8)."""
    monkeypatch.setenv("OSSA_ALLOWED_EMAIL_DOMAINS", "hillside.example, riverside.example")


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


@pytest.fixture(autouse=True)
def opted_in(clinic):
    Clinic.objects.filter(pk=clinic.pk).update(immediate_critical_email=True)


def critical(patient, due=None, **fields) -> Reminder:
    return Reminder.objects.create(
        patient=patient,
        kind="CORRECT_HYPOCALCEMIA_FIRST",
        severity="critical",
        due=due or TONIGHT.date(),
        **fields,
    )


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
def test_a_new_critical_reminder_is_mailed_once_to_each_clinician_and_clinic_address(
    clinic, staff, tonight, django_capture_on_commit_callbacks
):
    Clinic.objects.filter(pk=clinic.pk).update(
        notification_emails="bones@hillside.example, CLINICIAN@hillside.example"
    )
    patient = hypocalcemic(clinic)

    scan(django_capture_on_commit_callbacks)

    assert sorted(m.to for m in mail.outbox) == [
        ["bones@hillside.example"],
        ["clinician@hillside.example"],
        ["second@hillside.example"],
    ]
    message = mail.outbox[0]
    assert f"MRN {patient.mrn}" in message.subject
    assert "Correct hypocalcaemia first" in message.subject
    assert "due 2026-09-01" in message.body
    reminder = Reminder.objects.get()
    assert f"https://ossa.test/reminders/{reminder.pk}/" in message.body
    assert "https://ossa.test/reminders/" in message.body
    for person in (patient.name, patient.given_name, patient.family_name):
        if person:
            assert person not in message.subject + message.body
    assert reminder.notified_at == TONIGHT


@pytest.mark.django_db
def test_a_stored_outside_address_is_not_mailed(
    clinic, staff, tonight, monkeypatch, django_capture_on_commit_callbacks
):
    """A recipient list saved before the rule, or a domain no longer allowed, is filtered when
    sending: critical e-mails name MRNs and drugs (issue 11, M8)."""
    monkeypatch.setenv("OSSA_ALLOWED_EMAIL_DOMAINS", "")
    Clinic.objects.filter(pk=clinic.pk).update(
        notification_emails="someone@outside.example, nurse@hillside.example"
    )
    hypocalcemic(clinic)

    scan(django_capture_on_commit_callbacks)

    assert sorted(m.to for m in mail.outbox) == [
        ["clinician@hillside.example"],
        ["nurse@hillside.example"],  # a member of the clinic's staff
        ["second@hillside.example"],
    ]


@pytest.mark.django_db
def test_a_clinic_that_has_not_opted_in_gets_no_immediate_mail(
    clinic, staff, tonight, django_capture_on_commit_callbacks
):
    Clinic.objects.filter(pk=clinic.pk).update(immediate_critical_email=False)
    hypocalcemic(clinic)

    scan(django_capture_on_commit_callbacks)

    assert mail.outbox == []
    assert Reminder.objects.get().notified_at is None


@pytest.mark.django_db
def test_an_assigned_critical_reminder_is_mailed_to_its_assignee_and_the_clinic_addresses(
    clinic, staff, nurse, tonight, django_capture_on_commit_callbacks
):
    Clinic.objects.filter(pk=clinic.pk).update(notification_emails="bones@hillside.example")
    patient = hypocalcemic(clinic)
    critical(patient, due=dt.date(2026, 8, 30), assignee=nurse, status="done")

    scan(django_capture_on_commit_callbacks)  # reopens it: the done one was not held

    assert sorted(m.to for m in mail.outbox) == [
        ["bones@hillside.example"],
        ["nurse@hillside.example"],
    ]


@pytest.mark.django_db
def test_a_critical_reminder_is_never_mailed_twice(
    clinic, staff, tonight, django_capture_on_commit_callbacks
):
    hypocalcemic(clinic)

    scan(django_capture_on_commit_callbacks)
    scan(django_capture_on_commit_callbacks)
    reminder = Reminder.objects.get()
    sent_again = reminders_notify_new_critical(reminder_ids=[reminder.pk], now=timezone.now())

    assert len(mail.outbox) == 2  # the two clinicians, once
    assert sent_again == 0


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
def test_a_failed_send_is_logged_and_gives_its_claim_back(
    clinic, staff, tonight, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    hypocalcemic(clinic)

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("SMTP server unreachable")

    with monkeypatch.context() as patch:
        patch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", smtp_down)
        with caplog.at_level(logging.ERROR, logger="monitoring.notifications"):
            scan(django_capture_on_commit_callbacks)

    reminder = Reminder.objects.get()
    assert reminder.notified_at is None
    assert reminder.digested_at is None  # the next digest lists it
    assert "sending the e-mail to clinician@hillside.example failed" in caplog.text
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_a_reminder_another_worker_is_claiming_is_left_to_it(
    require_postgres, clinic, staff, tonight
):
    Clinic.objects.filter(pk=clinic.pk).update(immediate_critical_email=True)
    reminder = critical(hypocalcemic(clinic))
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
        # locked: not waited for
        assert reminders_notify_new_critical(reminder_ids=[reminder.pk], now=timezone.now()) == 0

        other.execute(
            "UPDATE monitoring_reminder SET notified_at = now() WHERE id = %s", [reminder.pk]
        )
        other.commit()  # the other worker claimed it
        assert reminders_notify_new_critical(reminder_ids=[reminder.pk], now=timezone.now()) == 0
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
def test_notifying_a_scan_costs_a_fixed_number_of_queries(
    clinic, staff, tonight, django_assert_max_num_queries
):
    ids = [critical(hypocalcemic(clinic)).pk for _ in range(10)]

    # savepoint; the reminders, locked, with patients and clinics; the claim; release;
    # the clinicians; the clinics' staff addresses (which extra recipients may stay)
    with django_assert_max_num_queries(6):
        assert reminders_notify_new_critical(reminder_ids=ids, now=timezone.now()) == 2


# --- one message per recipient per scan, however large ------------------------------------------


@pytest.mark.django_db
def test_one_scan_of_500_patients_with_200_new_criticals_mails_each_recipient_at_most_once(
    clinic, other_clinic, staff, tonight, django_capture_on_commit_callbacks
):
    """Two clinics (the second with its own clinician and address), 500 patients in batches of
    100, 200 of them with a new critical alert; then the next morning's digest."""
    Clinic.objects.filter(pk=other_clinic.pk).update(
        immediate_critical_email=True, notification_emails="team@riverside.example"
    )
    Clinic.objects.filter(pk=clinic.pk).update(notification_emails="bones@hillside.example")
    rider = factories.UserFactory(username="rider", email="rider@riverside.example")
    Membership.objects.create(user=rider, clinic=other_clinic, role=Role.CLINICIAN)
    patients = [
        factories.PatientFactory.build(clinic=clinic if n % 2 else other_clinic, mrn=f"B{n:04d}")
        for n in range(500)
    ]
    for p in patients:
        p.save()
    RiskProfile.objects.bulk_create(
        RiskProfile(patient=p, has_hypocalcemia=n < 200) for n, p in enumerate(patients)
    )
    recent = dt.date(2026, 3, 1)
    Reassessment.objects.bulk_create(Reassessment(patient=p, date=recent) for p in patients)
    DxaScan.objects.bulk_create(
        DxaScan(patient=p, date=recent, total_hip_t_score=-2.6) for p in patients
    )

    summary = scan(django_capture_on_commit_callbacks, batch_size=100, details=False)

    assert summary.patients == 500
    assert len(summary.new_critical) == 200
    recipients = [address for m in mail.outbox for address in m.to]
    assert sorted(recipients) == sorted(set(recipients))  # nobody twice
    assert set(recipients) == {
        "clinician@hillside.example",
        "second@hillside.example",
        "bones@hillside.example",
        "rider@riverside.example",
        "team@riverside.example",
    }
    hillside = next(m for m in mail.outbox if m.to == ["clinician@hillside.example"])
    assert hillside.subject == "Ossa: 100 new critical reminders"
    assert Reminder.objects.filter(notified_at__isnull=True).count() == 0

    mail.outbox.clear()
    with time_machine.travel(dt.datetime(2026, 9, 2, 7, tzinfo=LONDON), tick=False):
        sent = reminders_digest_send(day=dt.date(2026, 9, 2), now=timezone.now())

    assert sent == 5
    assert sorted(address for m in mail.outbox for address in m.to) == sorted(set(recipients))


@pytest.mark.django_db
def test_a_per_patient_rescan_is_a_scan_too_one_message_per_recipient(
    clinic, staff, tonight, django_capture_on_commit_callbacks
):
    from monitoring.tasks import rescan_patient_task

    patient = hypocalcemic(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        rescan_patient_task.apply(args=(patient.pk,))

    assert sorted(m.to for m in mail.outbox) == [
        ["clinician@hillside.example"],
        ["second@hillside.example"],
    ]
    assert mail.outbox[0].subject.startswith("Ossa: critical - Correct hypocalcaemia first")


# --- each reminder's line written once per run --------------------------------------------------


@pytest.fixture
def labels_written(monkeypatch):
    """The reminder kinds the e-mails put in words, in order: one per line written."""
    written = []
    words = notifications.label

    def counted(code):
        written.append(code)
        return words(code)

    monkeypatch.setattr(notifications, "label", counted)
    return written


@pytest.mark.django_db
def test_every_recipient_reads_the_same_line_for_a_reminder_written_once(
    clinic, staff, tonight, labels_written
):
    """Three addresses hear of the same two reminders: each message lists them in the same
    words and links, and each line is written once for the run, not once per message."""
    Clinic.objects.filter(pk=clinic.pk).update(notification_emails="bones@hillside.example")
    first = critical(hypocalcemic(clinic))
    second = critical(hypocalcemic(clinic), due=dt.date(2026, 9, 3), drug="denosumab")
    written = labels_written

    assert reminders_notify_new_critical(reminder_ids=[first.pk, second.pk], now=TONIGHT) == 3

    assert len(written) == 2
    lines = [
        f"- MRN {first.patient.mrn} (Hillside Bone Clinic): Correct hypocalcaemia first, "
        f"due 2026-09-01\n  https://ossa.test/reminders/{first.pk}/",
        f"- MRN {second.patient.mrn} (Hillside Bone Clinic): Correct hypocalcaemia first, "
        f"Denosumab, due 2026-09-03\n  https://ossa.test/reminders/{second.pk}/",
    ]
    for message in mail.outbox:
        assert message.subject == "Ossa: 2 new critical reminders"
        assert "\n".join(lines) in message.body
        assert "Your reminders: https://ossa.test/reminders/\n" in message.body


@pytest.mark.django_db
def test_a_digest_writes_each_reminders_line_once_for_all_its_recipients(
    clinic, staff, labels_written
):
    Clinic.objects.filter(pk=clinic.pk).update(notification_emails="bones@hillside.example")
    first = critical(hypocalcemic(clinic))
    written = labels_written

    assert reminders_digest_send(day=dt.date(2026, 9, 2), now=TONIGHT) == 3

    assert len(written) == 1
    line = (
        f"- MRN {first.patient.mrn} (Hillside Bone Clinic): Correct hypocalcaemia first, "
        f"due 2026-09-01\n  https://ossa.test/reminders/{first.pk}/"
    )
    assert all(line in message.body for message in mail.outbox)


# --- the claim's keys ---------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="an array parameter is PostgreSQL's")
@pytest.mark.django_db
def test_the_claim_sends_its_keys_as_one_parameter_however_many(clinic):
    """A first night passes thousands of keys; one array parameter, not one per key."""
    many = Reminder.objects.filter(notifications._keys_in(list(range(1, 5001))))
    sql, params = many.query.sql_with_params()
    assert len(params) == 1
    assert "unnest" in sql


@pytest.mark.django_db
def test_the_claim_takes_exactly_the_listed_critical_reminders_still_to_mail(clinic, staff):
    patient = hypocalcemic(clinic)
    listed = critical(patient)
    also = critical(factories.PatientFactory(clinic=clinic))
    not_listed = critical(factories.PatientFactory(clinic=clinic))
    routine = Reminder.objects.create(
        patient=factories.PatientFactory(clinic=clinic), kind="DXA_DUE", due=TONIGHT.date()
    )
    gone = max(r.pk for r in (listed, also, not_listed, routine)) + 1000

    sent = reminders_notify_new_critical(
        reminder_ids=[listed.pk, None, also.pk, routine.pk, gone], now=TONIGHT
    )

    assert sent == 2
    notified = set(Reminder.objects.filter(notified_at=TONIGHT).values_list("pk", flat=True))
    assert notified == {listed.pk, also.pk}


@pytest.mark.django_db
def test_claiming_no_reminder_reads_no_reminder():
    with CaptureQueriesContext(connection) as queries:
        assert reminders_notify_new_critical(reminder_ids=[], now=TONIGHT) == 0
    assert not [q["sql"] for q in queries if "monitoring_reminder" in q["sql"]]
