from django.urls import path

from patients import intake_views, letter_views, records, staff_views, summary_views, views

app_name = "patients"

urlpatterns = [
    path("patients/", views.patient_list, name="list"),
    path("patients/new/", views.patient_create_view, name="create"),
    path("patients/<int:pk>/", views.patient_detail, name="detail"),
    path("patients/<int:pk>/edit/", views.patient_edit, name="edit"),
    path("patients/<int:pk>/contact/", views.contact_details_edit, name="contact"),
    path("patients/<int:pk>/status/", views.patient_status_edit, name="status"),
    path("patients/<int:pk>/summary/", summary_views.patient_summary, name="summary"),
    path("patients/<int:pk>/summary/pdf/", summary_views.patient_summary_pdf, name="summary-pdf"),
    path("patients/<int:pk>/letter/", letter_views.gp_letter, name="letter"),
    path("patients/<int:pk>/letter/pdf/", letter_views.gp_letter_pdf, name="letter-pdf"),
    path("patients/<int:pk>/risk-factors/", views.risk_factors_edit, name="risk-factors"),
    path("patients/<int:pk>/history/", intake_views.patient_intake, name="intake"),
    path("patients/<int:pk>/changes/", views.patient_changes_view, name="changes"),
    path("patients/<int:pk>/access-log/", staff_views.patient_access_log, name="access-log"),
    path("clinics/<slug:slug>/staff/", staff_views.staff_list, name="staff"),
    path("clinics/<slug:slug>/staff/log/", staff_views.staff_log, name="staff-log"),
    path("clinics/<slug:slug>/staff/<int:pk>/", staff_views.staff_update, name="staff-update"),
    path(
        "clinics/<slug:slug>/staff/<int:pk>/account/",
        staff_views.staff_account,
        name="staff-account",
    ),
    path(
        "clinics/<slug:slug>/staff/confirmations/<int:pk>/",
        staff_views.role_decision,
        name="role-decision",
    ),
    path(
        "invitations/<str:token>/",
        staff_views.invitation_accept_view,
        name="invitation-accept",
    ),
]
for kind in views.RECORD_KINDS:
    urlpatterns += records.record_urls(kind)
