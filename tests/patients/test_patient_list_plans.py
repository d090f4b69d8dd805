"""What the patient list's indexes give PostgreSQL (issue 14, part 5: patients 0011, 0013).
Which plan PostgreSQL picks on a day's statistics is measured by bench/pages.py at 100,000
patients; what is held here is that an index can answer the list's order."""

from __future__ import annotations

import datetime as dt

from patients.models import Patient
from patients.selectors import STATUS_ALL, PatientFilters, patient_search
from tests import factories
from tests.query_plans import first_page_plan


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

    assert "patient_active_by_name" in first_page_plan(patient_search(patients), 26)
    every_status = first_page_plan(patient_search(patients, PatientFilters(status=STATUS_ALL)), 26)
    assert "patient_by_name" in every_status.replace("patient_active_by_name", "")
