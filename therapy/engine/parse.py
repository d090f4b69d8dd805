"""Case JSON ⇄ `Case` (CASE_FORMAT.md, "Case").

`parse_case` checks a decoded JSON value completely and reports every problem with its JSON
path (`therapies[2].end: before start 2024-05-01`), so that a typo never passes silently.
`case_to_json` is its inverse: `parse_case(case_to_json(case)) == case`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, TypeVar

from therapy.engine.case import (
    CardiovascularEvent,
    CardiovascularEventKind,
    Case,
    Drug,
    DxaScan,
    DxaSite,
    Fracture,
    FractureSite,
    GlucocorticoidExposure,
    LabResult,
    LabTest,
    Patient,
    RiskFactors,
    Sex,
    SiteReading,
    StopReason,
    TherapyCourse,
)
from therapy.engine.limits import (
    BMD_G_CM2_RANGE,
    DATE_RANGE,
    FRAX_PCT_RANGE,
    ROMOSOZUMAB_MAX_DOSES,
    T_SCORE_RANGE,
)

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

#: The path of the whole document.
ROOT = "$"

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_CASE_KEYS = (
    "as_of",
    "patient",
    "risk_factors",
    "fractures",
    "therapies",
    "dxa",
    "labs",
    "reassessments",
)
_PATIENT_KEYS = ("sex", "birth_date", "name", "mrn")
_RISK_FLAGS = (
    "oral_bisphosphonate_intolerance",
    "oral_bisphosphonate_contraindication",
    "organ_transplant",
    "cancer_treatment_bone_loss",
    "skeletal_radiation",
    "bone_metastases",
    "pagets_disease",
    "unexplained_elevated_alp",
    "open_epiphyses",
    "hypercalcemia",
    "hypocalcemia",
    "high_fall_risk",
    "current_smoker",
)
#: RiskFactors' fields in their declared order (also the JSON order of `case_to_json`).
_RISK_KEYS = tuple(field.name for field in fields(RiskFactors))
_EVENT_KEYS = ("kind", "date")
_GLUCOCORTICOID_KEYS = ("prednisone_mg_per_day", "start", "end")
_FRACTURE_KEYS = ("date", "site", "fragility")
_THERAPY_KEYS = ("drug", "start", "end", "stop_reason", "doses")
_SCAN_KEYS = ("date", "scanner", "sites")
_READING_KEYS = ("bmd_g_cm2", "t_score", "lsc_pct")
_LAB_KEYS = ("date", "test", "value", "unit")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a case, at a JSON path (`$` is the whole document)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class CaseError(ValueError):
    """A case JSON that is not valid; `problems` lists all that was found, in document order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def _key(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _number_text(value: float) -> str:
    return f"{value:g}"


class _Reader:
    """Reads JSON values, recording each problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def report(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def object(
        self, value: Any, path: str, keys: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        """A JSON object with only `keys`, holding every key of `required`."""
        if not isinstance(value, dict):
            self.report(path, "must be an object")
            return None
        self.keys(value, path, keys, required)
        return value

    def keys(
        self, obj: dict[str, Any], path: str, keys: tuple[str, ...], required: tuple[str, ...]
    ) -> None:
        """Report unknown keys (a typo never passes silently) and missing required ones."""
        for key in obj:
            if key not in keys:
                self.report(_key(path, key), f"unknown key (expected one of: {', '.join(keys)})")
        for key in required:
            if key not in obj:
                self.report(_key(path, key), "missing (required)")

    def array(
        self, obj: dict[str, Any], key: str, path: str, read: Callable[[Any, str], T | None]
    ) -> tuple[T, ...]:
        """An optional list (default empty), each item read by `read` at `path[i]`."""
        value = obj.get(key, [])
        where = _key(path, key)
        if not isinstance(value, list):
            self.report(where, "must be a list")
            return ()
        items = (read(item, f"{where}[{index}]") for index, item in enumerate(value))
        return tuple(item for item in items if item is not None)

    def date(self, value: Any, path: str) -> dt.date | None:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            self.report(path, "must be a date YYYY-MM-DD")
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            self.report(path, f"not a calendar date: {value}")
            return None
        first, last = DATE_RANGE
        if not first <= day <= last:
            self.report(path, f"must be between {first} and {last}")
            return None
        return day

    def optional_date(self, obj: dict[str, Any], key: str, path: str) -> dt.date | None:
        value = obj.get(key)
        return None if value is None else self.date(value, _key(path, key))

    def number(self, value: Any, path: str) -> float | None:
        """A finite JSON number (booleans are not numbers)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.report(path, "must be a number")
            return None
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.report(path, "must be a finite number")
            return None
        return number

    def non_negative(self, value: Any, path: str) -> float | None:
        number = self.number(value, path)
        if number is not None and number < 0:
            self.report(path, "must not be negative")
            return None
        return number

    def between(
        self, value: Any, path: str, bounds: tuple[float, float], unit: str = ""
    ) -> float | None:
        number = self.number(value, path)
        low, high = bounds
        if number is not None and not low <= number <= high:
            self.report(path, f"must be between {_number_text(low)} and {_number_text(high)}{unit}")
            return None
        return number

    def optional(
        self, obj: dict[str, Any], key: str, path: str, read: Callable[[Any, str], T | None]
    ) -> T | None:
        value = obj.get(key)
        return None if value is None else read(value, _key(path, key))

    def flag(self, obj: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = obj.get(key, default)
        if not isinstance(value, bool):
            self.report(_key(path, key), "must be true or false")
            return default
        return value

    def text(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str):
            self.report(path, "must be a string")
            return None
        if not value.strip():
            self.report(path, "must not be empty")
            return None
        return value

    def choice(self, value: Any, path: str, enum: type[E], what: str) -> E | None:
        """One of `enum`'s values, or a problem naming them all."""
        if isinstance(value, str):
            try:
                return enum(value)
            except ValueError:
                pass
        expected = ", ".join(member.value for member in enum)
        shown = f" {value!r}" if isinstance(value, str) else ""
        self.report(path, f"unknown {what}{shown} (expected one of: {expected})")
        return None


def _patient(reader: _Reader, value: Any) -> Patient:
    obj = reader.object(value, "patient", _PATIENT_KEYS)
    if obj is None:
        return Patient()
    return Patient(
        sex=reader.optional(obj, "sex", "patient", lambda v, p: reader.choice(v, p, Sex, "sex")),
        birth_date=reader.optional_date(obj, "birth_date", "patient"),
        name=reader.optional(obj, "name", "patient", reader.text),
        mrn=reader.optional(obj, "mrn", "patient", reader.text),
    )


def _cardiovascular_event(reader: _Reader, value: Any, path: str) -> CardiovascularEvent | None:
    obj = reader.object(value, path, _EVENT_KEYS, required=_EVENT_KEYS)
    if obj is None:
        return None
    kind = reader.optional(
        obj, "kind", path, lambda v, p: reader.choice(v, p, CardiovascularEventKind, "kind")
    )
    day = reader.optional_date(obj, "date", path)
    return None if kind is None or day is None else CardiovascularEvent(kind, day)


def _glucocorticoid(reader: _Reader, value: Any, path: str) -> GlucocorticoidExposure | None:
    obj = reader.object(
        value, path, _GLUCOCORTICOID_KEYS, required=("prednisone_mg_per_day", "start")
    )
    if obj is None:
        return None
    dose = reader.optional(obj, "prednisone_mg_per_day", path, reader.non_negative)
    start = reader.optional_date(obj, "start", path)
    end = reader.optional_date(obj, "end", path)
    if start is not None and end is not None and end < start:
        reader.report(_key(path, "end"), f"before start {start}")
        return None
    if dose is None or start is None:
        return None
    return GlucocorticoidExposure(dose, start, end)


def _immunosuppressant(reader: _Reader, value: Any, path: str) -> str | None:
    return reader.text(value, path)


def _risk_factors(reader: _Reader, value: Any) -> RiskFactors:
    path = "risk_factors"
    obj = reader.object(value, path, _RISK_KEYS)
    if obj is None:
        return RiskFactors()
    flags = {key: reader.flag(obj, key, path, default=False) for key in _RISK_FLAGS}

    def frax(v: Any, p: str) -> float | None:
        return reader.between(v, p, FRAX_PCT_RANGE, " %")

    alcohol = reader.non_negative(
        obj.get("alcohol_drinks_per_day", 0), _key(path, "alcohol_drinks_per_day")
    )
    return RiskFactors(
        creatinine_clearance_ml_min=reader.optional(
            obj, "creatinine_clearance_ml_min", path, reader.non_negative
        ),
        cardiovascular_events=reader.array(
            obj, "cardiovascular_events", path, lambda v, p: _cardiovascular_event(reader, v, p)
        ),
        immunosuppressants=reader.array(
            obj, "immunosuppressants", path, lambda v, p: _immunosuppressant(reader, v, p)
        ),
        glucocorticoids=reader.array(
            obj, "glucocorticoids", path, lambda v, p: _glucocorticoid(reader, v, p)
        ),
        frax_major_osteoporotic_pct=reader.optional(obj, "frax_major_osteoporotic_pct", path, frax),
        frax_hip_pct=reader.optional(obj, "frax_hip_pct", path, frax),
        alcohol_drinks_per_day=0.0 if alcohol is None else alcohol,
        **flags,
    )


def _fracture(reader: _Reader, value: Any, path: str) -> Fracture | None:
    obj = reader.object(value, path, _FRACTURE_KEYS, required=("date", "site"))
    if obj is None:
        return None
    day = reader.optional_date(obj, "date", path)
    site = reader.optional(
        obj, "site", path, lambda v, p: reader.choice(v, p, FractureSite, "site")
    )
    fragility = reader.flag(obj, "fragility", path, default=True)
    return None if day is None or site is None else Fracture(day, site, fragility)


def _therapy(reader: _Reader, value: Any, path: str) -> TherapyCourse | None:
    obj = reader.object(value, path, _THERAPY_KEYS, required=("drug", "start"))
    if obj is None:
        return None
    before = len(reader.problems)
    drug = reader.optional(obj, "drug", path, lambda v, p: reader.choice(v, p, Drug, "drug"))
    start = reader.optional_date(obj, "start", path)
    end = reader.optional_date(obj, "end", path)
    if start is not None and end is not None and end < start:
        reader.report(_key(path, "end"), f"before start {start}")
        end = None
    stop_reason = reader.optional(
        obj, "stop_reason", path, lambda v, p: reader.choice(v, p, StopReason, "stop_reason")
    )

    def dose(v: Any, p: str) -> dt.date | None:
        day = reader.date(v, p)
        if day is not None and start is not None and day < start:
            reader.report(p, f"before start {start}")
        elif day is not None and end is not None and day > end:
            reader.report(p, f"after end {end}")
        return day

    doses = reader.array(obj, "doses", path, dose)
    if drug == Drug.ROMOSOZUMAB and len(doses) > ROMOSOZUMAB_MAX_DOSES:
        reader.report(
            _key(path, "doses"),
            f"more than {ROMOSOZUMAB_MAX_DOSES} romosozumab doses ({len(doses)})",
        )
    if len(reader.problems) > before or drug is None or start is None:
        return None
    return TherapyCourse(drug, start, end, stop_reason, doses)


def _reading(reader: _Reader, value: Any, path: str) -> SiteReading | None:
    obj = reader.object(value, path, _READING_KEYS)
    if obj is None:
        return None

    def bmd(v: Any, p: str) -> float | None:
        return reader.between(v, p, BMD_G_CM2_RANGE, " g/cm²")

    def t_score(v: Any, p: str) -> float | None:
        return reader.between(v, p, T_SCORE_RANGE)

    def lsc(v: Any, p: str) -> float | None:
        number = reader.number(v, p)
        if number is not None and number <= 0:
            reader.report(p, "must be greater than 0")
            return None
        return number

    return SiteReading(
        bmd_g_cm2=reader.optional(obj, "bmd_g_cm2", path, bmd),
        t_score=reader.optional(obj, "t_score", path, t_score),
        lsc_pct=reader.optional(obj, "lsc_pct", path, lsc),
    )


def _scan(reader: _Reader, value: Any, path: str) -> DxaScan | None:
    obj = reader.object(value, path, _SCAN_KEYS, required=("date",))
    if obj is None:
        return None
    day = reader.optional_date(obj, "date", path)
    scanner = reader.optional(obj, "scanner", path, reader.text)
    sites_path = _key(path, "sites")
    sites_value = obj.get("sites", {})
    sites = reader.object(sites_value, sites_path, tuple(site.value for site in DxaSite))
    readings: list[tuple[DxaSite, SiteReading]] = []
    if sites is not None:
        for site in DxaSite:  # ordered as DxaSite, whatever the JSON order
            if site.value in sites:
                reading = _reading(reader, sites[site.value], _key(sites_path, site.value))
                if reading is not None:
                    readings.append((site, reading))
    return None if day is None else DxaScan(day, tuple(readings), scanner)


def _lab(reader: _Reader, value: Any, path: str) -> LabResult | None:
    obj = reader.object(value, path, _LAB_KEYS, required=("date", "test", "value"))
    if obj is None:
        return None
    day = reader.optional_date(obj, "date", path)
    test = reader.optional(obj, "test", path, lambda v, p: reader.choice(v, p, LabTest, "test"))
    number = reader.optional(obj, "value", path, reader.non_negative)
    unit = reader.optional(obj, "unit", path, reader.text)
    if day is None or test is None or number is None:
        return None
    return LabResult(day, test, number, unit)


def parse_case(data: object) -> Case:
    """Validate a decoded case JSON and build the `Case`; raise `CaseError` with every problem.

    Missing optional keys take CASE_FORMAT's defaults (empty lists, false, null; `fragility`
    true). Reading, beyond CASE_FORMAT's list of checks: dates must lie within
    `limits.DATE_RANGE`, FRAX within 0–100 %, numbers must not be negative (T-scores aside) and
    text entries must not be blank.
    """
    if not isinstance(data, dict):
        raise CaseError([Problem(ROOT, "not a JSON object")])
    reader = _Reader()
    reader.keys(data, "", _CASE_KEYS, required=("as_of",))
    as_of = reader.date(data["as_of"], "as_of") if "as_of" in data else None
    patient = _patient(reader, data.get("patient", {}))
    risk_factors = _risk_factors(reader, data.get("risk_factors", {}))
    fractures = reader.array(data, "fractures", "", lambda v, p: _fracture(reader, v, p))
    therapies = reader.array(data, "therapies", "", lambda v, p: _therapy(reader, v, p))
    dxa = reader.array(data, "dxa", "", lambda v, p: _scan(reader, v, p))
    labs = reader.array(data, "labs", "", lambda v, p: _lab(reader, v, p))
    reassessments = reader.array(data, "reassessments", "", reader.date)
    if reader.problems or as_of is None:
        raise CaseError(reader.problems)
    return Case(as_of, patient, risk_factors, fractures, therapies, dxa, labs, reassessments)


def _day(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _value(member: StrEnum | None) -> str | None:
    return None if member is None else member.value


def case_to_json(case: Case) -> dict[str, Any]:
    """The case as CASE_FORMAT JSON, every key present (defaults included), dates as strings.

    `patient.name` and `patient.mrn` are left out when they are None.
    """
    patient: dict[str, Any] = {
        "sex": _value(case.patient.sex),
        "birth_date": _day(case.patient.birth_date),
    }
    if case.patient.name is not None:
        patient["name"] = case.patient.name
    if case.patient.mrn is not None:
        patient["mrn"] = case.patient.mrn
    risk = case.risk_factors
    risk_json: dict[str, Any] = {}
    for key in _RISK_KEYS:
        value = getattr(risk, key)
        if key == "cardiovascular_events":
            value = [{"kind": e.kind.value, "date": e.date.isoformat()} for e in value]
        elif key == "immunosuppressants":
            value = list(value)
        elif key == "glucocorticoids":
            value = [
                {
                    "prednisone_mg_per_day": g.prednisone_mg_per_day,
                    "start": g.start.isoformat(),
                    "end": _day(g.end),
                }
                for g in value
            ]
        risk_json[key] = value
    return {
        "as_of": case.as_of.isoformat(),
        "patient": patient,
        "risk_factors": risk_json,
        "fractures": [
            {"date": f.date.isoformat(), "site": f.site.value, "fragility": f.fragility}
            for f in case.fractures
        ],
        "therapies": [
            {
                "drug": t.drug.value,
                "start": t.start.isoformat(),
                "end": _day(t.end),
                "stop_reason": _value(t.stop_reason),
                "doses": [day.isoformat() for day in t.doses],
            }
            for t in case.therapies
        ],
        "dxa": [
            {
                "date": scan.date.isoformat(),
                **({} if scan.scanner is None else {"scanner": scan.scanner}),
                "sites": {
                    site.value: {
                        "bmd_g_cm2": reading.bmd_g_cm2,
                        "t_score": reading.t_score,
                        "lsc_pct": reading.lsc_pct,
                    }
                    for site, reading in scan.sites
                },
            }
            for scan in case.dxa
        ],
        "labs": [
            {
                "date": lab.date.isoformat(),
                "test": lab.test.value,
                "value": lab.value,
                "unit": lab.unit,
            }
            for lab in case.labs
        ],
        "reassessments": [day.isoformat() for day in case.reassessments],
    }
