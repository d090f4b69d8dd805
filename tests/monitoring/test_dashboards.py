"""What the dashboards read (`monitoring.dashboards`), below the page (tests/patients/
test_dashboards.py): the clinician's ranking of patients with critical reminders, read in order
from an index, against the grouping it replaced (PostgreSQL: SQLite ranks by the grouping
alone); and the admin's capped counts."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring import dashboards, reminder_presenters, reminder_selectors
from monitoring.dashboards import (
    _ranked,
    _ranked_by_grouping,
    critical_patients,
    reminder_counts_by_clinic,
)
from monitoring.models import Reminder
from patients.models import Clinic, Patient
from tests import factories

TODAY = dt.date(2025, 6, 16)
CRITICAL_KINDS = ("DENOSUMAB_OVERDUE", "SEQUENTIAL_ANTIRESORPTIVE_REQUIRED", "ROMOSOZUMAB_CV_EVENT")


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def reminder(patient: Patient, kind: str, *, due: dt.date, **fields) -> Reminder:
    fields.setdefault("drug", "")
    return Reminder.objects.create(patient=patient, kind=kind, due=due, **fields)


def critical(patient: Patient, kind: str = "DENOSUMAB_OVERDUE", **fields) -> Reminder:
    return reminder(patient, kind, severity="critical", **fields)


def a_clinic_of_ties(clinic, other_clinic, clinician, nurse, *, seed: int) -> None:
    """Patients sharing due dates and names, with one to three critical reminders each, some
    with a reminder assigned to the clinician (critical or not), some closed or snoozed, and
    patients of another clinic in between."""
    rng = random.Random(seed)
    for n in range(40):
        p = factories.PatientFactory(
            clinic=other_clinic if n % 7 == 0 else clinic, name=rng.choice(["Ann A", "Bea B"])
        )
        for kind in rng.sample(CRITICAL_KINDS, rng.randint(1, 3)):
            status = rng.choice(["open", "open", "snoozed", "done"])
            critical(
                p,
                kind,
                due=days(rng.randint(-3, 3)),
                status=status,
                snoozed_until=days(5) if status == "snoozed" else None,
                assignee=rng.choice([None, None, nurse, clinician]),
            )
        if rng.random() < 0.2:
            reminder(p, "DXA_FOLLOW_UP", due=days(30), assignee=clinician)


@pytest.mark.parametrize("rows_per_patient", [1, 2])  # 1: the rows read often fall short
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_ranking_read_in_order_is_the_groupings_at_every_length(
    seed, rows_per_patient, clinic, other_clinic, clinician, nurse, monkeypatch, require_postgres
):
    monkeypatch.setattr(dashboards, "RANKING_ROWS_PER_PATIENT", rows_per_patient)
    a_clinic_of_ties(clinic, other_clinic, clinician, nurse, seed=seed)
    whole = _ranked_by_grouping(user=clinician, clinic_ids=[clinic.pk], limit=100)
    assert any(mine for _, mine in whole) and not all(mine for _, mine in whole)

    for limit in range(len(whole) + 2):
        assert _ranked(user=clinician, clinic_ids=[clinic.pk], limit=limit) == whole[: limit + 1]


def test_patients_are_ranked_by_their_earliest_critical_due_date_then_name_then_id(
    clinic, clinician
):
    later = factories.PatientFactory(clinic=clinic, name="Ada Later")
    zed = factories.PatientFactory(clinic=clinic, name="Zed Early")
    bob_1 = factories.PatientFactory(clinic=clinic, name="Bob Twin")
    bob_2 = factories.PatientFactory(clinic=clinic, name="Bob Twin")
    critical(later, due=days(2))
    critical(zed, due=days(9))
    critical(zed, "ROMOSOZUMAB_CV_EVENT", due=days(-1))  # its earliest counts
    critical(bob_2, due=days(2))
    critical(bob_1, due=days(2))
    critical(later, "ROMOSOZUMAB_CV_EVENT", due=days(-5), status="done")  # closed: not counted

    patients, has_more = critical_patients(
        user=clinician, clinic_ids=[clinic.pk], today=TODAY, limit=3
    )

    assert [p.patient.pk for p in patients] == [zed.pk, later.pk, bob_1.pk]
    assert has_more


def test_when_the_rows_read_name_too_few_patients_the_grouping_answers(
    clinic, clinician, monkeypatch, require_postgres
):
    """Patients with three critical reminders each: one row per place names a third of them."""
    mine = factories.PatientFactory(clinic=clinic, name="Mine")
    critical(mine, due=days(20), assignee=clinician)
    for n in range(8):
        p = factories.PatientFactory(clinic=clinic, name=f"Many {n}")
        for kind in CRITICAL_KINDS:
            critical(p, kind, due=days(n))
    whole = _ranked_by_grouping(user=clinician, clinic_ids=[clinic.pk], limit=100)
    monkeypatch.setattr(dashboards, "RANKING_ROWS_PER_PATIENT", 1)

    with CaptureQueriesContext(connection) as queries:
        ranked = _ranked(user=clinician, clinic_ids=[clinic.pk], limit=5)

    assert ranked == whole[:6]
    assert ranked[0] == (mine.pk, True)
    assert len(queries) == 2  # the rows read, then the grouping


def test_a_user_with_more_patients_of_their_own_than_the_limit_sees_only_theirs(clinic, clinician):
    theirs = [factories.PatientFactory(clinic=clinic, name=f"Mine {n}") for n in range(4)]
    for n, p in enumerate(theirs):
        critical(p, due=days(n))
        reminder(p, "DXA_FOLLOW_UP", due=days(60), assignee=clinician)
    critical(factories.PatientFactory(clinic=clinic, name="Earlier"), due=days(-50))

    patients, has_more = critical_patients(
        user=clinician, clinic_ids=[clinic.pk], today=TODAY, limit=3
    )

    assert [(p.patient.pk, p.is_mine) for p in patients] == [(p.pk, True) for p in theirs[:3]]
    assert has_more


# --- the admin's counts -------------------------------------------------------------------------


def test_each_admin_count_stops_past_the_cap(clinic, other_clinic, monkeypatch):
    monkeypatch.setattr(reminder_selectors, "COUNT_CAP", 2)
    monkeypatch.setattr(reminder_presenters, "COUNT_CAP", 2)
    p = factories.PatientFactory(clinic=clinic)
    for kind in ("NEXT_DOSE", "DXA_FOLLOW_UP", "BTM_3_MONTHS", "BTM_BASELINE"):
        reminder(p, kind, due=days(-3))
    critical(p, due=days(10))
    reminder(factories.PatientFactory(clinic=other_clinic), "NEXT_DOSE", due=days(-3))

    counts = reminder_counts_by_clinic([clinic.pk, other_clinic.pk], today=TODAY)

    assert counts == {
        clinic.pk: {
            "overdue": 3,  # 4, counted up to the cap + 1
            "due_soon": 1,
            "open": 3,
            "snoozed": 0,
            "critical": 1,
            "routine": 3,
        },
        other_clinic.pk: {
            "overdue": 1,
            "due_soon": 0,
            "open": 1,
            "snoozed": 0,
            "critical": 0,
            "routine": 1,
        },
    }
    assert [reminder_presenters.count_text(n) for n in (2, 3)] == ["2", "2+"]


def test_the_admin_counts_are_one_query_of_limited_subqueries_whatever_the_clinics(
    clinic, other_clinic
):
    third = Clinic.objects.create(name="Third", slug="third")

    with CaptureQueriesContext(connection) as queries:
        counts = reminder_counts_by_clinic([clinic.pk, other_clinic.pk, third.pk], today=TODAY)

    assert set(counts) == {clinic.pk, other_clinic.pk, third.pk}
    [sql] = [q["sql"] for q in queries]
    assert sql.count(f"LIMIT {reminder_selectors.COUNT_CAP + 1}") == len(dashboards.COUNTED)
