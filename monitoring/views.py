"""The nurse's pages: DXA and lab entry, the BMD trend partial, and the bulk DXA import.

Reassessments, and deleting a scan or a lab value, use the generic record pages
(`patients.records`); the entry pages below add what the generic form cannot: the keyboard
layout and the T-score direction question for DXA, units and creatinine clearance for labs.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from monitoring import dxa_import
from monitoring.dxa import (
    CREATININE_CLEARANCE,
    DxaDirectionUnconfirmed,
    dxa_scan_record,
    dxa_scan_summary,
    lab_value_record,
    lab_value_summary,
)
from monitoring.forms import (
    DxaImportForm,
    DxaScanForm,
    LabEntryForm,
    LabResultForm,
    ReassessmentForm,
)
from monitoring.import_tasks import enqueue_dxa_import
from monitoring.models import DxaImport, DxaScan, LabResult, Reassessment
from monitoring.trend import bmd_trend
from patients.access import clinic_for_user, clinics_for_user, patient_for_user
from patients.models import Clinic
from patients.permissions import Action
from patients.records import RecordKind, add_validation_error, patient_url

DXA_SCAN = RecordKind(
    slug="dxa",
    label="DXA scan",
    model=DxaScan,
    form_class=DxaScanForm,
    action=Action.RECORD_MEASUREMENT,
    anchor="dxa",
)
LAB_RESULT = RecordKind(
    slug="lab",
    label="lab result",
    model=LabResult,
    form_class=LabResultForm,
    action=Action.RECORD_MEASUREMENT,
    anchor="labs",
)
REASSESSMENT = RecordKind(
    slug="reassessment",
    label="fracture-risk reassessment",
    model=Reassessment,
    form_class=ReassessmentForm,
    action=Action.RECORD_REASSESSMENT,
    anchor="reassessments",
)
RECORD_KINDS = [DXA_SCAN, LAB_RESULT, REASSESSMENT]


# --- DXA and lab entry ------------------------------------------------------------------------


def dxa_scan_form(request: HttpRequest, patient_pk: int, pk: int | None = None) -> HttpResponse:
    """Record (or correct) a scan. On a new scan the page's first button — the one Enter
    presses — is "Save and log next": it saves and opens an empty form for the same patient.
    A T-score contradicting the BMD direction is asked about before anything is saved."""
    access = patient_for_user(request.user, patient_pk, Action.RECORD_MEASUREMENT)
    scan = (
        get_object_or_404(DxaScan, patient=access.patient, pk=pk)
        if pk
        else DxaScan(patient=access.patient)
    )
    form = DxaScanForm(request.POST or None, instance=scan)
    if request.method == "POST" and form.is_valid():
        try:
            dxa_scan_record(
                scan=form.instance,
                actor=request.user,  # type: ignore[arg-type]
                is_confirmed=form.cleaned_data["confirm_values"],
            )
        except DxaDirectionUnconfirmed as conflict:
            form.ask_confirmation(conflict)
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            verb = "updated" if pk else "saved"
            messages.success(
                request,
                f"DXA scan {verb} for {access.patient.name}: {dxa_scan_summary(form.instance)}.",
            )
            if not pk and "save_and_next" in request.POST:
                return redirect(request.path)
            return redirect(patient_url(access, DXA_SCAN))
    return render(
        request,
        "monitoring/dxa_form.html",
        {
            "access": access,
            "patient": access.patient,
            "form": form,
            "is_new": pk is None,
            "back_url": patient_url(access, DXA_SCAN),
        },
        status=400 if request.method == "POST" else 200,
    )


def lab_form(request: HttpRequest, patient_pk: int, pk: int | None = None) -> HttpResponse:
    """Record (or correct) a lab value in one step; Enter saves and returns to the patient."""
    access = patient_for_user(request.user, patient_pk, Action.RECORD_MEASUREMENT)
    lab = get_object_or_404(LabResult, patient=access.patient, pk=pk) if pk else None
    form = LabEntryForm(request.POST or None, today=timezone.localdate(), lab=lab)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = lab_value_record(
                patient=access.patient,
                test=data["test"],
                value=data["value"],
                unit=data["unit"],
                date=data["date"],
                actor=request.user,  # type: ignore[arg-type]
                lab=lab,
            )
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            summary = lab_value_summary(test=data["test"], saved=saved)
            messages.success(request, f"{summary} for {access.patient.name}.")
            if not pk and "save_and_next" in request.POST:
                return redirect(request.path)
            anchor = "risk-factors" if data["test"] == CREATININE_CLEARANCE else "labs"
            return redirect(f"{patient_url(access)}#{anchor}")
    return render(
        request,
        "monitoring/lab_form.html",
        {
            "access": access,
            "patient": access.patient,
            "form": form,
            "is_new": pk is None,
            "back_url": patient_url(access, LAB_RESULT),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- the BMD trend ----------------------------------------------------------------------------


def bmd_trend_view(request: HttpRequest, patient_pk: int) -> HttpResponse:
    """The BMD trend section alone (htmx loads it into the patient page), or as a page."""
    access = patient_for_user(request.user, patient_pk, Action.VIEW_CLINICAL)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    patient = access.patient
    trend = bmd_trend(
        scans=patient.dxa_scans.all(),
        courses=patient.therapy_courses.all(),
        as_of=timezone.localdate(),
    )
    template = (
        "monitoring/_bmd_trend.html"
        if request.htmx  # type: ignore[attr-defined]  # django-htmx middleware
        else "monitoring/bmd_trend.html"
    )
    return render(request, template, {"access": access, "patient": patient, "bmd_trend": trend})


# --- bulk DXA import --------------------------------------------------------------------------


def _import_clinics(request: HttpRequest) -> list[Clinic]:
    """The clinics where the user may import scans; none at all: 403."""
    clinics = list(clinics_for_user(request.user, Action.RECORD_MEASUREMENT).order_by("name"))
    if not clinics:
        raise PermissionDenied
    return clinics


def _import_for_user(request: HttpRequest, pk: int) -> DxaImport:
    """An import of one of the user's clinics (else 404) where they record measurements (else
    403), like every clinic-scoped page."""
    job = get_object_or_404(
        DxaImport.objects.select_related("clinic", "uploaded_by").defer("content"),
        pk=pk,
        clinic__in=clinics_for_user(request.user),
    )
    clinic_for_user(request.user, job.clinic.slug, Action.RECORD_MEASUREMENT)
    return job


def dxa_import_new(request: HttpRequest) -> HttpResponse:
    """Upload a CSV of DXA results; the import runs in the background."""
    clinics = _import_clinics(request)
    form = DxaImportForm(
        request.POST or None,
        request.FILES or None,
        clinics=[(c.slug, c.name) for c in clinics],
    )
    if request.method == "POST" and form.is_valid():
        clinic = clinic_for_user(
            request.user, form.cleaned_data["clinic"], Action.RECORD_MEASUREMENT
        )
        upload = form.cleaned_data["file"]
        try:
            job = dxa_import.dxa_import_create(
                clinic=clinic,
                actor=request.user,  # type: ignore[arg-type]
                file_name=upload.name or "upload.csv",
                content=upload.read(),
            )
        except dxa_import.DxaImportRefused as refused:
            form.add_error("file", str(refused))
        else:
            queued = enqueue_dxa_import(import_id=job.pk)
            if queued.is_queued is False:
                messages.warning(
                    request,
                    f"{job.file_name} ({job.total_rows} rows) is saved and waits for a worker: "
                    "the task queue cannot be reached right now. Queue it again below later.",
                )
            else:
                messages.success(
                    request, f"{job.file_name} ({job.total_rows} rows) is queued for import."
                )
            return redirect("monitoring:dxa-import-detail", job.pk)
    return render(
        request,
        "monitoring/dxa_import_form.html",
        {
            "form": form,
            "columns": [(name, dxa_import.COLUMN_HELP[name]) for name in dxa_import.COLUMNS],
            "header": ",".join(dxa_import.COLUMNS),
            "example": dxa_import.EXAMPLE_ROW,
            "max_rows": f"{dxa_import.MAX_ROWS:,}",
            "max_mb": dxa_import.MAX_BYTES // (1024 * 1024),
            "imports": dxa_import.dxa_imports_recent(clinics=clinics),
        },
        status=400 if request.method == "POST" else 200,
    )


def dxa_import_template(request: HttpRequest) -> HttpResponse:
    """The CSV template: the header line of the column layout."""
    _import_clinics(request)
    return HttpResponse(
        dxa_import.dxa_import_template_csv(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ossa-dxa-import-template.csv"'},
    )


def dxa_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The import's progress: the page, or (for htmx polling) the progress partial alone."""
    job = _import_for_user(request, pk)
    progress = dxa_import.dxa_import_progress(job)
    template = (
        "monitoring/_dxa_import_progress.html"
        if request.htmx  # type: ignore[attr-defined]
        else "monitoring/dxa_import_detail.html"
    )
    return render(request, template, {"job": job, "progress": progress})


@require_POST
def dxa_import_queue(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a waiting import again (after the broker was down at upload)."""
    job = _import_for_user(request, pk)
    if job.status == DxaImport.Status.PENDING:
        queued = enqueue_dxa_import(import_id=job.pk)
        if queued.is_queued is False:
            messages.warning(request, "The task queue still cannot be reached; try again later.")
        else:
            messages.success(request, f"{job.file_name} is queued again.")
    return redirect("monitoring:dxa-import-detail", job.pk)
