"""A tiny builder for engine cases: CASE_FORMAT sections as keyword arguments.

    assess(therapies=[course("alendronate", "2024-03-15")], fractures=[fracture("2025-03-15")])

Cases go through `parse_case`, so every test input is also a valid case JSON.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from therapy.engine import Assessment, evaluate, parse_case
from therapy.engine.case import Case

AS_OF = "2026-11-25"
AS_OF_DATE = dt.date.fromisoformat(AS_OF)


def case(as_of: str = AS_OF, **sections: Any) -> Case:
    return parse_case({"as_of": as_of, **sections})


def assess(as_of: str = AS_OF, **sections: Any) -> Assessment:
    return evaluate(case(as_of, **sections))


def fired(as_of: str = AS_OF, **sections: Any) -> set[str]:
    return {str(rule) for rule in assess(as_of, **sections).fired_rules}


def days_before(days: int, day: dt.date = AS_OF_DATE) -> str:
    return (day - dt.timedelta(days=days)).isoformat()


def course(
    drug: str,
    start: str,
    end: str | None = None,
    *,
    doses: list[str] | tuple[str, ...] = (),
    stop_reason: str | None = None,
) -> dict[str, Any]:
    return {
        "drug": drug,
        "start": start,
        "end": end,
        "stop_reason": stop_reason,
        "doses": list(doses),
    }


def monthly(first: str, count: int) -> list[str]:
    """`count` monthly dose dates from `first` (day ≤ 28)."""
    year, month, day = (int(part) for part in first.split("-"))
    dates = []
    for _ in range(count):
        dates.append(f"{year:04d}-{month:02d}-{day:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return dates


def fracture(date: str, site: str = "vertebral", *, fragility: bool = True) -> dict[str, Any]:
    return {"date": date, "site": site, "fragility": fragility}


def scan(date: str, **sites: Any) -> dict[str, Any]:
    """`scan("2025-01-15", lumbar_spine=(0.9, -2.0))`; a number alone is a BMD; a dict is used
    as it is."""
    readings: dict[str, Any] = {}
    for site, value in sites.items():
        if isinstance(value, dict):
            readings[site] = value
        elif isinstance(value, tuple):
            readings[site] = {"bmd_g_cm2": value[0], "t_score": value[1]}
        else:
            readings[site] = {"bmd_g_cm2": value}
    return {"date": date, "sites": readings}


def lab(date: str, test: str, value: float) -> dict[str, Any]:
    return {"date": date, "test": test, "value": value}


def glucocorticoid(mg: float, start: str, end: str | None = None) -> dict[str, Any]:
    return {"prednisone_mg_per_day": mg, "start": start, "end": end}


def event(date: str, kind: str = "myocardial_infarction") -> dict[str, Any]:
    return {"kind": kind, "date": date}
