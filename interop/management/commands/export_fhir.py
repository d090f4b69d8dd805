"""export_fhir ID | --clinic SLUG --ndjson DIR: FHIR R4 out (issue 12, item 2).

`export_fhir ID` prints the patient's `$everything` Bundle (type collection), as the web view
answers it. `export_fhir --clinic SLUG --ndjson DIR` writes the clinic's FHIR Bulk Data NDJSON
files, one per resource type, and prints how many resources each holds. Bad arguments exit 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from interop.fhir.exporting import patient_bundle, write_ndjson
from patients.models import Clinic, Patient


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Print one patient's FHIR Bundle, or write a clinic's FHIR Bulk Data NDJSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("patient_id", type=int, nargs="?")
        parser.add_argument("--clinic", help="slug of the clinic to export in bulk")
        parser.add_argument("--ndjson", type=Path, help="directory for the NDJSON files")
        parser.add_argument("--as-of", type=_date, help="evaluation date (default: today)")

    def handle(
        self,
        *args: Any,
        patient_id: int | None,
        clinic: str | None,
        ndjson: Path | None,
        as_of: dt.date | None,
        **options: Any,
    ) -> None:
        if patient_id is not None:
            if clinic or ndjson:
                raise CommandError("give a patient id, or --clinic with --ndjson", returncode=2)
            patient = Patient.objects.select_related("clinic").filter(pk=patient_id).first()
            if patient is None:
                raise CommandError(f"patient_id: no patient {patient_id}", returncode=2)
            self.stdout.write(json.dumps(patient_bundle(patient, as_of=as_of), indent=2))
            return
        if not (clinic and ndjson):
            raise CommandError("give a patient id, or --clinic with --ndjson", returncode=2)
        target = Clinic.objects.filter(slug=clinic).first()
        if target is None:
            raise CommandError(f"--clinic: no clinic with slug {clinic!r}", returncode=2)
        if ndjson.exists() and not ndjson.is_dir():
            raise CommandError(f"--ndjson: {ndjson} is not a directory", returncode=2)
        counts = write_ndjson(target, ndjson, as_of=as_of)
        for kind, count in counts.items():
            self.stdout.write(f"{ndjson / (kind + '.ndjson')}: {count}")
