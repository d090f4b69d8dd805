"""Dates a clinician knows only to the month or the year ("2016", "2017-05"), for history from
before the patient's first visit at the clinic.

A date is stored as a `DateField` plus a `DatePrecision`: the field holds the FIRST day of the
period (1 January for a year, the 1st for a month), so that stored dates sort and compare as
periods do, and the precision says how much of it is known. Nothing here decides which day of the
period a rule should read: that is `therapy.case_records`' job (its docstring gives the readings).

Shown to people as "≈ 2016" / "≈ 2017-05"; a full date is shown as it always was, "2017-05-14".
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import models


class DatePrecision(models.TextChoices):
    DAY = "day", "day"
    MONTH = "month", "month"
    YEAR = "year", "year"


class ApproximateDate(NamedTuple):
    """A stored date (the first day of its period) and how much of it is known."""

    day: dt.date
    precision: DatePrecision


FORMAT_HELP = "a year (2016), a month (2017-05) or a day (2017-05-14)"
_PATTERN = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse(text: str) -> ApproximateDate:
    """ "2016" → (2016-01-01, year); "2017-05" → (2017-05-01, month); "2017-05-14" → day.
    Raises ValueError with a message for a person."""
    match = _PATTERN.match(text.strip())
    if not match:
        raise ValueError(f"Enter {FORMAT_HELP}.")
    year, month, day = match.groups()
    precision = (
        DatePrecision.YEAR if not month else DatePrecision.MONTH if not day else DatePrecision.DAY
    )
    try:
        first = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"{text.strip()} is not a date of the calendar.") from None
    return ApproximateDate(first, precision)


def earliest_day(day: dt.date, precision: str) -> dt.date:
    """The first day of the period."""
    if precision == DatePrecision.YEAR:
        return day.replace(month=1, day=1)
    if precision == DatePrecision.MONTH:
        return day.replace(day=1)
    return day


def latest_day(day: dt.date, precision: str) -> dt.date:
    """The last day of the period."""
    if precision == DatePrecision.YEAR:
        return day.replace(month=12, day=31)
    if precision == DatePrecision.MONTH:
        return day.replace(day=calendar.monthrange(day.year, day.month)[1])
    return day


def iso(day: dt.date, precision: str) -> str:
    """ "2016", "2017-05" or "2017-05-14": what was typed, and valid in `<time datetime>`."""
    if precision == DatePrecision.YEAR:
        return f"{day.year:04d}"
    if precision == DatePrecision.MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def shown(day: dt.date | None, precision: str) -> str:
    """ "≈ 2016", "≈ 2017-05", or the full date "2017-05-14"; "" for no date."""
    if day is None:
        return ""
    text = iso(day, precision)
    return text if precision == DatePrecision.DAY else f"≈ {text}"


def is_first_day(day: dt.date, precision: str) -> bool:
    """Whether `day` is stored as its period's first day (the storage rule above)."""
    return day == earliest_day(day, precision)


def check_approximate(
    day: dt.date | None, precision: str, *, field: str, first_visit: dt.date
) -> None:
    """A date known only to the month or the year is history from before the first visit: its
    period must begin before `first_visit` (for anything since, the clinic knows the day). A
    period that begins before the first visit and runs past it ("2026" typed on 2026-03-10) is
    allowed: asking for a day the clinician does not know would store a guess as a fact.
    Raises a ValidationError beside `field`."""
    if day is None or precision == DatePrecision.DAY:
        return
    if not is_first_day(day, precision):
        raise ValidationError(
            {field: f"A date known to the {precision} is stored as the first day of its period."},
            code="not_first_day",
        )
    if day >= first_visit:
        raise ValidationError(
            {
                field: f"Give the day: an approximate date is only for history before the "
                f"patient's first visit ({first_visit.isoformat()})."
            },
            code="approximate_after_first_visit",
        )
