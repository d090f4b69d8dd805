"""A clinic's fracture-liaison indicators for a period, as one report: the KPI page and
`manage.py kpi_report` show the same figures because both read them from
`clinic_kpi_report`, and the command's `--json` and the page's numbers come from
`kpi_report_json`'s rounding.

Also the period a report covers: by default the twelve full calendar months before the month
of the report's day; otherwise two typed dates, checked here once for every door.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from patients.models import Clinic
from patients.validators import parse_date_text
from quality.kpis import (
    CompletenessItem,
    KpiContext,
    KpiDefinition,
    KpiValue,
    Level,
    MonthPoint,
    Period,
    completeness,
    kpi_values,
    run_chart,
)
from quality.selectors import episode_facts

#: The longest period a report covers (a wider one is almost certainly a typing mistake, and
#: its run chart would have more months than a page can show).
MAX_PERIOD_YEARS = 10


class PeriodError(ValueError):
    """A period that cannot be reported on; `field` names the input at fault ("from", "to")."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class KpiRow:
    definition: KpiDefinition
    value: KpiValue
    #: None when the KPI has no value (an empty denominator).
    level: Level | None


@dataclass(frozen=True, slots=True)
class KpiReport:
    clinic: Clinic
    period: Period
    as_of: dt.date
    #: The number of index fractures (FLS episodes) of the period.
    episodes: int
    rows: list[KpiRow]
    completeness: list[CompletenessItem]
    months: list[MonthPoint]
    expected_yearly_caseload: int | None


def clinic_kpi_report(*, clinic: Clinic, period: Period, as_of: dt.date) -> KpiReport:
    """Every KPI of the clinic's index fractures dated within the period, as of `as_of`, with
    the data completeness and the month-by-month run chart (the reads: `episode_facts`)."""
    facts = episode_facts(clinic_id=clinic.pk, period=period)
    context = KpiContext(
        period=period, as_of=as_of, expected_yearly_caseload=clinic.expected_yearly_caseload
    )
    return KpiReport(
        clinic=clinic,
        period=period,
        as_of=as_of,
        episodes=len(facts),
        rows=[
            KpiRow(definition=definition, value=value, level=definition.level(value))
            for definition, value in kpi_values(facts, context)
        ],
        completeness=completeness(facts, context),
        months=run_chart(facts, context),
        expected_yearly_caseload=clinic.expected_yearly_caseload,
    )


def rounded(percent: float | None) -> float | None:
    """A percentage as every door shows it: one decimal place, None for no value."""
    return None if percent is None else round(percent, 1)


def kpi_report_json(report: KpiReport) -> dict[str, Any]:
    """The report as JSON-ready data, with stable keys (`manage.py kpi_report --json`)."""
    return {
        "clinic": report.clinic.slug,
        "period": {"from": report.period.start.isoformat(), "to": report.period.end.isoformat()},
        "as_of": report.as_of.isoformat(),
        "episodes": report.episodes,
        "expected_yearly_caseload": report.expected_yearly_caseload,
        "kpis": [
            {
                "key": row.definition.key,
                "family": str(row.definition.family),
                "number": row.definition.number,
                "title": row.definition.title,
                "numerator": row.value.numerator_count,
                "denominator": row.value.denominator_count,
                "pending": len(row.value.pending),
                # "patients" (episodes), or "fields" for FLS-DB KPI 1 (data items)
                "unit": row.value.unit,
                "percent": rounded(row.value.percent),
                "level": None if row.level is None else str(row.level),
                "note": row.definition.note,
            }
            for row in report.rows
        ],
        "completeness": [
            {
                "key": item.key,
                "label": item.label,
                "recorded": item.recorded,
                "expected": item.expected,
                "percent": rounded(item.percent),
            }
            for item in report.completeness
        ],
        "months": [
            {
                "month": f"{point.month:%Y-%m}",
                "values": {key: rounded(percent) for key, percent in point.percents.items()},
            }
            for point in report.months
        ],
    }


# --- the period -----------------------------------------------------------------------------------


def _month_start(day: dt.date, months_back: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


def default_period(as_of: dt.date) -> Period:
    """The twelve full calendar months before the month of `as_of` (as of 2026-12-01 or
    2026-12-31: 2025-12-01 to 2026-11-30)."""
    this_month = as_of.replace(day=1)
    return Period(start=_month_start(as_of, 12), end=this_month - dt.timedelta(days=1))


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _parse(text: str, field: str) -> dt.date:
    try:
        return parse_date_text(text)
    except ValueError as error:
        raise PeriodError(f"{field}: “{text}”: {error}", field=field) from None


def period_from_strings(from_: str | None, to: str | None, *, as_of: dt.date) -> Period:
    """The period typed as two dates (YYYY-MM-DD, both included); both empty: the default
    period. Refused with a `PeriodError`: one date without the other, a date that is not
    YYYY-MM-DD, a start after the end, an end after the report's day, more than ten years."""
    from_, to = (from_ or "").strip(), (to or "").strip()
    if not from_ and not to:
        return default_period(as_of)
    if not from_:
        raise PeriodError("from: give the first day of the period too.", field="from")
    if not to:
        raise PeriodError("to: give the last day of the period too.", field="to")
    start, end = _parse(from_, "from"), _parse(to, "to")
    if start > end:
        raise PeriodError(f"from: the period starts ({start}) after it ends ({end}).", field="from")
    if end > as_of:
        raise PeriodError(
            f"to: the period ends ({end}) after the report's day ({as_of}).", field="to"
        )
    if start < _years_before(end, MAX_PERIOD_YEARS) + dt.timedelta(days=1):
        raise PeriodError(
            f"from: a period covers at most {MAX_PERIOD_YEARS} years ({start} to {end} is longer).",
            field="from",
        )
    return Period(start=start, end=end)
