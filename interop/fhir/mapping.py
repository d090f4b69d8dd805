"""The FHIR R4 mapping (issue 12): Ossa's records out as FHIR resources, FHIR resources in as
the engine's `Case`. Codes come from the one pinned table, `interop.fhir.codes`.

One mapping, both ways, through the engine's own types
    Out: `patient_resources` reads the patient's `Case` with `therapy.case_records` (the one
    records → Case reader) and writes each part of it as a resource (`case_resources`), plus
    what the Case does not hold (MRN system, name parts, date of death). So what an EHR receives
    is exactly what the engine reads; an approximate date (a fracture known to the year) goes
    out as the day the engine reads it on the export date.
    In: `case_from_resources` writes the resources as a case JSON dict (CASE_FORMAT.md) and
    hands it to `therapy.engine.parse_case`, so the engine's own validation and plausibility
    limits apply; its problems are reported at the FHIR path they came from.

Resources (the five the CDS prefetch asks for, so a prefetch carries everything)
    - Patient: MRN identifier (clinic-scoped system, type MR), name, gender, birthDate,
      deceasedDateTime when the patient is recorded deceased.
    - Condition: a fracture (SNOMED site code, onsetDateTime, `fragility` extension);
      osteoporosis (SNOMED 64859006, exported for every patient: the reason the clinic follows
      them; read back and ignored); each yes/no risk factor that holds, and each cardiovascular
      event (dated), under the local `risk-factor` CodeSystem.
    - Observation: DXA BMD and T-score per site (category imaging, LOINC; the femoral neck
      with bodySite SNOMED 29627003; the scanner as `device.display`; the site's LSC as the
      `lsc-pct` extension); labs (category laboratory, LOINC, UCUM); creatinine clearance
      (LOINC 35591-7); FRAX (local `frax` CodeSystem, method); alcohol intake and completed
      reassessments (local `observation` CodeSystem).
    - MedicationStatement: a therapy course (ATC, effectivePeriod, statusReason); an
      immunosuppressant or a glucocorticoid exposure (category under local `medication-role`).
    - MedicationAdministration: a dose, pointing at its course by `supportingInformation`.

Reading FHIR in
    - DXA observations of one date and scanner are one scan.
    - A date must be a whole day (a partial date such as "2016" is refused, not guessed); a
      dateTime is read as its day.
    - An unknown code or code system is a problem (`unknown LOINC 1234-5`); with
      `strict=False` (for an EHR's prefetch, which holds much Ossa does not read) resources
      Ossa does not read are skipped instead, but a known code with bad content still fails.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as PydanticValidationError

from interop.fhir import codes
from patients.models import Patient, PatientStatus
from therapy.engine import CaseError, Problem, parse_case
from therapy.engine import case as c

#: The resource types the mapping writes and reads.
RESOURCE_TYPES = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationStatement",
    "MedicationAdministration",
)
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class FhirMappingError(ValueError):
    """FHIR input that cannot be read as a case; `problems` lists every one found, each the
    engine's `Problem` (a path such as `entry[3].resource.code` and a message)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --- out: Case → resources ---------------------------------------------------------------------


def site_url() -> str:
    return str(settings.OSSA_SITE_URL).rstrip("/")


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)], "text": display}


def _local(name: str, code: str, display: str) -> dict[str, Any]:
    concept = _concept(codes.local_system(site_url(), name), code, display)
    concept["coding"][0]["version"] = codes.LOCAL_VERSION
    return concept


def _quantity(value: float, unit: str | None, ucum: str | None = None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value}
    if unit is not None:
        quantity["unit"] = unit
    code = ucum if ucum is not None else codes.UCUM_UNITS.get(unit or "")
    if code is not None:
        quantity |= {"system": codes.UCUM, "code": code}
    return quantity


_CATEGORY = {
    name: [_concept(codes.OBSERVATION_CATEGORY, name, display)]
    for name, display in (
        ("imaging", "Imaging"),
        ("laboratory", "Laboratory"),
        ("social-history", "Social History"),
        ("survey", "Survey"),
        ("exam", "Exam"),
    )
}
_PROBLEM = [_concept(codes.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]
_ACTIVE = _concept(codes.CONDITION_CLINICAL, "active", "Active")


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """What a Patient resource says beyond the engine's `Case.patient`."""

    id: str
    mrn_system: str
    given_name: str = ""
    family_name: str = ""
    deceased: dt.date | None = None


def _drug_concept(drug: c.Drug) -> dict[str, Any]:
    if drug in codes.DRUG_ATC:
        return _concept(codes.ATC, *codes.DRUG_ATC[drug])
    return _local("drug", drug.value, codes.LOCAL_DRUG[drug])


def case_resources(case: c.Case, facts: PatientFacts) -> list[dict[str, Any]]:
    """Every resource for one patient's `Case`, as plain JSON dicts, in a fixed order (the
    Patient first; courses and scans in the case's order, which the engine's tie-breaks read)."""
    pid = facts.id
    subject = {"reference": f"Patient/{pid}"}
    p = case.patient
    patient: dict[str, Any] = {"resourceType": "Patient", "id": pid}
    if p.mrn:
        patient["identifier"] = [
            {
                "use": "usual",
                "type": _concept(V2_0203, "MR", "Medical record number"),
                "system": facts.mrn_system,
                "value": p.mrn,
            }
        ]
    name: dict[str, Any] = {"use": "official"}
    if p.name:
        name["text"] = p.name
    if facts.family_name:
        name["family"] = facts.family_name
    if facts.given_name:
        name["given"] = facts.given_name.split()
    if len(name) > 1:
        patient["name"] = [name]
    if p.sex is not None:
        patient["gender"] = p.sex.value
    if p.birth_date is not None:
        patient["birthDate"] = p.birth_date.isoformat()
    if facts.deceased is not None:
        patient["deceasedDateTime"] = facts.deceased.isoformat()
    out = [patient]

    def condition(suffix: str, code: dict[str, Any], **more: Any) -> None:
        out.append(
            {
                "resourceType": "Condition",
                "id": f"{pid}-{suffix}",
                "clinicalStatus": _ACTIVE,
                "category": _PROBLEM,
                "code": code,
                "subject": subject,
                **more,
            }
        )

    def observation(suffix: str, code: dict[str, Any], **more: Any) -> None:
        out.append(
            {
                "resourceType": "Observation",
                "id": f"{pid}-{suffix}",
                "status": "final",
                "code": code,
                "subject": subject,
                **more,
            }
        )

    condition("osteoporosis", _concept(codes.SNOMED, *codes.OSTEOPOROSIS))
    fragility_url = codes.extension_url(site_url(), "fragility")
    for i, fracture in enumerate(case.fractures):
        condition(
            f"fracture{i}",
            _concept(codes.SNOMED, *codes.FRACTURE_SITE[fracture.site]),
            onsetDateTime=fracture.date.isoformat(),
            extension=[{"url": fragility_url, "valueBoolean": fracture.fragility}],
        )
    rf = case.risk_factors
    for field_name, (code, display) in codes.RISK_FACTOR_FLAGS.items():
        if getattr(rf, field_name):
            condition(code, _local("risk-factor", code, display))
    for i, event in enumerate(rf.cardiovascular_events):
        code, display = codes.CARDIOVASCULAR_EVENT[event.kind.value]
        condition(
            f"cv{i}", _local("risk-factor", code, display), onsetDateTime=event.date.isoformat()
        )
    if rf.creatinine_clearance_ml_min is not None:
        observation(
            "crcl",
            _concept(codes.LOINC, *codes.CREATININE_CLEARANCE),
            category=_CATEGORY["laboratory"],
            valueQuantity=_quantity(
                rf.creatinine_clearance_ml_min, *codes.CREATININE_CLEARANCE_UNIT
            ),
        )
    for field_name, (code, display) in codes.FRAX.items():
        value = getattr(rf, field_name)
        if value is not None:
            observation(
                f"frax-{code}",
                _local("frax", code, display),
                category=_CATEGORY["exam"],
                valueQuantity=_quantity(value, "%", "%"),
                method=_local("frax", *codes.FRAX_METHOD),
            )
    if rf.alcohol_drinks_per_day:
        observation(
            "alcohol",
            _local("observation", *codes.ALCOHOL),
            category=_CATEGORY["social-history"],
            valueQuantity=_quantity(rf.alcohol_drinks_per_day, codes.ALCOHOL_UNIT[1])
            | {"system": codes.UCUM, "code": codes.ALCOHOL_UNIT[0]},
        )
    for i, agent in enumerate(rf.immunosuppressants):
        out.append(
            {
                "resourceType": "MedicationStatement",
                "id": f"{pid}-immuno{i}",
                "status": "active",
                "category": _local(
                    "medication-role",
                    "immunosuppressant",
                    codes.MEDICATION_ROLE["immunosuppressant"],
                ),
                "medicationCodeableConcept": {"text": agent},
                "subject": subject,
            }
        )
    for i, steroid in enumerate(rf.glucocorticoids):
        period = {"start": steroid.start.isoformat()}
        if steroid.end is not None:
            period["end"] = steroid.end.isoformat()
        out.append(
            {
                "resourceType": "MedicationStatement",
                "id": f"{pid}-steroid{i}",
                "status": "active" if steroid.end is None else "completed",
                "category": _local(
                    "medication-role", "glucocorticoid", codes.MEDICATION_ROLE["glucocorticoid"]
                ),
                "medicationCodeableConcept": {"text": "glucocorticoid, prednisone equivalent"},
                "subject": subject,
                "effectivePeriod": period,
                "dosage": [
                    {
                        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                        "doseAndRate": [
                            {"doseQuantity": _quantity(steroid.prednisone_mg_per_day, "mg", "mg")}
                        ],
                    }
                ],
            }
        )
    for i, course in enumerate(case.therapies):
        course_id = f"{pid}-course{i}"
        drug = _drug_concept(course.drug)
        period = {"start": course.start.isoformat()}
        if course.end is not None:
            period["end"] = course.end.isoformat()
        statement: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": course_id,
            "status": "active" if course.end is None else "completed",
            "medicationCodeableConcept": drug,
            "subject": subject,
            "effectivePeriod": period,
        }
        if course.stop_reason is not None:
            statement["statusReason"] = [
                _local(
                    "stop-reason",
                    course.stop_reason.value,
                    codes.STOP_REASON_DISPLAY[course.stop_reason.value],
                )
            ]
        out.append(statement)
        for j, day in enumerate(course.doses):
            out.append(
                {
                    "resourceType": "MedicationAdministration",
                    "id": f"{course_id}-dose{j}",
                    "status": "completed",
                    "medicationCodeableConcept": drug,
                    "subject": subject,
                    "effectiveDateTime": day.isoformat(),
                    "supportingInformation": [{"reference": f"MedicationStatement/{course_id}"}],
                }
            )
    lsc_url = codes.extension_url(site_url(), "lsc-pct")
    for i, scan in enumerate(case.dxa):
        for site, reading in scan.sites:
            common: dict[str, Any] = {
                "category": _CATEGORY["imaging"],
                "effectiveDateTime": scan.date.isoformat(),
            }
            if site in codes.DXA_BODY_SITE:
                common["bodySite"] = _concept(codes.SNOMED, *codes.DXA_BODY_SITE[site])
            if scan.scanner is not None:
                common["device"] = {"display": scan.scanner}
            lsc = (
                []
                if reading.lsc_pct is None
                else [{"url": lsc_url, "valueDecimal": reading.lsc_pct}]
            )
            if reading.bmd_g_cm2 is not None:
                observation(
                    f"dxa{i}-{site.value.replace('_', '-')}-bmd",
                    _concept(codes.LOINC, *codes.DXA_BMD[site]),
                    valueQuantity=_quantity(reading.bmd_g_cm2, codes.BMD_UNIT[1], "g/cm2"),
                    **common,
                    **({"extension": lsc} if lsc else {}),
                )
                lsc = []
            if reading.t_score is not None:
                observation(
                    f"dxa{i}-{site.value.replace('_', '-')}-t",
                    _concept(codes.LOINC, *codes.DXA_T_SCORE[site]),
                    valueQuantity=_quantity(reading.t_score, *reversed(codes.T_SCORE_UNIT)),
                    **common,
                    **({"extension": lsc} if lsc else {}),
                )
    for i, lab in enumerate(case.labs):
        observation(
            f"lab{i}",
            _concept(codes.LOINC, *codes.LAB[lab.test]),
            category=_CATEGORY["laboratory"],
            effectiveDateTime=lab.date.isoformat(),
            valueQuantity=_quantity(lab.value, lab.unit),
        )
    for i, day in enumerate(case.reassessments):
        observation(
            f"reassessment{i}",
            _local("observation", *codes.REASSESSMENT),
            category=_CATEGORY["survey"],
            effectiveDateTime=day.isoformat(),
        )
    return out


def facts_for(patient: Patient) -> PatientFacts:
    """The Patient resource's facts beyond the Case, from a stored `patients.Patient`."""
    return PatientFacts(
        id=str(patient.pk),
        mrn_system=codes.mrn_system(site_url(), patient.clinic.slug),
        given_name=patient.given_name,
        family_name=patient.family_name,
        deceased=patient.status_date if patient.status == PatientStatus.DECEASED else None,
    )


def patient_resources(patient: Patient, *, as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """Every FHIR R4 resource (plain JSON dicts) for one stored patient (`patient.clinic`
    should be loaded), read through `therapy.case_records` on `as_of` (default today)."""
    from django.utils import timezone

    from therapy.case_records import case_for_patient

    case = case_for_patient(patient.pk, as_of=as_of or timezone.localdate())
    return case_resources(case, facts_for(patient))


def validate(resource: dict[str, Any], path: str = "resource") -> list[Problem]:
    """The problems `fhir.resources` (R4B) finds with one resource, at FHIR paths."""
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(kind, str):
        return [Problem(path, "not a FHIR resource (no resourceType)")]
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError):
        return [Problem(f"{path}.resourceType", f"unknown resourceType {kind!r}")]
    try:
        model.model_validate(resource)
    except PydanticValidationError as error:
        return [
            Problem(
                ".".join([path, *(str(part) for part in e["loc"])]) if e["loc"] else path,
                e["msg"],
            )
            for e in error.errors()
        ]
    return []


# --- in: resources → case JSON → Case ------------------------------------------------------------

_BY_SITE = {code: site for site, (code, _) in codes.FRACTURE_SITE.items()}
_BMD = {code: site for site, (code, _) in codes.DXA_BMD.items()}
_T_SCORE = {code: site for site, (code, _) in codes.DXA_T_SCORE.items()}
_LAB = {code: test for test, (code, _) in codes.LAB.items()}
_ATC = {code: drug for drug, (code, _) in codes.DRUG_ATC.items()}
_LOCAL_DRUG = {drug.value: drug for drug in codes.LOCAL_DRUG}
_FLAGS = {code: name for name, (code, _) in codes.RISK_FACTOR_FLAGS.items()}
_CV = {code: kind for kind, (code, _) in codes.CARDIOVASCULAR_EVENT.items()}
_FRAX = {code: name for name, (code, _) in codes.FRAX.items()}
_SYSTEM_NAME = {
    codes.LOINC: "LOINC",
    codes.SNOMED: "SNOMED",
    codes.ATC: "ATC",
}
#: The SNOMED codes read and ignored (osteoporosis: the reason the clinic follows the patient).
_IGNORED_SNOMED = {codes.OSTEOPOROSIS[0]}


@dataclass
class _Unread(Exception):
    """A resource Ossa does not read (skipped when not strict)."""

    problem: Problem


@dataclass(frozen=True, slots=True)
class FhirPatient:
    """One patient read from FHIR: the engine's Case and what the Patient resource adds."""

    path: str
    resource_id: str | None
    mrn: str | None
    given_name: str
    family_name: str
    deceased: dt.date | None
    case: c.Case
    #: case JSON path → FHIR path, to report a problem found when the case is written.
    origins: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def locate(self, problem: Any) -> Problem:
        """A problem at a case JSON path (`fractures[0].date: …`), at its FHIR path."""
        return _translate(problem, self.origins)


@dataclass
class _Reader:
    as_of: dt.date
    strict: bool
    problems: list[Problem] = field(default_factory=list)
    #: case JSON path → the FHIR path it was read from (to report the engine's problems).
    origins: dict[str, str] = field(default_factory=dict)

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def day(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str):
            self.fail(path, "a date is required")
            return None
        if len(value) < 10 or not re.match(r"^\d{4}-\d{2}-\d{2}", value):
            self.fail(path, f"{value!r} is not a whole day (a partial date is not guessed)")
            return None
        try:
            return dt.date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            self.fail(path, f"{value!r} is not a date")
            return None

    def number(self, quantity: Any, path: str) -> float | None:
        value = quantity.get("value") if isinstance(quantity, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"{path}.value", "a number is required")
            return None
        return value


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        return []
    return [coding for coding in concept["coding"] if isinstance(coding, dict)]


def _pick(concept: Any, path: str, tables: dict[str, dict[str, Any]]) -> tuple[str, Any]:
    """(system key, value) of the concept's first coding found in `tables` (system URL →
    code → value); raise `_Unread` naming the first coding when none is known."""
    codings = _codings(concept)
    for coding in codings:
        table = tables.get(coding.get("system", ""))
        if table is not None and coding.get("code") in table:
            return coding["system"], table[coding["code"]]
    if not codings:
        raise _Unread(Problem(path, "no coding"))
    first = codings[0]
    system, code = first.get("system"), first.get("code")
    if system in _SYSTEM_NAME:
        raise _Unread(Problem(path, f"unknown {_SYSTEM_NAME[system]} {code}"))
    if system in tables:
        raise _Unread(Problem(path, f"unknown code {code} in {system}"))
    raise _Unread(Problem(path, f"unknown code system {system} (code {code})"))


def _reference_id(reference: Any, kind: str) -> str | None:
    """The id of `Kind/id` (or a full URL ending so, or a urn:uuid fullUrl) in a Reference."""
    text = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(text, str):
        return None
    if text.startswith("urn:"):
        return text
    parts = text.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == kind:
        return parts[-1]
    return None


def _mrn(patient: dict[str, Any]) -> str | None:
    identifiers = [i for i in patient.get("identifier") or [] if isinstance(i, dict)]
    for identifier in identifiers:
        if any(
            coding.get("system") == V2_0203 and coding.get("code") == "MR"
            for coding in _codings(identifier.get("type"))
        ) or str(identifier.get("system", "")).endswith("/mrn"):
            return identifier.get("value")
    return identifiers[0].get("value") if len(identifiers) == 1 else None


class _CaseBuilder:
    """Collects one patient's resources into a case JSON dict."""

    def __init__(self, reader: _Reader, patient: dict[str, Any], path: str) -> None:
        self.r = reader
        self.path = path
        self.patient = patient
        self.risk: dict[str, Any] = {}
        self.fractures: list[dict[str, Any]] = []
        self.courses: dict[str, dict[str, Any]] = {}  # statement id → course JSON
        self.course_order: list[str] = []
        self.doses: list[tuple[str, str, str]] = []  # (course id, day, path)
        self.scans: dict[tuple[str, str | None], dict[str, Any]] = {}
        self.labs: list[dict[str, Any]] = []
        self.reassessments: list[str] = []
        self.full_url: str | None = None  # the fullUrl of the resource being read
        self.latest: dict[str, str] = {}  # risk factor → date of the value kept

    def origin(self, case_path: str, fhir_path: str) -> None:
        self.r.origins[case_path] = fhir_path

    # Each reader takes a resource and its path; raises _Unread for one Ossa does not read.

    def condition(self, res: dict[str, Any], path: str) -> None:
        system, value = _pick(
            res.get("code"),
            f"{path}.code",
            {
                codes.SNOMED: {**_BY_SITE, **dict.fromkeys(_IGNORED_SNOMED, None)},
                codes.local_system(site_url(), "risk-factor"): {
                    **{k: ("flag", v) for k, v in _FLAGS.items()},
                    **{k: ("cv", v) for k, v in _CV.items()},
                },
            },
        )
        if value is None or _not_current(res):
            return
        if system == codes.SNOMED:
            i = len(self.fractures)
            day = self.r.day(res.get("onsetDateTime"), f"{path}.onsetDateTime")
            fragility = True
            for extension in res.get("extension") or []:
                if extension.get("url") == codes.extension_url(site_url(), "fragility"):
                    fragility = extension.get("valueBoolean", True)
            self.fractures.append({"date": day, "site": value.value, "fragility": fragility})
            self.origin(f"fractures[{i}]", path)
            self.origin(f"fractures[{i}].date", f"{path}.onsetDateTime")
            return
        kind, name = value
        if kind == "flag" and _resolved(res):
            return
        if kind == "flag":
            self.risk[name] = True
            self.origin(f"risk_factors.{name}", path)
            return
        events = self.risk.setdefault("cardiovascular_events", [])
        self.origin(f"risk_factors.cardiovascular_events[{len(events)}]", path)
        self.origin(
            f"risk_factors.cardiovascular_events[{len(events)}].date", f"{path}.onsetDateTime"
        )
        events.append(
            {"kind": name, "date": self.r.day(res.get("onsetDateTime"), f"{path}.onsetDateTime")}
        )

    def observation(self, res: dict[str, Any], path: str) -> None:
        system, (kind, value) = _pick(
            res.get("code"),
            f"{path}.code",
            {
                codes.LOINC: {
                    **{k: ("bmd", v) for k, v in _BMD.items()},
                    **{k: ("t", v) for k, v in _T_SCORE.items()},
                    **{k: ("lab", v) for k, v in _LAB.items()},
                    codes.CREATININE_CLEARANCE[0]: ("crcl", None),
                },
                codes.local_system(site_url(), "frax"): {k: ("frax", v) for k, v in _FRAX.items()},
                codes.local_system(site_url(), "observation"): {
                    codes.ALCOHOL[0]: ("alcohol", None),
                    codes.REASSESSMENT[0]: ("reassessment", None),
                },
            },
        )
        if res.get("status") in ("cancelled", "entered-in-error"):
            return
        vq = f"{path}.valueQuantity"
        if kind == "reassessment":
            self.origin(f"reassessments[{len(self.reassessments)}]", f"{path}.effectiveDateTime")
            self.reassessments.append(
                self.r.day(res.get("effectiveDateTime"), f"{path}.effectiveDateTime")
            )
            return
        number = self.r.number(res.get("valueQuantity"), vq)
        single = {
            "crcl": "creatinine_clearance_ml_min",
            "frax": value,
            "alcohol": "alcohol_drinks_per_day",
        }.get(kind)
        if single is not None:
            # One value per patient: of several (an EHR's history), the latest effective one.
            when = str(res.get("effectiveDateTime") or "")
            if single not in self.latest or when >= self.latest[single]:
                self.latest[single] = when
                self.risk[single] = number
                self.origin(f"risk_factors.{single}", f"{vq}.value")
            return
        if kind == "lab":
            i = len(self.labs)
            unit = (res.get("valueQuantity") or {}).get("unit")
            lab = {
                "date": self.r.day(res.get("effectiveDateTime"), f"{path}.effectiveDateTime"),
                "test": value.value,
                "value": number,
            }
            if unit is not None:
                lab["unit"] = unit
            self.labs.append(lab)
            self.origin(f"labs[{i}]", path)
            self.origin(f"labs[{i}].date", f"{path}.effectiveDateTime")
            self.origin(f"labs[{i}].value", f"{vq}.value")
            self.origin(f"labs[{i}].unit", f"{vq}.unit")
        else:  # a DXA reading
            if value is c.DxaSite.FEMORAL_NECK and not any(
                coding.get("system") == codes.SNOMED
                and coding.get("code") == codes.FEMORAL_NECK_SITE[0]
                for coding in _codings(res.get("bodySite"))
            ):
                raise _Unread(
                    Problem(
                        f"{path}.bodySite",
                        "a femur DXA reading without bodySite SNOMED "
                        f"{codes.FEMORAL_NECK_SITE[0]} (femoral neck) is not read",
                    )
                )
            day = self.r.day(res.get("effectiveDateTime"), f"{path}.effectiveDateTime")
            scanner = (res.get("device") or {}).get("display")
            key = (day or "", scanner)
            if key not in self.scans:
                scan_path = f"dxa[{len(self.scans)}]"
                self.scans[key] = {"date": day, "sites": {}, "_path": scan_path}
                if scanner is not None:
                    self.scans[key]["scanner"] = scanner
                self.origin(f"{scan_path}.date", f"{path}.effectiveDateTime")
            scan = self.scans[key]
            reading = scan["sites"].setdefault(value.value, {})
            measure = "bmd_g_cm2" if kind == "bmd" else "t_score"
            if measure in reading:
                self.r.fail(path, f"a second {measure} for {value.value} in the scan of {day}")
            reading[measure] = number
            site_path = f"{scan['_path']}.sites.{value.value}"
            self.origin(site_path, path)
            self.origin(f"{site_path}.{measure}", f"{vq}.value")
            for extension in res.get("extension") or []:
                if extension.get("url") == codes.extension_url(site_url(), "lsc-pct"):
                    reading["lsc_pct"] = extension.get("valueDecimal")
                    self.origin(f"{site_path}.lsc_pct", f"{path}.extension")

    def medication_statement(self, res: dict[str, Any], path: str) -> None:
        if res.get("status") in ("entered-in-error", "not-taken"):
            return
        roles = {
            coding.get("code")
            for coding in _codings(res.get("category"))
            if coding.get("system") == codes.local_system(site_url(), "medication-role")
        }
        period = res.get("effectivePeriod") or {}
        if "immunosuppressant" in roles:
            name = (res.get("medicationCodeableConcept") or {}).get("text")
            agents = self.risk.setdefault("immunosuppressants", [])
            self.origin(f"risk_factors.immunosuppressants[{len(agents)}]", path)
            agents.append(name)
            return
        if "glucocorticoid" in roles:
            steroids = self.risk.setdefault("glucocorticoids", [])
            i = len(steroids)
            try:
                dose = res["dosage"][0]["doseAndRate"][0]["doseQuantity"]
            except (KeyError, IndexError, TypeError):
                dose = None
            dose_path = f"{path}.dosage[0].doseAndRate[0].doseQuantity"
            steroids.append(
                {
                    "prednisone_mg_per_day": self.r.number(dose, dose_path),
                    "start": self.r.day(period.get("start"), f"{path}.effectivePeriod.start"),
                    "end": None
                    if period.get("end") is None
                    else self.r.day(period.get("end"), f"{path}.effectivePeriod.end"),
                }
            )
            base = f"risk_factors.glucocorticoids[{i}]"
            self.origin(base, path)
            self.origin(f"{base}.prednisone_mg_per_day", f"{dose_path}.value")
            self.origin(f"{base}.start", f"{path}.effectivePeriod.start")
            self.origin(f"{base}.end", f"{path}.effectivePeriod.end")
            return
        _, drug = _pick(
            res.get("medicationCodeableConcept"),
            f"{path}.medicationCodeableConcept",
            {codes.ATC: _ATC, codes.local_system(site_url(), "drug"): _LOCAL_DRUG},
        )
        stop = None
        for concept in res.get("statusReason") or []:
            for coding in _codings(concept):
                if coding.get("system") == codes.local_system(site_url(), "stop-reason"):
                    stop = coding.get("code")
                    if stop not in codes.STOP_REASON_DISPLAY:
                        self.r.fail(f"{path}.statusReason", f"unknown stop reason {stop}")
        course = {
            "drug": drug.value,
            "start": self.r.day(period.get("start"), f"{path}.effectivePeriod.start"),
            "end": None
            if period.get("end") is None
            else self.r.day(period.get("end"), f"{path}.effectivePeriod.end"),
            "stop_reason": stop,
            "doses": [],
        }
        key = str(res.get("id") or f"#{len(self.course_order)}")
        base = f"therapies[{len(self.course_order)}]"
        self.origin(base, path)
        self.origin(f"{base}.drug", f"{path}.medicationCodeableConcept")
        self.origin(f"{base}.start", f"{path}.effectivePeriod.start")
        self.origin(f"{base}.end", f"{path}.effectivePeriod.end")
        course["_base"] = base
        self.courses[key] = course
        if self.full_url:
            self.courses[self.full_url] = course
        self.course_order.append(key)

    def medication_administration(self, res: dict[str, Any], path: str) -> None:
        if res.get("status") in ("entered-in-error", "not-done"):
            return
        course_id = None
        for reference in res.get("supportingInformation") or []:
            course_id = _reference_id(reference, "MedicationStatement") or course_id
        day = self.r.day(res.get("effectiveDateTime"), f"{path}.effectiveDateTime")
        if course_id is None:
            raise _Unread(
                Problem(
                    f"{path}.supportingInformation",
                    "a dose must point at its course (a MedicationStatement)",
                )
            )
        self.doses.append((course_id, day or "", path))

    def case_json(self) -> dict[str, Any]:
        p = self.patient
        patient: dict[str, Any] = {}
        if "gender" in p:
            patient["sex"] = p["gender"]
            self.origin("patient.sex", f"{self.path}.gender")
        if "birthDate" in p:
            patient["birth_date"] = self.r.day(p["birthDate"], f"{self.path}.birthDate")
            self.origin("patient.birth_date", f"{self.path}.birthDate")
        name = _name(p)
        if name:
            patient["name"] = name
        mrn = _mrn(p)
        if mrn:
            patient["mrn"] = mrn
            self.origin("patient.mrn", f"{self.path}.identifier")
        for course_id, day, path in self.doses:
            course = self.courses.get(course_id) or self.courses.get(
                course_id.removeprefix("urn:uuid:")
            )
            if course is None:
                self.r.fail(
                    f"{path}.supportingInformation",
                    f"refers to MedicationStatement {course_id}, which is not in the input",
                )
                continue
            self.origin(f"{course['_base']}.doses[{len(course['doses'])}]", path)
            course["doses"].append(day)
        therapies = []
        for key in self.course_order:  # (a course under its fullUrl too is listed once)
            course = dict(self.courses[key])
            course.pop("_base")
            course["doses"] = sorted(course["doses"])
            therapies.append(course)
        dxa = []
        for scan in self.scans.values():
            scan = dict(scan)
            scan.pop("_path")
            dxa.append(scan)
        return {
            "as_of": self.r.as_of.isoformat(),
            "patient": patient,
            "risk_factors": self.risk,
            "fractures": self.fractures,
            "therapies": therapies,
            "dxa": dxa,
            "labs": self.labs,
            "reassessments": self.reassessments,
        }


def _not_current(res: dict[str, Any]) -> bool:
    """A condition recorded in error or refuted is not read."""
    return any(
        coding.get("code") in ("refuted", "entered-in-error")
        for coding in _codings(res.get("verificationStatus"))
    )


def _resolved(res: dict[str, Any]) -> bool:
    """A risk factor no longer present (inactive, remission, resolved) does not hold."""
    return any(
        coding.get("code") in ("inactive", "remission", "resolved")
        for coding in _codings(res.get("clinicalStatus"))
    )


def _name(patient: dict[str, Any]) -> str:
    given, family = _name_parts(patient)
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    if names and names[0].get("text"):
        return str(names[0]["text"]).strip()
    return f"{given} {family}".strip()


def _name_parts(patient: dict[str, Any]) -> tuple[str, str]:
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    if not names:
        return "", ""
    official = next((n for n in names if n.get("use") == "official"), names[0])
    given = " ".join(str(g) for g in official.get("given") or [])
    return given.strip(), str(official.get("family") or "").strip()


_READERS = {
    "Condition": _CaseBuilder.condition,
    "Observation": _CaseBuilder.observation,
    "MedicationStatement": _CaseBuilder.medication_statement,
    "MedicationAdministration": _CaseBuilder.medication_administration,
}


def _translate(problem: Any, origins: dict[str, str]) -> Problem:
    """An engine parse problem (`therapies[2].end: …`) at the FHIR path it came from."""
    path = problem.path
    probe = path
    while probe:
        if probe in origins:
            return Problem(origins[probe], f"{problem.message} ({path})")
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return Problem(path, problem.message)


def patients_from_entries(
    entries: Iterable[tuple[str, Any]], *, as_of: dt.date, strict: bool = True
) -> tuple[list[FhirPatient], list[Problem]]:
    """Read (path, resource) pairs of any number of patients. Returns the patients read whole
    and every problem; a patient with any problem is left out of the list (all or nothing per
    patient), and a problem outside any patient (a malformed entry, a reference to nothing)
    is listed too. Every resource is validated with `fhir.resources` (R4B) first."""
    problems: list[Problem] = []
    patients: dict[str, tuple[str, dict[str, Any]]] = {}
    others: list[tuple[str, dict[str, Any]]] = []
    urls: dict[str, str] = {}
    for entry in entries:
        path, resource = entry[0], entry[1]
        if len(entry) > 2 and entry[2]:
            urls[path] = str(entry[2])
        found = validate(resource, path)
        if found:
            problems.extend(found)
            continue
        kind = resource["resourceType"]
        if kind == "Patient":
            key = str(resource.get("id") or path)
            full_url = urls.get(path)
            if key in patients:
                problems.append(Problem(path, f"a second Patient with id {key}"))
                continue
            patients[key] = (path, resource)
            if full_url:
                patients[full_url] = (path, resource)
        elif kind in _READERS:
            others.append((path, resource))
        elif strict:
            problems.append(
                Problem(
                    f"{path}.resourceType",
                    f"{kind} is not read by Ossa (expected one of {', '.join(RESOURCE_TYPES)})",
                )
            )
    builders: dict[str, _CaseBuilder] = {}
    readers: dict[str, _Reader] = {}
    for key, (path, resource) in patients.items():
        if path in {b.path for b in builders.values()}:
            builders[key] = next(b for b in builders.values() if b.path == path)
            continue
        readers[path] = _Reader(as_of=as_of, strict=strict)
        builders[key] = _CaseBuilder(readers[path], resource, path)
    for path, resource in others:
        subject = resource.get("subject")
        ref = _reference_id(subject, "Patient")
        builder = builders.get(ref or "")
        if builder is None:
            problems.append(
                Problem(
                    f"{path}.subject",
                    f"refers to {subject.get('reference') if isinstance(subject, dict) else None}"
                    ", which is not a Patient in the input",
                )
            )
            continue
        builder.full_url = urls.get(path)
        try:
            _READERS[resource["resourceType"]](builder, resource, path)
        except _Unread as unread:
            if strict:
                builder.r.problems.append(unread.problem)
    out = []
    seen: set[str] = set()
    for builder in builders.values():
        if builder.path in seen:
            continue
        seen.add(builder.path)
        reader = builder.r
        data = builder.case_json()
        deceased = builder.patient.get("deceasedDateTime")
        if deceased is not None:
            deceased = reader.day(deceased, f"{builder.path}.deceasedDateTime")
        case = None
        if not reader.problems:
            try:
                case = parse_case(data)
            except CaseError as error:
                reader.problems.extend(_translate(p, reader.origins) for p in error.problems)
        if reader.problems or case is None:
            problems.extend(reader.problems)
            continue
        given, family = _name_parts(builder.patient)
        out.append(
            FhirPatient(
                path=builder.path,
                resource_id=builder.patient.get("id"),
                mrn=case.patient.mrn,
                given_name=given,
                family_name=family,
                deceased=dt.date.fromisoformat(deceased) if deceased else None,
                case=case,
                origins={
                    **reader.origins,
                    "patient": builder.path,
                    "patient.mrn": f"{builder.path}.identifier",
                    "patient.birth_date": f"{builder.path}.birthDate",
                    "patient.sex": f"{builder.path}.gender",
                    "patient.name": f"{builder.path}.name",
                },
            )
        )
    return out, problems


def _entries(resources: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    for i, resource in enumerate(resources):
        yield f"entry[{i}].resource", resource


def records_from_resources(
    resources: Iterable[Any], *, as_of: dt.date, strict: bool = True
) -> list[FhirPatient]:
    """Every patient of the resources, read whole; `FhirMappingError` on any problem."""
    patients, problems = patients_from_entries(_entries(resources), as_of=as_of, strict=strict)
    if problems:
        raise FhirMappingError(problems)
    return patients


def case_from_resources(resources: Iterable[Any], *, as_of: dt.date, strict: bool = True) -> c.Case:
    """The engine's `Case` straight from one patient's FHIR resources (no database). Raises
    `FhirMappingError` listing every problem (`entry[3].resource.code: unknown LOINC 1234-5`).
    With `strict=False` resources Ossa does not read are skipped (an EHR's prefetch)."""
    patients = records_from_resources(resources, as_of=as_of, strict=strict)
    if len(patients) != 1:
        raise FhirMappingError([Problem("entry", f"expected one Patient, found {len(patients)}")])
    return patients[0].case
