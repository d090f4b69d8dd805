"""Dates known to the month or the year, as people read them: `{% load approximate %}`.

    {{ fracture.date|approximate:fracture.date_precision }}        → "≈ 2016" or "2017-05-14"
    <time datetime="{{ c.start|approximate_iso:c.start_precision }}">  → "2016", "2017-05"

The models say the same through properties (`Fracture.date_shown`, `TherapyCourse.start_shown`
and `end_shown`), and their `__str__` uses them.
"""

from __future__ import annotations

import datetime as dt

from django import template

from patients import approximate_dates

register = template.Library()


@register.filter
def approximate(value: dt.date | None, precision: str = "day") -> str:
    return approximate_dates.shown(value, precision or "day")


@register.filter
def approximate_iso(value: dt.date | None, precision: str = "day") -> str:
    return "" if value is None else approximate_dates.iso(value, precision or "day")
