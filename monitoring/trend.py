"""The BMD trend of one patient, per site: each scan's BMD with its change from the previous
and from the baseline (first) scan, judged against the least significant change by the engine
(`bmd_change`: the later scan's own LSC, else RULES.md's default for the site), and the change
from baseline annualised. Therapy courses come along for the chart's shading.

A selector over rows the caller has already loaded (the patient page prefetches
`dxa_scans` and `therapy_courses`): it runs no query of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from monitoring.dxa import SITE_LABELS
from monitoring.models import DxaScan
from therapy import catalogue
from therapy.engine import BmdChange, bmd_change, limits
from therapy.engine.bmd import site_lsc_pct
from therapy.engine.case import DxaSite
from therapy.models import TherapyCourse

_EPOCH = dt.date(1970, 1, 1)


def _day(date: dt.date) -> int:
    """Days since 1970-01-01: the chart's x axis (linear, so no date adapter is needed)."""
    return (date - _EPOCH).days


def signed_pct(value: float) -> str:
    """+2.3 % / −5.4 % / 0.0 %, with a true minus sign."""
    text = f"{abs(value):.1f}"
    if text == "0.0":
        return "0.0 %"
    return f"{'+' if value > 0 else '−'}{text} %"


def significance(change: BmdChange) -> str:
    """The change judged against the LSC, in words (never colour only)."""
    if change.is_significant_gain:
        return "significant gain"
    if change.is_significant_loss:
        return "significant loss"
    return "not significant"


@dataclass(frozen=True)
class ChangeView:
    """A change as the table shows it: signed %, the verdict in words, a class for emphasis."""

    text: str
    significance: str
    css: str


def change_view(change: BmdChange | None) -> ChangeView | None:
    if change is None:
        return None
    verdict = significance(change)
    css = {"significant gain": "trend-gain", "significant loss": "trend-loss"}.get(verdict, "")
    return ChangeView(text=signed_pct(change.change_pct), significance=verdict, css=css)


@dataclass(frozen=True)
class TrendPoint:
    date: dt.date
    bmd_g_cm2: float
    t_score: float | None
    lsc_pct: float  # the LSC this scan's changes are judged against
    has_own_lsc: bool  # the scan gave its own LSC for the site
    from_previous: BmdChange | None
    from_baseline: BmdChange | None
    days_from_baseline: int

    @property
    def from_previous_view(self) -> ChangeView | None:
        return change_view(self.from_previous)

    @property
    def from_baseline_view(self) -> ChangeView | None:
        return change_view(self.from_baseline)

    @property
    def annualised_pct_per_year(self) -> float | None:
        """The change from baseline as % per year (365.25-day years, as REF-2)."""
        if self.from_baseline is None or self.days_from_baseline <= 0:
            return None
        return self.from_baseline.change_pct * limits.DAYS_PER_YEAR / self.days_from_baseline

    @property
    def annualised_text(self) -> str:
        value = self.annualised_pct_per_year
        return "—" if value is None else f"{signed_pct(value)}/year"


@dataclass(frozen=True)
class SiteTrend:
    site: DxaSite
    label: str
    points: tuple[TrendPoint, ...]

    @property
    def baseline(self) -> TrendPoint:
        return self.points[0]

    @property
    def latest(self) -> TrendPoint:
        return self.points[-1]


@dataclass(frozen=True)
class CourseSpan:
    label: str
    start: dt.date
    end: dt.date | None  # None: ongoing
    shaded_until: dt.date  # the end, or as_of for an ongoing course


@dataclass(frozen=True)
class BmdTrend:
    sites: tuple[SiteTrend, ...]
    courses: tuple[CourseSpan, ...]

    def __bool__(self) -> bool:
        return bool(self.sites)

    def chart_data(self) -> dict[str, Any]:
        """What `static/js/bmd-trend.js` draws (passed with `json_script`)."""
        return {
            "sites": [
                {
                    "site": str(site.site),
                    "label": site.label,
                    "points": [
                        {
                            "x": _day(p.date),
                            "y": p.bmd_g_cm2,
                            "date": p.date.isoformat(),
                            "previous": _change_text(p.from_previous),
                            "baseline": _change_text(p.from_baseline),
                            "is_significant": bool(
                                p.from_previous and p.from_previous.is_significant
                            ),
                        }
                        for p in site.points
                    ],
                }
                for site in self.sites
            ],
            "courses": [
                {
                    "label": c.label,
                    "start": _day(c.start),
                    "end": _day(c.shaded_until),
                    "dates": f"{c.start:%Y-%m-%d} – {c.end:%Y-%m-%d}"
                    if c.end
                    else f"{c.start:%Y-%m-%d} – ongoing",
                }
                for c in self.courses
            ],
        }


def _change_text(change: BmdChange | None) -> str:
    if change is None:
        return ""
    return f"{signed_pct(change.change_pct)} ({significance(change)})"


def _site_trend(site: DxaSite, scans: list[DxaScan]) -> SiteTrend | None:
    points: list[TrendPoint] = []
    for scan in scans:
        bmd, t_score, own_lsc = scan.site_values(site)
        if bmd is None:
            continue
        baseline = points[0] if points else None
        previous = points[-1] if points else None
        points.append(
            TrendPoint(
                date=scan.date,
                bmd_g_cm2=bmd,
                t_score=t_score,
                lsc_pct=site_lsc_pct(site, own_lsc),
                has_own_lsc=own_lsc is not None,
                from_previous=bmd_change(site, previous.bmd_g_cm2, bmd, own_lsc)
                if previous
                else None,
                from_baseline=bmd_change(site, baseline.bmd_g_cm2, bmd, own_lsc)
                if baseline
                else None,
                days_from_baseline=(scan.date - baseline.date).days if baseline else 0,
            )
        )
    if not points:
        return None
    return SiteTrend(site=site, label=SITE_LABELS[site].capitalize(), points=tuple(points))


def bmd_trend(
    *, scans: Iterable[DxaScan], courses: Iterable[TherapyCourse], as_of: dt.date
) -> BmdTrend:
    """The trend of every site with at least one BMD, in date order; courses in start order."""
    ordered = sorted(scans, key=lambda scan: (scan.date, scan.pk or 0))
    sites = tuple(trend for site in DxaSite if (trend := _site_trend(site, ordered)) is not None)
    spans = tuple(
        CourseSpan(
            label=catalogue.label(course.drug),
            start=course.start,
            end=course.end,
            shaded_until=course.end or max(as_of, course.start),
        )
        for course in sorted(courses, key=lambda course: (course.start, course.pk or 0))
    )
    return BmdTrend(sites=sites, courses=spans)
