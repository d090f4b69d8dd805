"""Query budgets: every page's query count is pinned with a long history, so an N+1 fails CI.

Measured on SQLite (Django 5.2), signed in with the test client. Every count includes the
session read, the user read, the navigation's memberships and the session save that
SESSION_SAVE_EVERY_REQUEST adds (SAVEPOINT, UPDATE, RELEASE: 3 statements). Every page of a
patient opened by a clinician or a nurse writes one access-log row (issue 11: one INSERT).

The engine's input is read by `therapy.case_records` (eleven queries for one patient or a
page of them), apart from the records a page lists: one reader for the pages and the scan.

    page                                                   queries
    /patients/  (6 or 60 patients, each with a history)      21
      (one more: the reminder kinds of the kind filter)
    /patients/<id>/  clinician or nurse, 2 or 20 years       44
      (one more with fracture-liaison episodes: their follow-up
      contacts, tests/quality/test_entry.py)
    /patients/<id>/  clinic admin (demographics only)         7
    /patients/new/ 7, /patients/<id>/edit/ 9 (with the row's version)
    /patients/<id>/contact/ 9, /patients/<id>/status/ 8
    /patients/<id>/risk-factors/                             10
    record form, add (DXA, lab, reassessment, fracture,
      course, CV event, immunosuppressant, glucocorticoid)    8
    record form, edit 10 (with the row's version), delete
      confirmation 9
    dose form: add 10, edit 12, delete confirmation          10
    POST a DXA scan (saved, redirect)                        16
    POST a dose (saved, redirect, under the patient's lock)  19
    POST a therapy course (saved, redirect, same)            27
    POST a patient's death (saved, redirect)                 36
    /clinics/<slug>/staff/  (3 or 30 members, their log and
      the roles waiting for confirmation)                    10
    /  (dashboard, with the roles waiting for confirmation)   9
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from patients.models import (
    CardiovascularEvent,
    GlucocorticoidExposure,
    Immunosuppressant,
    Membership,
    Patient,
    Role,
    RoleConfirmation,
    StaffAction,
)
from tests import factories

# -1 in issue 14: a page is one query of 26 rows, no COUNT of the whole list (patients.pagination);
# -1 more: the kind filter offers every kind, no query (patients.selectors.reminder_kinds); -2: the
# clinic filter and "New patient" read the navigation's memberships (patients.access.clinics_of)
LIST = 18
# the access-log row, what was done in the EHR with Ossa's cards, the fracture-liaison episodes
# -11 in issue 14: the change history is read when its panel is opened (patients:changes); -11
# more: the engine's case is built from the records the page loads (case_for_loaded_patient); -1:
# the patient's clinic comes with the patient (patient_with_records)
DETAIL_CLINICAL = 21
#: session, user, patient with role, the access-log row, one history query per record type
#: (11), navigation memberships, session save (3)
CHANGES = 19
DETAIL_DEMOGRAPHICS = 7
# +2 in issue 13: the birth-date check reads the first date of the FLS episodes and follow-ups too.
STATUS_POST = 36
YEARS = [pytest.param(2, id="2-years"), pytest.param(20, id="20-years")]


@pytest.fixture
def history(request, patient) -> Patient:
    """The Hillside patient with `request.param` years of history (and one of each risk row)."""
    factories.add_long_history(patient, years=request.param)
    CardiovascularEvent.objects.create(patient=patient, kind="stroke", date=dt.date(2001, 5, 5))
    Immunosuppressant.objects.create(patient=patient, name="tacrolimus")
    GlucocorticoidExposure.objects.create(
        patient=patient, prednisone_mg_per_day=5, start=dt.date(2003, 1, 1)
    )
    return patient


# --- the patient list -------------------------------------------------------------------------


@pytest.mark.parametrize("count", [6, 60])
def test_the_patient_list_costs_the_same_queries_for_6_or_60_patients(
    count, clinic, clinician, client_for, django_assert_num_queries
):
    for _ in range(count):
        factories.add_long_history(factories.PatientFactory(clinic=clinic), years=1)
    client = client_for(clinician)

    with django_assert_num_queries(LIST):
        response = client.get("/patients/")

    assert response.status_code == 200


# --- the patient page -------------------------------------------------------------------------


@pytest.mark.parametrize("history", YEARS, indirect=True)
@pytest.mark.parametrize("role", ["clinician", "nurse"])
def test_the_patient_page_costs_the_same_queries_for_2_or_20_years_of_history(
    history, role, request, client_for, django_assert_num_queries
):
    client = client_for(request.getfixturevalue(role))

    with django_assert_num_queries(DETAIL_CLINICAL):
        response = client.get(reverse("patients:detail", args=[history.pk]))

    assert response.status_code == 200


@pytest.mark.parametrize("history", YEARS, indirect=True)
def test_the_change_history_costs_the_same_queries_for_2_or_20_years_of_history(
    history, clinician, client_for, django_assert_num_queries
):
    client = client_for(clinician)

    with django_assert_num_queries(CHANGES):
        response = client.get(reverse("patients:changes", args=[history.pk]))

    assert response.status_code == 200
    assert len(response.context["changes"]) > 10


@pytest.mark.parametrize("history", YEARS, indirect=True)
def test_the_demographics_only_patient_page_of_a_clinic_admin_is_cheaper(
    history, clinic_admin, client_for, django_assert_num_queries
):
    client = client_for(clinic_admin)

    with django_assert_num_queries(DETAIL_DEMOGRAPHICS):
        client.get(reverse("patients:detail", args=[history.pk]))


# --- edit pages and record forms (20 years of history) ----------------------------------------

#: (URL name prefix, the patient's rows of that kind, queries to add / edit / confirm a delete;
#: an edit page reads the row's version, `patients.versions`)
RECORD_PAGES = [
    # The clinic's scanner list (DXA) and lab units (the lab panel): one query each.
    ("monitoring:dxa", "dxa_scans", (9, 11, 9)),
    ("monitoring:lab", "lab_results", (9, 10, 9)),
    ("monitoring:reassessment", "reassessments", (8, 10, 9)),
    ("patients:fracture", "fractures", (8, 10, 9)),
    ("patients:cardiovascular-event", "cardiovascular_events", (8, 10, 9)),
    ("patients:immunosuppressant", "immunosuppressants", (8, 10, 9)),
    ("patients:glucocorticoid", "glucocorticoid_exposures", (8, 10, 9)),
    ("therapy:course", "therapy_courses", (8, 10, 9)),
    ("therapy:dose", "doses", (10, 12, 10)),
]


@pytest.mark.parametrize("history", [20], indirect=True)
@pytest.mark.parametrize(
    ("name", "queries"),
    [
        ("patients:create", 7),
        ("patients:edit", 9),  # with the row's version (`patients.versions`)
        ("patients:contact", 9),
        ("patients:status", 8),
        ("patients:risk-factors", 10),
    ],
)
def test_the_demographics_and_risk_factor_forms_have_a_fixed_query_budget(
    name, queries, history, clinician, client_for, django_assert_num_queries
):
    client = client_for(clinician)
    url = reverse(name, args=[] if name == "patients:create" else [history.pk])

    with django_assert_num_queries(queries):
        response = client.get(url)

    assert response.status_code == 200


@pytest.mark.parametrize("history", [20], indirect=True)
@pytest.mark.parametrize(
    ("prefix", "rows", "queries"), RECORD_PAGES, ids=[r[0] for r in RECORD_PAGES]
)
def test_the_add_edit_and_delete_pages_of_a_record_have_a_fixed_query_budget(
    prefix, rows, queries, history, clinician, client_for, django_assert_num_queries
):
    client = client_for(clinician)
    owner = history.therapy_courses.last() if rows == "doses" else history
    record = getattr(owner, rows).last()
    urls = [
        reverse(f"{prefix}-create", args=[history.pk]),
        reverse(f"{prefix}-update", args=[history.pk, record.pk]),
        reverse(f"{prefix}-delete", args=[history.pk, record.pk]),
    ]

    for url, budget in zip(urls, queries, strict=True):
        with django_assert_num_queries(budget):
            response = client.get(url)
        assert response.status_code == 200, url


SAVES = [
    # The scan's range checks are its fields' validators, not a query per CHECK constraint.
    ("monitoring:dxa-create", lambda p: {"date": "2024-02-02", "lumbar_spine_t_score": "-2"}, 16),
    (
        "therapy:dose-create",
        lambda p: {"course": p.therapy_courses.last().pk, "date": _last_course_day(p)},
        19,  # with the patient's lock `record_save` takes before counting the doses
    ),
    # with the patient's lock `record_save` takes before looking for an overlapping course
    ("therapy:course-create", lambda p: {"drug": "romosozumab", "start": "2024-01-01"}, 27),
]


def _last_course_day(patient: Patient) -> str:
    return patient.therapy_courses.last().end.isoformat()


@pytest.mark.parametrize("history", YEARS, indirect=True)
@pytest.mark.parametrize(("name", "data", "queries"), SAVES, ids=[s[0] for s in SAVES])
def test_saving_a_record_costs_the_same_queries_for_2_or_20_years_of_history(
    name, data, queries, history, clinician, client_for, django_assert_num_queries
):
    client = client_for(clinician)
    payload = data(history)

    with django_assert_num_queries(queries):
        response = client.post(reverse(name, args=[history.pk]), payload)

    assert response.status_code == 302


# --- staff and dashboard ----------------------------------------------------------------------


@pytest.mark.parametrize("members", [3, 30])
def test_the_staff_page_costs_the_same_queries_for_3_or_30_members(
    members, clinic, clinic_admin, client_for, django_assert_num_queries
):
    for n in range(members - 1):
        user = factories.UserFactory(username=f"staff{n}")
        Membership.objects.create(user=user, clinic=clinic, role=Role.NURSE)
        StaffAction.objects.create(clinic=clinic, actor=clinic_admin, target=user, kind="unlock")
        waiting = factories.UserFactory(username=f"waiting{n}")
        RoleConfirmation.objects.create(
            clinic=clinic, user=waiting, role=Role.NURSE, requested_by=clinic_admin
        )
    client = client_for(clinic_admin)

    with django_assert_num_queries(10):
        response = client.get(reverse("patients:staff", args=[clinic.slug]))

    assert len(response.context["memberships"]) == members


def test_the_dashboard_has_a_fixed_query_budget(clinician, client_for, django_assert_num_queries):
    client = client_for(clinician)

    # ... and one for the scans (when the last ran, whether one runs now): every role sees it;
    # one for the roles waiting for a clinician's confirmation (issue 11).
    with django_assert_num_queries(9):
        client.get("/")


@pytest.mark.parametrize("history", YEARS, indirect=True)
def test_recording_a_death_costs_the_same_queries_for_2_or_20_years_of_history(
    history, clinician, client_for, django_assert_num_queries
):
    # The birth-date check reads the first date of each record type, not every row.
    client = client_for(clinician)

    with django_assert_num_queries(STATUS_POST):
        response = client.post(
            reverse("patients:status", args=[history.pk]),
            {"status": "deceased", "status_date": "2026-11-20"},
        )

    assert response.status_code == 302
