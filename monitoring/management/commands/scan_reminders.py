"""scan_reminders [--as-of YYYY-MM-DD] [--dry-run] [--batch-size N]: the nightly
scan, now.

Prints the scan's summary as JSON: `{"as_of", "patients", "created": [{"patient", "kind", "drug",
"due"}], "moved": [… "from"], "resolved": […], "snooze_ended": […], "held": [… "still_due"]
(marked done, still due, kept done), "inactive_resolved": […] (of patients who left),
"unchanged": N, "skipped": [patient ids], "inactive_patients": N}` (with `--dry-run`, also
`"dry_run": true`). `--dry-run` computes the
same summary and writes and sends nothing. A future `--as-of` would write reminders and send
e-mail for a day that has not come: it is refused unless `--dry-run` is given. A bad argument
exits with status 2 and a message on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from monitoring.scan import reminders_scan

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: str) -> dt.date:
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number ≥ 1")
    return number


class Command(BaseCommand):
    help = "Turn every patient's due monitoring items and critical alerts into reminders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of", type=_date, help="evaluation date, YYYY-MM-DD (default: today)"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print what would change; write nothing, send nothing",
        )
        parser.add_argument(
            "--batch-size", type=_positive, default=500, help="patients per transaction"
        )

    def handle(
        self,
        *args: Any,
        as_of: dt.date | None,
        dry_run: bool,
        batch_size: int,
        **options: Any,
    ) -> None:
        today = timezone.localdate()
        if as_of is not None and as_of > today and not dry_run:
            raise CommandError(
                f"--as-of: {as_of} is after today ({today}); a scan of a future day would write "
                "reminders and send e-mail for it. Add --dry-run to see what it would do.",
                returncode=2,
            )
        summary = reminders_scan(
            as_of=as_of or today,
            now=timezone.now(),
            batch_size=batch_size,
            dry_run=dry_run,
        )
        output = summary.as_json()
        if dry_run:
            output["dry_run"] = True
        self.stdout.write(json.dumps(output, indent=2))
