"""Dates known to the month or the year: parsed, stored as the period's first day, shown as
"≈ 2016", and held by the models to the same rules as full dates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template

from patients import approximate_dates
from patients.approximate_dates import ApproximateDate, DatePrecision
from patients.exceptions import IntakeRowError
from patients.intake import patient_history_record
from patients.intake_forms import IntakeForms
from patients.models import Fracture
from therapy.models import Dose, TherapyCourse

YEAR, MONTH, DAY = DatePrecision.YEAR, DatePrecision.MONTH, DatePrecision.DAY


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("2016", ApproximateDate(dt.date(2016, 1, 1), YEAR)),
        (" 2017-05 ", ApproximateDate(dt.date(2017, 5, 1), MONTH)),
        ("2017-5", ApproximateDate(dt.date(2017, 5, 1), MONTH)),
        ("2017-05-14", ApproximateDate(dt.date(2017, 5, 14), DAY)),
        ("2024-02-29", ApproximateDate(dt.date(2024, 2, 29), DAY)),
    ],
)
def test_a_year_a_month_or_a_day_is_parsed_to_the_first_day_of_its_period(typed, parsed):
    assert approximate_dates.parse(typed) == parsed


@pytest.mark.parametrize("typed", ["16", "May 2017", "2017/05", "2017-05-14T00:00", ""])
def test_anything_else_is_refused_with_the_forms_a_date_may_take(typed):
    with pytest.raises(ValueError, match=r"Enter a year \(2016\), a month \(2017-05\) or a day"):
        approximate_dates.parse(typed)


@pytest.mark.parametrize("typed", ["0000", "2016-13", "2017-02-30", "2016-00"])
def test_a_day_or_month_the_calendar_lacks_is_refused_as_such(typed):
    with pytest.raises(ValueError, match=f"^{typed} is not a date of the calendar.$"):
        approximate_dates.parse(typed)


@pytest.mark.parametrize(
    ("day", "precision", "text"),
    [
        (dt.date(2016, 1, 1), YEAR, "≈ 2016"),
        (dt.date(2017, 5, 1), MONTH, "≈ 2017-05"),
        (dt.date(2017, 5, 14), DAY, "2017-05-14"),
        (None, DAY, ""),
    ],
)
def test_an_approximate_date_is_shown_with_its_sign(day, precision, text):
    assert approximate_dates.shown(day, precision) == text


def test_the_template_filters_show_the_date_and_give_a_valid_time_element():
    template = Template(
        '{% load approximate %}<time datetime="{{ d|approximate_iso:p }}">{{ d|approximate:p }}'
        "</time>"
    )

    html = template.render(Context({"d": dt.date(2017, 5, 1), "p": "month"}))

    assert html == '<time datetime="2017-05">≈ 2017-05</time>'


@pytest.mark.parametrize(
    ("day", "precision", "last"),
    [
        (dt.date(2016, 1, 1), YEAR, dt.date(2016, 12, 31)),
        (dt.date(2024, 2, 1), MONTH, dt.date(2024, 2, 29)),
        (dt.date(2017, 5, 14), DAY, dt.date(2017, 5, 14)),
    ],
)
def test_the_last_day_of_a_period(day, precision, last):
    assert approximate_dates.latest_day(day, precision) == last


# --- the models -------------------------------------------------------------------------------


def test_a_model_refuses_an_approximate_date_not_stored_as_its_periods_first_day(patient):
    fracture = Fracture(patient=patient, date=dt.date(2016, 6, 1), date_precision=YEAR, site="hip")

    with pytest.raises(ValidationError) as refused:
        fracture.full_clean()

    assert refused.value.message_dict["date"] == [
        "A date known to the year is stored as the first day of its period."
    ]


def test_an_ongoing_course_has_no_approximate_end(patient):
    course = TherapyCourse(
        patient=patient, drug="alendronate", start=dt.date(2016, 1, 1), end_precision=YEAR
    )

    with pytest.raises(ValidationError) as refused:
        course.full_clean()

    assert "end" in refused.value.message_dict


def test_a_dose_late_in_a_course_that_ended_about_2015_fits_in_it(patient):
    course = TherapyCourse.objects.create(
        patient=patient,
        drug="denosumab",
        start=dt.date(2014, 1, 1),
        start_precision=YEAR,
        end=dt.date(2015, 1, 1),
        end_precision=YEAR,
    )

    Dose(course=course, date=dt.date(2015, 11, 20)).full_clean()
    with pytest.raises(ValidationError):
        Dose(course=course, date=dt.date(2016, 1, 2)).full_clean()


# --- the service: all or nothing --------------------------------------------------------------


def test_a_row_refused_at_the_save_is_named_and_nothing_is_kept(patient, clinician):
    # Two courses that overlap: the formsets refuse them first; the save refuses them too.
    courses = [
        TherapyCourse(patient=patient, drug="alendronate", start=dt.date(2010, 1, 1)),
        TherapyCourse(patient=patient, drug="alendronate", start=dt.date(2012, 1, 1)),
    ]
    fractures = [Fracture(patient=patient, date=dt.date(2011, 3, 3), site="hip")]

    with pytest.raises(IntakeRowError) as refused:
        patient_history_record(
            patient=patient, fractures=fractures, courses=courses, actor=clinician
        )

    assert (refused.value.kind, refused.value.index) == ("courses", 1)
    assert not Fracture.objects.exists()
    assert not TherapyCourse.objects.exists()


def test_a_row_error_from_the_save_is_shown_beside_the_rows_field(patient):
    data = {
        "fractures-TOTAL_FORMS": "0",
        "fractures-INITIAL_FORMS": "0",
        "courses-TOTAL_FORMS": "2",
        "courses-INITIAL_FORMS": "0",
        "courses-0-drug": "",
        "courses-0-start": "",
        "courses-1-drug": "denosumab",
        "courses-1-start": "2016",
    }
    intake = IntakeForms(data, patient=patient)
    assert intake.is_valid()

    intake.add_row_error(
        IntakeRowError("courses", 0, ValidationError({"start": "Saved meanwhile."}))
    )

    assert intake.courses.forms[1].errors["start"] == ["Saved meanwhile."]
