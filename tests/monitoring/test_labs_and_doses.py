"""Labs and doses in one step: units per test, 25-OH vitamin D converted from nmol/L, creatinine
clearance into the risk factors, and a dose of each active injected course from the patient
page — with the refusals both ways."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from monitoring.dxa import vitamin_d_ng_ml
from monitoring.models import LabResult
from patients.models import RiskProfile
from tests import factories
from tests.patients.conftest import field_error_html, input_tag
from therapy.models import Dose, TherapyCourse

TODAY = dt.date(2025, 3, 14)
LONDON_NOON = dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC)


def _lab_url(patient) -> str:
    return reverse("monitoring:lab-create", args=[patient.pk])


# --- labs -------------------------------------------------------------------------------------

STORED = [
    # (test, typed value, typed unit, stored value, stored unit)
    pytest.param("ctx", "0.45", "", 0.45, "ng/mL", id="ctx-usual-unit"),
    pytest.param("ctx", "0.45", "ng/mL", 0.45, "ng/mL", id="ctx-named-unit"),
    pytest.param("p1np", "40", "µg/L", 40.0, "µg/L", id="p1np"),
    pytest.param("vitamin_d_25oh", "30", "ng/mL", 30.0, "ng/mL", id="vitamin-d-ng-ml"),
    pytest.param("vitamin_d_25oh", "75", "nmol/L", 30.05, "ng/mL", id="vitamin-d-nmol-l"),
    pytest.param("vitamin_d_25oh", "74.88", "nmol/L", 30.0, "ng/mL", id="vitamin-d-exact"),
    pytest.param("calcium", "2.31", "", 2.31, "mmol/L", id="calcium"),
]


@pytest.mark.parametrize(("test", "value", "unit", "stored", "stored_unit"), STORED)
def test_a_lab_value_is_stored_in_its_tests_unit(
    test, value, unit, stored, stored_unit, patient, nurse, client_for
):
    response = client_for(nurse).post(
        _lab_url(patient), {"date": "2025-01-10", "test": test, "value": value, "unit": unit}
    )

    assert response.status_code == 302
    assert response["Location"].endswith("#labs")
    lab = patient.lab_results.get()
    assert (lab.test, lab.value, lab.unit, lab.date) == (
        test,
        stored,
        stored_unit,
        dt.date(2025, 1, 10),
    )


@pytest.mark.parametrize(
    ("nmol_l", "ng_ml"), [(75, 30.05), (74.88, 30.0), (50, 20.03), (0, 0.0), (124.8, 50.0)]
)
def test_25_oh_vitamin_d_in_nmol_l_is_divided_by_2_496_to_the_hundredth(nmol_l, ng_ml):
    assert vitamin_d_ng_ml(nmol_l) == ng_ml


def test_the_message_says_what_was_stored(patient, nurse, client_for):
    response = client_for(nurse).post(
        _lab_url(patient),
        {"date": "2025-01-10", "test": "vitamin_d_25oh", "value": "75", "unit": "nmol/L"},
        follow=True,
    )

    assert (
        f"25-OH vitamin D 30.05 ng/mL on 2025-01-10 was recorded for {patient.name}."
        in response.content.decode()
    )


def test_save_and_log_another_returns_to_an_empty_lab_form(patient, nurse, client_for):
    response = client_for(nurse).post(
        _lab_url(patient),
        {"date": "2025-01-10", "test": "ctx", "value": "0.4", "save_and_next": "1"},
    )

    assert response["Location"] == _lab_url(patient)


UNIT_REFUSALS = [
    pytest.param("ctx", "nmol/L", "CTX is recorded in ng/mL.", id="ctx-in-nmol-l"),
    pytest.param("calcium", "ng/mL", "Calcium is recorded in mmol/L.", id="calcium-in-ng-ml"),
    pytest.param(
        "vitamin_d_25oh",
        "µg/L",
        "25-OH vitamin D is recorded in ng/mL or nmol/L.",
        id="vitamin-d-in-ug-l",
    ),
    pytest.param(
        "creatinine_clearance", "ng/mL", "Creatinine clearance is recorded in mL/min.", id="crcl"
    ),
]


@pytest.mark.parametrize(("test", "unit", "message"), UNIT_REFUSALS)
def test_a_unit_that_does_not_fit_the_test_is_refused_beside_the_unit(
    test, unit, message, patient, nurse, client_for
):
    response = client_for(nurse).post(
        _lab_url(patient), {"date": "2025-01-10", "test": test, "value": "12.5", "unit": unit}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert message in field_error_html(html, "unit")
    assert 'value="12.5"' in input_tag(html, "value")
    assert not patient.lab_results.exists()


VALUE_REFUSALS = [
    pytest.param(
        {"date": "2025-01-10", "test": "ctx", "value": "-1"},
        "value",
        "Value must be between 0 and 10000.",
        id="negative-value",
    ),
    pytest.param(
        {"date": "", "test": "ctx", "value": "0.4"},
        "date",
        "Enter the date the sample was taken.",
        id="no-date",
    ),
    pytest.param(
        {"date": "2099-01-01", "test": "p1np", "value": "40"},
        "date",
        "This date is in the future",
        id="future-date",
    ),
    pytest.param(
        {"date": "1940-01-01", "test": "p1np", "value": "40"},
        "date",
        "before the patient&#x27;s birth date (1948-04-02)",
        id="before-birth",
    ),
    pytest.param(
        {"date": "2025-01-10", "test": "ctx", "value": "abc"},
        "value",
        "Enter a number.",
        id="not-a-number",
    ),
    pytest.param(
        {"date": "2025-01-10", "test": "ldl", "value": "1"},
        "test",
        "Select a valid choice.",
        id="unknown-test",
    ),
]


@pytest.mark.parametrize(("data", "field", "message"), VALUE_REFUSALS)
def test_a_refused_lab_value_says_why_beside_the_field_and_saves_nothing(
    data, field, message, patient, nurse, client_for
):
    response = client_for(nurse).post(_lab_url(patient), data)

    assert response.status_code == 400
    assert message in field_error_html(response.content.decode(), field)
    assert not patient.lab_results.exists()


def test_a_second_value_of_a_test_on_the_same_day_is_refused_and_another_test_is_not(
    patient, nurse, client_for
):
    LabResult.objects.create(patient=patient, date=dt.date(2025, 1, 10), test="ctx", value=0.3)
    client = client_for(nurse)

    same = client.post(_lab_url(patient), {"date": "2025-01-10", "test": "ctx", "value": "0.4"})
    other = client.post(_lab_url(patient), {"date": "2025-01-10", "test": "p1np", "value": "40"})

    assert "edit it instead" in field_error_html(same.content.decode(), "date")
    assert other.status_code == 302
    assert patient.lab_results.count() == 2


# --- creatinine clearance ---------------------------------------------------------------------


def test_creatinine_clearance_becomes_the_current_value_of_the_risk_factors_with_its_author(
    patient, nurse, client_for
):
    response = client_for(nurse).post(
        _lab_url(patient), {"date": "2025-01-10", "test": "creatinine_clearance", "value": "42"}
    )

    assert response.status_code == 302
    assert response["Location"].endswith("#risk-factors")
    profile = RiskProfile.objects.get(patient=patient)
    assert profile.creatinine_clearance_ml_min == 42
    assert profile.history.latest().history_user == nurse
    assert not patient.lab_results.exists()


def test_creatinine_clearance_is_saved_for_a_patient_without_risk_factors_yet(
    patient, nurse, client_for
):
    RiskProfile.objects.filter(patient=patient).delete()

    client_for(nurse).post(
        _lab_url(patient), {"test": "creatinine_clearance", "value": "55", "unit": "mL/min"}
    )

    assert RiskProfile.objects.get(patient=patient).creatinine_clearance_ml_min == 55


def test_an_implausible_creatinine_clearance_is_refused_beside_the_value(
    patient, nurse, client_for
):
    response = client_for(nurse).post(
        _lab_url(patient), {"date": "2025-01-10", "test": "creatinine_clearance", "value": "300"}
    )

    assert response.status_code == 400
    assert "Creatinine clearance must be between 0 and 250 mL/min." in field_error_html(
        response.content.decode(), "value"
    )
    assert RiskProfile.objects.get(patient=patient).creatinine_clearance_ml_min is None


def test_the_lab_page_says_where_creatinine_clearance_goes(patient, nurse, client_for):
    html = client_for(nurse).get(_lab_url(patient)).content.decode()

    assert "it replaces the current value (mL/min) in the patient's risk factors" in html
    assert "nmol/L ÷ 2.496" in html


@time_machine.travel(LONDON_NOON, tick=False)
def test_the_lab_date_defaults_to_today_and_has_the_focus(patient, nurse, client_for):
    html = client_for(nurse).get(_lab_url(patient)).content.decode()

    date = input_tag(html, "date")
    assert 'value="2025-03-14"' in date
    assert "autofocus" in date


# --- correcting a lab value -------------------------------------------------------------------


def test_a_lab_value_is_corrected_in_another_unit_and_creatinine_clearance_is_not_offered(
    patient, clinician, client_for
):
    lab = LabResult.objects.create(
        patient=patient, date=dt.date(2025, 1, 10), test="vitamin_d_25oh", value=20, unit="ng/mL"
    )
    url = reverse("monitoring:lab-update", args=[patient.pk, lab.pk])
    client = client_for(clinician)

    page = client.get(url).content.decode()
    response = client.post(
        url, {"date": "2025-01-10", "test": "vitamin_d_25oh", "value": "62.4", "unit": "nmol/L"}
    )

    assert 'value="creatinine_clearance"' not in input_tag(page, "test")
    assert 'value="20.0"' in input_tag(page, "value")
    assert response.status_code == 302
    lab.refresh_from_db()
    assert (lab.value, lab.unit) == (25.0, "ng/mL")
    assert patient.lab_results.count() == 1


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


@pytest.mark.parametrize(
    ("role", "status"),
    [("clinician", 200), ("nurse", 200), ("clinic_admin", 403), ("outsider", 404)],
)
def test_clinicians_and_nurses_open_the_lab_form_a_clinic_admin_may_not(
    role, status, patient, request, client_for
):
    client = client_for(request.getfixturevalue(role))

    assert client.get(_lab_url(patient)).status_code == status
    if status != 200:
        data = {"date": "2025-01-10", "test": "creatinine_clearance", "value": "40"}
        assert client.post(_lab_url(patient), data).status_code == status
        assert RiskProfile.objects.get(patient=patient).creatinine_clearance_ml_min is None


# --- query budgets ----------------------------------------------------------------------------

#: POST a lab value / a creatinine clearance / a one-step dose, with 2 or 20 years of history.
SAVES = [
    pytest.param(
        lambda p: (_lab_url(p), {"date": "2024-02-02", "test": "ctx", "value": "0.3"}),
        16,
        id="lab",
    ),
    pytest.param(
        lambda p: (_lab_url(p), {"test": "creatinine_clearance", "value": "40"}),
        12,  # range checks are the fields' validators, not a query per constraint
        id="creatinine-clearance",
    ),
    pytest.param(
        lambda p: (
            _dose_url(p, p.therapy_courses.last()),
            {"date": p.therapy_courses.last().end.isoformat()},
        ),
        14,
        id="dose",
    ),
]


@pytest.mark.parametrize("years", [2, 20])
@pytest.mark.parametrize(("request_for", "queries"), SAVES)
def test_saving_a_lab_or_a_dose_costs_the_same_queries_for_2_or_20_years(
    request_for, queries, years, patient, nurse, client_for, django_assert_num_queries
):
    factories.add_long_history(patient, years=years)
    url, data = request_for(patient)
    client = client_for(nurse)

    with django_assert_num_queries(queries):
        response = client.post(url, data)

    assert response.status_code == 302
