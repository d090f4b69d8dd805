"""parse_case: every kind of invalid input is reported at its JSON path; case_to_json inverts it."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest

from therapy.engine import CaseError, Problem, case_to_json, parse_case
from therapy.engine.case import Case, Fracture, FractureSite, Patient, RiskFactors

CASES = sorted((Path(__file__).resolve().parents[2] / "cases").glob("*.json"))

VALID: dict[str, Any] = {
    "as_of": "2026-11-25",
    "patient": {"sex": "female", "birth_date": "1950-06-01"},
    "risk_factors": {
        "creatinine_clearance_ml_min": 60,
        "cardiovascular_events": [{"kind": "stroke", "date": "2025-01-01"}],
        "immunosuppressants": ["tacrolimus"],
        "glucocorticoids": [{"prednisone_mg_per_day": 5, "start": "2024-05-01", "end": None}],
    },
    "fractures": [{"date": "2025-03-01", "site": "hip"}],
    "therapies": [
        {"drug": "alendronate", "start": "2020-01-01", "end": "2023-01-01"},
        {
            "drug": "romosozumab",
            "start": "2024-05-01",
            "end": "2025-04-30",
            "doses": ["2024-05-01"],
        },
    ],
    "dxa": [{"date": "2024-01-01", "sites": {"lumbar_spine": {"bmd_g_cm2": 0.8, "t_score": -2.5}}}],
    "labs": [{"date": "2026-01-01", "test": "ctx", "value": 0.4, "unit": "ng/mL"}],
    "reassessments": ["2026-01-01"],
}


def problems(data: Any) -> list[str]:
    with pytest.raises(CaseError) as raised:
        parse_case(data)
    return [str(problem) for problem in raised.value.problems]


def changed(path: str, value: Any) -> dict[str, Any]:
    """VALID with the value at a dotted path (list indexes as numbers) replaced or removed."""
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
    key: Any = int(last) if isinstance(target, list) else last
    if value is _REMOVE:
        del target[key]
    else:
        target[key] = value
    return data


_REMOVE = object()


def test_the_valid_case_parses() -> None:
    assert parse_case(VALID).as_of == dt.date(2026, 11, 25)


@pytest.mark.parametrize("data", [[], "case", None, 3, True])
def test_not_a_json_object(data: Any) -> None:
    assert problems(data) == ["$: not a JSON object"]


INVALID = [
    # as_of
    pytest.param("as_of", _REMOVE, "as_of: missing (required)", id="as_of missing"),
    pytest.param("as_of", None, "as_of: must be a date YYYY-MM-DD", id="as_of null"),
    pytest.param("as_of", "2026/11/25", "as_of: must be a date YYYY-MM-DD", id="slashes"),
    pytest.param("as_of", "20261125", "as_of: must be a date YYYY-MM-DD", id="compact date"),
    pytest.param("as_of", "2026-11-25T10:00", "as_of: must be a date YYYY-MM-DD", id="datetime"),
    pytest.param("as_of", 20261125, "as_of: must be a date YYYY-MM-DD", id="number"),
    pytest.param("as_of", "2026-02-30", "as_of: not a calendar date: 2026-02-30", id="Feb 30"),
    pytest.param(
        "as_of", "1899-12-31", "as_of: must be between 1900-01-01 and 2199-12-31", id="too old"
    ),
    # unknown keys, every level
    pytest.param("asof", "2026-11-25", "asof: unknown key", id="top-level typo"),
    pytest.param("patient.gender", "female", "patient.gender: unknown key", id="patient"),
    pytest.param(
        "risk_factors.smoker", True, "risk_factors.smoker: unknown key", id="risk factors"
    ),
    pytest.param(
        "risk_factors.cardiovascular_events.0.when",
        "2025-01-01",
        "risk_factors.cardiovascular_events[0].when: unknown key",
        id="cardiovascular event",
    ),
    pytest.param(
        "risk_factors.glucocorticoids.0.dose",
        5,
        "risk_factors.glucocorticoids[0].dose: unknown key",
        id="glucocorticoid",
    ),
    pytest.param("fractures.0.fragile", True, "fractures[0].fragile: unknown key", id="fracture"),
    pytest.param("therapies.1.dose", [], "therapies[1].dose: unknown key", id="therapy"),
    pytest.param("dxa.0.site", {}, "dxa[0].site: unknown key", id="scan"),
    pytest.param(
        "dxa.0.sites.lumbar_spine.bmd",
        0.8,
        "dxa[0].sites.lumbar_spine.bmd: unknown key",
        id="site reading",
    ),
    pytest.param("labs.0.result", 1, "labs[0].result: unknown key", id="lab"),
    # missing required keys inside lists
    pytest.param(
        "fractures.0.site", _REMOVE, "fractures[0].site: missing (required)", id="no site"
    ),
    pytest.param(
        "therapies.0.start", _REMOVE, "therapies[0].start: missing (required)", id="no start"
    ),
    pytest.param("labs.0.value", _REMOVE, "labs[0].value: missing (required)", id="no value"),
    # wrong types
    pytest.param("patient", [], "patient: must be an object", id="patient not an object"),
    pytest.param("fractures", {}, "fractures: must be a list", id="fractures not a list"),
    pytest.param(
        "therapies.0", "alendronate", "therapies[0]: must be an object", id="item not object"
    ),
    pytest.param(
        "risk_factors.high_fall_risk",
        "yes",
        "risk_factors.high_fall_risk: must be true or false",
        id="flag",
    ),
    pytest.param(
        "fractures.0.fragility", 1, "fractures[0].fragility: must be true or false", id="fragility"
    ),
    pytest.param(
        "risk_factors.creatinine_clearance_ml_min",
        "60",
        "risk_factors.creatinine_clearance_ml_min: must be a number",
        id="number as text",
    ),
    pytest.param(
        "risk_factors.creatinine_clearance_ml_min",
        True,
        "risk_factors.creatinine_clearance_ml_min: must be a number",
        id="boolean for a number",
    ),
    pytest.param("labs.0.value", False, "labs[0].value: must be a number", id="boolean lab value"),
    pytest.param("labs.0.unit", 5, "labs[0].unit: must be a string", id="unit not text"),
    pytest.param(
        "risk_factors.immunosuppressants.0",
        " ",
        "risk_factors.immunosuppressants[0]: must not be empty",
        id="blank",
    ),
    pytest.param("patient.name", "", "patient.name: must not be empty", id="blank name"),
    # unknown enum values
    pytest.param(
        "therapies.0.drug", "alendronat", "therapies[0].drug: unknown drug 'alendronat'", id="drug"
    ),
    pytest.param("fractures.0.site", "skull", "fractures[0].site: unknown site 'skull'", id="site"),
    pytest.param(
        "risk_factors.cardiovascular_events.0.kind",
        "angina",
        "risk_factors.cardiovascular_events[0].kind: unknown kind 'angina'",
        id="kind",
    ),
    pytest.param("labs.0.test", "pth", "labs[0].test: unknown test 'pth'", id="test"),
    pytest.param("patient.sex", "f", "patient.sex: unknown sex 'f'", id="sex"),
    pytest.param(
        "therapies.0.stop_reason",
        "bored",
        "therapies[0].stop_reason: unknown stop_reason 'bored'",
        id="stop",
    ),
    pytest.param(
        "therapies.0.drug", 3, "therapies[0].drug: unknown drug (expected one of", id="drug number"
    ),
    pytest.param("dxa.0.sites.spine", {}, "dxa[0].sites.spine: unknown key", id="dxa site key"),
    # negative and non-finite numbers
    pytest.param(
        "risk_factors.creatinine_clearance_ml_min",
        -1,
        "risk_factors.creatinine_clearance_ml_min: must not be negative",
        id="negative CrCl",
    ),
    pytest.param(
        "risk_factors.glucocorticoids.0.prednisone_mg_per_day",
        -5,
        "risk_factors.glucocorticoids[0].prednisone_mg_per_day: must not be negative",
        id="negative dose",
    ),
    pytest.param("labs.0.value", -0.1, "labs[0].value: must not be negative", id="negative lab"),
    pytest.param(
        "risk_factors.alcohol_drinks_per_day",
        -1,
        "risk_factors.alcohol_drinks_per_day: must not be negative",
        id="negative alcohol",
    ),
    pytest.param("labs.0.value", math.nan, "labs[0].value: must be a finite number", id="NaN"),
    pytest.param("labs.0.value", math.inf, "labs[0].value: must be a finite number", id="Infinity"),
    pytest.param(
        "labs.0.value", 10**400, "labs[0].value: must be a finite number", id="huge integer"
    ),
    pytest.param(
        "risk_factors.frax_hip_pct",
        101,
        "risk_factors.frax_hip_pct: must be between 0 and 100 %",
        id="FRAX",
    ),
    # order of dates
    pytest.param(
        "therapies.0.end",
        "2019-12-31",
        "therapies[0].end: before start 2020-01-01",
        id="course end",
    ),
    pytest.param(
        "risk_factors.glucocorticoids.0.end",
        "2024-04-30",
        "risk_factors.glucocorticoids[0].end: before start 2024-05-01",
        id="glucocorticoid end",
    ),
    pytest.param(
        "therapies.1.doses",
        ["2024-04-30"],
        "therapies[1].doses[0]: before start 2024-05-01",
        id="dose early",
    ),
    pytest.param(
        "therapies.1.doses",
        ["2024-05-01", "2025-05-01"],
        "therapies[1].doses[1]: after end 2025-04-30",
        id="dose late",
    ),
    pytest.param(
        "therapies.1.doses",
        [f"2024-{month:02d}-15" for month in range(5, 13)]
        + [f"2025-{m:02d}-15" for m in range(1, 5)]
        + ["2025-04-20"],
        "therapies[1].doses: more than 12 romosozumab doses (13)",
        id="13 romosozumab doses",
    ),
    # DXA values
    pytest.param(
        "dxa.0.sites.lumbar_spine.bmd_g_cm2",
        0.19,
        "dxa[0].sites.lumbar_spine.bmd_g_cm2: must be between 0.2 and 2 g/cm²",
        id="BMD 0.19",
    ),
    pytest.param(
        "dxa.0.sites.lumbar_spine.bmd_g_cm2",
        2.01,
        "dxa[0].sites.lumbar_spine.bmd_g_cm2: must be between 0.2 and 2 g/cm²",
        id="BMD 2.01",
    ),
    pytest.param(
        "dxa.0.sites.lumbar_spine.t_score",
        -7.1,
        "dxa[0].sites.lumbar_spine.t_score: must be between -7 and 5",
        id="T-score -7.1",
    ),
    pytest.param(
        "dxa.0.sites.lumbar_spine.t_score",
        5.1,
        "dxa[0].sites.lumbar_spine.t_score: must be between -7 and 5",
        id="T-score 5.1",
    ),
    pytest.param(
        "dxa.0.sites.lumbar_spine.lsc_pct",
        0,
        "dxa[0].sites.lumbar_spine.lsc_pct: must be greater than 0",
        id="LSC 0",
    ),
    pytest.param(
        "reassessments.0",
        "2026-13-01",
        "reassessments[0]: not a calendar date: 2026-13-01",
        id="bad",
    ),
]


@pytest.mark.parametrize(("path", "value", "expected"), INVALID)
def test_invalid_input_is_reported_at_its_path(path: str, value: Any, expected: str) -> None:
    found = problems(changed(path, value))
    assert len(found) == 1, found
    assert found[0].startswith(expected)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("dxa.0.sites.lumbar_spine.bmd_g_cm2", 0.2),
        ("dxa.0.sites.lumbar_spine.bmd_g_cm2", 2.0),
        ("dxa.0.sites.lumbar_spine.t_score", -7),
        ("dxa.0.sites.lumbar_spine.t_score", 5),
        ("dxa.0.sites.lumbar_spine.lsc_pct", 0.1),
        (
            "therapies.1.doses",
            [f"2024-{m:02d}-15" for m in range(5, 13)] + [f"2025-{m:02d}-15" for m in range(1, 5)],
        ),
        ("therapies.0.end", "2020-01-01"),
        ("risk_factors.creatinine_clearance_ml_min", 0),
        ("risk_factors.creatinine_clearance_ml_min", None),
    ],
)
def test_limits_are_inclusive(path: str, value: Any) -> None:
    parse_case(changed(path, value))


def test_every_problem_is_reported_in_document_order() -> None:
    data = {
        "as_of": "2026-11-31",
        "patient": {"sex": "x"},
        "therapies": [
            {
                "drug": "denosumab",
                "start": "2024-05-01",
                "end": "2024-01-01",
                "doses": ["2023-01-01"],
            },
            {"drug": "nope", "start": "yesterday"},
        ],
        "labs": [{"date": "2026-01-01", "test": "ctx", "value": -1, "extra": 1}],
        "typo": 1,
    }
    assert problems(data) == [
        "typo: unknown key (expected one of: as_of, patient, risk_factors, fractures, therapies, "
        "dxa, labs, reassessments)",
        "as_of: not a calendar date: 2026-11-31",
        "patient.sex: unknown sex 'x' (expected one of: female, male)",
        "therapies[0].end: before start 2024-05-01",
        "therapies[0].doses[0]: before start 2024-05-01",
        "therapies[1].drug: unknown drug 'nope' (expected one of: alendronate, risedronate, "
        "ibandronate, zoledronic_acid, denosumab, teriparatide, abaloparatide, romosozumab, "
        "raloxifene, other)",
        "therapies[1].start: must be a date YYYY-MM-DD",
        "labs[0].extra: unknown key (expected one of: date, test, value, unit)",
        "labs[0].value: must not be negative",
    ]


def test_problem_reads_path_colon_message() -> None:
    problem = Problem("therapies[2].end", "before start 2024-05-01")
    assert str(problem) == "therapies[2].end: before start 2024-05-01"
    error = CaseError([problem, Problem("as_of", "missing (required)")])
    assert str(error) == "therapies[2].end: before start 2024-05-01\nas_of: missing (required)"


def test_missing_keys_take_the_defaults() -> None:
    parsed = parse_case(
        {"as_of": "2026-11-25", "fractures": [{"date": "2025-01-01", "site": "rib"}]}
    )
    assert parsed == Case(
        as_of=dt.date(2026, 11, 25),
        patient=Patient(),
        risk_factors=RiskFactors(),
        fractures=(Fracture(dt.date(2025, 1, 1), FractureSite.RIB, fragility=True),),
    )


def test_name_and_mrn_are_optional_strings() -> None:
    parsed = parse_case(changed("patient", {"sex": "male", "name": "A. Patient", "mrn": "H-17"}))
    assert (parsed.patient.name, parsed.patient.mrn) == ("A. Patient", "H-17")
    assert "name" not in case_to_json(parse_case(VALID))["patient"]
    assert case_to_json(parsed)["patient"]["mrn"] == "H-17"


def test_dxa_sites_are_ordered_whatever_the_json_order() -> None:
    data = changed(
        "dxa.0.sites", {"total_hip": {"bmd_g_cm2": 0.7}, "lumbar_spine": {"t_score": -2.0}}
    )
    sites = parse_case(data).dxa[0].sites
    assert [site for site, _ in sites] == ["lumbar_spine", "total_hip"]


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_case_to_json_round_trips_every_shared_case(path: Path) -> None:
    parsed = parse_case(json.loads(path.read_text())["case"])
    document = case_to_json(parsed)
    assert parse_case(document) == parsed
    assert parse_case(json.loads(json.dumps(document))) == parsed


def test_case_to_json_writes_every_key() -> None:
    document = case_to_json(parse_case({"as_of": "2026-11-25"}))
    assert list(document) == [
        "as_of",
        "patient",
        "risk_factors",
        "fractures",
        "therapies",
        "dxa",
        "labs",
        "reassessments",
    ]
    assert document["patient"] == {"sex": None, "birth_date": None}
    assert document["risk_factors"]["alcohol_drinks_per_day"] == 0
    assert document["risk_factors"]["frax_hip_pct"] is None
    assert len(document["risk_factors"]) == 20
