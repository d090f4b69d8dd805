from django.urls import path

from interop.cds import views

app_name = "cds"

urlpatterns = [
    path("cds-services", views.discovery, name="discovery"),
    path("cds-services/<str:service_id>", views.service, name="service"),
    path("cds-services/<str:service_id>/feedback", views.feedback, name="feedback"),
]
