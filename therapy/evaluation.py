"""The engine, asked about stored records: the case is first held to the limits `parse_case`
holds every case to, so a record stored before those limits existed (or written past them) gets
a message naming what to correct, never a crash or an answer computed from impossible values.

Every page that shows an assessment goes through `case_evaluate` (one patient's record) or
`stored_case_evaluate` (the case stored with a decision).
"""

from __future__ import annotations

import re
from typing import Any

from therapy.engine import Assessment, CaseError, Problem, case_to_json, evaluate, parse_case
from therapy.engine.case import Case
from therapy.exceptions import RecordNotEvaluable


def case_evaluate(case: Case) -> Assessment:
    """The engine's assessment of `case`; `RecordNotEvaluable` when a value is out of limits."""
    data = case_to_json(case)
    try:
        parse_case(data)
    except CaseError as error:
        raise RecordNotEvaluable(case_problems(error.problems, data)) from error
    return evaluate(case)


def stored_case_evaluate(data: Any) -> Assessment:
    """The engine's assessment of a case stored as CASE_FORMAT JSON (a decision's case)."""
    try:
        case = parse_case(data)
    except CaseError as error:
        raise RecordNotEvaluable(case_problems(error.problems, data)) from error
    return evaluate(case)


# --- problems in words ------------------------------------------------------------------------

_STEP = re.compile(r"(\w+)(?:\[(\d+)\])?")

_FIELDS = {
    "birth_date": "birth date",
    "mrn": "MRN",
    "prednisone_mg_per_day": "dose (mg/day)",
    "bmd_g_cm2": "BMD",
    "t_score": "T-score",
    "lsc_pct": "LSC",
    "creatinine_clearance_ml_min": "creatinine clearance",
    "frax_major_osteoporotic_pct": "FRAX major osteoporotic",
    "frax_hip_pct": "FRAX hip",
    "alcohol_drinks_per_day": "alcohol (drinks per day)",
}
_TESTS = {"ctx": "CTX", "p1np": "P1NP", "vitamin_d_25oh": "25-OH vitamin D", "calcium": "Calcium"}


def _words(code: Any) -> str:
    return str(code).replace("_", " ")


Step = tuple[str, int | None]


def _steps(path: str) -> list[Step]:
    return [(m[1], None if m[2] is None else int(m[2])) for m in _STEP.finditer(path)]


def _walk(data: Any, steps: list[Step]) -> Any:
    for key, index in steps:
        data = data.get(key) if isinstance(data, dict) else None
        if index is not None:
            data = data[index] if isinstance(data, list) and index < len(data) else None
    return data


def _shown(value: Any) -> str:
    """The stored value, when it helps to find the record: " 2.7", " 0001-01-01"."""
    if isinstance(value, bool) or not isinstance(value, float | int | str):
        return ""
    if isinstance(value, str):
        return f" {value}" if value.strip() else ""
    return f" {value:g}"


def _record(kind: str, item: Any, index: int) -> str:
    """A list entry of the case in words: "Hip fracture of 2020-05-01"."""

    def of(key: str) -> str:
        value = item.get(key) if isinstance(item, dict) else None
        return str(value) if value is not None else "?"

    described = {
        "fractures": lambda: f"{_words(of('site')).capitalize()} fracture of {of('date')}",
        "therapies": lambda: f"{_words(of('drug')).capitalize()} course from {of('start')}",
        "dxa": lambda: f"DXA scan of {of('date')}",
        "labs": lambda: f"{_TESTS.get(of('test'), of('test'))} of {of('date')}",
        "cardiovascular_events": lambda: f"{_words(of('kind')).capitalize()} of {of('date')}",
        "glucocorticoids": lambda: f"Glucocorticoid exposure from {of('start')}",
        "immunosuppressants": lambda: f"Immunosuppressant {index + 1}",
        "reassessments": lambda: f"Reassessment {index + 1}",
    }.get(kind)
    return described() if described else f"{_words(kind).capitalize()} {index + 1}"


def _field(kind: str, steps: list[Step]) -> str:
    """The value's place inside its record in words: "date", "lumbar spine BMD", "dose 3"."""
    if kind == "dxa" and len(steps) == 3 and steps[0][0] == "sites":
        return f"{_words(steps[1][0])} {_FIELDS.get(steps[2][0], _words(steps[2][0]))}"
    if not steps:
        return {"immunosuppressants": "name", "reassessments": "date"}.get(kind, "")
    words = []
    for key, index in steps:
        if key == "doses":
            words.append(f"dose {(index or 0) + 1} given")
        else:
            name = _FIELDS.get(key, _words(key))
            words.append(name if index is None else f"{name} {index + 1}")
    return " ".join(words)


def _sentence(problem: Problem, data: Any) -> str:
    steps = _steps(problem.path)
    if not steps:
        return str(problem)
    # The record is the list entry the path goes through (risk factors hold lists too).
    at = 1 if steps[0][0] == "risk_factors" and len(steps) > 1 and steps[1][1] is not None else 0
    kind, index = steps[at]
    if index is None:
        record = {"patient": "Patient", "risk_factors": "Risk factors"}.get(kind, _words(kind))
        field = _field("", steps[1:])
    else:
        record = _record(kind, _walk(data, steps[: at + 1]), index)
        field = _field(kind, steps[at + 1 :])
    what = f"{field}{_shown(_walk(data, steps))}".strip()
    return f"{record}: {what} {problem.message}" if what else f"{record}: {problem.message}"


def case_problems(problems: list[Problem], data: Any) -> list[str]:
    """Each problem of a case built from stored records, as a sentence naming the record:
    `fractures[0].date: must be between …` → "Hip fracture of 0001-01-01: date 0001-01-01 must
    be between …"."""
    return [_sentence(problem, data) for problem in problems]
