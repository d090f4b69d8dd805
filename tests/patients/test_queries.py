"""Query budgets: every page's query count is pinned with a long history, so an N+1 fails CI.

Measured on SQLite (Django 5.2), signed in with the test client. Every count includes the
session read, the user read and the navigation's memberships. The session is not stored again
on these requests: config.session.SessionIdleMiddleware renews it at most once a minute, and
signing in counts as a renewal. Every page of a patient opened by a clinician or a nurse
writes one access-log row (issue 11: one INSERT).

The engine's input is read by `therapy.case_records` (eleven queries for one patient or a
page of them), apart from the records a page lists: one reader for the pages and the scan.

    page                                                   queries
    /patients/  (6 or 60 patients, each with a history)      15
      (one more: the reminder kinds of the kind filter)
    /patients/<id>/  clinician or nurse, 2 or 20 years       18
      (one more with fracture-liaison episodes: their follow-up
      contacts, tests/quality/test_entry.py)
    /patients/<id>/  clinic admin (demographics only)         4
    /patients/new/ 4, /patients/<id>/edit/ 6 (with the row's version)
    /patients/<id>/contact/ 6, /patients/<id>/status/ 5
    /patients/<id>/risk-factors/                              7
    record form, add (DXA, lab, reassessment, fracture,
      course, CV event, immunosuppressant, glucocorticoid)    5
    record form, edit 7 (with the row's version), delete
      confirmation 6
    dose form: add 7, edit 9, delete confirmation             7
    POST a DXA scan (saved, redirect)                        13
    POST a dose (saved, redirect, under the patient's lock)  16
    POST a therapy course (saved, redirect, same)            24
    POST a patient's death (saved, redirect)                 33
    /clinics/<slug>/staff/  (3 or 30 members, their log and
      the roles waiting for confirmation)                     7
    /  (dashboard, with the roles waiting for confirmation)   6
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
LIST = 15
# the access-log row, what was done in the EHR with Ossa's cards, the fracture-liaison episodes
# -11 in issue 14: the change history is read when its panel is opened (patients:changes); -11
# more: the engine's case is built from the records the page loads (case_for_loaded_patient); -1:
# the patient's clinic comes with the patient (patient_with_records)
DETAIL_CLINICAL = 18
#: session, user, patient with role, the access-log row, one history query per record type
#: (11), navigation memberships (the session is not stored again)
CHANGES = 16
DETAIL_DEMOGRAPHICS = 4
# +2 in issue 13: the birth-date check reads the first date of the FLS episodes and follow-ups too.
STATUS_POST = 33
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
    ("monitoring:dxa", "dxa_scans", (6, 8, 6)),
    ("monitoring:lab", "lab_results", (6, 7, 6)),
    ("monitoring:reassessment", "reassessments", (5, 7, 6)),
    ("patients:fracture", "fractures", (5, 7, 6)),
    ("patients:cardiovascular-event", "cardiovascular_events", (5, 7, 6)),
    ("patients:immunosuppressant", "immunosuppressants", (5, 7, 6)),
    ("patients:glucocorticoid", "glucocorticoid_exposures", (5, 7, 6)),
    ("therapy:course", "therapy_courses", (5, 7, 6)),
    ("therapy:dose", "doses", (7, 9, 7)),
]


@pytest.mark.parametrize("history", [20], indirect=True)
@pytest.mark.parametrize(
    ("name", "queries"),
    [
        ("patients:create", 4),
        ("patients:edit", 6),  # with the row's version (`patients.versions`)
        ("patients:contact", 6),
        ("patients:status", 5),
        ("patients:risk-factors", 7),
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
    ("monitoring:dxa-create", lambda p: {"date": "2024-02-02", "lumbar_spine_t_score": "-2"}, 13),
    (
        "therapy:dose-create",
        lambda p: {"course": p.therapy_courses.last().pk, "date": _last_course_day(p)},
        16,  # with the patient's lock `record_save` takes before counting the doses
    ),
    # with the patient's lock `record_save` takes before looking for an overlapping course
    ("therapy:course-create", lambda p: {"drug": "romosozumab", "start": "2024-01-01"}, 24),
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

    with django_assert_num_queries(7):
        response = client.get(reverse("patients:staff", args=[clinic.slug]))

    assert len(response.context["memberships"]) == members


def test_the_dashboard_has_a_fixed_query_budget(clinician, client_for, django_assert_num_queries):
    client = client_for(clinician)

    # ... and one for the scans (when the last ran, whether one runs now): every role sees it;
    # one for the roles waiting for a clinician's confirmation (issue 11).
    with django_assert_num_queries(6):
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
