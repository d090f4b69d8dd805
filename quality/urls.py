"""The fracture-liaison entry pages of a patient (`quality.views`). The namespace is `fls`, apart
from the quality indicators' pages."""

from django.urls import path

from patients.records import record_urls
from quality import views

app_name = "fls"

PATIENT = "patients/<int:patient_pk>"

urlpatterns = [
    # Add and edit pages of their own (a link may choose the fracture or the episode in
    # advance); deleting stays generic.
    path(f"{PATIENT}/fls-episode/add/", views.episode_form, name="fls-episode-create"),
    path(f"{PATIENT}/fls-episode/<int:pk>/edit/", views.episode_form, name="fls-episode-update"),
    path(f"{PATIENT}/fls-follow-up/add/", views.follow_up_form, name="fls-follow-up-create"),
    path(
        f"{PATIENT}/fls-follow-up/<int:pk>/edit/",
        views.follow_up_form,
        name="fls-follow-up-update",
    ),
    *[
        pattern
        for kind in views.RECORD_KINDS
        for pattern in record_urls(kind)
        if pattern.name == f"{kind.slug}-delete"
    ],
    path(
        f"{PATIENT}/fls-episode/<int:pk>/dxa-not-needed/",
        views.dxa_not_needed,
        name="fls-episode-dxa",
    ),
]
