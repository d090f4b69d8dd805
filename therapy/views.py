from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from patients.access import patient_for_user
from patients.permissions import Action
from patients.records import RecordKind, add_validation_error, patient_url
from patients.services import record_save
from therapy import catalogue
from therapy.engine import ENGINE_VERSION
from therapy.exceptions import RecordNotEvaluable
from therapy.forms import DecisionForm, DoseForm, DoseGivenForm, TherapyCourseForm
from therapy.models import Dose, RecommendationRecord, TherapyCourse
from therapy.presenters import UnevaluatedPanel, recommendation_panel
from therapy.services import decision_record, decision_review, patient_evaluate

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
    form_kwargs=lambda access: {"access": access},
    anchor="therapy",
)
RECORD_KINDS = [THERAPY_COURSE, DOSE]


def decision_create(request: HttpRequest, patient_pk: int) -> HttpResponse:
    """Record what was decided on the engine's recommendation (clinicians only)."""
    access = patient_for_user(request.user, patient_pk, Action.MANAGE_THERAPY)
    today = timezone.localdate()
    try:
        panel = recommendation_panel(patient_evaluate(access.patient, as_of=today).assessment)
    except RecordNotEvaluable as error:
        # No decision on a record the engine refuses: the page says what to correct first.
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
    form = DecisionForm(
        request.POST or None,
        options=panel.options,
        contraindicated={e["drug"] for e in panel.avoid if e["severity"] == "contraindicated"},
        today=today,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record = decision_record(
                patient=access.patient,
                actor=request.user,  # type: ignore[arg-type]
                as_of=today,
                chosen_drug=data["chosen_drug"],
                reason=data["reason"],
                start_course=data["start_course"],
                start_date=data["start_date"],
            )
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            started = " and the course was started" if record.started_course else ""
            messages.success(request, f"Decision recorded{started}.")
            return redirect(patient_url(access, THERAPY_COURSE))
    return render(
        request,
        "therapy/decision_form.html",
        {"access": access, "patient": access.patient, "form": form, "panel": panel},
        status=400 if request.method == "POST" else 200,
    )


def decision_detail(request: HttpRequest, patient_pk: int, pk: int) -> HttpResponse:
    """A stored decision, with the assessment replayed from its stored case."""
    access = patient_for_user(request.user, patient_pk, Action.VIEW_CLINICAL)
    record = get_object_or_404(
        RecommendationRecord.objects.select_related("decided_by"), patient=access.patient, pk=pk
    )
    review = decision_review(record)
    return render(
        request,
        "therapy/decision_detail.html",
        {
            "access": access,
            "patient": access.patient,
            "record": record,
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
