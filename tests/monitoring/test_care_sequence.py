"""A flow of care replayed night after night, as the clinician reads it the next morning: a
denosumab dose gone overdue, a correct same-day switch to zoledronic acid with its infusion,
the switch undone (the follow-on course deleted as entered by mistake), then denosumab
restarted with a dose. No false critical alert after the switch; the critical alert comes back
the night the follow-on is gone; it goes once the dose is recorded again."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder
from patients.services import record_delete, record_save
from tests.monitoring.test_scan import on, on_denosumab, scan
from therapy.case_records import case_for_patient
from therapy.models import Dose, TherapyCourse
from therapy.presenters import case_panel


def active_criticals(patient) -> set[str]:
    return set(
        Reminder.objects.filter(
            patient=patient, severity="critical", status__in=ACTIVE_REMINDER_STATUSES
        ).values_list("kind", flat=True)
    )


def page_criticals(sign_in, patient) -> set[str]:
    """The critical alerts of the patient page as the clinician opens it (signed in that
    morning), checked against the panel of the case the reader builds (the page builds its case
    from the records it loaded: `case_for_loaded_patient`)."""
    response = sign_in().get(reverse("patients:detail", args=[patient.pk]))
    panel = response.context["panel"]
    read = case_panel(case_for_patient(patient.pk, as_of=timezone.localdate()))
    assert (panel.headline, panel.alerts) == (read.headline, read.alerts)
    return {a.code.value for a in panel.assessment.alerts if a.severity.value == "critical"}


def page_therapy(sign_in, patient) -> str:
    """The patient page's headline of the current therapy ("On denosumab since …"), as text."""
    html = sign_in().get(reverse("patients:detail", args=[patient.pk])).content.decode()
    (span,) = re.findall(r'<span data-testid="current-therapy">(.*?)</span>\s*\n', html, re.S)
    return re.sub(r"<[^>]+>", "", span)


def list_criticals(sign_in, patient) -> int:
    """The critical-alert count the patient list shows for the patient that morning (its
    reader keeps compiled queries from one morning to the next: the count must be the day's)."""
    response = sign_in().get(reverse("patients:list"))
    (count,) = [count for shown, count in response.context["rows"] if shown.pk == patient.pk]
    return count.critical


@pytest.mark.django_db
def test_overdue_then_switch_then_undo_then_restart(clinic, clinician, client_for):
    def client():
        return client_for(clinician)

    patient = on_denosumab(clinic)  # last dose 2026-01-10: next due 2026-07-10
    denosumab = TherapyCourse.objects.get(patient=patient)

    with on(dt.date(2026, 8, 20)):
        scan()
        assert "DENOSUMAB_OVERDUE" in active_criticals(patient)
        assert "DENOSUMAB_OVERDUE" in page_criticals(client, patient)
        assert list_criticals(client, patient) == len(page_criticals(client, patient)) >= 1
        assert page_therapy(client, patient).startswith("On denosumab since 2025-01-10")

    with on(dt.date(2026, 8, 20), hour=10):  # the clinic, the same day: switch
        denosumab.end = dt.date(2026, 8, 19)
        denosumab.stop_reason = "other"
        record_save(instance=denosumab, actor=clinician)
        zoledronic = record_save(
            instance=TherapyCourse(
                patient=patient, drug="zoledronic_acid", start=dt.date(2026, 8, 20)
            ),
            actor=clinician,
        )
        record_save(instance=Dose(course=zoledronic, date=dt.date(2026, 8, 20)), actor=clinician)

    for night in (dt.date(2026, 8, 21), dt.date(2026, 8, 22)):
        with on(night):
            scan()
            assert active_criticals(patient) == set(), night
            assert page_criticals(client, patient) == set(), night
            assert list_criticals(client, patient) == 0, night
            assert page_therapy(client, patient).startswith(
                "On zoledronic acid since 2026-08-20"
            ), night

    with on(dt.date(2026, 8, 22), hour=10):  # the follow-on was entered by mistake
        record_delete(instance=zoledronic, actor=clinician)

    with on(dt.date(2026, 8, 23)):
        scan()
        assert "DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON" in active_criticals(patient)
        assert "DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON" in page_criticals(client, patient)
        assert list_criticals(client, patient) >= 1
        assert page_therapy(client, patient) == "No osteoporosis therapy"

    with on(dt.date(2026, 8, 23), hour=10):  # denosumab restarted, with its dose
        restarted = record_save(
            instance=TherapyCourse(patient=patient, drug="denosumab", start=dt.date(2026, 8, 23)),
            actor=clinician,
        )
        record_save(instance=Dose(course=restarted, date=dt.date(2026, 8, 23)), actor=clinician)

    with on(dt.date(2026, 8, 24)):
        scan()
        assert active_criticals(patient) == set()
        assert page_criticals(client, patient) == set()
        assert list_criticals(client, patient) == 0
        assert page_therapy(client, patient).startswith("On denosumab since 2026-08-23")
        # the overdue dose reminder is closed; the next one (2027-02-23) is beyond the lead time
        assert not Reminder.objects.filter(
            patient=patient, kind="NEXT_DOSE", status__in=ACTIVE_REMINDER_STATUSES
        ).exists()
