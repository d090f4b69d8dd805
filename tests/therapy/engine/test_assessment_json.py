"""The assessment JSON of CASE_FORMAT.md, key for key, on the format's own example."""

from __future__ import annotations

import json

from therapy.engine import (
    ENGINE_VERSION,
    assessment_from_json,
    assessment_to_json,
    evaluate,
    parse_case,
)

EXAMPLE_CASE = {
    "as_of": "2026-11-25",
    "patient": {"sex": "female", "birth_date": "1948-04-02"},
    "risk_factors": {
        "oral_bisphosphonate_intolerance": False,
        "oral_bisphosphonate_contraindication": False,
        "creatinine_clearance_ml_min": 62,
        "cardiovascular_events": [{"kind": "myocardial_infarction", "date": "2026-02-10"}],
        "immunosuppressants": ["tacrolimus", "mycophenolate"],
        "organ_transplant": False,
        "glucocorticoids": [{"prednisone_mg_per_day": 7.5, "start": "2025-01-01", "end": None}],
        "cancer_treatment_bone_loss": False,
        "skeletal_radiation": False,
        "bone_metastases": False,
        "pagets_disease": False,
        "unexplained_elevated_alp": False,
        "open_epiphyses": False,
        "hypercalcemia": False,
        "hypocalcemia": False,
        "high_fall_risk": False,
        "frax_major_osteoporotic_pct": None,
        "frax_hip_pct": None,
        "current_smoker": False,
        "alcohol_drinks_per_day": 0,
    },
    "fractures": [{"date": "2026-05-10", "site": "vertebral", "fragility": True}],
    "therapies": [
        {
            "drug": "alendronate",
            "start": "2022-03-01",
            "end": "2026-06-01",
            "stop_reason": "failure",
        },
        {"drug": "denosumab", "start": "2026-06-15", "end": None, "doses": ["2026-06-15"]},
    ],
    "dxa": [
        {
            "date": "2025-03-01",
            "sites": {
                "lumbar_spine": {"bmd_g_cm2": 0.801, "t_score": -2.9},
                "femoral_neck": {"bmd_g_cm2": 0.590, "t_score": -2.6},
                "total_hip": {"bmd_g_cm2": 0.702, "t_score": -2.3, "lsc_pct": 4.2},
            },
        }
    ],
    "labs": [{"date": "2026-06-01", "test": "ctx", "value": 0.52, "unit": "ng/mL"}],
    "reassessments": ["2025-11-01"],
}

EXPECTED_WITHOUT_RATIONALE = {
    "engine_version": "2",
    "as_of": "2026-11-25",
    "refractory": {"status": True, "reasons": ["FRACTURE_ON_BISPHOSPHONATE"]},
    "very_high_risk": {
        "status": True,
        "reasons": [
            "RECENT_FRACTURE",
            "RECENT_VERTEBRAL_FRACTURE",
            "FRACTURE_ON_THERAPY",
            "FRACTURE_ON_GLUCOCORTICOIDS",
        ],
    },
    "populations": ["GLUCOCORTICOID", "IMMUNOSUPPRESSED"],
    "pathway": "glucocorticoid",
    "options": [
        {
            "rank": 1,
            "drug": "zoledronic_acid",
            "class": "antiresorptive",
            "then": [],
            "limit": None,
            "rules": ["SEL-4"],
        },
        {
            "rank": 2,
            "drug": "teriparatide",
            "class": "anabolic",
            "then": ["zoledronic_acid"],
            "limit": {"months_remaining": 24},
            "rules": ["SEL-4"],
        },
    ],
    "recommendation": {
        "action": "switch",
        "drug": "zoledronic_acid",
        "then": [],
        "limit": None,
        "rules": ["REC-2"],
    },
    "avoid": [
        {
            "drug": "alendronate",
            "reason": "ORAL_BP_NOT_APPROPRIATE",
            "severity": "avoid",
            "rules": ["ELG-8"],
        },
        {
            "drug": "alendronate",
            "reason": "TREATMENT_FAILURE",
            "severity": "avoid",
            "rules": ["SEL-8"],
        },
        {
            "drug": "denosumab",
            "reason": "IMMUNOSUPPRESSED",
            "severity": "avoid",
            "rules": ["ELG-6"],
        },
        {
            "drug": "ibandronate",
            "reason": "ORAL_BP_NOT_APPROPRIATE",
            "severity": "avoid",
            "rules": ["ELG-8"],
        },
        {
            "drug": "risedronate",
            "reason": "ORAL_BP_NOT_APPROPRIATE",
            "severity": "avoid",
            "rules": ["ELG-8"],
        },
        {
            "drug": "romosozumab",
            "reason": "MI_OR_STROKE_WITHIN_12_MONTHS",
            "severity": "contraindicated",
            "rules": ["ELG-1"],
        },
    ],
    "alerts": [
        {
            "code": "DENOSUMAB_DOSE_DUE",
            "severity": "warning",
            "due": "2026-12-15",
            "rules": ["ALR-1"],
        },
        {
            "code": "DENOSUMAB_WITH_IMMUNOSUPPRESSION",
            "severity": "warning",
            "due": None,
            "rules": ["ALR-9"],
        },
    ],
    "monitoring": [
        {"code": "FRACTURE_RISK_REASSESSMENT", "due": "2026-11-01", "drug": None},
        {"code": "BTM_3_MONTHS", "due": "2026-09-15", "drug": None},
        {"code": "DXA_FOLLOW_UP", "due": "2027-06-15", "drug": None},
        {"code": "NEXT_DOSE", "due": "2026-12-15", "drug": "denosumab"},
    ],
    "supplementation": ["CALCIUM", "VITAMIN_D"],
    "lifestyle": ["EXERCISE", "FALL_PREVENTION"],
}


def test_case_format_example_gives_the_documented_assessment() -> None:
    output = assessment_to_json(evaluate(parse_case(EXAMPLE_CASE)))
    rationale = output.pop("rationale")
    assert output == EXPECTED_WITHOUT_RATIONALE
    assert list(output) == list(EXPECTED_WITHOUT_RATIONALE)  # same keys, same order
    assert rationale[0] == {
        "rule": "REF-1",
        "text": "Vertebral fracture on 2026-05-10 during alendronate, 50 months after it started.",
    }


def test_assessment_json_is_plain_json() -> None:
    output = assessment_to_json(evaluate(parse_case(EXAMPLE_CASE)))
    assert json.loads(json.dumps(output)) == output
    assert type(output["pathway"]) is str
    assert type(output["options"][0]["drug"]) is str


def test_engine_version() -> None:
    assert ENGINE_VERSION == "2"
    assert evaluate(parse_case(EXAMPLE_CASE)).engine_version == "2"


def test_rationale_names_the_numbers_that_fired_each_rule() -> None:
    texts = {r.rule: r.text for r in evaluate(parse_case(EXAMPLE_CASE)).rationale}
    assert "2026-02-10" in texts["ELG-1"]
    assert "tacrolimus" in texts["POP-2"] and "3 immunosuppressive agents" in texts["POP-2"]
    assert "7.5 mg/day" in texts["POP-1"] and "2025-01-01" in texts["POP-1"]
    assert "2026-12-15" in texts["ALR-1"]
    assert "2026-09-15" in texts["MON-3"]


def test_an_assessment_stored_by_engine_version_1_reads_back_unchanged() -> None:
    # Version 1 had no recommendation: the stored JSON is read, and written, without one.
    stored = assessment_to_json(evaluate(parse_case(EXAMPLE_CASE)))
    del stored["recommendation"]
    stored["engine_version"] = "1"
    assessment = assessment_from_json(stored)
    assert assessment.recommendation is None
    assert assessment.engine_version == "1"
    assert assessment_to_json(assessment) == stored
