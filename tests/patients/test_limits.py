"""The plausibility limits of CASE_FORMAT.md (patients/limits.py), held three ways: the edit
pages refuse a value beside its field, every model refuses it in `full_clean` (so imports meet
the same rules), and the database refuses it when validation is bypassed. The create pages'
refusals are in test_validation.py, with the others."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from importlib import import_module
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, migrations, models, transaction
from django.urls import reverse
from django.utils.html import escape

from monitoring.models import DxaScan, LabResult, Reassessment
from patients.limits import DATE_MESSAGE, RangeValidator
from patients.models import (
    CardiovascularEvent,
    Fracture,
    GlucocorticoidExposure,
    Immunosuppressant,
    Patient,
    RiskProfile,
)
from tests.patients.conftest import World, field_error_html, input_tag
from tests.planting import plant
from therapy.engine import limits as engine_limits
from therapy.models import Dose, TherapyCourse

# --- edit pages -------------------------------------------------------------------------------

RISK_FACTORS = {"creatinine_clearance_ml_min": "", "alcohol_drinks_per_day": "0"}

EDIT_REFUSALS = [
    pytest.param(
        "patients:risk-factors",
        {**RISK_FACTORS, "frax_hip_pct": "101"},
        "frax_hip_pct",
        "FRAX must be between 0 and 100 %.",
        id="FRAX above 100 %",
    ),
    pytest.param(
        "patients:risk-factors",
        {**RISK_FACTORS, "frax_major_osteoporotic_pct": "-1"},
        "frax_major_osteoporotic_pct",
        "FRAX must be between 0 and 100 %.",
        id="negative FRAX",
    ),
    pytest.param(
        "patients:risk-factors",
        {**RISK_FACTORS, "alcohol_drinks_per_day": "-1"},
        "alcohol_drinks_per_day",
        "Alcohol must be between 0 and 50 drinks per day.",
        id="negative alcohol",
    ),
    pytest.param(
        "patients:risk-factors",
        {**RISK_FACTORS, "creatinine_clearance_ml_min": "1e308"},
        "creatinine_clearance_ml_min",
        "Creatinine clearance must be between 0 and 250 mL/min.",
        id="creatinine clearance of 1e308",
    ),
    pytest.param(
        "patients:edit",
        {
            "mrn": "MRN1",
            "given_name": "Ann",
            "family_name": "Example",
            "birth_date": "1899-12-31",
            "sex": "female",
        },
        "birth_date",
        DATE_MESSAGE,
        id="born before 1900",
    ),
]


def _stored(patient: Patient) -> dict[str, Any]:
    profile = RiskProfile.objects.get(patient=patient)
    return {
        "birth_date": Patient.objects.get(pk=patient.pk).birth_date,
        **{f.name: getattr(profile, f.name) for f in RiskProfile._meta.concrete_fields},
    }


@pytest.mark.parametrize(("url_name", "data", "field", "message"), EDIT_REFUSALS)
def test_an_edit_page_refuses_a_value_outside_the_limits_beside_the_field_and_keeps_the_row(
    url_name, data, field, message, patient, clinician, client_for
):
    before = _stored(patient)

    response = client_for(clinician).post(reverse(url_name, args=[patient.pk]), data)

    assert response.status_code == 400
    assert escape(message) in field_error_html(response.content.decode(), field)
    assert _stored(patient) == before


@pytest.mark.parametrize(("url_name", "data", "field", "message"), EDIT_REFUSALS)
def test_an_edit_page_keeps_what_was_typed_outside_the_limits(
    url_name, data, field, message, patient, clinician, client_for
):
    response = client_for(clinician).post(reverse(url_name, args=[patient.pk]), data)

    assert f'value="{data[field]}"' in input_tag(response.content.decode(), field)


def test_a_one_step_dose_dated_after_2199_is_refused_beside_the_date(patient, nurse, client_for):
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2024, 1, 1)
    )

    response = client_for(nurse).post(
        reverse("therapy:dose-given", args=[patient.pk, course.pk]), {"date": "2200-01-01"}
    )

    assert response.status_code == 400
    assert escape(DATE_MESSAGE) in field_error_html(response.content.decode(), "date")
    assert not course.doses.exists()


# --- the bounds themselves --------------------------------------------------------------------


@pytest.mark.parametrize(("end", "status"), [("2199-12-31", 302), ("2200-01-01", 400)])
def test_the_last_date_2199_12_31_is_accepted_and_the_day_after_refused(
    end, status, patient, clinician, client_for
):
    response = client_for(clinician).post(
        reverse("therapy:course-create", args=[patient.pk]),
        {"drug": "alendronate", "start": "2020-01-01", "end": end},
    )

    assert response.status_code == status


@pytest.mark.parametrize(("birth_date", "status"), [("1900-01-01", 302), ("1899-12-31", 400)])
def test_the_first_date_1900_01_01_is_accepted_and_the_day_before_refused(
    birth_date, status, clinician, client_for
):
    response = client_for(clinician).post(
        reverse("patients:create"),
        {
            "clinic": "hillside",
            "mrn": "H-1",
            "given_name": "Ann",
            "family_name": "Old",
            "birth_date": birth_date,
            "sex": "female",
        },
    )

    assert response.status_code == status


@pytest.mark.parametrize(("value", "status"), [("10000", 302), ("10000.5", 400)])
def test_a_lab_value_up_to_10000_is_accepted(value, status, patient, nurse, client_for):
    response = client_for(nurse).post(
        reverse("monitoring:lab-create", args=[patient.pk]),
        {"date": "2022-01-01", "p1np_value": value, "p1np_unit": "µg/L", "p1np_confirm": "on"},
    )

    assert response.status_code == status


def test_the_limits_are_the_engines_numbers():
    assert DATE_MESSAGE == "Date must be between 1900-01-01 and 2199-12-31."
    bmd = DxaScan._meta.get_field("lumbar_spine_bmd_g_cm2").validators
    assert RangeValidator("BMD", engine_limits.BMD_G_CM2_RANGE, "g/cm²") in bmd
    frax = RiskProfile._meta.get_field("frax_hip_pct").validators
    assert RangeValidator("FRAX", engine_limits.FRAX_PCT_RANGE, "%") in frax


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_number_that_is_not_finite_is_refused_by_the_model(value, patient):
    lab = LabResult(patient=patient, date=dt.date(2022, 1, 1), test="ctx", value=value)

    with pytest.raises(ValidationError) as refused:
        lab.full_clean()

    assert refused.value.message_dict["value"] == ["Value must be between 0 and 10000."]


@pytest.mark.parametrize(
    ("model", "field"),
    [(Patient, "name"), (Patient, "mrn"), (Immunosuppressant, "name"), (LabResult, "unit")],
)
def test_text_of_only_spaces_is_refused_by_the_model(model, field):
    with pytest.raises(ValidationError) as refused:
        model._meta.get_field(field).run_validators("   ")

    assert refused.value.messages == ["Enter some text, not only spaces."]


# --- the database -----------------------------------------------------------------------------


def _rows(world: World) -> dict[type[models.Model], models.Model]:
    return {
        Patient: world.patient,
        RiskProfile: RiskProfile.objects.get(patient=world.patient),
        CardiovascularEvent: world.cardiovascular_event,
        Immunosuppressant: world.immunosuppressant,
        GlucocorticoidExposure: world.glucocorticoid,
        Fracture: world.fracture,
        TherapyCourse: world.course,
        Dose: world.dose,
        DxaScan: world.dxa,
        LabResult: world.lab,
        Reassessment: world.reassessment,
    }


EARLY, LATE = dt.date(1899, 12, 31), dt.date(2200, 1, 1)

#: (model, values written with QuerySet.update): each one breaks one CHECK constraint.
BYPASSES: list[tuple[type[models.Model], dict[str, Any]]] = [
    (Patient, {"birth_date": EARLY}),
    (Patient, {"name": " "}),
    (Patient, {"mrn": ""}),
    (RiskProfile, {"creatinine_clearance_ml_min": 250.5}),
    (RiskProfile, {"alcohol_drinks_per_day": -1}),
    (RiskProfile, {"frax_hip_pct": 100.5}),
    (CardiovascularEvent, {"date": LATE}),
    (CardiovascularEvent, {"kind": "angina"}),
    (Immunosuppressant, {"name": "  "}),
    (GlucocorticoidExposure, {"prednisone_mg_per_day": 1e308}),
    (GlucocorticoidExposure, {"start": EARLY}),
    (GlucocorticoidExposure, {"end": LATE}),
    (Fracture, {"date": EARLY}),
    (Fracture, {"site": "knee"}),
    (TherapyCourse, {"start": EARLY}),
    (TherapyCourse, {"end": LATE}),
    (TherapyCourse, {"stop_reason": "boredom"}),
    (Dose, {"date": LATE}),
    (DxaScan, {"date": EARLY}),
    (DxaScan, {"total_hip_lsc_pct": 0}),
    (DxaScan, {"lumbar_spine_bmd_g_cm2": 2.5}),
    (DxaScan, {"scanner": "  "}),
    (LabResult, {"date": LATE}),
    (LabResult, {"value": 1e308}),
    (LabResult, {"value": -0.5}),
    (LabResult, {"unit": " "}),
    (Reassessment, {"date": EARLY}),
]


@pytest.mark.parametrize(
    ("model", "values"), BYPASSES, ids=[f"{m.__name__}-{next(iter(v))}" for m, v in BYPASSES]
)
def test_the_database_refuses_a_value_outside_the_limits_written_past_validation(
    model, values, world
):
    row = _rows(world)[model]

    with pytest.raises(IntegrityError), transaction.atomic():
        model._default_manager.filter(pk=row.pk).update(**values)


# --- the migrations that add the constraints --------------------------------------------------

MIGRATIONS = [
    ("patients", "patients.migrations.0003_plausibility_limits"),
    ("therapy", "therapy.migrations.0003_plausibility_limits"),
    ("monitoring", "monitoring.migrations.0004_plausibility_limits"),
]


def _precheck(app_label: str, module: str) -> Callable[[], None]:
    """The migration's check of the stored rows, run against today's tables."""
    operations = import_module(module).Migration.operations
    (check,) = [op for op in operations if isinstance(op, migrations.RunPython)]
    return lambda: check.code(apps, SimpleNamespace(connection=connection))


@pytest.mark.parametrize(("app_label", "module"), MIGRATIONS)
def test_the_migration_finds_no_row_outside_the_limits_in_valid_data(app_label, module, world):
    _precheck(app_label, module)()  # raises when a row is outside


def test_the_migration_stops_and_lists_the_rows_outside_the_limits(world):
    fracture = plant(world.fracture, date=dt.date(1, 1, 1))
    lab = plant(world.lab, value=1e308)

    with pytest.raises(RuntimeError) as stopped:
        _precheck(*MIGRATIONS[0])()
    with pytest.raises(RuntimeError) as stopped_too:
        _precheck(*MIGRATIONS[2])()

    assert f"patients.Fracture ids {fracture.pk}: fracture_date_range" in str(stopped.value)
    assert f"monitoring.LabResult ids {lab.pk}: lab_value_range" in str(stopped_too.value)
