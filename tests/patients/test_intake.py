"""The history intake: a new patient's previous fractures and courses on one page, each date as
precisely as the clinician knows it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.tasks import rescan_patient_task
from patients.approximate_dates import DatePrecision
from patients.models import Fracture, Patient
from tests import factories
from tests.patients.conftest import field_error_html, input_tag, shows
from therapy.models import TherapyCourse

YEAR, MONTH, DAY = DatePrecision.YEAR, DatePrecision.MONTH, DatePrecision.DAY


def intake_data(
    fractures: list[dict[str, str]] = (),  # type: ignore[assignment]
    courses: list[dict[str, str]] = (),  # type: ignore[assignment]
) -> dict[str, str]:
    """The POST of the page: both formsets' management forms and their rows."""
    data: dict[str, str] = {}
    for prefix, rows in (("fractures", fractures), ("courses", courses)):
        data |= {
            f"{prefix}-TOTAL_FORMS": str(len(rows)),
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "30",
        }
        for i, row in enumerate(rows):
            data |= {f"{prefix}-{i}-{key}": value for key, value in row.items()}
    return data


def fracture(when: str = "2016", site: str = "vertebral", **extra: str) -> dict[str, str]:
    return {"date": when, "site": site, "is_fragility": "on", **extra}


def course(drug: str, start: str, end: str = "", stop_reason: str = "", **extra: str):
    return {"drug": drug, "start": start, "end": end, "stop_reason": stop_reason, **extra}


EMPTY_FRACTURE = fracture(when="", site="")
EMPTY_COURSE = course("", "")


def url(patient: Patient) -> str:
    return reverse("patients:intake", args=[patient.pk])


@pytest.fixture
def queued(monkeypatch):
    """The patient ids whose rescan was sent to the broker."""
    sent: list[int] = []
    monkeypatch.setattr(
        rescan_patient_task, "apply_async", lambda args, **options: sent.append(args[0])
    )
    return sent


def post(client: Any, patient: Patient, **rows: Any) -> Any:
    return client.post(url(patient), intake_data(**rows))


# --- saving -----------------------------------------------------------------------------------


def test_a_clinician_records_fractures_and_courses_with_the_precision_they_know(
    patient, clinician, client_for
):
    response = post(
        client_for(clinician),
        patient,
        fractures=[fracture("2016"), fracture("2019-03", "wrist"), fracture("2021-07-14", "hip")],
        courses=[
            course("alendronate", "2010", "2015-03", "completed"),
            course("denosumab", "2016-05-14"),
        ],
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    assert [(f.date, f.date_precision, f.site) for f in patient.fractures.all()] == [
        (dt.date(2016, 1, 1), YEAR, "vertebral"),
        (dt.date(2019, 3, 1), MONTH, "wrist"),
        (dt.date(2021, 7, 14), DAY, "hip"),
    ]
    alendronate, denosumab = patient.therapy_courses.all()
    assert (alendronate.start, alendronate.start_precision) == (dt.date(2010, 1, 1), YEAR)
    assert (alendronate.end, alendronate.end_precision) == (dt.date(2015, 3, 1), MONTH)
    assert alendronate.stop_reason == "completed"
    assert (denosumab.start, denosumab.start_precision, denosumab.end) == (
        dt.date(2016, 5, 14),
        DAY,
        None,
    )


def test_the_saved_rows_read_as_approximate_wherever_they_are_named(patient, clinician, client_for):
    client = client_for(clinician)
    post(
        client,
        patient,
        fractures=[fracture("2016")],
        courses=[course("alendronate", "2010", "2015-03", "completed")],
    )

    assert str(patient.fractures.get()) == "Vertebral fracture, ≈ 2016"
    assert str(patient.therapy_courses.get()) == "Alendronate (oral) ≈ 2010 – ≈ 2015-03"
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert shows(page, "Vertebral fracture, ≈ 2016")
    assert shows(page, "Alendronate (oral) ≈ 2010 – ≈ 2015-03")


def test_the_page_says_what_is_already_recorded(patient, clinician, client_for):
    Fracture.objects.create(
        patient=patient, date=dt.date(2012, 1, 1), date_precision=YEAR, site="hip"
    )

    html = client_for(clinician).get(url(patient)).content.decode()

    assert shows(html, "Hip fracture, ≈ 2012")


def test_every_row_is_in_the_audit_trail_with_the_clinician_as_its_author(
    patient, clinician, client_for
):
    post(
        client_for(clinician),
        patient,
        fractures=[fracture("2016")],
        courses=[course("alendronate", "2010", "2015")],
    )

    for model in (Fracture, TherapyCourse):
        (created,) = model.history.filter(patient_id=patient.pk)
        assert (created.history_type, created.history_user) == ("+", clinician)
    assert Fracture.history.get(patient_id=patient.pk).date_precision == YEAR


def test_the_whole_intake_queues_one_rescan(
    patient, clinician, client_for, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(
            client_for(clinician),
            patient,
            fractures=[fracture("2016"), fracture("2018", "wrist")],
            courses=[course("alendronate", "2010", "2015"), course("denosumab", "2016")],
        )

    assert patient.fractures.count() == 2
    assert queued == [patient.pk]


def test_rows_left_empty_or_removed_are_not_saved(patient, clinician, client_for):
    response = post(
        client_for(clinician),
        patient,
        fractures=[EMPTY_FRACTURE, fracture("2016"), fracture("not a date", DELETE="on")],
        courses=[EMPTY_COURSE],
    )

    assert response.status_code == 302
    assert [f.date for f in patient.fractures.all()] == [dt.date(2016, 1, 1)]
    assert not patient.therapy_courses.exists()


def test_saving_nothing_returns_to_the_patient_and_says_so(patient, clinician, client_for):
    response = client_for(clinician).post(
        url(patient),
        intake_data(fractures=[EMPTY_FRACTURE], courses=[EMPTY_COURSE]),
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("patients:detail", args=[patient.pk])
    assert "No previous fracture or course was recorded." in response.content.decode()


# --- refused rows: the message beside the field, what was typed kept, nothing saved ------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("20x6", "Enter a year (2016), a month (2017-05) or a day (2017-05-14)."),
        ("2016-13", "2016-13 is not a date of the calendar."),
        ("2017-02-30", "2017-02-30 is not a date of the calendar."),
        ("1899", "Date must be between 1900-01-01 and 2199-12-31."),
        ("1899-12-31", "Date must be between 1900-01-01 and 2199-12-31."),
        ("1940", "This date is before the patient&#x27;s birth date (1948-04-02)."),
    ],
)
def test_a_refused_date_is_explained_beside_it_and_nothing_is_saved(
    typed, message, patient, clinician, client_for
):
    response = post(
        client_for(clinician),
        patient,
        fractures=[fracture("2016"), fracture(typed, "hip")],
        courses=[course("alendronate", "2010")],
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert message in field_error_html(html, "fractures-1-date")
    assert f'value="{typed}"' in input_tag(html, "fractures-1-date")
    assert 'value="2016"' in input_tag(html, "fractures-0-date")
    assert 'value="2010"' in input_tag(html, "courses-0-start")
    assert not Fracture.objects.exists()
    assert not TherapyCourse.objects.exists()


def test_the_first_date_1900_is_accepted(patient, clinician, client_for):
    patient.birth_date = dt.date(1900, 1, 1)
    patient.save()

    response = post(client_for(clinician), patient, fractures=[fracture("1900")])

    assert response.status_code == 302


def test_a_date_in_the_future_is_refused(patient, clinician, client_for):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()

    response = post(client_for(clinician), patient, courses=[course("alendronate", tomorrow)])

    assert response.status_code == 400
    html = response.content.decode()
    assert "This date is in the future" in field_error_html(html, "courses-0-start")


@pytest.fixture
def seen_since_2020(patient) -> Patient:
    """A patient whose first visit was 2020-06-15."""
    first_visit = dt.datetime(2020, 6, 15, 10, 0, tzinfo=dt.UTC)
    Patient.objects.filter(pk=patient.pk).update(created_at=first_visit)
    return Patient.objects.get(pk=patient.pk)


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("2019", 302),
        ("2020", 302),  # began before the first visit: the clinician need not guess the day
        ("2020-06", 302),
        ("2020-07", 400),
        ("2021", 400),
        ("2021-03-04", 302),  # a full date is the clinic's own record: any day will do
    ],
)
def test_an_approximate_date_is_for_history_before_the_first_visit(
    typed, status, seen_since_2020, clinician, client_for
):
    response = post(client_for(clinician), seen_since_2020, fractures=[fracture(typed)])

    assert response.status_code == status
    if status == 400:
        error = field_error_html(response.content.decode(), "fractures-0-date")
        assert "Give the day: an approximate date is only for history before the" in error
        assert "first visit (2020-06-15)" in error


def test_a_course_end_known_less_precisely_than_its_start_may_fall_before_it(
    patient, clinician, client_for
):
    response = post(
        client_for(clinician),
        patient,
        courses=[course("alendronate", "2015-06", "2015", "completed")],
    )

    assert response.status_code == 400
    error = field_error_html(response.content.decode(), "courses-0-end")
    assert "The end (≈ 2015) may fall before the start (≈ 2015-06)" in error


def test_a_course_that_ends_before_it_starts_is_refused_beside_the_end(
    patient, clinician, client_for
):
    response = post(client_for(clinician), patient, courses=[course("alendronate", "2015", "2014")])

    assert response.status_code == 400
    error = field_error_html(response.content.decode(), "courses-0-end")
    assert "The end date is before the start date (2015-01-01)." in error


def test_a_stop_reason_without_an_end_is_refused_beside_it(patient, clinician, client_for):
    response = post(
        client_for(clinician), patient, courses=[course("alendronate", "2015", "", "failure")]
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "A stop reason needs an end date." in field_error_html(html, "courses-0-stop_reason")


def test_a_row_without_its_drug_is_refused_beside_it(patient, clinician, client_for):
    response = post(client_for(clinician), patient, courses=[course("", "2015")])

    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in field_error_html(html, "courses-0-drug")
    assert 'value="2015"' in input_tag(html, "courses-0-start")


def test_one_fracture_listed_twice_is_refused_on_the_second_row(patient, clinician, client_for):
    response = post(
        client_for(clinician),
        patient,
        fractures=[fracture("2016"), fracture("2016-05", "wrist"), fracture("2016")],
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "This fracture is already listed in row 1." in field_error_html(html, "fractures-2-date")
    assert not Fracture.objects.exists()


def test_a_fracture_already_recorded_is_refused_beside_the_date(patient, clinician, client_for):
    Fracture.objects.create(
        patient=patient, date=dt.date(2016, 1, 1), date_precision=YEAR, site="vertebral"
    )

    response = post(client_for(clinician), patient, fractures=[fracture("2016")])

    assert response.status_code == 400
    error = field_error_html(response.content.decode(), "fractures-0-date")
    assert "A fracture at this site on this date is already recorded" in error


@pytest.mark.parametrize(
    ("first", "second", "overlaps"),
    [
        # ≈ 2014 may run to 2014-12-31: a course from June 2014 may overlap it
        (("2010", "2014"), ("2014-06", "2016"), True),
        (("2010", "2013"), ("2014", "2016"), False),
        (("2010-01", "2014-05"), ("2014-06", ""), False),
        (("2010", ""), ("2018", "2019"), True),
    ],
)
def test_two_rows_of_one_drug_that_may_overlap_are_refused_on_the_later_row(
    first, second, overlaps, patient, clinician, client_for
):
    response = post(
        client_for(clinician),
        patient,
        courses=[course("alendronate", *first), course("alendronate", *second)],
    )

    if overlaps:
        assert response.status_code == 400
        error = field_error_html(response.content.decode(), "courses-1-start")
        assert "This overlaps the Alendronate (oral)" in error
        assert "course in row 1" in error
    else:
        assert response.status_code == 302
        assert patient.therapy_courses.count() == 2


def test_a_course_that_may_overlap_one_already_recorded_is_refused(patient, clinician, client_for):
    TherapyCourse.objects.create(
        patient=patient,
        drug="alendronate",
        start=dt.date(2010, 1, 1),
        start_precision=YEAR,
        end=dt.date(2014, 1, 1),
        end_precision=YEAR,
    )

    response = post(client_for(clinician), patient, courses=[course("alendronate", "2014-09")])

    assert response.status_code == 400
    error = field_error_html(response.content.decode(), "courses-0-start")
    assert "This overlaps the Alendronate (oral) ≈ 2010 – ≈ 2014 course" in error


# --- who may use it ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["nurse", "clinic_admin"])
def test_nurses_and_clinic_admins_are_refused_and_nothing_is_saved(
    role, patient, request, client_for
):
    client = client_for(request.getfixturevalue(role))

    assert client.get(url(patient)).status_code == 403
    assert post(client, patient, fractures=[fracture("2016")]).status_code == 403
    assert not Fracture.objects.exists()


def test_a_clinician_of_another_clinic_gets_404(patient, outsider, client_for):
    client = client_for(outsider)

    assert client.get(url(patient)).status_code == 404
    assert post(client, patient, fractures=[fracture("2016")]).status_code == 404
    assert not Fracture.objects.exists()


# --- the way in: adding a patient ---------------------------------------------------------------


def test_adding_a_patient_leads_to_the_history_intake(clinic, clinician, client_for):
    response = client_for(clinician).post(
        reverse("patients:create"),
        {
            "clinic": "hillside",
            "mrn": "H-777",
            "given_name": "Ada",
            "family_name": "Newcomer",
            "birth_date": "1950-05-05",
            "sex": "female",
        },
    )

    patient = Patient.objects.get(mrn="H-777")
    assert response["Location"] == url(patient)


# --- the single-record forms keep an approximate date until a date is typed ----------------------


@pytest.fixture
def approximate_fracture(patient) -> Fracture:
    return Fracture.objects.create(
        patient=patient, date=dt.date(2016, 1, 1), date_precision=YEAR, site="vertebral"
    )


def test_the_fracture_form_says_the_date_is_approximate(
    approximate_fracture, patient, clinician, client_for
):
    response = client_for(clinician).get(
        reverse("patients:fracture-update", args=[patient.pk, approximate_fracture.pk])
    )

    assert "Recorded as ≈ 2016 (known to the year)" in response.content.decode()


@pytest.mark.parametrize(
    ("typed", "precision"), [("2016-01-01", YEAR), ("2016-03-07", DAY)], ids=["kept", "typed"]
)
def test_editing_an_approximate_fracture_keeps_its_precision_unless_a_date_is_typed(
    typed, precision, approximate_fracture, patient, clinician, client_for
):
    response = client_for(clinician).post(
        reverse("patients:fracture-update", args=[patient.pk, approximate_fracture.pk]),
        {"date": typed, "site": "hip", "is_fragility": "on"},
    )

    assert response.status_code == 302
    approximate_fracture.refresh_from_db()
    assert (approximate_fracture.site, approximate_fracture.date_precision) == ("hip", precision)


def test_ending_an_approximate_course_in_its_form_records_an_exact_end(
    patient, clinician, client_for
):
    started = TherapyCourse.objects.create(
        patient=patient, drug="alendronate", start=dt.date(2010, 1, 1), start_precision=YEAR
    )

    response = client_for(clinician).post(
        reverse("therapy:course-update", args=[patient.pk, started.pk]),
        {"drug": "alendronate", "start": "2010-01-01", "end": "2015-04-30"},
    )

    assert response.status_code == 302
    started.refresh_from_db()
    assert (started.start_precision, started.end, started.end_precision) == (
        YEAR,
        dt.date(2015, 4, 30),
        DAY,
    )


# --- query budget -----------------------------------------------------------------------------

#: GET /patients/<id>/history/: session, user, the navigation's memberships, the patient with
#: the user's role, its access-log row (issue 11), the fractures and the courses already
#: recorded. The session is not stored again (config.session.SessionIdleMiddleware renews it at
#: most once a minute).
INTAKE_PAGE = 7


@pytest.mark.parametrize("years", [2, 20])
def test_the_intake_page_costs_the_same_queries_however_long_the_history(
    years, patient, clinician, client_for, django_assert_num_queries
):
    factories.add_long_history(patient, years=years)
    client = client_for(clinician)

    with django_assert_num_queries(INTAKE_PAGE):
        response = client.get(url(patient))

    assert response.status_code == 200
