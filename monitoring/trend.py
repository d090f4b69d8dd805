"""The BMD trend of one patient, per site: each scan's BMD with its change from the previous
and from the baseline scan, judged against the least significant change by the engine
(`bmd_change`: the later scan's own LSC, else RULES.md's default for the site), and the change
from baseline annualised. Therapy courses come along for the chart's shading.

Scans from different scanners (the reading, written once here and used by the chart, the
trend's tables and `dxa_scan_rows`):

- Two scans are comparable unless both name their scanner and the names differ, ignoring case
  and surrounding spaces: the engine's `comparable_scanners`, the rule REF-2 uses, so a change
  the pages call significant is one the engine could count. (The LSC is a precision of one
  machine; ISCD: BMD of two machines is not comparable without cross-calibration.)
- From the previous scan: the site's scan just before. When it is on a different scanner the
  change is shown as "not comparable: different scanners" — no percentage, never significant.
- From the baseline: the baseline of a scan is the site's earliest earlier scan comparable with
  it. On a clinic's one scanner that is the site's first scan; the first scan on a new scanner
  (nothing earlier comparable) starts a new baseline, and the scans after it on that scanner
  are measured from it (ISCD: a new baseline on the new machine). An earlier scan of the same
  scanner stays comparable across a scan from another one (A, B, A: the second A is measured
  from the first). A scan without a named scanner is comparable with every scan, as in REF-2.

A selector over rows the caller has already loaded (the patient page prefetches
`dxa_scans` and `therapy_courses`): it runs no query of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, overload

from monitoring.dxa import SITE_LABELS
from monitoring.models import DxaScan
from therapy import catalogue
from therapy.engine import BmdChange, bmd_change, limits
from therapy.engine.bmd import site_lsc_pct
from therapy.engine.case import DxaSite
from therapy.engine.refractory import comparable_scanners
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


NOT_COMPARABLE = "not comparable: different scanners"


@dataclass(frozen=True)
class ChangeView:
    """A change as the table shows it: signed % (empty when not comparable), the verdict in
    words, a class for emphasis."""

    text: str
    significance: str
    css: str

    @property
    def is_comparable(self) -> bool:
        return self.significance != NOT_COMPARABLE


NOT_COMPARABLE_VIEW = ChangeView(text="", significance=NOT_COMPARABLE, css="trend-not-comparable")


@overload
def change_view(change: BmdChange, *, is_comparable: bool = True) -> ChangeView: ...
@overload
def change_view(change: None, *, is_comparable: bool = True) -> ChangeView | None: ...
def change_view(change: BmdChange | None, *, is_comparable: bool = True) -> ChangeView | None:
    if not is_comparable:
        return NOT_COMPARABLE_VIEW
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
    #: None for the site's first scan and when the previous scan is on another scanner.
    from_previous: BmdChange | None
    #: None when this scan is a baseline (the site's first, or the first on its scanner).
    from_baseline: BmdChange | None
    days_from_baseline: int
    scanner: str = ""
    #: False when the previous scan of the site names another scanner than this one.
    is_comparable_with_previous: bool = True
    #: The scan this one's change from baseline is measured from (itself for a baseline).
    baseline_date: dt.date = _EPOCH
    #: A baseline although earlier scans exist: none of them is on a comparable scanner.
    is_new_baseline: bool = False

    @property
    def from_previous_view(self) -> ChangeView | None:
        return change_view(self.from_previous, is_comparable=self.is_comparable_with_previous)

    @property
    def from_baseline_view(self) -> ChangeView | None:
        return change_view(self.from_baseline, is_comparable=not self.is_new_baseline)

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

    @property
    def summary(self) -> str:
        """The table's caption: "Lumbar spine: 3 scans; since the baseline of 2020-01-01,
        −10.0 % (−5.0 %/year), significant loss"."""
        count = len(self.points)
        text = f"{self.label}: {count} scan{'s' if count != 1 else ''}"
        latest = self.latest
        if count < 2:
            return text
        if latest.from_baseline is None:
            return (
                f"{text}; {NOT_COMPARABLE} (the latest scan, on {latest.scanner}, is the first "
                "on that scanner)"
            )
        view = change_view(latest.from_baseline)
        return (
            f"{text}; since the baseline of {latest.baseline_date:%Y-%m-%d}, {view.text} "
            f"({latest.annualised_text}), {view.significance}"
        )


@dataclass(frozen=True)
class CourseSpan:
    label: str
    start: dt.date  # as stored: the first day of its period when approximate
    end: dt.date | None  # None: ongoing
    #: The last day the course may have run (its end's period's last day: `end_latest`), or
    #: as_of for an ongoing course: the chart shades every day the course may have covered.
    shaded_until: dt.date
    #: "2016-03-01 – 2019-05-02", "≈ 2010 – ≈ 2015", "2024-01-10 – ongoing".
    dates: str


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
                            "scanner": p.scanner,
                            "previous": _change_text(p.from_previous_view),
                            "baseline": _change_text(p.from_baseline_view),
                            "is_significant": bool(
                                p.from_previous and p.from_previous.is_significant
                            ),
                            "is_comparable": p.is_comparable_with_previous,
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
                    "dates": c.dates,
                }
                for c in self.courses
            ],
        }


def _change_text(view: ChangeView | None) -> str:
    if view is None:
        return ""
    if not view.is_comparable:
        return view.significance
    return f"{view.text} ({view.significance})"


def _site_trend(site: DxaSite, scans: list[DxaScan]) -> SiteTrend | None:
    points: list[TrendPoint] = []
    for scan in scans:
        bmd, t_score, own_lsc = scan.site_values(site)
        if bmd is None:
            continue
        previous = points[-1] if points else None
        baseline = next((p for p in points if comparable_scanners(p.scanner, scan.scanner)), None)
        is_comparable = previous is None or comparable_scanners(previous.scanner, scan.scanner)
        points.append(
            TrendPoint(
                date=scan.date,
                bmd_g_cm2=bmd,
                t_score=t_score,
                lsc_pct=site_lsc_pct(site, own_lsc),
                has_own_lsc=own_lsc is not None,
                from_previous=bmd_change(site, previous.bmd_g_cm2, bmd, own_lsc)
                if previous and is_comparable
                else None,
                from_baseline=bmd_change(site, baseline.bmd_g_cm2, bmd, own_lsc)
                if baseline
                else None,
                days_from_baseline=(scan.date - baseline.date).days if baseline else 0,
                scanner=scan.scanner,
                is_comparable_with_previous=is_comparable,
                baseline_date=baseline.date if baseline else scan.date,
                is_new_baseline=bool(points) and baseline is None,
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
            shaded_until=course.end_latest or max(as_of, course.start),
            dates=f"{course.start_shown} – {course.end_shown or 'ongoing'}",
        )
        for course in sorted(courses, key=lambda course: (course.start, course.pk or 0))
    )
    return BmdTrend(sites=sites, courses=spans)


# --- the scans as table rows ------------------------------------------------------------------


@dataclass(frozen=True)
class DxaSiteCell:
    """One site of one scan: its values and the change of its BMD from the site's previous scan
    (None for the first BMD of the site, or without a BMD)."""

    site: DxaSite
    label: str
    bmd_g_cm2: float | None
    t_score: float | None
    change: ChangeView | None


@dataclass(frozen=True)
class DxaScanRow:
    scan: DxaScan
    sites: tuple[DxaSiteCell, ...]  # every site, in DxaSite order
    #: False when the patient's scan just before names another scanner (the module's reading).
    is_comparable_with_previous: bool

    @property
    def scanner(self) -> str:
        return self.scan.scanner


def dxa_scan_rows(*, scans: Iterable[DxaScan]) -> tuple[DxaScanRow, ...]:
    """Every scan in date order with its sites and their changes from the previous scan, read
    as the trend reads them (`templates/monitoring/_dxa_scan_table.html` shows them). No query:
    the caller passes loaded rows."""
    ordered = sorted(scans, key=lambda scan: (scan.date, scan.pk or 0))
    points = {
        (trend.site, point.date): point
        for site in DxaSite
        if (trend := _site_trend(site, ordered)) is not None
        for point in trend.points
    }
    rows = []
    for index, scan in enumerate(ordered):
        cells = []
        for site in DxaSite:
            bmd, t_score, _ = scan.site_values(site)
            point = points.get((site, scan.date))
            cells.append(
                DxaSiteCell(
                    site=site,
                    label=SITE_LABELS[site].capitalize(),
                    bmd_g_cm2=bmd,
                    t_score=t_score,
                    change=point.from_previous_view if point else None,
                )
            )
        previous = ordered[index - 1] if index else None
        rows.append(
            DxaScanRow(
                scan=scan,
                sites=tuple(cells),
                is_comparable_with_previous=previous is None
                or comparable_scanners(previous.scanner, scan.scanner),
            )
        )
    return tuple(rows)
