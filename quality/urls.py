"""The fracture-liaison entry pages of a patient (`quality.views`). The namespace is `fls`, apart
from the quality indicators' pages."""

from django.urls import path

from patients.records import record_urls
from quality import views

app_name = "fls"

PATIENT = "patients/<int:patient_pk>"

urlpatterns = [
    *[pattern for kind in views.RECORD_KINDS for pattern in record_urls(kind)],
    path(
        f"{PATIENT}/fls-episode/<int:pk>/dxa-not-needed/",
        views.dxa_not_needed,
        name="fls-episode-dxa",
    ),
]
