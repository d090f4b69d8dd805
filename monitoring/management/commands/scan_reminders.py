"""scan_reminders [--as-of YYYY-MM-DD] [--batch-size N] [--workers N]: the nightly scan, now.

Prints the scan's summary as JSON: `{"as_of", "patients", "created": [{"patient", "kind", "drug",
"due"}], "moved": [… "from"], "resolved": […], "snooze_ended": […], "unchanged": N}`. A bad
argument exits with status 2 and a message on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
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
            "--batch-size", type=_positive, default=500, help="patients per transaction"
        )
        parser.add_argument(
            "--workers",
            type=_positive,
            default=1,
            help="processes scanning batches at once (PostgreSQL; default 1)",
        )

    def handle(
        self, *args: Any, as_of: dt.date | None, batch_size: int, workers: int, **options: Any
    ) -> None:
        summary = reminders_scan(
            as_of=as_of or timezone.localdate(),
            now=timezone.now(),
            batch_size=batch_size,
            workers=workers,
        )
        self.stdout.write(json.dumps(summary.as_json(), indent=2))
