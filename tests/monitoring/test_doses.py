"""Doses in one step: a dose of each active injected course from the patient page, with the
refusals both ways. (Lab values: test_labs.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests import factories
from tests.patients.conftest import field_error_html, input_tag
from therapy.models import Dose, TherapyCourse

TODAY = dt.date(2025, 3, 14)
LONDON_NOON = dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC)


# --- doses in one step ------------------------------------------------------------------------


def _course(patient, drug: str, start: str, end: str | None = None) -> TherapyCourse:
    return TherapyCourse.objects.create(
        patient=patient,
        drug=drug,
        start=dt.date.fromisoformat(start),
        end=dt.date.fromisoformat(end) if end else None,
    )


def _dose_url(patient, course) -> str:
    return reverse("therapy:dose-given", args=[patient.pk, course.pk])


@time_machine.travel(LONDON_NOON, tick=False)
def test_the_patient_page_offers_one_dose_form_per_active_injected_course_dated_today(
    patient, nurse, client_for
):
    denosumab = _course(patient, "denosumab", "2024-01-01")
    romosozumab = _course(patient, "romosozumab", "2024-06-01", "2025-06-01")  # ends later
    ended = _course(patient, "zoledronic_acid", "2020-01-01", "2021-01-01")
    oral = _course(patient, "alendronate", "2022-01-01")

    html = client_for(nurse).get(reverse("patients:detail", args=[patient.pk])).content.decode()

    for course in (denosumab, romosozumab):
        assert f'action="{_dose_url(patient, course)}"' in html
        assert f'id="dose-given-{course.pk}" name="date" value="2025-03-14"' in html
    for course in (ended, oral):
        assert _dose_url(patient, course) not in html
    assert "Denosumab (SC, 6-monthly): dose given on" in html


def test_a_clinic_admin_sees_no_dose_form(patient, clinic_admin, client_for):
    course = _course(patient, "denosumab", "2024-01-01")

    html = client_for(clinic_admin).get(reverse("patients:detail", args=[patient.pk]))

    assert _dose_url(patient, course) not in html.content.decode()


@time_machine.travel(LONDON_NOON, tick=False)
def test_one_submit_records_the_dose_and_returns_to_the_therapy_timeline(
    patient, nurse, client_for
):
    course = _course(patient, "denosumab", "2024-09-01")

    response = client_for(nurse).post(
        _dose_url(patient, course), {"date": "2025-03-14"}, follow=True
    )

    assert response.redirect_chain[-1][0].endswith("#therapy")
    dose = course.doses.get()
    assert dose.date == TODAY
    assert dose.history.get().history_user == nurse
    assert "Denosumab (SC, 6-monthly) dose of 2025-03-14 recorded." in response.content.decode()


def _romosozumab_with_12_doses(patient) -> TherapyCourse:
    course = _course(patient, "romosozumab", "2023-01-01")
    for month in range(12):
        Dose.objects.create(course=course, date=dt.date(2023, 1 + month, 5))
    return course


DOSE_REFUSALS = [
    pytest.param(
        lambda p: _course(p, "denosumab", "2024-09-01"),
        "2024-08-01",
        "This date is outside the course",
        id="before-the-course",
    ),
    pytest.param(
        lambda p: _course(p, "denosumab", "2024-09-01"),
        "2025-03-15",
        "This date is in the future",
        id="future",
    ),
    pytest.param(
        lambda p: _course(p, "denosumab", "2024-09-01"),
        "",
        "This field is required.",
        id="no-date",
    ),
    pytest.param(
        _romosozumab_with_12_doses,
        "2025-01-05",
        "This course already has 12 doses",
        id="13th-romosozumab",
    ),
]


@time_machine.travel(LONDON_NOON, tick=False)
@pytest.mark.parametrize(("make_course", "date", "message"), DOSE_REFUSALS)
def test_a_refused_dose_opens_the_dose_form_with_the_reason_beside_the_date(
    make_course, date, message, patient, nurse, client_for
):
    course = make_course(patient)
    before = course.doses.count()

    response = client_for(nurse).post(_dose_url(patient, course), {"date": date})

    html = response.content.decode()
    assert response.status_code == 400
    assert message in field_error_html(html, "date")
    assert f'value="{date}"' in input_tag(html, "date")
    assert f'<option value="{course.pk}" selected>' in input_tag(html, "course")
    assert "disabled" in input_tag(html, "course")
    assert course.doses.count() == before


@time_machine.travel(LONDON_NOON, tick=False)
def test_a_second_dose_on_the_same_day_is_refused_and_the_next_day_is_not(
    patient, nurse, client_for
):
    course = _course(patient, "zoledronic_acid", "2024-01-01")
    Dose.objects.create(course=course, date=dt.date(2025, 3, 13))
    client = client_for(nurse)

    same = client.post(_dose_url(patient, course), {"date": "2025-03-13"})
    next_day = client.post(_dose_url(patient, course), {"date": "2025-03-14"})

    assert same.status_code == 400
    assert "already recorded on this date" in field_error_html(same.content.decode(), "date")
    assert next_day.status_code == 302
    assert course.doses.count() == 2


def test_an_oral_course_or_another_patients_course_answers_404(clinic, patient, nurse, client_for):
    oral = _course(patient, "alendronate", "2024-01-01")
    foreign = _course(factories.PatientFactory(clinic=clinic), "denosumab", "2024-01-01")
    client = client_for(nurse)

    assert client.post(_dose_url(patient, oral), {"date": "2024-06-01"}).status_code == 404
    assert client.post(_dose_url(patient, foreign), {"date": "2024-06-01"}).status_code == 404
    assert not Dose.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [("clinician", 302), ("nurse", 302), ("clinic_admin", 403), ("outsider", 404)],
)
def test_clinicians_and_nurses_record_doses_a_clinic_admin_may_not_and_an_outsider_sees_nothing(
    role, status, patient, request, client_for
):
    course = _course(patient, "denosumab", "2024-01-01")

    response = client_for(request.getfixturevalue(role)).post(
        _dose_url(patient, course), {"date": "2024-07-01"}
    )

    assert response.status_code == status
    assert course.doses.count() == (1 if status == 302 else 0)


def test_the_dose_url_answers_only_post(patient, nurse, client_for):
    course = _course(patient, "denosumab", "2024-01-01")

    assert client_for(nurse).get(_dose_url(patient, course)).status_code == 405


# --- query budgets ----------------------------------------------------------------------------

#: POST a one-step dose, with 2 or 20 years of history (the access-log row included).
SAVES = [
    pytest.param(
        lambda p: (
            _dose_url(p, p.therapy_courses.last()),
            {"date": p.therapy_courses.last().end.isoformat()},
        ),
        13,  # with the patient's lock `record_save` takes before counting the doses
        id="dose",
    ),
]


@pytest.mark.parametrize("years", [2, 20])
@pytest.mark.parametrize(("request_for", "queries"), SAVES)
def test_saving_a_dose_costs_the_same_queries_for_2_or_20_years(
    request_for, queries, years, patient, nurse, client_for, django_assert_num_queries
):
    factories.add_long_history(patient, years=years)
    url, data = request_for(patient)
    client = client_for(nurse)

    with django_assert_num_queries(queries):
        response = client.post(url, data)

    assert response.status_code == 302
