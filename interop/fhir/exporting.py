"""A patient's FHIR resources as a Bundle, and a clinic's as FHIR Bulk Data NDJSON (issue 12,
item 2). The resources are `interop.fhir.mapping`'s; this module only gathers and packs them.

Bulk export reads patients in batches through `therapy.case_records.cases_for_patients` (eleven
queries a batch, however long the histories) plus one query for the batch's Patient facts, and
writes one file per resource type (`Patient.ndjson`, `Condition.ndjson`, …), one resource a line.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.utils import timezone

from interop.fhir import codes
from interop.fhir.mapping import (
    RESOURCE_TYPES,
    PatientFacts,
    case_resources,
    patient_resources,
    site_url,
)
from patients.models import Clinic, Patient, PatientStatus
from therapy.case_records import cases_for_patients

FHIR_JSON = "application/fhir+json"
NDJSON_BATCH = 500


def bundle(resources: list[dict[str, Any]], *, kind: str = "collection") -> dict[str, Any]:
    """A Bundle of `kind` holding the resources, each under its full URL on this site."""
    base = site_url()
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": kind,
        "timestamp": timezone.now().isoformat(timespec="seconds"),
        "entry": [
            {"fullUrl": f"{base}/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }


def patient_bundle(patient: Patient, *, as_of: dt.date | None = None) -> dict[str, Any]:
    """`Patient/<id>/$everything`: every resource of the patient, a Bundle of type collection.
    `patient.clinic` should be loaded (the access helper loads it)."""
    return bundle(patient_resources(patient, as_of=as_of))


def clinic_resources(
    clinic: Clinic, *, as_of: dt.date | None = None, batch: int = NDJSON_BATCH
) -> Iterator[dict[str, Any]]:
    """Every resource of every patient of the clinic, patient after patient, in pk order."""
    as_of = as_of or timezone.localdate()
    system = codes.mrn_system(site_url(), clinic.slug)
    ids = list(Patient.objects.filter(clinic=clinic).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        facts = {
            pk: PatientFacts(
                id=str(pk),
                mrn_system=system,
                given_name=given,
                family_name=family,
                deceased=status_date if status == PatientStatus.DECEASED else None,
            )
            for pk, given, family, status, status_date in Patient.objects.filter(
                pk__in=chunk
            ).values_list("pk", "given_name", "family_name", "status", "status_date")
        }
        for pk, _, case in cases_for_patients(chunk, as_of=as_of):
            if pk in facts:
                yield from case_resources(case, facts[pk])


def write_ndjson(
    clinic: Clinic, directory: Path, *, as_of: dt.date | None = None
) -> dict[str, int]:
    """Write the clinic's resources as Bulk Data NDJSON into `directory` (created if needed),
    one file per resource type; return how many resources each file holds. Every type gets a
    file, empty when the clinic has none of that type."""
    directory.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(RESOURCE_TYPES, 0)
    files = {kind: (directory / f"{kind}.ndjson").open("w", encoding="utf-8") for kind in counts}
    try:
        for resource in clinic_resources(clinic, as_of=as_of):
            kind = resource["resourceType"]
            files[kind].write(json.dumps(resource, separators=(",", ":")) + "\n")
            counts[kind] += 1
    finally:
        for handle in files.values():
            handle.close()
    return counts
