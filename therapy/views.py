from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from patients.access import PatientAccess, patient_for_user
from patients.permissions import Action
from patients.records import RecordKind, add_validation_error, patient_url
from patients.services import record_save
from therapy import catalogue
from therapy.engine import ENGINE_VERSION
from therapy.exceptions import CoursesWouldOverlap, RecordNotEvaluable
from therapy.forms import DecisionForm, DoseForm, DoseGivenForm, TherapyCourseForm
from therapy.models import Dose, RecommendationRecord, TherapyCourse
from therapy.presenters import UnevaluatedPanel, recommendation_panel
from therapy.services import (
    decision_open_courses,
    decision_record,
    decision_review,
    patient_evaluate,
)

THERAPY_COURSE = RecordKind(
    slug="course",
    label="therapy course",
    model=TherapyCourse,
    form_class=TherapyCourseForm,
    action=Action.MANAGE_THERAPY,
    anchor="therapy",
)
DOSE = RecordKind(
    slug="dose",
    label="dose",
    model=Dose,
    form_class=DoseForm,
    action=Action.RECORD_MEASUREMENT,
    patient_path="course__patient",
    form_kwargs=lambda access, request: {"access": access},
    anchor="therapy",
)
RECORD_KINDS = [THERAPY_COURSE, DOSE]


def decision_create(request: HttpRequest, patient_pk: int) -> HttpResponse:
    """Record what was decided on the engine's recommendation, and do it: one service call, one
    transaction (clinicians only)."""
    access = patient_for_user(request.user, patient_pk, Action.MANAGE_THERAPY)
    today = timezone.localdate()
    try:
        panel = recommendation_panel(patient_evaluate(access.patient, as_of=today).assessment)
    except RecordNotEvaluable as error:
        return _decision_not_evaluable(request, access, error)
    open_courses = decision_open_courses(access.patient, as_of=today)
    form = DecisionForm(
        request.POST or None,
        options=panel.options,
        contraindicated={e["drug"] for e in panel.avoid if e["severity"] == "contraindicated"},
        open_courses=open_courses,
        today=today,
    )
    if request.method == "POST" and form.is_valid():
        try:
            record = decision_record(
                patient=access.patient,
                actor=request.user,  # type: ignore[arg-type]
                as_of=today,
                **form.decision_arguments(),
            )
        except ValidationError as error:
            form.add_refusal(error)
        except CoursesWouldOverlap as overlap:
            form.ask_to_confirm_overlap(overlap.courses)
        except RecordNotEvaluable as error:  # the record changed since the page was opened
            return _decision_not_evaluable(request, access, error)
        else:
            messages.success(request, _decision_done(record))
            return redirect(patient_url(access, THERAPY_COURSE))
    return render(
        request,
        "therapy/decision_form.html",
        {
            "access": access,
            "patient": access.patient,
            "form": form,
            "panel": panel,
            "today": today,
            "injected": sorted(drug.value for drug in catalogue.INJECTED_IN_CLINIC),
        },
        status=400 if request.method == "POST" else 200,
    )


def _decision_not_evaluable(
    request: HttpRequest, access: PatientAccess, error: RecordNotEvaluable
) -> HttpResponse:
    """No decision on a record the engine refuses: the page says what to correct first."""
    return render(
        request,
        "therapy/decision_form.html",
        {
            "access": access,
            "patient": access.patient,
            "panel": UnevaluatedPanel(problems=error.problems),
        },
        status=400 if request.method == "POST" else 200,
    )


def _decision_done(record: RecommendationRecord) -> str:
    """ "Decision recorded: zoledronic acid started on 2026-11-25, first dose recorded;
    denosumab stopped on 2026-11-24."""
    done = []
    if record.started_course is not None:
        course = record.started_course
        first = ", first dose recorded" if record.first_dose is not None else ""
        done.append(f"{catalogue.name(course.drug)} started on {course.start:%Y-%m-%d}{first}")
    done += [
        f"{catalogue.name(c.drug)} stopped on {c.end:%Y-%m-%d}"
        for c in record.stopped_courses.all()
    ]
    return f"Decision recorded: {'; '.join(done)}." if done else "Decision recorded."


def decision_detail(request: HttpRequest, patient_pk: int, pk: int) -> HttpResponse:
    """A stored decision, with the assessment replayed from its stored case."""
    access = patient_for_user(request.user, patient_pk, Action.VIEW_CLINICAL)
    record = get_object_or_404(
        RecommendationRecord.objects.select_related("decided_by", "started_course", "first_dose"),
        patient=access.patient,
        pk=pk,
    )
    review = decision_review(record)
    return render(
        request,
        "therapy/decision_detail.html",
        {
            "access": access,
            "patient": access.patient,
            "record": record,
            "stopped": record.stopped_courses.all(),
            "review": review,
            "panel": recommendation_panel(review.stored) if review.stored else None,
            "replay": recommendation_panel(review.replayed) if review.replayed else None,
            "current_version": ENGINE_VERSION,
        },
    )


@require_POST
def dose_given(request: HttpRequest, patient_pk: int, course_pk: int) -> HttpResponse:
    """Record a dose of an injected course in one step, from the patient page. A refusal
    (outside the course, twice on a day, a 13th romosozumab dose…) opens the dose form with the
    message beside the date and the values kept."""
    access = patient_for_user(request.user, patient_pk, Action.RECORD_MEASUREMENT)
    course = get_object_or_404(
        TherapyCourse,
        patient=access.patient,
        pk=course_pk,
        drug__in=[drug.value for drug in catalogue.INJECTED_IN_CLINIC],
    )
    given = DoseGivenForm(request.POST)
    refusal: ValidationError | None = None
    if given.is_valid():
        dose = Dose(course=course, date=given.cleaned_data["date"])
        try:
            record_save(instance=dose, actor=request.user)  # type: ignore[arg-type]
        except ValidationError as error:
            refusal = error
        else:
            messages.success(
                request, f"{course.get_drug_display()} dose of {dose.date:%Y-%m-%d} recorded."
            )
            return redirect(patient_url(access, DOSE))
    # Refused: the dose form, bound to what was typed, says why beside the field.
    form = DoseForm(
        {"course": course.pk, "date": request.POST.get("date", "")},
        instance=Dose(course=course),
        access=access,
    )
    form.fields["course"].disabled = True  # this page posts back here, to the same course
    if form.is_valid() and refusal is not None:
        add_validation_error(form, refusal)
    return render(
        request,
        "patients/record_form.html",
        {
            "access": access,
            "patient": access.patient,
            "form": form,
            "kind": DOSE,
            "is_new": True,
            "back_url": patient_url(access, DOSE),
        },
        status=400,
    )
