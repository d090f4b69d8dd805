"""After the upgrade to engine version 2, one scan brings every patient's reminders to it:
reminders edition 2 still asks for are kept (stamped "2"), those it no longer asks for are
resolved with the reason "rule book edition 2", and a second scan changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from monitoring.models import DxaScan, LabResult, Reassessment, Reminder, ReminderStatus
from monitoring.scan import EDITION_REASON, reminders_scan
from tests import factories
from tests.planting import plant
from therapy.engine import ENGINE_VERSION
from therapy.models import Dose, TherapyCourse

AS_OF = dt.date(2026, 11, 25)

pytestmark = pytest.mark.django_db


def _switched_on_one_day(clinic):
    """Denosumab ended today and zoledronic acid started today, its first infusion given: under
    edition 1 this raised DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON (a false critical)."""
    patient = factories.PatientFactory(clinic=clinic)
    Reassessment.objects.create(patient=patient, date=dt.date(2026, 10, 1))
    DxaScan.objects.create(patient=patient, date=dt.date(2026, 10, 1), lumbar_spine_t_score=-2.4)
    denosumab = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2024, 5, 10), end=AS_OF
    )
    for day in (dt.date(2025, 5, 10), dt.date(2025, 11, 10)):
        Dose.objects.create(course=denosumab, date=day)
    zoledronic = TherapyCourse.objects.create(patient=patient, drug="zoledronic_acid", start=AS_OF)
    Dose.objects.create(course=zoledronic, date=AS_OF)
    return patient


def _scan():
    return reminders_scan(as_of=AS_OF, now=timezone.now())


def test_one_scan_brings_version_1_reminders_to_version_2(clinic):
    patient = _switched_on_one_day(clinic)
    stale = Reminder.objects.create(
        patient=patient,
        kind="DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON",
        due=dt.date(2026, 5, 10),
        severity="critical",
        engine_version="1",
    )
    kept = Reminder.objects.create(  # zoledronic acid started today, no baseline markers
        patient=patient, kind="BTM_BASELINE", due=AS_OF, engine_version="1"
    )

    summary = _scan()

    stale.refresh_from_db()
    kept.refresh_from_db()
    assert (stale.status, stale.close_reason) == (ReminderStatus.RESOLVED, EDITION_REASON)
    assert EDITION_REASON == "rule book edition 2" == f"rule book edition {ENGINE_VERSION}"
    assert (kept.status, kept.engine_version) == (ReminderStatus.OPEN, "2")
    assert not Reminder.objects.filter(
        patient=patient, kind="DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON", status="open"
    ).exists()
    assert summary.resolved_count == 1

    again = _scan()
    assert (again.created_count, again.moved_count, again.resolved_count) == (0, 0, 0)


def test_a_reminder_that_goes_for_an_ordinary_reason_keeps_no_edition_reason(clinic):
    patient = _switched_on_one_day(clinic)
    _scan()
    # A reminder of this version that is no longer wanted (say, the dose was since recorded).
    reminder = Reminder.objects.create(
        patient=patient,
        kind="DENOSUMAB_OVERDUE",
        due=dt.date(2026, 5, 10),
        severity="critical",
        engine_version=ENGINE_VERSION,
    )
    _scan()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.close_reason) == (ReminderStatus.RESOLVED, "")


def test_new_reminders_are_stamped_with_the_engine_version(clinic):
    _switched_on_one_day(clinic)
    _scan()
    versions = set(Reminder.objects.values_list("engine_version", flat=True))
    assert versions == {ENGINE_VERSION}


def test_a_record_the_engine_cannot_evaluate_skips_that_patient_not_the_batch(clinic, caplog):
    healthy = _switched_on_one_day(clinic)
    broken = factories.PatientFactory(clinic=clinic)
    course = TherapyCourse.objects.create(
        patient=broken, drug="zoledronic_acid", start=dt.date(2026, 1, 1)
    )
    LabResult.objects.create(patient=broken, date=dt.date(2026, 3, 1), test="ctx", value=0.4)
    kept = Reminder.objects.create(
        patient=broken, kind="DXA_FOLLOW_UP", due=AS_OF, engine_version=ENGINE_VERSION
    )
    plant(course, start=dt.date(1, 1, 1))  # old data: the marker windows overflow the calendar

    summary = _scan()

    assert summary.skipped == [broken.pk]
    assert Reminder.objects.filter(patient=healthy, status="open").exists()
    kept.refresh_from_db()
    assert kept.status == ReminderStatus.OPEN  # left as it was, not resolved
    assert not Reminder.objects.filter(patient=broken).exclude(pk=kept.pk).exists()
    assert "Zoledronic acid course from 0001-01-01" in caplog.text
