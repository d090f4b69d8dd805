"""Calendar arithmetic of the rule book (RULES.md, "Conventions").

Months are calendar months, clamped to the end of a shorter month
(2026-01-31 + 1 month = 2026-02-28). Exposure counts both ends of a course.
"""

from __future__ import annotations

import datetime as dt

from therapy.engine.limits import DAYS_PER_MONTH

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by `months` calendar months (negative goes back), day clamped to month end."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    day_of_month = day.day
    if day_of_month > 28:  # only the 29th to 31st can fall off the end of the target month
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        last = 29 if month0 == 1 and leap else _DAYS_IN_MONTH[month0]
        day_of_month = min(day_of_month, last)
    return dt.date(year, month0 + 1, day_of_month)


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from `start` to `end` (the largest n with start + n months ≤ end)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return months


def within_days_before(day: dt.date, as_of: dt.date, days: int) -> bool:
    """`as_of − days < day ≤ as_of` (RULES.md: "within N days before as_of")."""
    return as_of - dt.timedelta(days=days) < day <= as_of


def exposure_days(start: dt.date, end: dt.date | None, as_of: dt.date) -> int:
    """Days of a course up to as_of, both ends counted; 0 for a course starting after as_of."""
    stop = as_of if end is None or end > as_of else end
    return max(0, (stop - start).days + 1)


def days_to_months(days: float) -> float:
    """Exposure months = days / 30.4375 (RULES.md conventions)."""
    return days / DAYS_PER_MONTH
