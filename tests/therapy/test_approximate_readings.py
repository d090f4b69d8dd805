"""How the engine reads a date known only to the month or the year (`therapy.case_records`
docstring): a fracture at the latest day of its period but not after as_of, a course start at
the earliest day, a course end at the latest day but not after as_of."""

from __future__ import annotations

import datetime as dt

import pytest

from patients.approximate_dates import DatePrecision
from patients.models import Fracture
from therapy.case_records import case_for_patient
from therapy.engine import evaluate
from therapy.engine.codes import AlertCode, RiskReason
from therapy.evaluation import case_evaluate
from therapy.models import Dose, TherapyCourse

YEAR, MONTH, DAY = DatePrecision.YEAR, DatePrecision.MONTH, DatePrecision.DAY
AS_OF = dt.date(2026, 3, 10)


def add_fracture(patient, day: dt.date, precision: str, site: str = "vertebral") -> Fracture:
    return Fracture.objects.create(patient=patient, date=day, date_precision=precision, site=site)


def add_course(patient, drug: str, start, end=None, *, doses=()) -> TherapyCourse:
    """`start`/`end`: (date, precision)."""
    course = TherapyCourse.objects.create(
        patient=patient,
        drug=drug,
        start=start[0],
        start_precision=start[1],
        end=end[0] if end else None,
        end_precision=end[1] if end else DAY,
    )
    for day in doses:
        Dose.objects.create(course=course, date=day)
    return course


def fracture_days(patient, as_of: dt.date = AS_OF) -> list[dt.date]:
    return [f.date for f in case_for_patient(patient.pk, as_of=as_of).fractures]


# --- fractures: the latest day, not after as_of -----------------------------------------------


@pytest.mark.parametrize(
    ("stored", "precision", "read"),
    [
        (dt.date(2016, 1, 1), YEAR, dt.date(2016, 12, 31)),
        (dt.date(2024, 2, 1), MONTH, dt.date(2024, 2, 29)),
        (dt.date(2023, 2, 1), MONTH, dt.date(2023, 2, 28)),
        (dt.date(2017, 5, 14), DAY, dt.date(2017, 5, 14)),
        # the period holds as_of: read as as_of, never as a day still to come
        (dt.date(2026, 1, 1), YEAR, AS_OF),
        (dt.date(2026, 3, 1), MONTH, AS_OF),
    ],
)
def test_a_fracture_is_read_on_the_latest_day_of_its_period_but_not_after_as_of(
    stored, precision, read, patient
):
    add_fracture(patient, stored, precision)

    assert fracture_days(patient) == [read]


def test_a_fracture_of_a_period_after_a_past_as_of_stays_after_it(patient):
    add_fracture(patient, dt.date(2016, 1, 1), YEAR)

    (day,) = fracture_days(patient, as_of=dt.date(2015, 6, 1))

    assert day > dt.date(2015, 6, 1)  # the engine ignores it, as a fracture yet to happen


def test_a_fracture_of_the_last_year_counts_as_recent(patient):
    # ≈ 2025 may have been in December 2025: within the 12 months before 2026-03-10 (VHR-1)
    add_fracture(patient, dt.date(2025, 1, 1), YEAR)

    assessment = evaluate(case_for_patient(patient.pk, as_of=AS_OF))

    assert RiskReason.RECENT_FRACTURE in set(assessment.very_high_risk.reasons)


@pytest.mark.parametrize(
    "records",
    [
        [(dt.date(2016, 1, 1), YEAR), (dt.date(2016, 12, 1), MONTH)],
        [(dt.date(2016, 1, 1), YEAR), (dt.date(2016, 12, 31), DAY)],
        [(dt.date(2026, 1, 1), YEAR), (dt.date(2026, 3, 1), MONTH)],
    ],
    ids=["year-and-its-last-month", "year-and-its-last-day", "both-capped-to-as-of"],
)
def test_two_fractures_at_one_site_that_would_read_as_one_day_still_count_as_two(records, patient):
    for day, precision in records:
        add_fracture(patient, day, precision)

    days = fracture_days(patient)
    assessment = evaluate(case_for_patient(patient.pk, as_of=AS_OF))

    assert len(set(days)) == 2
    assert RiskReason.MULTIPLE_FRACTURES in set(assessment.very_high_risk.reasons)


def test_fractures_at_two_sites_keep_their_latest_day(patient):
    add_fracture(patient, dt.date(2016, 1, 1), YEAR, "vertebral")
    add_fracture(patient, dt.date(2016, 1, 1), YEAR, "wrist")

    assert fracture_days(patient) == [dt.date(2016, 12, 31)] * 2


# --- courses: the start's earliest day, the end's latest day not after as_of -------------------


def course_read(patient, as_of: dt.date = AS_OF):
    (therapy,) = case_for_patient(patient.pk, as_of=as_of).therapies
    return therapy.start, therapy.end


@pytest.mark.parametrize(
    ("start", "end", "read"),
    [
        (
            (dt.date(2010, 1, 1), YEAR),
            (dt.date(2015, 1, 1), YEAR),
            (dt.date(2010, 1, 1), dt.date(2015, 12, 31)),
        ),
        (
            (dt.date(2010, 4, 1), MONTH),
            (dt.date(2015, 2, 1), MONTH),
            (dt.date(2010, 4, 1), dt.date(2015, 2, 28)),
        ),
        ((dt.date(2010, 4, 1), MONTH), None, (dt.date(2010, 4, 1), None)),
        (
            (dt.date(2010, 4, 7), DAY),
            (dt.date(2015, 2, 8), DAY),
            (dt.date(2010, 4, 7), dt.date(2015, 2, 8)),
        ),
        # the end's period holds as_of: ended by as_of, never read as running on after it
        ((dt.date(2024, 1, 1), YEAR), (dt.date(2026, 1, 1), YEAR), (dt.date(2024, 1, 1), AS_OF)),
    ],
)
def test_a_course_runs_from_its_starts_earliest_day_to_its_ends_latest_day(
    start, end, read, patient
):
    add_course(patient, "alendronate", start, end)

    assert course_read(patient) == read


def test_a_course_end_is_never_read_before_a_dose_recorded_in_it(patient):
    add_course(
        patient,
        "denosumab",
        (dt.date(2014, 1, 1), YEAR),
        (dt.date(2015, 1, 1), YEAR),
        doses=[dt.date(2014, 3, 1), dt.date(2015, 9, 1)],
    )

    assert course_read(patient, as_of=dt.date(2015, 6, 1)) == (
        dt.date(2014, 1, 1),
        dt.date(2015, 9, 1),
    )
    # … so the record stays within the engine's limits (no dose after the end)
    case_evaluate(case_for_patient(patient.pk, as_of=dt.date(2015, 6, 1)))


def test_denosumab_stopped_years_ago_without_a_follow_on_is_a_critical_alert(patient):
    # "Denosumab from about 2017 to about 2019", no dose dates known, nothing since.
    add_course(patient, "denosumab", (dt.date(2017, 1, 1), YEAR), (dt.date(2019, 1, 1), YEAR))

    assessment = case_evaluate(case_for_patient(patient.pk, as_of=AS_OF))

    stopped = [
        a for a in assessment.alerts if a.code == AlertCode.DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON
    ]
    assert stopped
    # no dose recorded: the last dose is the earliest start, so the follow-on was due 6 months on
    assert stopped[0].due == dt.date(2017, 7, 1)


def test_a_lifetime_teriparatide_limit_counts_every_month_the_course_may_have_run(patient):
    # ≈ 2023 to ≈ 2024: up to 24 months, the lifetime limit (ALR-7 / no further teriparatide)
    add_course(patient, "teriparatide", (dt.date(2023, 1, 1), YEAR), (dt.date(2024, 1, 1), YEAR))

    (therapy,) = case_for_patient(patient.pk, as_of=AS_OF).therapies

    assert (therapy.end - therapy.start).days + 1 == 731
