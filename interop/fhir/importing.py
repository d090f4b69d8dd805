"""FHIR in (issue 12, item 3): a transaction or collection Bundle, or FHIR Bulk Data NDJSON,
written as Ossa patients and records of one clinic.

Matching and "update"
    A patient is matched on the value of its MRN identifier within the target clinic (the
    identifier typed MR, or with a system ending in `/mrn`, or the only one; another clinic's
    MRN system is accepted, the value is what is matched). A new MRN creates the patient
    (`therapy.case_records.patient_import_case`). A known MRN updates it: the demographics
    (names, birth date, sex) take the input's, and the patient's whole clinical history
    (risk factors, cardiovascular events, immunosuppressants, glucocorticoids, fractures,
    courses and doses, DXA scans, labs, reassessments) is replaced by the input's
    (`patient_replace_history`), because an `$everything` export or a Bulk export carries
    the whole record: importing the same input twice leaves the same rows, never duplicates.
    A date of death (`deceasedDateTime`) marks the patient deceased (`patient_set_status`, so
    the reminders close); an input without one leaves the status as it is.

All or nothing
    Each patient is written in its own transaction (savepoint): a problem met while writing
    it undoes all of that patient. By default, any problem anywhere — an entry that is not a
    resource, an unknown code, a reference to nothing, a record the database refuses — writes
    nothing at all, for no patient. With `partial=True`, the patients without a problem are
    written and the others are listed; the result still carries every problem.

Speed (issue 12: 200 patients/s)
    Patients are written 200 a batch. The new ones of a batch are written together
    (`therapy.case_records.patients_import_cases_bulk`), the known ones too
    (`patients_replace_histories_bulk`): `bulk_create` per model, every row with its audit row
    (`bulk_create_with_history`, change reason "FHIR import"), validated in memory as
    `record_save` would validate it (where each check lives: those functions' docstrings), the
    batch's rescans queued together. A patient with a date of death, or a batch the bulk path
    refuses (an in-memory check or the database), is written one patient at a time through
    `record_save` as before, so every problem is reported exactly as it was.

Paths
    A Bundle's entries are `entry[3].resource…`; an NDJSON line is `Observation.ndjson:4…`
    (file name and line number), so `entry[3].resource.code: unknown LOINC 1234-5`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from interop.fhir.mapping import FhirPatient, Problem, patients_from_entries
from patients.exceptions import CaseImportError
from patients.models import Clinic, Patient, PatientStatus
from patients.services import patient_set_status, record_save
from therapy.case_records import (
    BulkRefused,
    patient_import_case,
    patient_replace_history,
    patients_import_cases_bulk,
    patients_replace_histories_bulk,
)

Entry = tuple[str, Any, str | None]  # (path, resource, fullUrl)
#: Patients written together: the new ones of a batch in one bulk write (`_write_bulk`).
BATCH = 200
BUNDLE_TYPES = ("transaction", "collection", "batch", "searchset")


class FhirInputError(ValueError):
    """Input that is not a Bundle or NDJSON of resources at all; nothing is read from it."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class ImportResult:
    created: list[Patient] = field(default_factory=list)
    updated: list[Patient] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: Whether anything was written (False whenever problems were found, unless partial).
    written: bool = False


# --- reading the input -----------------------------------------------------------------------


def bundle_entries(data: Any) -> list[Entry]:
    """The entries of a decoded Bundle; `FhirInputError` when it is not a usable Bundle."""
    if not isinstance(data, dict):
        raise FhirInputError([Problem("$", "not a JSON object")])
    if data.get("resourceType") != "Bundle":
        raise FhirInputError(
            [Problem("resourceType", f"expected Bundle, found {data.get('resourceType')!r}")]
        )
    if data.get("type") not in BUNDLE_TYPES:
        raise FhirInputError(
            [
                Problem(
                    "type",
                    f"expected a Bundle of type {' or '.join(BUNDLE_TYPES)}, "
                    f"found {data.get('type')!r}",
                )
            ]
        )
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise FhirInputError([Problem("entry", "not a list")])
    out: list[Entry] = []
    problems = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            problems.append(Problem(f"entry[{i}]", "no resource"))
            continue
        request = entry.get("request")
        if request is not None and (
            not isinstance(request, dict) or request.get("method") not in ("POST", "PUT")
        ):
            problems.append(
                Problem(f"entry[{i}].request.method", "only POST and PUT entries are imported")
            )
            continue
        out.append((f"entry[{i}].resource", entry["resource"], entry.get("fullUrl")))
    if problems:
        raise FhirInputError(problems)
    return out


def ndjson_entries(name: str, text: str) -> list[Entry]:
    """The resources of one NDJSON file, a path `name:line` each."""
    out: list[Entry] = []
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            resource = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(Problem(f"{name}:{number}", f"not JSON ({error.msg})"))
            continue
        out.append((f"{name}:{number}", resource, None))
    if problems:
        raise FhirInputError(problems)
    return out


def read_entries(source: Path) -> list[Entry]:
    """The resources of a Bundle file, an NDJSON file, or a directory of `*.ndjson` files."""
    if source.is_dir():
        files = sorted(source.glob("*.ndjson"))
        if not files:
            raise FhirInputError([Problem(str(source), "no .ndjson file in this directory")])
        return [entry for path in files for entry in ndjson_entries(path.name, _text(path))]
    text = _text(source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if text.lstrip().startswith("{") and "\n" in text.strip():
            return ndjson_entries(source.name, text)  # NDJSON: one resource a line
        raise FhirInputError(
            [Problem("$", f"not JSON ({error.msg} at line {error.lineno}, column {error.colno})")]
        ) from None
    if isinstance(data, dict) and data.get("resourceType") not in ("Bundle", None):
        return ndjson_entries(source.name, text)  # an NDJSON file of one resource
    return bundle_entries(data)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise FhirInputError([Problem(str(path), f"cannot read ({error.strerror})")]) from None
    except UnicodeDecodeError:
        raise FhirInputError([Problem(str(path), "not UTF-8 text")]) from None


# --- writing ----------------------------------------------------------------------------------


def _problems_of(patient: FhirPatient, error: Exception) -> list[Problem]:
    if isinstance(error, CaseImportError):
        return [patient.locate(p) for p in error.problems]
    if isinstance(error, ValidationError):
        return [
            Problem(patient.path, f"{key}: {message}" if key != "__all__" else message)
            for key, messages in getattr(error, "message_dict", {"__all__": error.messages}).items()
            for message in messages
        ]
    raise error


def _write(
    patient: FhirPatient, clinic: Clinic, actor: AbstractBaseUser | None
) -> tuple[Patient, bool]:
    """Create or update one patient; (patient, created)."""
    existing = Patient.objects.filter(clinic=clinic, mrn=patient.mrn).first()
    p = patient.case.patient  # birth date and sex: written by the import or the replace
    if existing is None:
        stored = patient_import_case(clinic=clinic, case=patient.case, actor=actor)
        created = True
    else:
        stored = patient_replace_history(patient=existing, case=patient.case, actor=actor)
        created = False
    changed = False
    names = (patient.given_name, patient.family_name)
    if patient.family_name and (stored.given_name, stored.family_name) != names:
        stored.given_name, stored.family_name = names
        changed = True
    elif not created and not patient.family_name and p.name and p.name != stored.name:
        stored.given_name, stored.family_name, stored.name = "", "", p.name
        changed = True
    if changed:
        record_save(instance=stored, actor=actor)
    if patient.deceased is not None and (
        stored.status != PatientStatus.DECEASED or stored.status_date != patient.deceased
    ):
        patient_set_status(
            patient=stored,
            status=PatientStatus.DECEASED,
            status_date=patient.deceased,
            actor=actor,
            now=timezone.now(),
        )
    return stored, created


def _write_bulk(
    patients: list[FhirPatient], clinic: Clinic, actor: AbstractBaseUser | None
) -> dict[str, Patient]:
    """The new patients of a batch, written together (`patients_import_cases_bulk`), by MRN.
    When the bulk path refuses one of them, or the database refuses a row, the batch is undone
    and nothing is returned: its patients are then written one by one (`_write`), which reports
    each problem where it always has."""
    if not patients:
        return {}
    try:
        with transaction.atomic():
            stored = patients_import_cases_bulk(
                clinic=clinic,
                items=[(p.case, p.given_name, p.family_name) for p in patients],
                actor=actor,
            )
    except (BulkRefused, IntegrityError):
        return {}
    return {p.mrn: s for p, s in zip(patients, stored, strict=True)}


def _replace_bulk(
    patients: list[FhirPatient], clinic: Clinic, actor: AbstractBaseUser | None
) -> dict[str, Patient]:
    """`_write_bulk` for the known patients of a batch (`patients_replace_histories_bulk`)."""
    if not patients:
        return {}
    stored = {
        p.mrn: p for p in Patient.objects.filter(clinic=clinic, mrn__in=[p.mrn for p in patients])
    }
    try:
        with transaction.atomic():
            done = patients_replace_histories_bulk(
                items=[(stored[p.mrn], p.case, p.given_name, p.family_name) for p in patients],
                actor=actor,
            )
    except (BulkRefused, IntegrityError):
        return {}
    return {p.mrn: s for p, s in zip(patients, done, strict=True)}


def import_entries(
    entries: Iterable[Entry],
    *,
    clinic: Clinic,
    actor: AbstractBaseUser | None = None,
    partial: bool = False,
    as_of: dt.date | None = None,
) -> ImportResult:
    """Import the resources into `clinic` (module docstring: matching, all or nothing)."""
    patients, problems = patients_from_entries(entries, as_of=as_of or timezone.localdate())
    result = ImportResult(problems=list(problems))
    counts = Counter(p.mrn for p in patients)
    ready = []
    for patient in patients:
        if not patient.mrn:
            result.problems.append(Problem(f"{patient.path}.identifier", "an MRN is required"))
        elif counts[patient.mrn] > 1:
            result.problems.append(
                Problem(f"{patient.path}.identifier", f"MRN {patient.mrn} is given to two patients")
            )
        else:
            ready.append(patient)
    if result.problems and not partial:
        return result
    with transaction.atomic():
        for start in range(0, len(ready), BATCH):
            batch = ready[start : start + BATCH]
            known = set(
                Patient.objects.filter(clinic=clinic, mrn__in=[p.mrn for p in batch]).values_list(
                    "mrn", flat=True
                )
            )
            bulk = [p for p in batch if p.mrn not in known and p.deceased is None]
            written = _write_bulk(bulk, clinic, actor)
            replace = [p for p in batch if p.mrn in known and p.deceased is None]
            replaced = _replace_bulk(replace, clinic, actor)
            for patient in batch:
                if patient.mrn in written:
                    result.created.append(written[patient.mrn])
                    continue
                if patient.mrn in replaced:
                    result.updated.append(replaced[patient.mrn])
                    continue
                try:
                    with transaction.atomic():
                        stored, created = _write(patient, clinic, actor)
                except (CaseImportError, ValidationError) as error:
                    result.problems.extend(_problems_of(patient, error))
                    continue
                (result.created if created else result.updated).append(stored)
        if result.problems and not partial:
            transaction.set_rollback(True)
            result.created, result.updated = [], []
            return result
    result.written = bool(result.created or result.updated)
    return result
