"""The demo clinic's patients: names in two parts, contact details and GP, two who left, and
fracture-liaison episodes at every stage."""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring.models import Reminder
from monitoring.scan import reminders_scan
from patients.demo import DEMO_YEARLY_CASELOAD, seed_demo
from patients.models import Clinic, Patient
from quality.models import FlsEpisode, FollowUpContact

TODAY = dt.date(2026, 11, 30)


def test_demo_patients_have_names_in_two_parts_contact_details_and_a_gp(db):
    seed_demo(patients=16, password="demo-password-123", today=TODAY)

    patients = list(Patient.objects.filter(clinic__slug="demo"))
    assert len(patients) == 16
    for p in patients:
        p.full_clean()  # the e-mail addresses and phone numbers pass the forms' rules
        assert p.given_name and p.family_name
        assert p.name == f"{p.given_name} {p.family_name}"
        assert p.phone and p.address and p.gp_name and p.gp_practice and p.preferred_contact
    assert len({p.family_name for p in patients}) > 5


def test_the_demo_has_one_deceased_and_one_transferred_patient_audited(db):
    seed_demo(patients=16, password="demo-password-123", today=TODAY)

    left = dict(Patient.objects.exclude(status="active").values_list("status", "status_date"))
    assert left == {
        "deceased": dt.date(2026, 11, 25),
        "transferred": dt.date(2026, 10, 31),
    }
    deceased = Patient.objects.get(status="deceased")
    assert Patient.history.filter(id=deceased.pk, status="deceased").exists()


def test_seeding_again_changes_nobody(db):
    seed_demo(patients=16, password="demo-password-123", today=TODAY)
    before = list(Patient.objects.order_by("mrn").values())

    seed_demo(patients=16, password=None, today=TODAY)

    assert list(Patient.objects.order_by("mrn").values()) == before


def test_the_demo_has_fls_episodes_at_every_stage_and_a_16_week_call_due_now(db):
    seed_demo(patients=16, password="demo-password-123", today=TODAY)

    episodes = FlsEpisode.objects.filter(patient__clinic__slug="demo")
    assert episodes.count() >= 5
    for episode in episodes:
        episode.full_clean()
        assert TODAY - dt.timedelta(days=548) <= episode.fracture.date <= TODAY  # 18 months
    assert episodes.filter(assessed_on__isnull=False).count() >= 4
    assert episodes.exclude(dxa_not_needed_reason="").exists()
    assert episodes.exclude(falls_assessment="").exists()
    assert episodes.filter(exercise_started_on__isnull=False).exists()
    assert set(episodes.exclude(outcome="").values_list("outcome", flat=True)) >= {
        "completed",
        "died",
    }
    assert set(FollowUpContact.objects.values_list("kind", flat=True)) == {"16w", "52w"}

    now = dt.datetime(2026, 11, 30, 2, 30, tzinfo=dt.UTC)
    reminders_scan(as_of=TODAY, now=now)

    calls = Reminder.objects.filter(kind="FOLLOW_UP_16W", status="open")
    assert calls.filter(due__gte=TODAY - dt.timedelta(days=30)).exists()  # due about now
    assert not Reminder.objects.filter(
        kind__startswith="FOLLOW_UP", patient__status="deceased"
    ).exists()


def test_seeding_again_adds_no_episode_and_no_contact(db):
    seed_demo(patients=16, password="demo-password-123", today=TODAY)
    before = (FlsEpisode.objects.count(), FollowUpContact.objects.count())

    seed_demo(patients=16, password=None, today=TODAY)

    assert (FlsEpisode.objects.count(), FollowUpContact.objects.count()) == before


@pytest.mark.django_db
def test_the_demo_clinics_have_an_expected_caseload_for_the_identification_indicators():
    seed_demo(patients=2, password="demo-password-123", today=dt.date(2026, 11, 25))

    assert set(Clinic.objects.values_list("expected_yearly_caseload", flat=True)) == {
        DEMO_YEARLY_CASELOAD
    }
