"""kpi_report --clinic SLUG [--from YYYY-MM-DD --to YYYY-MM-DD] [--as-of YYYY-MM-DD] [--json]:
a clinic's fracture-liaison indicators.

Without `--from`/`--to` the period is the twelve full calendar months before the month of
`--as-of` (default: today). Prints a table (key, title, numerator/denominator, %, level), or with
`--json` the report as the KPI page computes it (`quality.reports.kpi_report_json`). An unknown
clinic, a date that is not YYYY-MM-DD, a period that starts after it ends or ends after the
report's day, or an `--as-of` after today exits with status 2 and a message on stderr.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from patients.models import Clinic
from patients.validators import parse_date_text
from quality.reports import (
    KpiReport,
    PeriodError,
    clinic_kpi_report,
    kpi_report_json,
    period_from_strings,
    rounded,
)


def table(report: KpiReport) -> list[str]:
    """The report as lines of text: a heading, then one line per KPI."""
    lines = [
        f"{report.clinic.name} ({report.clinic.slug}): index fractures "
        f"{report.period.start} to {report.period.end}, as of {report.as_of}: "
        f"{report.episodes} episode{'' if report.episodes == 1 else 's'}",
        "",
        f"{'key':<10} {'title':<46} {'n/d':>16} {'%':>6}  {'level':<6} pending",
    ]
    for row in report.rows:
        percent = rounded(row.value.percent)
        fraction = f"{row.value.numerator_count}/{row.value.denominator_count}"
        if row.value.unit != "patients":  # FLS-DB KPI 1 counts data items, not patients
            fraction = f"{fraction} {row.value.unit}"
        lines.append(
            f"{row.definition.key:<10} {row.definition.title[:46]:<46} {fraction:>16} "
            f"{'—' if percent is None else f'{percent:.1f}':>6}  "
            f"{row.level or '—':<6} {len(row.value.pending)}"
        )
    return lines


class Command(BaseCommand):
    help = "Print a clinic's fracture-liaison quality indicators (IOF and FLS-DB KPIs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", required=True, help="the clinic's slug")
        parser.add_argument(
            "--from", dest="from_", help="first fracture date of the period, YYYY-MM-DD"
        )
        parser.add_argument("--to", help="last fracture date of the period, YYYY-MM-DD")
        parser.add_argument("--as-of", help="the report's day, YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="print JSON instead of a table"
        )

    def handle(
        self,
        *args: Any,
        clinic: str,
        from_: str | None,
        to: str | None,
        as_of: str | None,
        as_json: bool,
        **options: Any,
    ) -> None:
        today = timezone.localdate()
        report_day = today
        if as_of is not None:
            try:
                report_day = parse_date_text(as_of)
            except ValueError as error:
                raise CommandError(f"--as-of: “{as_of}”: {error}", returncode=2) from None
            if report_day > today:
                raise CommandError(f"--as-of: {report_day} is after today ({today}).", returncode=2)
        target = Clinic.objects.filter(slug=clinic).first()
        if target is None:
            raise CommandError(f"--clinic: no clinic with slug {clinic!r}", returncode=2)
        try:
            period = period_from_strings(from_, to, as_of=report_day)
        except PeriodError as error:
            raise CommandError(f"--{error.message}", returncode=2) from None
        report = clinic_kpi_report(clinic=target, period=period, as_of=report_day)
        if as_json:
            self.stdout.write(json.dumps(kpi_report_json(report), indent=2, ensure_ascii=False))
        else:
            self.stdout.write("\n".join(table(report)))
