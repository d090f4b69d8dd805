"""Patient pages: list, detail, create/edit, risk factors; the dashboard; clinic staff."""

from __future__ import annotations

from operator import itemgetter

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone

from monitoring.trend import bmd_trend, dxa_scan_rows
from patients import approximate_dates, records
from patients.access import (
    clinics_for_user,
    clinics_of,
    memberships_of,
    patient_for_user,
    patients_of,
)
from patients.dashboards import dashboard_for
from patients.forms import (
    CardiovascularEventForm,
    ContactDetailsForm,
    FractureForm,
    GlucocorticoidExposureForm,
    ImmunosuppressantForm,
    PatientForm,
    PatientSearchForm,
    PatientStatusForm,
    RiskProfileForm,
)
from patients.models import (
    CardiovascularEvent,
    Fracture,
    GlucocorticoidExposure,
    Immunosuppressant,
    RiskProfile,
)
from patients.permissions import Action
from patients.presenters import age_on, risk_factor_facts, url_for_ids
from patients.selectors import (
    patient_changes,
    patient_list_page,
    patient_search,
    patient_with_records,
    reminder_kinds,
)
from patients.services import patient_create, patient_set_status
from patients.staff_selectors import confirmations_for
from therapy.case_records import case_for_loaded_patient
from therapy.presenters import label, patient_panel
from therapy.selectors import alert_counts

PAGE_SIZE = 25

CARDIOVASCULAR_EVENT = records.RecordKind(
    slug="cardiovascular-event",
    label="cardiovascular event",
    model=CardiovascularEvent,
    form_class=CardiovascularEventForm,
    action=Action.EDIT_RISK_FACTORS,
    anchor="risk-factors",
)
IMMUNOSUPPRESSANT = records.RecordKind(
    slug="immunosuppressant",
    label="immunosuppressant",
    model=Immunosuppressant,
    form_class=ImmunosuppressantForm,
    action=Action.EDIT_RISK_FACTORS,
    anchor="risk-factors",
)
GLUCOCORTICOID = records.RecordKind(
    slug="glucocorticoid",
    label="glucocorticoid exposure",
    model=GlucocorticoidExposure,
    form_class=GlucocorticoidExposureForm,
    action=Action.EDIT_RISK_FACTORS,
    anchor="risk-factors",
)
FRACTURE = records.RecordKind(
    slug="fracture",
    label="fracture",
    model=Fracture,
    form_class=FractureForm,
    action=Action.RECORD_MEASUREMENT,
    anchor="fractures",
)
RECORD_KINDS = [CARDIOVASCULAR_EVENT, IMMUNOSUPPRESSANT, GLUCOCORTICOID, FRACTURE]


def dashboard(request: HttpRequest) -> HttpResponse:
    """The role dashboards: one section per clinic the user works in (see patients.dashboards)."""
    memberships = memberships_of(request)
    board = dashboard_for(request.user, memberships, today=timezone.localdate(), now=timezone.now())
    return render(
        request,
        "patients/dashboard.html",
        {
            "memberships": memberships,
            "board": board,
            "confirmations": confirmations_for(request.user, memberships),  # type: ignore[arg-type]
        },
    )


def patient_list(request: HttpRequest) -> HttpResponse:
    clinics = [(c.slug, c.name) for c in clinics_of(request)]
    visible = patients_of(request)
    # In the order people read them: by their words, not by their codes.
    kinds = sorted(((kind, label(kind)) for kind in reminder_kinds()), key=itemgetter(1))
    form = PatientSearchForm(request.GET or None, clinics=clinics, kinds=kinds)
    filters = form.filters()
    queryset = patient_search(visible, filters)
    page = patient_list_page(queryset, request.GET.get("page"), per_page=PAGE_SIZE, filters=filters)
    can_create = bool(clinics_of(request, Action.EDIT_DEMOGRAPHICS))
    counts = alert_counts(page.object_list, as_of=timezone.localdate())
    url = url_for_ids("patients:detail")
    for patient in page.object_list:  # reversed once, not by a URL tag per row (issue 14)
        patient.url = url(patient.pk)  # type: ignore[attr-defined]
    rows = [(patient, counts.get(patient.pk)) for patient in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "patients/patient_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "can_create": can_create,
            "query": query.urlencode(),
            "show_clinic": len(clinics) > 1,
        },
    )


def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = patient_for_user(request.user, pk, Action.VIEW_DEMOGRAPHICS)
    today = timezone.localdate()
    context: dict[str, object] = {
        "access": access,
        "patient": access.patient,
        "age": age_on(access.patient.birth_date, today),
        "can": {a.value: access.can(a) for a in Action},
        "today": today,
    }
    if access.can(Action.VIEW_CLINICAL):
        patient = patient_with_records(pk=pk)
        try:
            profile = patient.risk_profile
        except RiskProfile.DoesNotExist:
            profile = RiskProfile(patient=patient)
        courses = list(patient.therapy_courses.all())
        scans = list(patient.dxa_scans.all())
        case = case_for_loaded_patient(patient, as_of=today)  # the records loaded above
        panel, current = patient_panel(case, courses=courses)
        context.update(
            panel=panel,
            current=current,
            decisions=patient.decisions.select_related("decided_by")[:20],
            # What clinicians did in the EHR with Ossa's CDS Hooks cards (interop.cds).
            ehr_feedback=patient.cds_feedback.select_related("card")[:20],
            patient=patient,
            risk_factors=risk_factor_facts(profile),
            courses=courses,
            # Injected courses not ended before today take a dose in one step.
            dose_courses=[
                c
                for c in courses
                if c.is_injected and (c.end_latest is None or c.end_latest >= today)
            ],
            timeline=therapy_timeline(courses),
            dxa_rows=dxa_scan_rows(scans=scans),
            lab_results=patient.lab_results.all(),
            bmd_trend=bmd_trend(scans=scans, courses=courses, as_of=today),
        )
    return render(request, "patients/patient_detail.html", context)


def patient_changes_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The record's change history (its audit trail): loaded into the patient page by htmx when
    its section is opened, or as a page of its own (the link without JavaScript).

    Not read with the patient page itself: one query per record type and a diff per version,
    for a panel that stays closed on most views (issue 14: 11 of the page's 43 queries)."""
    access = patient_for_user(request.user, pk, Action.VIEW_CLINICAL)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    template = (
        "patients/_changes.html"
        if request.htmx  # type: ignore[attr-defined]  # django-htmx middleware
        else "patients/patient_changes.html"
    )
    context = {
        "access": access,
        "patient": access.patient,
        "changes": patient_changes(access.patient),
    }
    return render(request, template, context)


def therapy_timeline(courses: list) -> list[dict[str, object]]:
    """Courses and their doses as one list for the therapy timeline, in date order. A date known
    only to the month or the year (history from before the first visit) is shown as such
    ("≈ 2015") and placed where it may fall at the latest for an end, at the earliest (the
    stored first day) for a start: a course that may have run until December is not listed as
    stopped before what happened that year."""
    events: list[dict[str, object]] = []
    for course in courses:
        events.append(
            {
                "date": course.start,
                "shown": course.start_shown,
                "iso": approximate_dates.iso(course.start, course.start_precision),
                "kind": "start",
                "course": course,
            }
        )
        for dose in course.doses.all():
            events.append(
                {
                    "date": dose.date,
                    "shown": dose.date.isoformat(),
                    "iso": dose.date.isoformat(),
                    "kind": "dose",
                    "course": course,
                    "dose": dose,
                }
            )
        if course.end:
            events.append(
                {
                    "date": course.end_latest,
                    "shown": course.end_shown,
                    "iso": approximate_dates.iso(course.end, course.end_precision),
                    "kind": "end",
                    "course": course,
                }
            )
    order = {"start": 0, "dose": 1, "end": 2}
    events.sort(key=lambda e: (e["date"], order[str(e["kind"])]))
    return events


def patient_create_view(request: HttpRequest) -> HttpResponse:
    clinics = list(clinics_for_user(request.user, Action.EDIT_DEMOGRAPHICS))
    if not clinics:
        raise PermissionDenied
    form = PatientForm(request.POST or None)
    clinic_slug = request.POST.get("clinic") or clinics[0].slug
    clinic = next((c for c in clinics if c.slug == clinic_slug), None)
    if request.method == "POST" and clinic is None:
        form.is_valid()
        form.add_error(None, "You may not add patients to that clinic.")
    elif request.method == "POST":
        form.instance.clinic = clinic
        if form.is_valid():
            try:
                patient = patient_create(clinic=clinic, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                records.add_validation_error(form, error)
            else:
                messages.success(request, f"{patient.name} was added.")
                # A new patient's previous history comes next (issue 9): one page for it.
                if (
                    clinics_for_user(request.user, Action.MANAGE_THERAPY)
                    .filter(pk=clinic.pk)
                    .exists()
                ):
                    return redirect("patients:intake", patient.pk)
                return redirect("patients:detail", patient.pk)
    return render(
        request,
        "patients/patient_form.html",
        {"form": form, "clinics": clinics, "clinic": clinic, "is_new": True},
        status=400 if request.method == "POST" else 200,
    )


def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access = patient_for_user(request.user, pk, Action.EDIT_DEMOGRAPHICS)
    form = PatientForm(request.POST or None, instance=access.patient)
    if request.method == "POST" and records.save_form(request, form):
        messages.success(request, "Demographics were updated.")
        return redirect("patients:detail", pk)
    return render(
        request,
        "patients/patient_form.html",
        {"form": form, "access": access, "patient": access.patient, "is_new": False},
        status=400 if request.method == "POST" else 200,
    )


def contact_details_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Phone, e-mail, address, preferred contact and GP: clinicians and clinic admins."""
    access = patient_for_user(request.user, pk, Action.EDIT_CONTACT_DETAILS)
    form = ContactDetailsForm(request.POST or None, instance=access.patient)
    if request.method == "POST" and records.save_form(request, form):
        messages.success(request, "Contact details were updated.")
        return redirect(f"{reverse('patients:detail', args=[pk])}#contact")
    return render(
        request,
        "patients/contact_form.html",
        {"form": form, "access": access, "patient": access.patient},
        status=400 if request.method == "POST" else 200,
    )


def patient_status_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Record that the patient died, moved to another service or was discharged, or is back."""
    access = patient_for_user(request.user, pk, Action.EDIT_DEMOGRAPHICS)
    patient = access.patient
    form = PatientStatusForm(
        request.POST or None,
        initial={
            "status": patient.status,
            "status_date": patient.status_date,
            "status_note": patient.status_note,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            resolved = patient_set_status(
                patient=patient,
                status=data["status"],
                status_date=data["status_date"],
                note=data["status_note"],
                actor=request.user,  # type: ignore[arg-type]
                now=timezone.now(),
            )
        except ValidationError as error:
            records.add_validation_error(form, error)
        else:
            closed = f" {resolved} open reminder{pluralize(resolved)} closed." if resolved else ""
            messages.success(request, f"{patient.name}: {patient.get_status_display()}.{closed}")
            return redirect("patients:detail", pk)
    return render(
        request,
        "patients/status_form.html",
        {"form": form, "access": access, "patient": patient},
        status=400 if request.method == "POST" else 200,
    )


def risk_factors_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access = patient_for_user(request.user, pk, Action.EDIT_RISK_FACTORS)
    profile, _ = RiskProfile.objects.get_or_create(patient=access.patient)
    form = RiskProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and records.save_form(request, form):
        messages.success(request, "Risk factors were updated.")
        return redirect(records.patient_url(access, CARDIOVASCULAR_EVENT))
    return render(
        request,
        "patients/risk_factors_form.html",
        {"form": form, "access": access, "patient": access.patient},
        status=400 if request.method == "POST" else 200,
    )
