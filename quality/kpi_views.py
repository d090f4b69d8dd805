"""The clinic's quality-indicator pages: the KPI page (IOF and FLS-DB tables, data completeness,
the monthly run chart), the drill-down to the patients behind a number, and the de-identified
audit CSV.

Thin, as every edge: the clinic through `patients.access.clinic_for_user` (404 outside the
user's clinics, 403 by role), the period through `quality.kpi_forms.PeriodForm`, the numbers
from `quality.reports.clinic_kpi_report` — computed once a request, so the page's query count
does not grow with the clinic's episodes. A drill-down shows patients (name, MRN, index fracture)
and is written to the access log, one INSERT for the patients of the page shown, as the
worklist's CSV export is; so is the audit export.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from patients.access import clinic_for_user
from patients.access_log import access_log_write
from patients.models import Clinic, Fracture, Patient
from patients.permissions import Action, role_allows
from quality.audit_export import audit_csv_lines
from quality.kpi_forms import PeriodForm
from quality.kpis import KPI_BY_KEY, CompletenessItem, Family, Level
from quality.reports import KpiReport, KpiRow, clinic_kpi_report, rounded
from quality.selectors import EpisodePatient, cohort_mrns, episode_patients

logger = logging.getLogger(__name__)

#: Patients per drill-down page.
PAGE_SIZE = 25

#: The lists a KPI drills down to (`KpiValue`'s id sets).
PARTS = {
    "numerator": "in the numerator",
    "denominator": "in the denominator",
    "pending": "pending (window still open)",
}

#: A level in words as well as in colour (WCAG 1.4.1): the badge's class and its text.
LEVEL_BADGES = {
    Level.GREEN: ("text-bg-success", "Green"),
    Level.AMBER: ("text-bg-warning", "Amber"),
    Level.RED: ("text-bg-danger", "Red"),
}

#: The run chart's reference lines, in % (the IOF levels: below 50 % red, above 80 % green).
REFERENCE_LINES = (50, 80)


@dataclass(frozen=True)
class RowView:
    """One KPI's line of the page: the report's row, its level in words and as a badge class."""

    row: KpiRow
    badge_class: str
    level_text: str
    #: Rounded as every door rounds it (`quality.reports.rounded`), then shown with one decimal.
    percent: float | None

    @classmethod
    def of(cls, row: KpiRow) -> RowView:
        badge_class, text = LEVEL_BADGES.get(row.level, ("text-bg-light border", "No value"))
        return cls(
            row=row, badge_class=badge_class, level_text=text, percent=rounded(row.value.percent)
        )


@dataclass(frozen=True)
class CompletenessView:
    item: CompletenessItem
    percent: float | None


@dataclass(frozen=True)
class DrillDownRow:
    """A patient of a drill-down, with the index fracture's site in words."""

    patient: EpisodePatient
    site: str


#: The fracture sites in words ("vertebral" → "Vertebral (spine)").
SITE_LABELS: dict[str, str] = {
    str(value): str(label) for value, label in Fracture._meta.get_field("site").flatchoices
}


@dataclass(frozen=True)
class FamilyTable:
    family: Family
    rows: list[RowView]


def _families(report: KpiReport) -> list[FamilyTable]:
    return [
        FamilyTable(
            family,
            [RowView.of(row) for row in report.rows if row.definition.family == family],
        )
        for family in Family
    ]


def _chart_data(report: KpiReport) -> dict[str, Any]:
    """What static/js/kpi_run_chart.js draws: per KPI, its percent per month (None: no value);
    drawn first, the first KPI that has a value in some month."""
    kpis = [
        {
            "key": row.definition.key,
            "label": f"{row.definition.family} {row.definition.number}: {row.definition.title}",
            "values": [rounded(point.percents.get(row.definition.key)) for point in report.months],
        }
        for row in report.rows
    ]
    drawn = next((k["key"] for k in kpis if any(v is not None for v in k["values"])), None)
    return {
        "months": [f"{point.month:%Y-%m}" for point in report.months],
        "references": list(REFERENCE_LINES),
        "kpis": kpis,
        "selected": drawn or (kpis[0]["key"] if kpis else ""),
    }


def _period_form(request: HttpRequest) -> PeriodForm:
    form = PeriodForm(request.GET, as_of=timezone.localdate())
    form.is_valid()
    return form


@require_GET
def kpi_page(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = clinic_for_user(request.user, slug, Action.VIEW_QUALITY)
    form = _period_form(request)
    report = clinic_kpi_report(clinic=clinic, period=form.period, as_of=form.as_of)
    return render(
        request,
        "quality/kpi_page.html",
        {
            "clinic": clinic,
            "form": form,
            "report": report,
            "episode_count": report.episodes,
            "families": _families(report),
            "completeness": [
                CompletenessView(item=item, percent=rounded(item.percent))
                for item in report.completeness
            ],
            "chart_data": _chart_data(report),
            "may_export": role_allows(clinic.user_role, Action.EXPORT_QUALITY_AUDIT),
            "may_set_caseload": role_allows(clinic.user_role, Action.MANAGE_REMINDERS),
        },
    )


def _drill_down(
    request: HttpRequest,
    *,
    clinic: Clinic,
    form: PeriodForm,
    episode_ids: Iterable[int],
    context: dict[str, Any],
) -> HttpResponse:
    """One page of the patients of `episode_ids`, written to the access log."""
    rows = [
        DrillDownRow(patient=row, site=SITE_LABELS.get(row.fracture_site, row.fracture_site))
        for row in episode_patients(clinic_id=clinic.pk, episode_ids=episode_ids)
    ]
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = {row.patient.patient_id: row.patient.mrn for row in page.object_list}
    route = request.resolver_match.view_name if request.resolver_match else ""
    _log_read(request, clinic=clinic, patients=shown, route=route)
    logger.info(
        "quality drill-down %s of %s opened by %s: %d patients shown of %d episodes",
        route,
        clinic.slug,
        request.user.get_username(),
        len(shown),
        page.paginator.count,
    )
    return render(
        request,
        "quality/kpi_drill_down.html",
        {"clinic": clinic, "form": form, "page": page, "period_query": form.query(), **context},
    )


def _log_read(
    request: HttpRequest, *, clinic: Clinic, patients: dict[int, str], route: str
) -> None:
    """One access-log INSERT for these patients (id → MRN): the selectors' rows carry what the
    log keeps, so no second query reads the patients."""
    access_log_write(
        user=request.user,  # type: ignore[arg-type]  # signed in: the middleware said so
        patients=[Patient(pk=pk, clinic_id=clinic.pk, mrn=mrn) for pk, mrn in patients.items()],
        route=route,
    )


@require_GET
def kpi_drill_down(request: HttpRequest, slug: str, key: str, part: str) -> HttpResponse:
    clinic = clinic_for_user(request.user, slug, Action.VIEW_QUALITY)
    definition = KPI_BY_KEY.get(key)
    if definition is None or not definition.has_drill_down or part not in PARTS:
        raise Http404("No such indicator list.")
    form = _period_form(request)
    report = clinic_kpi_report(clinic=clinic, period=form.period, as_of=form.as_of)
    row = next(r for r in report.rows if r.definition.key == key)
    return _drill_down(
        request,
        clinic=clinic,
        form=form,
        episode_ids=getattr(row.value, part),
        context={"kpi": RowView.of(row), "part": part, "part_label": PARTS[part]},
    )


@require_GET
def completeness_drill_down(request: HttpRequest, slug: str, item: str) -> HttpResponse:
    clinic = clinic_for_user(request.user, slug, Action.VIEW_QUALITY)
    form = _period_form(request)
    report = clinic_kpi_report(clinic=clinic, period=form.period, as_of=form.as_of)
    found = next((c for c in report.completeness if c.key == item), None)
    if found is None:
        raise Http404("No such data item.")
    return _drill_down(
        request,
        clinic=clinic,
        form=form,
        episode_ids=found.missing,
        context={"item": found, "item_percent": rounded(found.percent)},
    )


@require_GET
def audit_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The de-identified audit CSV of the period's index fractures (`quality.audit_export`)."""
    clinic = clinic_for_user(request.user, slug, Action.EXPORT_QUALITY_AUDIT)
    form = _period_form(request)
    if form.errors:
        messages = "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items())
        return HttpResponse(
            f"Invalid period ({messages}).", status=400, content_type="text/plain; charset=utf-8"
        )
    period = form.period
    user = request.user.get_username()

    def lines() -> Iterator[str]:
        count = -1  # the header is not an episode
        for count, line in enumerate(  # noqa: B007  # logged after
            audit_csv_lines(clinic=clinic, period=period, as_of=form.as_of)
        ):
            yield line
        # De-identified, but still an export of these patients' records: logged as the
        # worklist's CSV export is, once it has been sent.
        _log_read(
            request,
            clinic=clinic,
            patients=cohort_mrns(clinic_id=clinic.pk, period=period),
            route="kpis:audit-csv",
        )
        logger.info(
            "quality audit CSV of %s (%s to %s) exported by %s: %d episodes",
            clinic.slug,
            period.start,
            period.end,
            user,
            max(count, 0),
        )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="quality-audit-{clinic.slug}-'
        f'{period.start:%Y-%m-%d}-to-{period.end:%Y-%m-%d}.csv"'
    )
    # Cache-Control: no-store, private comes from config.middleware, as on every signed-in page.
    return response
