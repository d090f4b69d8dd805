from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from patients.access import patient_for_user
from patients.permissions import Action
from patients.records import RecordKind, add_validation_error, patient_url
from therapy.engine import assessment_to_json
from therapy.forms import DecisionForm, DoseForm, TherapyCourseForm
from therapy.models import Dose, RecommendationRecord, TherapyCourse
from therapy.presenters import recommendation_panel
from therapy.services import decision_record, decision_replay, patient_evaluate

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
    panel = recommendation_panel(patient_evaluate(access.patient, as_of=today).assessment)
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
    replayed = decision_replay(record)
    return render(
        request,
        "therapy/decision_detail.html",
        {
            "access": access,
            "patient": access.patient,
            "record": record,
            "panel": recommendation_panel(replayed),
            "is_same": assessment_to_json(replayed) == record.assessment,
        },
    )
