"""The FHIR mapping (issue 12, item 1): the pinned code table, R4B validity, Case ↔ FHIR both
ways over every shared case, and bad input reported at its FHIR path."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from interop.fhir import codes
from interop.fhir.mapping import (
    FhirMappingError,
    PatientFacts,
    case_from_resources,
    case_resources,
    records_from_resources,
    validate,
)
from therapy.engine import case_to_json, parse_case

CASES = sorted((Path(__file__).resolve().parents[1] / "cases").glob("*.json"))
AS_OF = dt.date(2026, 11, 25)
FACTS = PatientFacts(
    id="42",
    mrn_system="http://ossa.test/fhir/clinic/hillside/mrn",
    given_name="Ada",
    family_name="Lovelace",
    deceased=dt.date(2026, 11, 1),
)

#: A case holding every kind of record, so every code of the table is written.
FULL_CASE = {
    "as_of": AS_OF.isoformat(),
    "patient": {"sex": "female", "birth_date": "1948-04-02", "name": "Ada Lovelace", "mrn": "H1"},
    "risk_factors": {
        **dict.fromkeys(codes.RISK_FACTOR_FLAGS, True),
        "creatinine_clearance_ml_min": 41.5,
        "cardiovascular_events": [
            {"kind": "myocardial_infarction", "date": "2024-02-10"},
            {"kind": "stroke", "date": "2025-03-01"},
        ],
        "immunosuppressants": ["tacrolimus"],
        "glucocorticoids": [{"prednisone_mg_per_day": 7.5, "start": "2025-01-01", "end": None}],
        "frax_major_osteoporotic_pct": 22.5,
        "frax_hip_pct": 6.1,
        "alcohol_drinks_per_day": 2,
    },
    "fractures": [
        {"date": f"2020-0{i + 1}-15", "site": site, "fragility": site != "rib"}
        for i, site in enumerate(["vertebral", "hip", "wrist", "humerus", "pelvis", "rib", "other"])
    ],
    "therapies": [
        {
            "drug": drug,
            "start": f"{2010 + i}-01-01",
            "end": f"{2010 + i}-06-30",
            "stop_reason": "completed",
            "doses": [f"{2010 + i}-02-01"] if drug in ("denosumab", "zoledronic_acid") else [],
        }
        for i, drug in enumerate(
            [
                "alendronate",
                "ibandronate",
                "risedronate",
                "zoledronic_acid",
                "denosumab",
                "romosozumab",
                "teriparatide",
                "abaloparatide",
                "raloxifene",
                "other",
            ]
        )
    ],
    "dxa": [
        {
            "date": "2025-03-01",
            "scanner": "Hologic Horizon A",
            "sites": {
                "lumbar_spine": {"bmd_g_cm2": 0.801, "t_score": -2.9},
                "femoral_neck": {"bmd_g_cm2": 0.59, "t_score": -2.6},
                "total_hip": {"bmd_g_cm2": 0.702, "t_score": -2.3, "lsc_pct": 4.2},
            },
        }
    ],
    "labs": [
        {"date": "2026-06-01", "test": "ctx", "value": 0.52, "unit": "ng/mL"},
        {"date": "2026-06-01", "test": "p1np", "value": 35, "unit": "ng/mL"},
        {"date": "2026-06-01", "test": "vitamin_d_25oh", "value": 31, "unit": "ng/mL"},
        {"date": "2026-06-01", "test": "calcium", "value": 2.3, "unit": "mmol/L"},
    ],
    "reassessments": ["2025-11-01"],
}


def _codings(value):
    """Every (system, code, display) anywhere in a resource."""
    if isinstance(value, dict):
        if "system" in value and "code" in value:
            yield value["system"], value["code"], value.get("display")
        for item in value.values():
            yield from _codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)


def _observations(resources):
    return [r for r in resources if r["resourceType"] == "Observation"]


@pytest.fixture
def full():
    return case_resources(parse_case(FULL_CASE), FACTS)


def test_every_code_of_the_table_is_written_with_its_display(full):
    written = {(system, code): display for r in full for system, code, display in _codings(r)}
    expected = [
        *((codes.SNOMED, code, display) for code, display in codes.FRACTURE_SITE.values()),
        (codes.SNOMED, *codes.OSTEOPOROSIS),
        (codes.SNOMED, *codes.FEMORAL_NECK_SITE),
        *((codes.LOINC, code, display) for code, display in codes.DXA_BMD.values()),
        *((codes.LOINC, code, display) for code, display in codes.DXA_T_SCORE.values()),
        *((codes.LOINC, code, display) for code, display in codes.LAB.values()),
        (codes.LOINC, *codes.CREATININE_CLEARANCE),
        *((codes.ATC, code, display) for code, display in codes.DRUG_ATC.values()),
    ]
    for system, code, display in expected:
        assert written.get((system, code)) == display, (system, code)
    local = {code for system, code in written if "/fhir/CodeSystem/" in system}
    assert {code for code, _ in codes.RISK_FACTOR_FLAGS.values()} <= local
    assert {code for code, _ in codes.CARDIOVASCULAR_EVENT.values()} <= local
    assert {code for code, _ in codes.FRAX.values()} <= local
    assert {"raloxifene", "other", codes.ALCOHOL[0], codes.REASSESSMENT[0]} <= local


def test_the_issue_table_is_pinned():
    """The codes of issue 12's table, letter for letter (a change here is a deliberate one)."""
    assert {s.value: code for s, (code, _) in codes.FRACTURE_SITE.items()} == {
        "hip": "5913000",
        "vertebral": "42942008",
        "wrist": "263199001",
        "humerus": "263191003",
        "pelvis": "91037003",
        "rib": "33737001",
        "other": "125605004",
    }
    assert [code for code, _ in codes.DXA_BMD.values()] == ["24966-4", "24701-5", "38261-4"]
    assert [code for code, _ in codes.DXA_T_SCORE.values()] == ["38267-1", "38263-0", "38264-8"]
    assert {t.value: code for t, (code, _) in codes.LAB.items()} == {
        "vitamin_d_25oh": "62292-8",
        "ctx": "41171-0",
        "p1np": "77370-5",
        "calcium": "17861-6",
    }
    assert codes.CREATININE_CLEARANCE[0] == "35591-7"
    assert {d.value: code for d, (code, _) in codes.DRUG_ATC.items()} == {
        "alendronate": "M05BA04",
        "ibandronate": "M05BA06",
        "risedronate": "M05BA07",
        "zoledronic_acid": "M05BA08",
        "denosumab": "M05BX04",
        "romosozumab": "M05BX06",
        "teriparatide": "H05AA02",
        "abaloparatide": "H05AA04",
    }


def test_every_resource_validates_with_fhir_resources_r4b(full):
    assert {r["resourceType"] for r in full} == {
        "Patient",
        "Condition",
        "Observation",
        "MedicationStatement",
        "MedicationAdministration",
    }
    for resource in full:
        assert validate(resource) == [], resource["id"]


def test_patient_resource(full):
    patient = full[0]
    assert patient["identifier"][0]["system"] == FACTS.mrn_system
    assert patient["identifier"][0]["value"] == "H1"
    assert patient["name"][0] == {
        "use": "official",
        "text": "Ada Lovelace",
        "family": "Lovelace",
        "given": ["Ada"],
    }
    assert (patient["gender"], patient["birthDate"]) == ("female", "1948-04-02")
    assert patient["deceasedDateTime"] == "2026-11-01"
    assert all(
        r["subject"] == {"reference": "Patient/42"} for r in full if r["resourceType"] != "Patient"
    )


def test_femoral_neck_readings_carry_the_body_site(full):
    neck = [
        r for r in _observations(full) if r["code"]["coding"][0]["code"] in ("24701-5", "38263-0")
    ]
    assert len(neck) == 2
    assert all(r["bodySite"]["coding"][0]["code"] == "29627003" for r in neck)
    assert all(r["category"][0]["coding"][0]["code"] == "imaging" for r in neck)


def test_frax_method_and_local_system(full, settings):
    frax = [r for r in _observations(full) if "frax" in r["code"]["coding"][0]["system"]]
    assert len(frax) == 2
    assert frax[0]["code"]["coding"][0]["system"].startswith(settings.OSSA_SITE_URL.rstrip("/"))
    assert frax[0]["method"]["text"]


def test_the_full_case_comes_back_whole(full):
    back = case_from_resources(full, as_of=AS_OF)
    assert case_to_json(back) == case_to_json(parse_case(FULL_CASE))
    [patient] = records_from_resources(full, as_of=AS_OF)
    assert (patient.given_name, patient.family_name, patient.mrn) == ("Ada", "Lovelace", "H1")
    assert patient.deceased == dt.date(2026, 11, 1)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_shared_case_round_trips_through_fhir(path):
    case = parse_case(json.loads(path.read_text())["case"])
    resources = case_resources(case, PatientFacts(id="7", mrn_system=FACTS.mrn_system))
    assert all(validate(r) == [] for r in resources)
    assert case_to_json(case_from_resources(resources, as_of=case.as_of)) == case_to_json(case)


# --- bad input ------------------------------------------------------------------------------------


def _problems(resources, **kwargs):
    with pytest.raises(FhirMappingError) as error:
        case_from_resources(resources, as_of=AS_OF, **kwargs)
    return [str(p) for p in error.value.problems]


def _index(resources, predicate):
    return next(i for i, r in enumerate(resources) if predicate(r))


def test_an_unknown_loinc_is_named_at_its_entry(full):
    i = _index(full, lambda r: r["resourceType"] == "Observation")
    full[i]["code"]["coding"][0]["code"] = "1234-5"
    assert _problems(full) == [f"entry[{i}].resource.code: unknown LOINC 1234-5"]


def test_unknown_snomed_atc_and_code_system(full):
    frac = _index(full, lambda r: r["id"] == "42-fracture0")
    course = _index(full, lambda r: r["id"] == "42-course0")
    lab = _index(full, lambda r: r["id"] == "42-lab0")
    full[frac]["code"]["coding"][0]["code"] = "999999"
    full[course]["medicationCodeableConcept"]["coding"][0]["code"] = "M05XX99"
    full[lab]["code"]["coding"][0]["system"] = "http://example.org/labs"
    assert _problems(full) == [
        f"entry[{frac}].resource.code: unknown SNOMED 999999",
        f"entry[{course}].resource.medicationCodeableConcept: unknown ATC M05XX99",
        f"entry[{lab}].resource.code: unknown code system http://example.org/labs (code 41171-0)",
    ]


def test_a_known_coding_among_others_is_found(full):
    i = _index(full, lambda r: r["id"] == "42-lab0")
    full[i]["code"]["coding"].insert(0, {"system": "http://example.org/labs", "code": "CTX"})
    assert case_from_resources(full, as_of=AS_OF).labs[0].test.value == "ctx"


def test_not_strict_skips_what_ossa_does_not_read(full):
    extra = {
        "resourceType": "Observation",
        "id": "bp",
        "status": "final",
        "code": {"coding": [{"system": codes.LOINC, "code": "85354-9"}]},
        "subject": {"reference": "Patient/42"},
    }
    encounter = {"resourceType": "Encounter", "id": "e", "status": "finished", "class": {}}
    resources = [*full, extra, encounter]
    assert _problems(resources) == [
        f"entry[{len(full) + 1}].resource.resourceType: Encounter is not read by Ossa (expected "
        "one of Patient, Condition, Observation, MedicationStatement, MedicationAdministration)",
        f"entry[{len(full)}].resource.code: unknown LOINC 85354-9",
    ]
    assert case_from_resources(resources, as_of=AS_OF, strict=False) == case_from_resources(
        full, as_of=AS_OF
    )


def test_a_reference_to_nothing(full):
    i = _index(full, lambda r: r["resourceType"] == "Condition")
    full[i]["subject"] = {"reference": "Patient/nobody"}
    j = _index(full, lambda r: r["resourceType"] == "MedicationAdministration")
    full[j]["supportingInformation"] = [{"reference": "MedicationStatement/gone"}]
    assert _problems(full) == [
        f"entry[{i}].resource.subject: refers to Patient/nobody, which is not a Patient in the "
        "input",
        f"entry[{j}].resource.supportingInformation: refers to MedicationStatement gone, which is "
        "not in the input",
    ]


def test_the_engine_problems_come_back_at_their_fhir_path(full):
    i = _index(full, lambda r: r["id"] == "42-course0")
    full[i]["effectivePeriod"]["end"] = "2009-01-01"
    j = _index(full, lambda r: r["id"] == "42-dxa0-lumbar-spine-bmd")
    full[j]["valueQuantity"]["value"] = 9.5
    problems = _problems(full)
    assert any(p.startswith(f"entry[{i}].resource.effectivePeriod.end: ") for p in problems)
    assert any(
        p.startswith(f"entry[{j}].resource.valueQuantity.value: ") and "dxa[0]" in p
        for p in problems
    )


def test_a_partial_date_is_not_guessed(full):
    i = _index(full, lambda r: r["id"] == "42-fracture0")
    full[i]["onsetDateTime"] = "2016"
    assert _problems(full) == [
        f"entry[{i}].resource.onsetDateTime: '2016' is not a whole day (a partial date is not "
        "guessed)"
    ]


def test_a_malformed_resource_is_reported_by_the_validator(full):
    full[3]["valueQuantity"] = {"value": "lots"} if full[3]["resourceType"] == "Observation" else 1
    full[1]["bogus"] = True
    problems = _problems(full)
    assert "entry[1].resource.bogus: Extra inputs are not permitted" in problems
    assert any(p.startswith("entry[3].resource.") for p in problems)


def test_not_a_resource_and_an_unknown_resource_type():
    assert _problems([{"id": 1}, {"resourceType": "Patientt"}, "text"]) == [
        "entry[0].resource: not a FHIR resource (no resourceType)",
        "entry[1].resource.resourceType: unknown resourceType 'Patientt'",
        "entry[2].resource: not a FHIR resource (no resourceType)",
    ]


def test_one_patient_expected_by_case_from_resources(full):
    second = copy.deepcopy(full[0]) | {"id": "43"}
    with pytest.raises(FhirMappingError, match="expected one Patient, found 2"):
        case_from_resources([*full, second], as_of=AS_OF)


def test_a_resolved_risk_factor_does_not_hold(full):
    i = _index(full, lambda r: r["id"] == "42-organ-transplant")
    full[i]["clinicalStatus"] = {
        "coding": [{"system": codes.CONDITION_CLINICAL, "code": "resolved"}]
    }
    assert case_from_resources(full, as_of=AS_OF).risk_factors.organ_transplant is False


def test_of_several_values_the_latest_is_read(full):
    """An EHR holds a history of creatinine clearances; the engine reads the latest."""
    i = _index(full, lambda r: r["id"] == "42-crcl")
    older = copy.deepcopy(full[i]) | {"id": "old", "effectiveDateTime": "2020-01-01"}
    older["valueQuantity"] = older["valueQuantity"] | {"value": 90}
    newer = copy.deepcopy(full[i]) | {"id": "new", "effectiveDateTime": "2026-01-01"}
    newer["valueQuantity"] = newer["valueQuantity"] | {"value": 28}
    resources = [*full[:i], newer, older, *full[i + 1 :]]
    assert (
        case_from_resources(resources, as_of=AS_OF).risk_factors.creatinine_clearance_ml_min == 28
    )
