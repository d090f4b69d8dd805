"""`quality.audit_export`: the de-identified audit CSV, one row per index fracture."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from patients.models import Clinic
from quality.audit_export import AUDIT_HEADER, audit_csv_lines, pseudonym
from quality.kpis import Period
from tests.quality.conftest import (
    course,
    decision,
    died,
    dxa_scan,
    fls_episode,
    fls_patient,
    follow_up,
)

pytestmark = pytest.mark.django_db

YEAR_2025 = Period(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
AS_OF = dt.date(2026, 6, 30)
FRACTURE = dt.date(2025, 3, 10)


def export(clinic, *, period=YEAR_2025, as_of=AS_OF) -> list[dict[str, str]]:
    lines = list(audit_csv_lines(clinic=clinic, period=period, as_of=as_of))
    reader = csv.reader(lines)
    assert next(reader) == list(AUDIT_HEADER)
    return [dict(zip(AUDIT_HEADER, row, strict=True)) for row in reader]


def raw(clinic, **kwargs) -> str:
    return "".join(audit_csv_lines(clinic=clinic, period=YEAR_2025, as_of=AS_OF, **kwargs))


@pytest.fixture
def full_episode(clinic):
    """A hip fracture with everything recorded, the patient dead on day 300."""
    patient = fls_patient(
        clinic,
        pk=987_654,  # ids no day count could equal, so the test below can look for them
        given_name="Agatha",
        family_name="Quillfeather",
        name="",
        mrn="MRN-778899",
        birth_date=dt.date(1944, 8, 17),
        sex="female",
    )
    episode = fls_episode(
        patient,
        fracture_date=FRACTURE,
        site="hip",
        pk=876_543,
        identified_on=dt.date(2025, 3, 12),
        assessed_on=dt.date(2025, 3, 30),
        falls_assessment="done",
        falls_assessed_on=dt.date(2025, 4, 9),
        exercise_started_on=dt.date(2025, 5, 9),
        closed_on=dt.date(2025, 12, 1),
        outcome="completed",
    )
    dxa_scan(patient, dt.date(2024, 1, 5))  # before the fracture
    dxa_scan(patient, dt.date(2025, 4, 19))
    decision(patient, dt.date(2025, 4, 29), "ranked_option")
    course(patient, dt.date(2025, 5, 1))
    follow_up(episode, kind="16w", date=dt.date(2025, 6, 28), adherence="missed_doses")
    follow_up(episode, kind="52w", date=dt.date(2025, 12, 20), is_on_treatment=False)
    died(patient, dt.date(2026, 1, 4))
    return episode


def test_a_row_holds_the_episode_in_days_after_the_fracture(clinic, full_episode):
    (row,) = export(clinic)

    assert row == {
        "pseudonym": pseudonym(audit_key=clinic.audit_key, mrn="MRN-778899"),
        "year_of_birth": "1944",
        "sex": "female",
        "fracture_month": "2025-03",
        "fracture_site": "hip",
        "identified_by": "clinical",
        "days_to_identification": "2",
        "days_to_fls_assessment": "20",
        "days_to_first_dxa": "40",
        "dxa_not_needed": "no",
        "falls_assessment": "done",
        "days_to_falls_assessment": "30",
        "days_to_exercise": "60",
        "medication": "recommended",
        "days_to_medication_decision": "50",
        "follow_up_16w_days": "110",
        "follow_up_16w_on_treatment": "yes",
        "follow_up_16w_adherence": "missed_doses",
        "follow_up_52w_days": "285",
        "follow_up_52w_on_treatment": "no",
        "follow_up_52w_adherence": "",
        "died_within_52_weeks": "yes",
        "outcome": "completed",
        "days_to_closing": "266",
    }


def test_nothing_in_the_export_identifies_the_patient(clinic, full_episode):
    patient = full_episode.patient
    text = raw(clinic)
    cells = {cell for line in csv.reader(text.splitlines()) for cell in line}

    for secret in ("Agatha", "Quillfeather", "MRN-778899", "778899", "1944-08-17", "2026-01-04"):
        assert secret not in text
    assert "987654" not in text
    assert "876543" not in text
    assert not cells & {str(patient.pk), str(full_episode.pk)}
    assert patient.birth_date.isoformat() not in text


def test_no_free_text_reaches_the_export(clinic):
    patient = fls_patient(clinic)
    fls_episode(patient, fracture_date=FRACTURE, dxa_not_needed_reason="Scanned in Leeds Infirmary")
    decision(patient, dt.date(2025, 4, 1), "not_indicated")  # reason "Discussed in clinic"

    text = raw(clinic)
    (row,) = export(clinic)

    assert "Leeds" not in text and "Discussed" not in text
    assert (row["dxa_not_needed"], row["medication"]) == ("yes", "not indicated")
    assert row["days_to_medication_decision"] == "22"


def test_the_pseudonym_is_stable_and_differs_between_patients_and_between_clinics(
    clinic, other_clinic
):
    first, second = fls_patient(clinic, mrn="A-1"), fls_patient(clinic, mrn="A-2")
    twin = fls_patient(other_clinic, mrn="A-1")
    for patient in (first, second, twin):
        fls_episode(patient, fracture_date=FRACTURE)

    ours = [row["pseudonym"] for row in export(clinic)]
    again = [row["pseudonym"] for row in export(Clinic.objects.get(pk=clinic.pk))]
    (theirs,) = [row["pseudonym"] for row in export(other_clinic)]

    assert ours == again
    assert len(set(ours)) == 2
    assert theirs not in ours
    assert all(len(p) == 16 and int(p, 16) >= 0 for p in [*ours, theirs])


def test_two_fractures_of_one_patient_share_the_pseudonym(clinic):
    patient = fls_patient(clinic)
    fls_episode(patient, fracture_date=FRACTURE)
    fls_episode(patient, fracture_date=dt.date(2025, 9, 1), site="vertebral")

    rows = export(clinic)

    assert [r["fracture_month"] for r in rows] == ["2025-03", "2025-09"]
    assert rows[0]["pseudonym"] == rows[1]["pseudonym"]


def test_events_after_the_reports_day_and_windows_still_running_are_left_empty(clinic):
    patient = fls_patient(clinic)
    episode = fls_episode(patient, fracture_date=FRACTURE, assessed_on=dt.date(2025, 5, 1))
    dxa_scan(patient, dt.date(2025, 5, 2))
    follow_up(episode, date=dt.date(2025, 6, 1))

    (row,) = export(clinic, as_of=dt.date(2025, 4, 30))

    assert row["days_to_fls_assessment"] == row["days_to_first_dxa"] == ""
    assert row["follow_up_16w_days"] == row["follow_up_16w_on_treatment"] == ""
    assert (row["medication"], row["days_to_medication_decision"]) == ("none", "")
    assert row["died_within_52_weeks"] == ""  # alive so far, 52 weeks not over


def test_a_patient_alive_after_52_weeks_did_not_die_within_them(clinic):
    patient = fls_patient(clinic)
    fls_episode(patient, fracture_date=FRACTURE)
    died(patient, FRACTURE + dt.timedelta(days=365))

    (row,) = export(clinic)

    assert row["died_within_52_weeks"] == "no"
    assert (row["outcome"], row["days_to_closing"]) == ("", "")


def test_every_cell_goes_through_the_csv_injection_guard(clinic):
    # The form refuses an assessment before the fracture, a script may not: "-2" would start a
    # formula in a spreadsheet, so it is written as text.
    fls_episode(fls_patient(clinic), fracture_date=FRACTURE, assessed_on=dt.date(2025, 3, 8))

    (row,) = export(clinic)

    assert row["days_to_fls_assessment"] == "'-2"


def test_the_export_streams_its_header_first_and_reads_in_six_queries(
    clinic, django_assert_num_queries
):
    for n in range(5):
        fls_episode(fls_patient(clinic), fracture_date=dt.date(2025, 1 + n, 5))

    with django_assert_num_queries(6):
        lines = audit_csv_lines(clinic=clinic, period=YEAR_2025, as_of=AS_OF)
        header = next(lines)
        rest = list(lines)

    assert header == ",".join(AUDIT_HEADER) + "\r\n"
    assert len(rest) == 5
