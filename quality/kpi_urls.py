"""The clinic's quality-indicator pages (`quality.kpi_views`), under /clinics/<slug>/quality/.
The namespace is `kpis`. Each route names the clinic itself rather than through its include's
prefix, as the other apps' URLconfs do, so that the permission walk sees every parameter."""

from django.urls import path

from quality import kpi_views

app_name = "kpis"

PREFIX = "clinics/<slug:slug>/quality/"

urlpatterns = [
    path(PREFIX, kpi_views.kpi_page, name="page"),
    path(f"{PREFIX}audit.csv", kpi_views.audit_csv, name="audit-csv"),
    # Before the KPI lists: "completeness" is not an indicator's key.
    path(
        f"{PREFIX}completeness/<slug:item>/",
        kpi_views.completeness_drill_down,
        name="completeness",
    ),
    path(f"{PREFIX}<slug:key>/<slug:part>/", kpi_views.kpi_drill_down, name="drill-down"),
]
