"""The engine asked about stored records (therapy/evaluation.py): a case the engine refuses gives
sentences that name the record and the value to correct, never an assessment."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from therapy.engine import parse_case
from therapy.engine.case import Case, DxaScan, DxaSite, Patient, Sex, SiteReading
from therapy.evaluation import case_evaluate, stored_case_evaluate
from therapy.exceptions import RecordNotEvaluable

CASE: dict[str, Any] = {"as_of": "2026-01-01", "patient": {"sex": "female"}}

SENTENCES = [
    (
        {"patient": {"sex": "female", "birth_date": "0001-01-01"}},
        "Patient: birth date 0001-01-01 must be between 1900-01-01 and 2199-12-31",
    ),
    (
        {"risk_factors": {"creatinine_clearance_ml_min": -5}},
        "Risk factors: creatinine clearance -5 must not be negative",
    ),
    (
        {"risk_factors": {"cardiovascular_events": [{"kind": "stroke", "date": "9999-12-31"}]}},
        "Stroke of 9999-12-31: date 9999-12-31 must be between 1900-01-01 and 2199-12-31",
    ),
    (
        {"risk_factors": {"immunosuppressants": ["tacrolimus", " "]}},
        "Immunosuppressant 2: name must not be empty",
    ),
    (
        {
            "risk_factors": {
                "glucocorticoids": [{"prednisone_mg_per_day": -1, "start": "2020-01-01"}]
            }
        },
        "Glucocorticoid exposure from 2020-01-01: dose (mg/day) -1 must not be negative",
    ),
    (
        {"fractures": [{"date": "0001-01-01", "site": "hip"}]},
        "Hip fracture of 0001-01-01: date 0001-01-01 must be between 1900-01-01 and 2199-12-31",
    ),
    (
        {"therapies": [{"drug": "denosumab", "start": "2020-01-01", "doses": ["2019-12-01"]}]},
        "Denosumab course from 2020-01-01: dose 1 given 2019-12-01 before start 2020-01-01",
    ),
    (
        {"dxa": [{"date": "2022-03-03", "sites": {"total_hip": {"bmd_g_cm2": 2.7}}}]},
        "DXA scan of 2022-03-03: total hip BMD 2.7 must be between 0.2 and 2 g/cm²",
    ),
    (
        {"labs": [{"date": "2022-01-01", "test": "p1np", "value": 1e308, "unit": " "}]},
        "P1NP of 2022-01-01: unit must not be empty",
    ),
    (
        {"reassessments": ["2021-01-01", "9999-01-01"]},
        "Reassessment 2: date 9999-01-01 must be between 1900-01-01 and 2199-12-31",
    ),
]


@pytest.mark.parametrize(("part", "sentence"), SENTENCES, ids=[s for _, s in SENTENCES])
def test_a_refused_value_is_named_by_its_record_and_field(part, sentence):
    with pytest.raises(RecordNotEvaluable) as refused:
        stored_case_evaluate({**CASE, **part})

    assert refused.value.problems == [sentence]


def test_a_case_built_from_records_is_held_to_the_limits_parse_case_holds_json_to():
    scan = DxaScan(dt.date(2022, 3, 3), ((DxaSite.LUMBAR_SPINE, SiteReading(bmd_g_cm2=-1.0)),))
    case = Case(as_of=dt.date(2026, 1, 1), patient=Patient(sex=Sex.FEMALE), dxa=(scan,))

    with pytest.raises(RecordNotEvaluable) as refused:
        case_evaluate(case)

    assert refused.value.problems == [
        "DXA scan of 2022-03-03: lumbar spine BMD -1 must be between 0.2 and 2 g/cm²"
    ]


def test_a_case_within_the_limits_is_evaluated_as_the_engine_evaluates_it():
    case = parse_case({**CASE, "fractures": [{"date": "2025-05-01", "site": "vertebral"}]})

    assert case_evaluate(case).very_high_risk.status is True
