"""export_case PATIENT_ID [--as-of YYYY-MM-DD]: the case JSON built from the database."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from patients.access_log import access_log_write
from patients.models import Patient
from therapy.case_records import case_for_patient
from therapy.engine import case_to_json


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Print one patient's record as a case JSON (CASE_FORMAT.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("patient_id", type=int)
        parser.add_argument("--as-of", type=_date, help="evaluation date (default: today)")

    def handle(self, *args: Any, patient_id: int, as_of: dt.date | None, **options: Any) -> None:
        patient = Patient.objects.filter(pk=patient_id).first()
        if patient is None:
            raise CommandError(f"patient_id: no patient {patient_id}", returncode=2)
        case = case_for_patient(patient_id, as_of=as_of or timezone.localdate())
        # Run on the server, by nobody the app knows: the log says which command read it.
        access_log_write(user=None, patients=[patient], route="export_case")
        self.stdout.write(json.dumps(case_to_json(case), indent=2))
