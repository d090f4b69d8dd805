from django.urls import path

from monitoring import views
from patients.records import record_urls

app_name = "monitoring"

PATIENT = "patients/<int:patient_pk>"

urlpatterns = [
    # Entry pages of their own; deleting a scan or a lab value stays generic.
    path(f"{PATIENT}/dxa/add/", views.dxa_scan_form, name="dxa-create"),
    path(f"{PATIENT}/dxa/<int:pk>/edit/", views.dxa_scan_form, name="dxa-update"),
    path(f"{PATIENT}/lab/add/", views.lab_panel, name="lab-create"),
    path(f"{PATIENT}/lab/<int:pk>/edit/", views.lab_value_edit, name="lab-update"),
    *[
        pattern
        for kind in (views.DXA_SCAN, views.LAB_RESULT)
        for pattern in record_urls(kind)
        if pattern.name == f"{kind.slug}-delete"
    ],
    *record_urls(views.REASSESSMENT),
    path(f"{PATIENT}/bmd-trend/", views.bmd_trend_view, name="bmd-trend"),
    path("dxa-imports/", views.dxa_import_new, name="dxa-import"),
    path("dxa-imports/template.csv", views.dxa_import_template, name="dxa-import-template"),
    path("dxa-imports/<int:pk>/", views.dxa_import_detail, name="dxa-import-detail"),
    path("dxa-imports/<int:pk>/queue/", views.dxa_import_queue, name="dxa-import-queue"),
    path(
        "clinics/<slug:slug>/lab-units-and-scanners/",
        views.measurement_settings,
        name="measurement-settings",
    ),
    path(
        "clinics/<slug:slug>/scanners/<int:pk>/retire/",
        views.dxa_scanner_retire,
        name="scanner-retire",
    ),
]
