"""Bulk FHIR import throughput on PostgreSQL (issue 12: at least 200 patients/s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ossa_fhir_bench \\
        .venv/bin/python bench/fhir_import.py [--patients 1000]

The database named in DATABASE_URL is the benchmark's own: its name must contain "bench"; it is
created if missing, migrated, and its clinic "fhir-bench" is emptied before each run. N patients
are generated as FHIR Bulk Data NDJSON (each one of the shared cases in tests/cases, its own MRN
and resource ids, written by the mapping's own `case_resources`) into a temporary directory.
Then it measures, in patients per second:
  (a) reading and mapping alone: NDJSON → validated resources (fhir.resources R4B) → Cases;
  (b) the whole import, `import_fhir DIR --clinic fhir-bench` (read, map, write every record
      through the audited write path) into an empty clinic;
  (c) the re-import of the same files (every patient matched and its history replaced).

Measured 2026-12-01 on the shared 2-core machine (1,000 patients, 7,758 resources, 3.8 MB),
before the bulk path: (a) 550 patients/s, (b) 8 patients/s, (c) 6 patients/s — every row went
through `record_save` (full_clean with its cross-row queries, two savepoints, the history row,
the rescan queued), about 80 queries a patient, and `enqueue_patient_rescan` walked the pending
on-commit callbacks at every save (quadratic in the one all-or-nothing transaction).

With the bulk path (interop/fhir/importing.py: 200 patients a batch, `bulk_create` and
`bulk_create_with_history` per model, validated in memory; the rescans of a batch sent over one
broker connection), same machine, same day, runs while other helpers' tests ran:
(a) 632–1,136 patients/s, (b) 348–398 patients/s, (c) 171–384 patients/s (the target met in
the last run; the machine's load moves the figures by 2x). The new-patient import is about
27 queries a batch of 200; the re-import adds one read, one "-" audit insert and one delete
per model.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

TARGET = 200.0
AS_OF = dt.date(2026, 11, 25)


def _database_ready() -> str:
    from bench.benchdb import database_ready

    return database_ready("bench/fhir_import.py", "ossa_bench")


def write_ndjson(directory: Path, patients: int) -> int:
    """N patients as NDJSON files, one per resource type; returns the number of resources."""
    from interop.fhir import codes
    from interop.fhir.mapping import PatientFacts, case_resources, site_url
    from therapy.engine import parse_case

    cases = [
        json.loads(p.read_text())["case"] for p in sorted((ROOT / "tests/cases").glob("*.json"))
    ]
    files: dict[str, io.TextIOWrapper] = {}
    total = 0
    try:
        for n in range(patients):
            data = dict(cases[n % len(cases)])
            data["patient"] = {**data["patient"], "name": f"Bench Patient{n}", "mrn": f"B{n:06d}"}
            facts = PatientFacts(
                id=f"b{n}",
                mrn_system=codes.mrn_system(site_url(), "source"),
                given_name="Bench",
                family_name=f"Patient{n}",
            )
            for resource in case_resources(parse_case(data), facts):
                kind = resource["resourceType"]
                if kind not in files:
                    files[kind] = (directory / f"{kind}.ndjson").open("w", encoding="utf-8")
                files[kind].write(json.dumps(resource, separators=(",", ":")) + "\n")
                total += 1
    finally:
        for handle in files.values():
            handle.close()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    args = parser.parse_args()
    django.setup()
    name = _database_ready()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from interop.fhir.importing import import_entries, read_entries
    from interop.fhir.mapping import patients_from_entries
    from patients.models import Clinic, Patient

    clinic, _ = Clinic.objects.get_or_create(slug="fhir-bench", defaults={"name": "FHIR bench"})
    Patient.objects.filter(clinic=clinic).delete()

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        resources = write_ndjson(directory, args.patients)
        print(
            f"FHIR bulk import bench — {platform.python_implementation()} "
            f"{platform.python_version()}, database {name}"
        )
        print(
            f"input: {args.patients} patients, {resources} resources "
            f"({resources / args.patients:.1f} a patient), "
            f"{sum(p.stat().st_size for p in directory.iterdir()) / 1e6:.1f} MB NDJSON"
        )

        start = time.perf_counter()
        entries = read_entries(directory)
        patients, problems = patients_from_entries(entries, as_of=AS_OF)
        mapping = time.perf_counter() - start
        assert not problems and len(patients) == args.patients, problems[:5]
        print(
            f"(a) read + validate + map:  {args.patients / mapping:8.0f} patients/s "
            f"({mapping:.2f} s)"
        )

        for label in ("(b) import, new patients:", "(c) re-import (update):  "):
            start = time.perf_counter()
            result = import_entries(read_entries(directory), clinic=clinic, as_of=AS_OF)
            elapsed = time.perf_counter() - start
            assert not result.problems, result.problems[:5]
            done = len(result.created) + len(result.updated)
            assert done == args.patients
            verdict = "meets" if done / elapsed >= TARGET else "BELOW"
            print(
                f"{label} {done / elapsed:8.0f} patients/s ({elapsed:.2f} s) — {verdict} the "
                f"target of {TARGET:.0f}/s"
            )
    Patient.objects.filter(clinic=clinic).delete()


if __name__ == "__main__":
    main()
