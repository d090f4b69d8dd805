from django.urls import path

from patients.records import record_urls
from therapy import views

app_name = "therapy"

urlpatterns = [
    path("patients/<int:patient_pk>/decision/", views.decision_create, name="decision-create"),
    path(
        "patients/<int:patient_pk>/decisions/<int:pk>/",
        views.decision_detail,
        name="decision-detail",
    ),
    *[pattern for kind in views.RECORD_KINDS for pattern in record_urls(kind)],
    # The patient page's one-step entry of a dose given in an injected course.
    path(
        "patients/<int:patient_pk>/courses/<int:course_pk>/dose-given/",
        views.dose_given,
        name="dose-given",
    ),
]
