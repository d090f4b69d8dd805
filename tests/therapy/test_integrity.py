"""Data integrity of courses and doses: the database holds the no-overlap rule, the
romosozumab dose limit holds under a race, and a race refused by the database is a form error,
never a 500 (issue 11: M2, L1)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from patients.services import record_save
from tests import factories
from therapy.models import Dose, TherapyCourse

TRIES = 10


def _course(patient, drug, start, end=None, end_precision="day") -> TherapyCourse:
    return TherapyCourse(
        patient=patient,
        drug=drug,
        start=dt.date.fromisoformat(start),
        end=dt.date.fromisoformat(end) if end else None,
        end_precision=end_precision,
    )


def _both_at_once(*calls):
    """Run each call in its own thread and connection, released together; the outcome of each
    (the saved row, or the ValidationError) in call order. Anything else fails the test."""
    start = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            start.wait(timeout=10)
            outcomes[index] = call()
        except ValidationError as error:
            outcomes[index] = error
        except Exception as error:  # noqa: BLE001  # an IntegrityError, a deadlock: the test fails on it
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


# --- the database holds the overlap rule (PostgreSQL) ------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("2020-01-01", "2021-01-01", "day"), ("2021-01-01", None, "day")),  # one shared day
        (("2020-01-01", None, "day"), ("2030-01-01", None, "day")),  # ongoing: no end
        (("2020-01-01", "2021-01-01", "year"), ("2021-12-31", None, "day")),  # ≈ 2021 ends 31 Dec
        (("2020-01-01", "2021-02-01", "month"), ("2021-02-28", "2021-03-01", "day")),
    ],
)
def test_the_database_refuses_overlapping_courses_of_one_drug(
    require_postgres, patient, first, second
):
    """Written past validation (a script, a race): the exclusion constraint refuses the row, on
    the same reading as `TherapyCourse.clean` — a course runs to its end's last day."""
    _course(patient, "denosumab", *first[:2], end_precision=first[2]).save()

    with pytest.raises(IntegrityError, match="course_no_overlap_same_drug"), transaction.atomic():
        _course(patient, "denosumab", *second[:2], end_precision=second[2]).save()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("2020-01-01", "2020-12-31", "day"), ("2021-01-01", None, "day")),  # the next day
        (("2020-01-01", "2020-01-01", "year"), ("2021-01-01", None, "day")),  # ≈ 2020, then 2021
        (("2020-01-01", "2021-02-01", "month"), ("2021-03-01", None, "day")),
    ],
)
def test_the_database_accepts_courses_of_one_drug_one_after_the_other(
    require_postgres, patient, first, second
):
    _course(patient, "denosumab", *first[:2], end_precision=first[2]).save()
    _course(patient, "denosumab", *second[:2], end_precision=second[2]).save()
    # another drug, or another patient, may overlap
    _course(patient, "alendronate", "2020-06-01").save()
    _course(factories.PatientFactory(clinic=patient.clinic), "denosumab", "2020-06-01").save()

    assert TherapyCourse.objects.count() == 4


def test_a_course_refused_by_the_database_is_a_validation_error_beside_the_start(
    require_postgres, patient, monkeypatch
):
    """The race the lock prevents, forced: validation passes (as for two transactions that
    validated before either committed); the constraint's refusal reaches the form as the start's
    error, not as a 500."""
    _course(patient, "denosumab", "2020-01-01").save()
    monkeypatch.setattr(TherapyCourse, "clean", lambda self: None)

    with pytest.raises(ValidationError) as refused:
        record_save(instance=_course(patient, "denosumab", "2024-01-01"), actor=None)

    assert refused.value.message_dict == {
        "start": [
            "This overlaps another course of the same drug for this patient; edit that one instead."
        ]
    }
    assert TherapyCourse.objects.count() == 1


def test_a_dose_refused_by_the_database_is_a_validation_error_beside_the_date(patient, monkeypatch):
    course = _course(patient, "denosumab", "2020-01-01")
    course.save()
    Dose.objects.create(course=course, date=dt.date(2020, 1, 1))
    monkeypatch.setattr(Dose, "clean", lambda self: None)
    monkeypatch.setattr(Dose, "validate_constraints", lambda self, exclude=None: None)

    with pytest.raises(ValidationError) as refused:
        record_save(instance=Dose(course=course, date=dt.date(2020, 1, 1)), actor=None)

    assert refused.value.message_dict == {
        "date": ["A dose of this course is already recorded on this date."]
    }


# --- two people at once (PostgreSQL: SQLite's test database is one connection in memory, so
# two writers cannot race there; its serialisation is the write lock `patient_lock` takes) ----


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_courses_saved_at_once_leave_one_and_a_form_error(require_postgres, clinic):
    for attempt in range(TRIES):
        patient = factories.PatientFactory(clinic=clinic)
        outcomes = _both_at_once(
            lambda p=patient: record_save(
                instance=_course(p, "denosumab", "2024-01-01", "2024-12-31"), actor=None
            ),
            lambda p=patient: record_save(
                instance=_course(p, "denosumab", "2024-06-01"), actor=None
            ),
        )
        saved = [o for o in outcomes if isinstance(o, TherapyCourse)]
        refused = [o for o in outcomes if isinstance(o, ValidationError)]
        assert (len(saved), len(refused)) == (1, 1), (attempt, outcomes)
        assert "start" in refused[0].message_dict
        assert TherapyCourse.objects.filter(patient=patient).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_twelfth_romosozumab_dose_saved_twice_at_once_never_makes_a_thirteenth(
    require_postgres, clinic
):
    for attempt in range(TRIES):
        patient = factories.PatientFactory(clinic=clinic)
        course = _course(patient, "romosozumab", "2024-01-01")
        course.save()
        for month in range(1, 12):  # 11 doses given
            Dose.objects.create(course=course, date=dt.date(2024, month, 1))
        outcomes = _both_at_once(
            lambda c=course: record_save(
                instance=Dose(course=c, date=dt.date(2024, 12, 1)), actor=None
            ),
            lambda c=course: record_save(
                instance=Dose(course=c, date=dt.date(2024, 12, 15)), actor=None
            ),
        )
        saved = [o for o in outcomes if isinstance(o, Dose)]
        refused = [o for o in outcomes if isinstance(o, ValidationError)]
        assert (len(saved), len(refused)) == (1, 1), (attempt, outcomes)
        assert "limited to 12" in refused[0].message_dict["date"][0]
        assert course.doses.count() == 12


@pytest.mark.django_db(transaction=True)
def test_the_same_dose_posted_twice_at_once_is_saved_once_and_refused_once(
    require_postgres, clinic
):
    for attempt in range(TRIES):
        patient = factories.PatientFactory(clinic=clinic)
        course = _course(patient, "denosumab", "2024-01-01")
        course.save()
        outcomes = _both_at_once(
            *[
                lambda c=course: record_save(
                    instance=Dose(course=c, date=dt.date(2024, 7, 1)), actor=None
                )
            ]
            * 2
        )
        saved = [o for o in outcomes if isinstance(o, Dose)]
        refused = [o for o in outcomes if isinstance(o, ValidationError)]
        assert (len(saved), len(refused)) == (1, 1), (attempt, outcomes)
        assert refused[0].message_dict == {
            "date": ["A dose of this course is already recorded on this date."]
        }
