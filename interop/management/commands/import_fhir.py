"""import_fhir FILE|DIR --clinic SLUG [--partial]: FHIR R4 in (issue 12, item 3).

FILE is a transaction or collection Bundle (JSON), or a FHIR Bulk Data NDJSON file; DIR is a
directory of `*.ndjson` files. Patients are matched on their MRN within the clinic: a re-import
updates, never duplicates (`interop.fhir.importing`). Every problem is printed on stderr as
`entry[3].resource.code: unknown LOINC 1234-5` and the command exits 2; then nothing at all is
written, unless `--partial`, which writes the patients without a problem (and still exits 2).
On success it prints how many patients were created and updated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from interop.fhir.importing import FhirInputError, import_entries, read_entries
from patients.models import Clinic


def _fail(problems: list[Any], tail: str = "") -> CommandError:
    lines = [str(p) for p in problems]
    if tail:
        lines.append(tail)
    return CommandError("\n".join(lines), returncode=2)


class Command(BaseCommand):
    help = "Import patients from a FHIR Bundle or Bulk Data NDJSON into a clinic."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", type=Path, help="Bundle JSON, NDJSON file or directory")
        parser.add_argument("--clinic", required=True, help="slug of the clinic")
        parser.add_argument(
            "--partial",
            action="store_true",
            help="write the patients without a problem even when others have one",
        )

    def handle(self, *args: Any, source: Path, clinic: str, partial: bool, **options: Any) -> None:
        target = Clinic.objects.filter(slug=clinic).first()
        if target is None:
            raise _fail([f"--clinic: no clinic with slug {clinic!r}"])
        if not source.exists():
            raise _fail([f"{source}: no such file or directory"])
        try:
            entries = read_entries(source)
        except FhirInputError as error:
            raise _fail(error.problems, "nothing was imported") from None
        result = import_entries(entries, clinic=target, partial=partial)
        summary = f"created {len(result.created)}, updated {len(result.updated)}"
        if result.problems:
            tail = (
                f"the patients without a problem were imported ({summary})"
                if partial
                else "nothing was imported"
            )
            raise _fail(result.problems, tail)
        self.stdout.write(summary)
