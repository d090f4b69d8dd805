"""The printable patient summary: for the chart or the patient's family doctor."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from patients.access import patient_for_user
from patients.models import Patient
from patients.permissions import Action
from patients.views import therapy_timeline
from therapy.presenters import case_panel
from therapy.selectors import case_from_patient, patients_with_history


def patient_summary(request: HttpRequest, pk: int) -> HttpResponse:
    access = patient_for_user(request.user, pk, Action.VIEW_CLINICAL)
    patient = patients_with_history(Patient.objects.filter(pk=access.patient.pk)).get()
    today = timezone.localdate()
    courses = list(patient.therapy_courses.all())
    return render(
        request,
        "patients/patient_summary.html",
        {
            "patient": patient,
            "panel": case_panel(case_from_patient(patient, as_of=today)),
            "courses": courses,
            "timeline": therapy_timeline(courses),
            "printed_by": request.user,
            "printed_at": timezone.localtime(),
        },
    )
