"""Create, edit and delete pages for every kind of record a patient has, written once.

Each app declares its record kinds (`RecordKind`) and routes them with `record_urls`; the views
below do the rest: access helper → form → one service call → redirect back to the patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse

from patients.access import PatientAccess, patient_for_user
from patients.permissions import Action
from patients.services import record_delete, record_save
from patients.versions import EditConflict


@dataclass(frozen=True)
class RecordKind:
    """One kind of patient record and how the pages handle it."""

    slug: str  # URL segment and URL-name prefix: "fracture" → fracture-create
    label: str  # "fracture"
    model: type[models.Model]
    form_class: type[forms.ModelForm]
    action: Action
    patient_path: str = "patient"  # lookup from the record to its patient
    #: (access, request) -> extra kwargs for the form (a link may choose a row in advance).
    form_kwargs: Any = field(default=None)
    #: ValidationError -> ValidationError: where a refusal from the write path is shown (a
    #: unique clash the model reports beside its first field, shown beside the one the person
    #: chose).
    refusal: Any = field(default=None)
    anchor: str = ""  # section of the patient page to return to

    def rows(self, access: PatientAccess) -> models.QuerySet[Any]:
        return self.model._default_manager.filter(**{self.patient_path: access.patient})

    def new_instance(self, access: PatientAccess) -> models.Model:
        instance = self.model()
        if self.patient_path == "patient":
            instance.patient = access.patient  # type: ignore[attr-defined]
        return instance

    def extra_form_kwargs(self, access: PatientAccess, request: HttpRequest) -> dict[str, Any]:
        return self.form_kwargs(access, request) if self.form_kwargs else {}


def add_validation_error(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a model's ValidationError beside the form's fields; others go on top of the form.
    After an edit conflict the form carries the row's version now (`patients.versions`)."""
    if isinstance(error, EditConflict) and hasattr(form, "refresh_version"):
        form.refresh_version(error.version)
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def patient_url(access: PatientAccess, kind: RecordKind | None = None) -> str:
    url = reverse("patients:detail", args=[access.patient.pk])
    return f"{url}#{kind.anchor}" if kind and kind.anchor else url


def save_form(request: HttpRequest, form: forms.ModelForm, kind: RecordKind | None = None) -> bool:
    """Validate and save through the service; on a domain error keep the form and its input."""
    if not form.is_valid():
        return False
    try:
        record_save(instance=form.instance, actor=request.user)  # type: ignore[arg-type]
    except ValidationError as error:
        add_validation_error(form, kind.refusal(error) if kind and kind.refusal else error)
        return False
    return True


def record_form_view(
    request: HttpRequest, patient_pk: int, kind: RecordKind, pk: int | None = None
) -> HttpResponse:
    access = patient_for_user(request.user, patient_pk, kind.action)
    instance = get_object_or_404(kind.rows(access), pk=pk) if pk else kind.new_instance(access)
    form = kind.form_class(
        request.POST or None, instance=instance, **kind.extra_form_kwargs(access, request)
    )
    if request.method == "POST" and save_form(request, form, kind):
        verb = "updated" if pk else "recorded"
        messages.success(request, f"The {kind.label} was {verb}.")
        if "save_add_another" in request.POST:
            return redirect(request.path)
        return redirect(patient_url(access, kind))
    return render(
        request,
        "patients/record_form.html",
        {
            "access": access,
            "patient": access.patient,
            "form": form,
            "kind": kind,
            "is_new": pk is None,
            "back_url": patient_url(access, kind),
        },
        status=400 if request.method == "POST" else 200,
    )


def record_delete_view(
    request: HttpRequest, patient_pk: int, kind: RecordKind, pk: int
) -> HttpResponse:
    access = patient_for_user(request.user, patient_pk, kind.action)
    instance = get_object_or_404(kind.rows(access), pk=pk)
    if request.method == "POST":
        try:
            record_delete(instance=instance, actor=request.user)  # type: ignore[arg-type]
        except models.ProtectedError:
            messages.error(request, f"This {kind.label} is still referenced and cannot be deleted.")
        else:
            messages.success(request, f"The {kind.label} was deleted.")
        return redirect(patient_url(access, kind))
    return render(
        request,
        "patients/record_confirm_delete.html",
        {
            "access": access,
            "patient": access.patient,
            "kind": kind,
            "object": instance,
            "back_url": patient_url(access, kind),
        },
    )


def record_urls(kind: RecordKind) -> list[URLPattern]:
    base = f"patients/<int:patient_pk>/{kind.slug}"
    return [
        path(f"{base}/add/", record_form_view, {"kind": kind}, name=f"{kind.slug}-create"),
        path(
            f"{base}/<int:pk>/edit/",
            record_form_view,
            {"kind": kind},
            name=f"{kind.slug}-update",
        ),
        path(
            f"{base}/<int:pk>/delete/",
            record_delete_view,
            {"kind": kind},
            name=f"{kind.slug}-delete",
        ),
    ]
