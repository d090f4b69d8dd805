"""The nurse's pages: DXA and lab entry, the BMD trend partial, and the bulk DXA import; and the
clinic's lab units and scanner list (clinicians and clinic admins).

Reassessments, and deleting a scan or a lab value, use the generic record pages
(`patients.records`); the entry pages below add what the generic form cannot: the keyboard
layout, the scanner list and the T-score direction question for DXA; a panel of tests on one
date with units, conversion and the usual-range question for labs.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from monitoring import dxa_import
from monitoring.clinic_measurements import (
    clinic_lab_units,
    clinic_lab_units_update,
    clinic_scanners,
    dxa_scanner_add,
    dxa_scanner_set_retired,
)
from monitoring.dxa import DxaDirectionUnconfirmed, dxa_scan_record, dxa_scan_summary
from monitoring.forms import (
    ClinicLabUnitsForm,
    DxaImportForm,
    DxaScanForm,
    DxaScannerForm,
    LabPanelForm,
    LabResultForm,
    LabValueForm,
    ReassessmentForm,
)
from monitoring.import_tasks import enqueue_dxa_import
from monitoring.lab_tests import conversion_rules
from monitoring.labs import (
    LabValuesUnconfirmed,
    lab_panel_record,
    lab_panel_summary,
    lab_value_update,
)
from monitoring.models import DxaImport, DxaScan, DxaScanner, LabResult, Reassessment
from monitoring.trend import bmd_trend
from patients.access import PatientAccess, clinic_for_user, clinics_for_user, patient_for_user
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
    A T-score contradicting the BMD direction is asked about before anything is saved. The
    scanner is picked from the clinic's list when it has one."""
    access = patient_for_user(request.user, patient_pk, Action.RECORD_MEASUREMENT)
    scan = (
        get_object_or_404(DxaScan, patient=access.patient, pk=pk)
        if pk
        else DxaScan(patient=access.patient)
    )
    scanners = [s.name for s in clinic_scanners(clinic_id=access.patient.clinic_id)]
    form = DxaScanForm(request.POST or None, instance=scan, scanners=scanners)
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
            "settings_url": _settings_url(access),
        },
        status=400 if request.method == "POST" else 200,
    )


def _settings_url(access: PatientAccess) -> str:
    """The clinic's lab units and scanners page, for a role that may change them (else "")."""
    if not access.can(Action.MANAGE_MEASUREMENT_SETTINGS):
        return ""
    return reverse("monitoring:measurement-settings", args=[access.patient.clinic.slug])


def _initial_sample_date(request: HttpRequest) -> dt.date:
    """Today, or the date "Save and log another" carried over (`?date=YYYY-MM-DD`)."""
    try:
        return dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return timezone.localdate()


def lab_panel(request: HttpRequest, patient_pk: int) -> HttpResponse:
    """Record the values of one sample in one step: a date and any of the tests, each in the
    unit the clinic's laboratory reports (or another of the test's units). Enter saves and
    returns to the patient; "Save and log another" opens an empty panel on the same date."""
    access = patient_for_user(request.user, patient_pk, Action.RECORD_MEASUREMENT)
    units = clinic_lab_units(clinic_id=access.patient.clinic_id)
    form = LabPanelForm(
        request.POST or None, units=units, initial_date=_initial_sample_date(request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = lab_panel_record(
                patient=access.patient,
                date=form.cleaned_data["date"],
                entries=form.entries(),
                actor=request.user,  # type: ignore[arg-type]
            )
        except LabValuesUnconfirmed as unusual:
            form.ask_confirmation(unusual.warnings)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{lab_panel_summary(saved)} for {access.patient.name}.")
            if "save_and_next" in request.POST:
                date = form.cleaned_data["date"]
                return redirect(f"{request.path}?date={date:%Y-%m-%d}" if date else request.path)
            dated = any(isinstance(row, LabResult) for row in saved)
            return redirect(f"{patient_url(access)}#{'labs' if dated else 'risk-factors'}")
    return render(
        request,
        "monitoring/lab_form.html",
        {
            "access": access,
            "patient": access.patient,
            "form": form,
            "is_new": True,
            "conversions": conversion_rules(),
            "back_url": patient_url(access, LAB_RESULT),
            "settings_url": _settings_url(access),
        },
        status=400 if request.method == "POST" else 200,
    )


def lab_value_edit(request: HttpRequest, patient_pk: int, pk: int) -> HttpResponse:
    """Correct one dated lab value; it is shown as it was typed (value and unit)."""
    access = patient_for_user(request.user, patient_pk, Action.RECORD_MEASUREMENT)
    lab = get_object_or_404(LabResult, patient=access.patient, pk=pk)
    form = LabValueForm(request.POST or None, lab=lab)
    if request.method == "POST" and form.is_valid():
        try:
            saved = lab_value_update(
                lab=lab,
                date=form.cleaned_data["date"],
                entry=form.entry(),
                actor=request.user,  # type: ignore[arg-type]
            )
        except LabValuesUnconfirmed as unusual:
            form.ask_confirmation(unusual.warnings)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{lab_panel_summary([saved])} for {access.patient.name}.")
            return redirect(patient_url(access, LAB_RESULT))
    return render(
        request,
        "monitoring/lab_form.html",
        {
            "access": access,
            "patient": access.patient,
            "form": form,
            "is_new": False,
            "conversions": conversion_rules(),
            "back_url": patient_url(access, LAB_RESULT),
            "settings_url": _settings_url(access),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- the clinic's lab units and scanners ------------------------------------------------------


def measurement_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """The units the clinic's laboratory reports and the clinic's DXA scanners (clinicians and
    clinic admins). Three forms on one page, told apart by their submit button's name."""
    clinic = clinic_for_user(request.user, slug, Action.MANAGE_MEASUREMENT_SETTINGS)
    actor = request.user
    posted = request.POST if request.method == "POST" else None
    units_form = ClinicLabUnitsForm(
        posted if "save_units" in request.POST else None,
        units=clinic_lab_units(clinic_id=clinic.pk),
    )
    scanner_form = DxaScannerForm(posted if "add_scanner" in request.POST else None)
    if request.method == "POST":
        if "save_units" in request.POST and units_form.is_valid():
            try:
                changed = clinic_lab_units_update(
                    clinic=clinic,
                    units=units_form.units(),
                    actor=actor,  # type: ignore[arg-type]
                )
            except ValidationError as error:
                units_form.add_service_error(error)
            else:
                messages.success(
                    request,
                    f"Lab units of {clinic.name} saved."
                    if changed
                    else f"The lab units of {clinic.name} are unchanged.",
                )
                return redirect("monitoring:measurement-settings", slug)
        elif "add_scanner" in request.POST and scanner_form.is_valid():
            try:
                scanner = dxa_scanner_add(
                    clinic=clinic,
                    name=scanner_form.cleaned_data["name"],
                    actor=actor,  # type: ignore[arg-type]
                )
            except ValidationError as error:
                add_validation_error(scanner_form, error)
            else:
                messages.success(request, f"“{scanner.name}” is on the scanner list.")
                return redirect(_scanners_url(slug))
    return render(
        request,
        "monitoring/measurement_settings.html",
        {
            "clinic": clinic,
            "units_form": units_form,
            "scanner_form": scanner_form,
            "scanners": clinic_scanners(clinic_id=clinic.pk, with_retired=True),
        },
        status=400 if request.method == "POST" else 200,
    )


def _scanners_url(slug: str) -> str:
    return f"{reverse('monitoring:measurement-settings', args=[slug])}#scanners"


@require_POST
def dxa_scanner_retire(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Retire a scanner (`retire=1`) or bring it back into service (`retire=0`)."""
    clinic = clinic_for_user(request.user, slug, Action.MANAGE_MEASUREMENT_SETTINGS)
    scanner = get_object_or_404(DxaScanner, clinic=clinic, pk=pk)
    is_retired = request.POST.get("retire") != "0"
    dxa_scanner_set_retired(
        scanner=scanner,
        is_retired=is_retired,
        actor=request.user,  # type: ignore[arg-type]
    )
    messages.success(
        request,
        f"“{scanner.name}” is retired: no longer offered; its scans keep its name."
        if is_retired
        else f"“{scanner.name}” is offered again.",
    )
    return redirect(_scanners_url(slug))


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
