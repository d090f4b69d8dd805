"""Each refusal of the issue, through the real pages: 400, the message beside the field, what was
typed still in the form, nothing saved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from monitoring.models import DxaScan, LabResult, Reassessment
from patients.limits import DATE_MESSAGE
from patients.models import (
    CardiovascularEvent,
    Fracture,
    GlucocorticoidExposure,
    Patient,
)
from tests.factories import PatientFactory
from tests.patients.conftest import field_error_html, input_tag
from therapy.models import Dose, TherapyCourse


def _today() -> dt.date:
    return timezone.localdate()


def _tomorrow() -> str:
    return (_today() + dt.timedelta(days=1)).isoformat()


def _romosozumab_course_with_12_doses(patient: Patient) -> dict[str, Any]:
    start = _today() - dt.timedelta(days=420)
    course = TherapyCourse.objects.create(patient=patient, drug="romosozumab", start=start)
    for month in range(12):
        Dose.objects.create(course=course, date=start + dt.timedelta(days=30 * month))
    return {"course": course.pk, "date": (start + dt.timedelta(days=360)).isoformat()}


def _denosumab_course_2020(patient: Patient) -> dict[str, Any]:
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2020, 1, 1), end=dt.date(2021, 1, 1)
    )
    return {"course": course.pk, "date": "2021-06-01"}


def _ongoing_denosumab(patient: Patient) -> dict[str, Any]:
    TherapyCourse.objects.create(patient=patient, drug="denosumab", start=dt.date(2020, 1, 1))
    return {"drug": "denosumab", "start": "2021-01-01"}


def _dose_after_2199(patient: Patient) -> dict[str, Any]:
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2020, 1, 1)
    )
    return {"course": course.pk, "date": "2200-01-01"}


@dataclass(frozen=True)
class Refusal:
    why: str
    url_name: str
    data: Callable[[Patient], dict[str, Any]]  # may create what the refusal needs first
    field: str  # the field the message must sit beside
    message: str  # part of the message
    model: type[models.Model]  # nothing of this kind may be saved
    typed: tuple[str, ...] = field(default=())  # fields whose typed value must come back

    def __str__(self) -> str:
        return self.why


REFUSALS = [
    Refusal(
        "a course ending before it starts",
        "therapy:course-create",
        lambda p: {"drug": "alendronate", "start": "2020-05-01", "end": "2020-01-01"},
        "end",
        "The end date is before the start date (2020-05-01).",
        TherapyCourse,
        ("start", "end"),
    ),
    Refusal(
        "a glucocorticoid exposure ending before it starts",
        "patients:glucocorticoid-create",
        lambda p: {"prednisone_mg_per_day": "7.5", "start": "2019-03-01", "end": "2019-02-01"},
        "end",
        "The end date is before the start date (2019-03-01).",
        GlucocorticoidExposure,
        ("prednisone_mg_per_day", "start", "end"),
    ),
    Refusal(
        "a fracture dated in the future",
        "patients:fracture-create",
        lambda p: {"date": _tomorrow(), "site": "hip", "is_fragility": "on"},
        "date",
        "This date is in the future",
        Fracture,
        ("date",),
    ),
    Refusal(
        "a DXA scan dated in the future",
        "monitoring:dxa-create",
        lambda p: {"date": _tomorrow(), "lumbar_spine_t_score": "-2.6"},
        "date",
        "This date is in the future",
        DxaScan,
        ("date", "lumbar_spine_t_score"),
    ),
    Refusal(
        "a DXA scan dated before the patient's birth",
        "monitoring:dxa-create",
        lambda p: {"date": "1940-06-01", "lumbar_spine_t_score": "-2.6"},
        "date",
        "This date is before the patient's birth date (1948-04-02).",
        DxaScan,
        ("date", "lumbar_spine_t_score"),
    ),
    Refusal(
        "a course starting before the patient's birth",
        "therapy:course-create",
        lambda p: {"drug": "alendronate", "start": "1947-01-01"},
        "start",
        "This date is before the patient's birth date (1948-04-02).",
        TherapyCourse,
        ("start",),
    ),
    Refusal(
        "a BMD above 2.0 g/cm²",
        "monitoring:dxa-create",
        lambda p: {"date": "2022-03-03", "lumbar_spine_bmd_g_cm2": "2.5"},
        "lumbar_spine_bmd_g_cm2",
        "BMD must be between 0.2 and 2.0 g/cm².",
        DxaScan,
        ("date", "lumbar_spine_bmd_g_cm2"),
    ),
    Refusal(
        "a BMD below 0.2 g/cm²",
        "monitoring:dxa-create",
        lambda p: {"date": "2022-03-03", "total_hip_bmd_g_cm2": "0.15"},
        "total_hip_bmd_g_cm2",
        "BMD must be between 0.2 and 2.0 g/cm².",
        DxaScan,
        ("total_hip_bmd_g_cm2",),
    ),
    Refusal(
        "a T-score below -7",
        "monitoring:dxa-create",
        lambda p: {"date": "2022-03-03", "femoral_neck_t_score": "-7.5"},
        "femoral_neck_t_score",
        "T-score must be between -7 and 5.",
        DxaScan,
        ("femoral_neck_t_score",),
    ),
    Refusal(
        "a T-score above +5",
        "monitoring:dxa-create",
        lambda p: {"date": "2022-03-03", "lumbar_spine_t_score": "5.5"},
        "lumbar_spine_t_score",
        "T-score must be between -7 and 5.",
        DxaScan,
        ("lumbar_spine_t_score",),
    ),
    Refusal(
        "a 13th romosozumab dose in one course",
        "therapy:dose-create",
        _romosozumab_course_with_12_doses,
        "date",
        "This course already has 12 doses; Romosozumab (SC, monthly) is limited to 12.",
        Dose,
        ("date",),
    ),
    Refusal(
        "an unknown drug",
        "therapy:course-create",
        lambda p: {"drug": "aspirin", "start": "2021-02-02"},
        "drug",
        "Select a valid choice. aspirin is not one of the available choices.",
        TherapyCourse,
        ("start",),
    ),
    Refusal(
        "a course overlapping an ongoing course of the same drug",
        "therapy:course-create",
        _ongoing_denosumab,
        "start",
        "This overlaps the Denosumab (SC, 6-monthly) 2020-01-01 – ongoing course of the same drug",
        TherapyCourse,
        ("start",),
    ),
    Refusal(
        "a dose dated after its course ended",
        "therapy:dose-create",
        _denosumab_course_2020,
        "date",
        "This date is outside the course (Denosumab (SC, 6-monthly) 2020-01-01 – 2021-01-01).",
        Dose,
        ("date",),
    ),
    # The plausibility limits of CASE_FORMAT.md (patients/limits.py): what the engine refuses.
    Refusal(
        "a fracture dated before 1900",
        "patients:fracture-create",
        lambda p: {"date": "1899-12-31", "site": "hip"},
        "date",
        DATE_MESSAGE,
        Fracture,
        ("date",),
    ),
    Refusal(
        "a myocardial infarction dated after 2199",
        "patients:cardiovascular-event-create",
        lambda p: {"kind": "myocardial_infarction", "date": "2200-01-01"},
        "date",
        DATE_MESSAGE,
        CardiovascularEvent,
        ("date",),
    ),
    Refusal(
        "a glucocorticoid exposure ending after 2199",
        "patients:glucocorticoid-create",
        lambda p: {"prednisone_mg_per_day": "5", "start": "2019-01-01", "end": "2200-01-01"},
        "end",
        DATE_MESSAGE,
        GlucocorticoidExposure,
        ("prednisone_mg_per_day", "start", "end"),
    ),
    Refusal(
        "a glucocorticoid dose of 7500 mg/day",
        "patients:glucocorticoid-create",
        lambda p: {"prednisone_mg_per_day": "7500", "start": "2019-01-01"},
        "prednisone_mg_per_day",
        "Dose must be between 0.1 and 1000.0 mg/day.",
        GlucocorticoidExposure,
        ("prednisone_mg_per_day", "start"),
    ),
    Refusal(
        "a course ending after 2199",
        "therapy:course-create",
        lambda p: {"drug": "alendronate", "start": "2020-01-01", "end": "2200-01-01"},
        "end",
        DATE_MESSAGE,
        TherapyCourse,
        ("start", "end"),
    ),
    Refusal(
        "a dose dated after 2199",
        "therapy:dose-create",
        _dose_after_2199,
        "date",
        DATE_MESSAGE,
        Dose,
        ("date",),
    ),
    Refusal(
        "a DXA scan dated after 2199",
        "monitoring:dxa-create",
        lambda p: {"date": "2200-01-01", "lumbar_spine_t_score": "-2.6"},
        "date",
        DATE_MESSAGE,
        DxaScan,
        ("date", "lumbar_spine_t_score"),
    ),
    Refusal(
        "an LSC of 0 %",
        "monitoring:dxa-create",
        lambda p: {"date": "2022-03-03", "total_hip_bmd_g_cm2": "0.7", "total_hip_lsc_pct": "0"},
        "total_hip_lsc_pct",
        "LSC must be between 0.1 and 50.0 %.",
        DxaScan,
        ("total_hip_bmd_g_cm2", "total_hip_lsc_pct"),
    ),
    Refusal(
        "a lab value of 1e308",
        "monitoring:lab-create",
        lambda p: {"date": "2022-01-01", "ctx_value": "1e308", "ctx_unit": "ng/mL"},
        "ctx_value",
        "CTX must be between 0 and 10000 ng/mL.",
        LabResult,
        ("date", "ctx_value"),
    ),
    Refusal(
        "a lab dated before 1900",
        "monitoring:lab-create",
        lambda p: {"date": "1899-12-31", "p1np_value": "40", "p1np_unit": "µg/L"},
        "date",
        DATE_MESSAGE,
        LabResult,
        ("date", "p1np_value"),
    ),
    Refusal(
        "a reassessment dated after 2199",
        "monitoring:reassessment-create",
        lambda p: {"date": "2200-01-01"},
        "date",
        DATE_MESSAGE,
        Reassessment,
        ("date",),
    ),
    Refusal(
        "a decision starting a course before 1900",
        "therapy:decision-create",
        lambda p: {
            "decision": "another",
            "other_drug": "zoledronic_acid",
            "reason": "Preferred by the patient",
            "start_course": "on",
            "start_date": "1899-12-31",
            "first_dose_given": "yes",
        },
        "start_date",
        DATE_MESSAGE,
        TherapyCourse,
        ("start_date",),
    ),
]


def _count(model: type[models.Model]) -> int:
    return model._default_manager.count()


@pytest.fixture
def refused(request, patient, clinician, client_for):
    """POST the refusal's form as a clinician; the response, and how many rows existed before."""
    refusal: Refusal = request.param
    data = refusal.data(patient)
    before = _count(refusal.model)
    response = client_for(clinician).post(reverse(refusal.url_name, args=[patient.pk]), data)
    return refusal, data, before, response


def _params() -> list[Any]:
    return [pytest.param(r, id=r.why) for r in REFUSALS]


@pytest.mark.parametrize("refused", _params(), indirect=True)
def test_the_form_answers_400_and_saves_nothing(refused):
    refusal, _, before, response = refused

    assert response.status_code == 400
    assert _count(refusal.model) == before


@pytest.mark.parametrize("refused", _params(), indirect=True)
def test_the_message_sits_beside_the_field(refused):
    refusal, _, _, response = refused

    errors = response.context["form"].errors
    assert any(refusal.message in e for e in errors.get(refusal.field, [])), errors
    assert escape(refusal.message) in field_error_html(response.content.decode(), refusal.field)


@pytest.mark.parametrize("refused", _params(), indirect=True)
def test_what_was_typed_is_still_in_the_form(refused):
    refusal, data, _, response = refused
    html = response.content.decode()

    for name in refusal.typed:
        assert f'value="{escape(data[name])}"' in input_tag(html, name)


# --- the same rules, both ways ----------------------------------------------------------------


def test_a_course_of_the_same_drug_that_does_not_overlap_is_accepted(
    patient, clinician, client_for
):
    _ongoing_denosumab(patient)

    response = client_for(clinician).post(
        reverse("therapy:course-create", args=[patient.pk]),
        {"drug": "denosumab", "start": "2015-01-01", "end": "2016-01-01", "stop_reason": "other"},
    )

    assert response.status_code == 302
    assert patient.therapy_courses.filter(drug="denosumab").count() == 2


def test_the_12th_romosozumab_dose_is_accepted(patient, clinician, client_for):
    data = _romosozumab_course_with_12_doses(patient)
    Dose.objects.filter(course_id=data["course"]).order_by("-date").first().delete()

    response = client_for(clinician).post(reverse("therapy:dose-create", args=[patient.pk]), data)

    assert response.status_code == 302
    assert Dose.objects.filter(course_id=data["course"]).count() == 12


@pytest.mark.parametrize(("value", "status"), [("0.2", 302), ("2.0", 302), ("0.199", 400)])
def test_the_bmd_range_is_inclusive(value, status, patient, clinician, client_for):
    response = client_for(clinician).post(
        reverse("monitoring:dxa-create", args=[patient.pk]),
        {"date": "2022-03-03", "lumbar_spine_bmd_g_cm2": value},
    )

    assert response.status_code == status


@pytest.mark.parametrize(("value", "status"), [("-7", 302), ("5", 302), ("5.1", 400)])
def test_the_t_score_range_is_inclusive(value, status, patient, clinician, client_for):
    response = client_for(clinician).post(
        reverse("monitoring:dxa-create", args=[patient.pk]),
        {"date": "2022-03-03", "lumbar_spine_t_score": value},
    )

    assert response.status_code == status


def test_a_scan_dated_today_is_accepted(patient, nurse, client_for):
    response = client_for(nurse).post(
        reverse("monitoring:dxa-create", args=[patient.pk]),
        {"date": _today().isoformat(), "lumbar_spine_t_score": "-2.1"},
    )

    assert response.status_code == 302


def test_a_dose_cannot_be_filed_under_another_patients_course(
    clinic, patient, clinician, client_for
):
    other = PatientFactory(clinic=clinic)
    foreign_course = TherapyCourse.objects.create(
        patient=other, drug="denosumab", start=dt.date(2020, 1, 1)
    )

    response = client_for(clinician).post(
        reverse("therapy:dose-create", args=[patient.pk]),
        {"course": foreign_course.pk, "date": "2021-01-01"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["course"]
    assert not Dose.objects.exists()


def test_a_patient_born_in_the_future_is_refused_beside_the_birth_date(clinician, client_for):
    tomorrow = _tomorrow()

    response = client_for(clinician).post(
        reverse("patients:create"),
        {
            "clinic": "hillside",
            "mrn": "H-1",
            "given_name": "Not Yet",
            "family_name": "Born",
            "birth_date": tomorrow,
        },
    )

    assert response.status_code == 400
    assert "This date is in the future" in response.context["form"].errors["birth_date"][0]
    html = response.content.decode()
    assert f'value="{tomorrow}"' in input_tag(html, "birth_date")
    assert 'value="Born"' in input_tag(html, "family_name")
    assert not Patient.objects.filter(mrn="H-1").exists()


# --- a second DXA scan on the same date -------------------------------------------------------


@pytest.fixture
def second_scan_same_day(patient, nurse, client_for):
    DxaScan.objects.create(patient=patient, date=dt.date(2022, 3, 3), lumbar_spine_t_score=-2.0)
    return client_for(nurse).post(
        reverse("monitoring:dxa-create", args=[patient.pk]),
        {"date": "2022-03-03", "scanner": "Lunar iDXA", "lumbar_spine_t_score": "-2.4"},
    )


DUPLICATE_SCAN = "A scan on this date is already recorded for this patient; edit it instead."


def test_a_second_dxa_scan_on_the_same_date_is_refused_with_the_typed_values_kept(
    second_scan_same_day, patient
):
    response = second_scan_same_day

    assert response.status_code == 400
    html = response.content.decode()
    assert DUPLICATE_SCAN in html
    assert 'value="Lunar iDXA"' in input_tag(html, "scanner")
    assert 'value="-2.4"' in input_tag(html, "lumbar_spine_t_score")
    assert patient.dxa_scans.count() == 1


def test_a_second_dxa_scan_on_the_same_date_shows_the_message_beside_the_date(
    second_scan_same_day,
):
    response = second_scan_same_day

    assert DUPLICATE_SCAN in response.context["form"].errors.get("date", [])


# --- invariants reached from the other side ---------------------------------------------------


def test_shortening_a_course_so_that_a_dose_falls_outside_is_refused(
    patient, clinician, client_for
):
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2020, 1, 1)
    )
    Dose.objects.create(course=course, date=dt.date(2020, 7, 1))

    response = client_for(clinician).post(
        reverse("therapy:course-update", args=[patient.pk, course.pk]),
        {"drug": "denosumab", "start": "2020-01-01", "end": "2020-03-01"},
    )

    assert response.status_code == 400
    assert "A dose given on 2020-07-01 would fall outside the course" in str(
        response.context["form"].non_field_errors()
    )
    course.refresh_from_db()
    assert course.end is None


def test_changing_a_course_with_13_doses_to_romosozumab_is_refused(patient, clinician, client_for):
    start = _today() - dt.timedelta(days=450)
    course = TherapyCourse.objects.create(patient=patient, drug="denosumab", start=start)
    for month in range(13):
        Dose.objects.create(course=course, date=start + dt.timedelta(days=30 * month))

    response = client_for(clinician).post(
        reverse("therapy:course-update", args=[patient.pk, course.pk]),
        {"drug": "romosozumab", "start": start.isoformat()},
    )

    assert response.status_code == 400
    course.refresh_from_db()
    assert course.drug == "denosumab"


def test_moving_the_birth_date_after_a_recorded_fracture_is_refused(patient, clinician, client_for):
    Fracture.objects.create(patient=patient, date=dt.date(2019, 1, 1), site="hip")

    response = client_for(clinician).post(
        reverse("patients:edit", args=[patient.pk]),
        {
            "mrn": patient.mrn,
            "given_name": patient.given_name,
            "family_name": patient.family_name,
            "birth_date": "2020-01-01",
            "sex": "female",
        },
    )

    assert response.status_code == 400
    patient.refresh_from_db()
    assert patient.birth_date == dt.date(1948, 4, 2)


# --- other duplicates: refused, but the message is not beside a field -------------------------


def _existing_duplicates(patient: Patient) -> None:
    Fracture.objects.create(patient=patient, date=dt.date(2020, 1, 1), site="hip")
    LabResult.objects.create(patient=patient, date=dt.date(2020, 1, 1), test="ctx", value=1)
    Reassessment.objects.create(patient=patient, date=dt.date(2020, 1, 1))
    PatientFactory(clinic=patient.clinic, mrn="H-DUP")


DUPLICATES = [
    ("patients:fracture-create", {"date": "2020-01-01", "site": "hip"}, "date"),
    (
        "monitoring:lab-create",
        {"date": "2020-01-01", "ctx_value": "2", "ctx_unit": "ng/mL"},
        "ctx_value",
    ),
    ("monitoring:reassessment-create", {"date": "2020-01-01"}, "date"),
    (
        "patients:create",
        {"clinic": "hillside", "mrn": "H-DUP", "name": "Dup", "birth_date": "1950-01-01"},
        "mrn",
    ),
]


def _duplicate_url(name: str, patient: Patient) -> str:
    return reverse(name) if name == "patients:create" else reverse(name, args=[patient.pk])


@pytest.mark.parametrize(("name", "data", "field"), DUPLICATES, ids=[d[0] for d in DUPLICATES])
def test_a_duplicate_record_is_refused_with_a_message(
    name, data, field, patient, clinician, client_for
):
    _existing_duplicates(patient)

    response = client_for(clinician).post(_duplicate_url(name, patient), {"sex": "male", **data})

    assert response.status_code == 400
    assert response.context["form"].errors


@pytest.mark.parametrize(("name", "data", "field"), DUPLICATES, ids=[d[0] for d in DUPLICATES])
def test_a_duplicate_records_message_sits_beside_the_field(
    name, data, field, patient, clinician, client_for
):
    _existing_duplicates(patient)

    response = client_for(clinician).post(_duplicate_url(name, patient), {"sex": "male", **data})

    assert response.context["form"].errors.get(field)
