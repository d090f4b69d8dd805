"""What the patient list's indexes give PostgreSQL (issue 14, part 5: patients 0011, 0013).
Which plan PostgreSQL picks on a day's statistics is measured by bench/pages.py at 100,000
patients; what is held here is that an index can answer the list's order."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from patients.models import Patient
from patients.selectors import STATUS_ALL, patient_search
from tests import factories


def _plan(queryset) -> str:
    """PostgreSQL's plan for the first page of `queryset`, told to avoid sorting and reading
    whole tables wherever an index can do instead (on a test's few rows it would read them)."""
    sql, params = queryset[:26].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_list_of_every_patient_is_read_in_name_order_from_an_index(clinic, require_postgres):
    """Active patients by name from 0011's partial index; every patient ("All") from 0013's:
    without it PostgreSQL sorted all 100,000 to show 26 (64 ms; 16 ms with it)."""
    for n, status in enumerate(["active", "deceased", "transferred"] * 3):
        factories.PatientFactory(
            clinic=clinic,
            family_name=f"Family{n}",
            status=status,
            status_date=None if status == "active" else dt.date(2025, 1, 1),
        )
    patients = Patient.objects.all()

    assert "patient_active_by_name" in _plan(patient_search(patients))
    assert "patient_by_name" in _plan(patient_search(patients, status=STATUS_ALL)).replace(
        "patient_active_by_name", ""
    )
