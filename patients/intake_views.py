"""The history intake page: a new patient's previous fractures and courses in one form."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from patients.access import patient_for_user
from patients.exceptions import IntakeRowError
from patients.intake import patient_history_record
from patients.intake_forms import IntakeForms
from patients.permissions import Action


def patient_intake(request: HttpRequest, pk: int) -> HttpResponse:
    """Clinicians only: the courses are therapy decisions' history (`MANAGE_THERAPY`)."""
    access = patient_for_user(request.user, pk, Action.MANAGE_THERAPY)
    patient = access.patient
    intake = IntakeForms(request.POST or None, patient=patient)
    patient_url = reverse("patients:detail", args=[patient.pk])
    if request.method == "POST" and intake.is_valid():
        if intake.is_empty:
            messages.info(request, "No previous fracture or course was recorded.")
            return redirect(patient_url)
        try:
            saved = patient_history_record(
                patient=patient,
                fractures=intake.new_fractures(),
                courses=intake.new_courses(),
                actor=request.user,  # type: ignore[arg-type]
            )
        except IntakeRowError as error:
            intake.add_row_error(error)
        else:
            messages.success(
                request,
                f"Recorded {_count(len(saved.fractures), 'previous fracture')} and "
                f"{_count(len(saved.courses), 'previous course')}.",
            )
            return redirect(patient_url)
    return render(
        request,
        "patients/intake.html",
        {
            "access": access,
            "patient": patient,
            "intake": intake,
            "fractures": patient.fractures.all(),
            "courses": patient.therapy_courses.all(),
            "patient_url": patient_url,
        },
        status=400 if request.method == "POST" else 200,
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
