"""Hook requests built from a shared case: the case as FHIR resources (the FHIR mapping's
`case_resources`), grouped as an EHR prefetches them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from interop.fhir.mapping import PatientFacts, case_resources
from therapy.engine import parse_case
from therapy.engine.case import Case

CASES = sorted((Path(__file__).resolve().parents[2] / "cases").glob("*.json"))
EHR_MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5"
PREFETCH_KEYS = {
    "Patient": "patient",
    "Condition": "conditions",
    "Observation": "observations",
    "MedicationStatement": "medicationStatements",
    "MedicationAdministration": "medicationAdministrations",
}


def shared_case(path: Path) -> Case:
    return parse_case(json.loads(path.read_text())["case"])


def resources_for(case: Case, *, patient_id: str = "ehr-123", mrn_system: str = EHR_MRN_SYSTEM):
    return case_resources(case, PatientFacts(id=patient_id, mrn_system=mrn_system))


def prefetch_for(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """`Patient/{id}` as the resource, every search as a searchset Bundle (empty ones too)."""
    prefetch: dict[str, Any] = {
        key: {"resourceType": "Bundle", "type": "searchset", "entry": []}
        for kind, key in PREFETCH_KEYS.items()
        if kind != "Patient"
    }
    for resource in resources:
        key = PREFETCH_KEYS[resource["resourceType"]]
        if key == "patient":
            prefetch[key] = resource
        else:
            prefetch[key]["entry"].append(
                {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": resource}
            )
    for bundle in prefetch.values():
        if bundle.get("resourceType") == "Bundle":
            bundle["total"] = len(bundle["entry"])
    return prefetch


def hook_request(
    hook: str, patient_id: str, prefetch: dict[str, Any] | None, **extra: Any
) -> dict[str, Any]:
    context = {"userId": "Practitioner/dr-1", "patientId": patient_id, **extra.pop("context", {})}
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context}
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body
