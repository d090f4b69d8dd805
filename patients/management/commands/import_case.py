"""import_case PATH|- --clinic SLUG [--mrn MRN]: one case JSON in as a new patient."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from patients.exceptions import CaseImportError
from patients.management.commands._io import fail, read_json
from patients.models import Clinic
from therapy.case_records import patient_import_case
from therapy.engine import CaseError, parse_case


class Command(BaseCommand):
    help = "Create one patient with the whole history of a case JSON; print the patient's id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="case JSON file, or - for standard input")
        parser.add_argument("--clinic", required=True, help="slug of the clinic")
        parser.add_argument("--mrn", help="medical record number (else patient.mrn of the case)")

    def handle(self, *args: Any, path: str, clinic: str, mrn: str | None, **options: Any) -> None:
        document = read_json(path)  # first: a file that cannot be read needs no database
        target = Clinic.objects.filter(slug=clinic).first()
        if target is None:
            raise fail([f"--clinic: no clinic with slug {clinic!r}"])
        try:
            case = parse_case(document)
            patient = patient_import_case(clinic=target, case=case, mrn=mrn)
        except CaseError as error:
            raise fail(error.problems) from None
        except CaseImportError as error:
            raise fail(error.problems) from None
        self.stdout.write(str(patient.pk))
