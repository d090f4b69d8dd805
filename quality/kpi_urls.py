"""The clinic's quality-indicator pages, under /clinics/<slug>/quality/ (config/urls.py)."""

from django.urls import path

from quality import kpi_views

app_name = "kpis"

urlpatterns = [
    path("", kpi_views.kpi_page, name="page"),
    path("audit.csv", kpi_views.audit_csv, name="audit-csv"),
    # Before the KPI lists: "completeness" is not an indicator's key.
    path("completeness/<slug:item>/", kpi_views.completeness_drill_down, name="completeness"),
    path("<slug:key>/<slug:part>/", kpi_views.kpi_drill_down, name="drill-down"),
]
