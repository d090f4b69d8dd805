"""What the worklist's indexes give PostgreSQL (issue 14, part 5: monitoring 0014, patients
0012). Which plan PostgreSQL picks depends on the statistics of the day (bench/pages.py and
EXPLAIN ANALYZE at 500,000 reminders measure that); what is held here is what an index can
answer."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.models import Reminder
from monitoring.reminder_selectors import WorklistFilters, reminders_in, worklist, worklist_count
from tests import factories
from tests.query_plans import first_page_plan


def _index(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else ""


def test_a_kind_s_capped_count_can_be_read_from_indexes_alone(require_postgres):
    """The filtered worklist's capped count (kind, status, assignee, severity of the clinic's
    patients) from two indexes, without reading a row: at 500,000 reminders 6-11 ms -> 2 ms
    (EXPLAIN ANALYZE, monitoring 0014)."""
    kind = _index("reminder_active_kind_patient")
    assert "(kind, patient_id) INCLUDE (status, assignee_id, severity)" in kind
    assert "WHERE ((status)::text = ANY" in kind
    assert "(clinic_id, id)" in _index("patient_clinic_id")


def test_the_worklist_searches_patients_as_the_indexes_of_the_patient_list_answer(clinic, db):
    """The worklist's patient search is the patient list's (`patients.selectors.name_or_mrn`):
    UPPER(name) LIKE (the trigram index) or UPPER(mrn) = / LIKE prefix (the MRN index). The
    name holds the given and the family name, so both parts are found in it. ORed with the
    parts themselves, no index could answer: PostgreSQL read every patient (the capped count of
    "kowal" 92 ms at 100,000 patients, 3 ms by the index)."""
    today = dt.date(2025, 6, 16)
    for n in range(20):
        family = "Kowalski" if n % 5 == 0 else "Smith"
        patient = factories.PatientFactory(clinic=clinic, given_name=f"Ann{n}", family_name=family)
        Reminder.objects.create(patient=patient, kind="NEXT_DOSE", due=today)
    count = {}

    for term in ("kowal", "ann1"):  # a family name, a given name
        with CaptureQueriesContext(connection) as queries:
            count[term] = worklist_count(
                reminders_in([clinic]),
                filters=WorklistFilters(q=term, assignee="anyone"),
                today=today,
            )
        sql = queries[0]["sql"]
        assert "family_name" not in sql and "given_name" not in sql
        assert '"patients_patient"."name"' in sql
        if connection.vendor == "postgresql":  # SQLite spells icontains its own way
            assert f'UPPER("patients_patient"."name"::text) LIKE UPPER(\'%{term}%\')' in sql

    assert count == {"kowal": 4, "ann1": 11}


def test_every_tab_of_the_worklist_is_read_in_its_order_from_an_index(clinic, require_postgres):
    """The "Done", "Dismissed", "Resolved" and "All" tabs in their default order (the day a
    reminder needs attention, then due, then id) from monitoring 0015's indexes, as the active
    tab from 0012's: without them PostgreSQL sorted every reminder of the tab to show 51 ("All"
    184-308 ms at 500,000 reminders, 18-22 ms with them). Fails when the indexes' expression no
    longer is the one Django compiles for `action_date()`."""
    today = dt.date(2025, 6, 16)
    patient = factories.PatientFactory(clinic=clinic)
    for n, status in enumerate(["open", "snoozed", "done", "dismissed", "resolved"] * 4):
        Reminder.objects.create(
            patient=patient,
            kind="NEXT_DOSE",
            drug=f"drug{n}",
            due=today + dt.timedelta(days=n),
            status=status,
            snoozed_until=today + dt.timedelta(days=30) if status == "snoozed" else None,
            close_reason="not needed" if status == "dismissed" else "",
        )
    scope = reminders_in([clinic])

    def tab(status: str, sort: str = "") -> str:
        filters = WorklistFilters(status=status, assignee="anyone", sort=sort)
        return first_page_plan(worklist(scope, filters=filters, today=today), 51)

    for sort in ("", "due", "-due"):  # the default order; by due date either way
        for status in ("done", "dismissed", "resolved"):
            assert "reminder_status_action_on" in tab(status, sort), (status, sort)
        assert "reminder_action_on" in tab("all", sort), sort
        assert "reminder_active_action_on" in tab("", sort), sort


def test_a_patient_s_reminders_and_a_reminder_s_audit_rows_are_found_by_an_index(
    clinic, require_postgres
):
    """monitoring 0016 dropped the reminder's own patient index and the audit rows' patient and
    assignee indexes: a patient's reminders (the patient page, the cascade of a deleted patient)
    are still found by `reminder_unique_per_due_date`, which begins with the patient, and a
    reminder's audit rows by their `id` index. (Without the unique index, the first is a
    sequential scan.)"""
    patient = factories.PatientFactory(clinic=clinic)
    reminder = Reminder.objects.create(patient=patient, kind="NEXT_DOSE", due=dt.date(2026, 1, 5))

    by_patient = first_page_plan(Reminder.objects.filter(patient=patient).order_by(), 1000)
    assert "Index Cond: (patient_id =" in by_patient
    assert "Seq Scan" not in by_patient
    history = first_page_plan(reminder.history.order_by(), 1000)
    assert "Index Cond: (id =" in history
    assert "Seq Scan" not in history
