from django.urls import path

from interop.fhir.views import patient_everything

urlpatterns = [
    path("fhir/Patient/<int:pk>/$everything", patient_everything, name="fhir-patient-everything"),
]
