"""The fracture-liaison entry pages: an episode of an index fracture and its follow-up contacts
(nurses and clinicians, `Action.RECORD_FLS`), and the clinician's "DXA not needed"
(`Action.MANAGE_THERAPY`: whether a scan is needed is a clinical judgement, IOF KPI 4).

The add and edit pages are the generic record pages (`patients.records`) with one addition: the
"Start FLS episode" link of a fracture and the "add follow-up" link of an episode choose the
fracture or the episode in advance (`?fracture=`, `?episode=`). Deleting is generic.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from patients.access import patient_for_user
from patients.permissions import Action
from patients.records import RecordKind, add_validation_error, patient_url
from patients.services import record_save
from patients.versions import EditConflict
from quality.forms import UNIQUE_MESSAGE, DxaNotNeededForm, FlsEpisodeForm, FollowUpContactForm
from quality.models import FlsEpisode, FollowUpContact

FLS_EPISODE = RecordKind(
    slug="fls-episode",
    label="fracture-liaison episode",
    model=FlsEpisode,
    form_class=FlsEpisodeForm,
    action=Action.RECORD_FLS,
    anchor="fracture-liaison",
    form_kwargs=lambda access, request: {
        "access": access,
        "today": timezone.localdate(),
        "fracture_id": _chosen(request, "fracture"),
    },
)
FOLLOW_UP = RecordKind(
    slug="fls-follow-up",
    label="follow-up contact",
    model=FollowUpContact,
    form_class=FollowUpContactForm,
    action=Action.RECORD_FLS,
    anchor="fracture-liaison",
    form_kwargs=lambda access, request: {
        "access": access,
        "today": timezone.localdate(),
        "episode_id": _chosen(request, "episode"),
        "kind": request.GET.get("kind", ""),
    },
    refusal=lambda error: _follow_up_refusal(error),
)
RECORD_KINDS = [FLS_EPISODE, FOLLOW_UP]


def _chosen(request: HttpRequest, name: str) -> int | None:
    """The row a link chose in advance (`?fracture=12`); anything else chooses nothing. The
    form's select offers only the patient's own rows, so a foreign id is never shown."""
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _follow_up_refusal(error: ValidationError) -> ValidationError:
    """A second contact of the same kind, refused by the model (a race past the form's check):
    beside the kind, where the form shows it, not beside the episode."""
    if isinstance(error, EditConflict) or not hasattr(error, "error_dict"):
        return error
    found = error.error_dict.get("episode", [])
    if not any(UNIQUE_MESSAGE in e.messages for e in found):
        return error
    moved = {k: list(v) for k, v in error.error_dict.items() if k != "episode"}
    moved.setdefault("kind", []).append(ValidationError(UNIQUE_MESSAGE, code="unique"))
    rest = [e for e in found if UNIQUE_MESSAGE not in e.messages]
    if rest:
        moved["episode"] = rest
    return ValidationError(moved)  # type: ignore[arg-type]


def dxa_not_needed(request: HttpRequest, patient_pk: int, pk: int) -> HttpResponse:
    """A clinician records why this episode needs no DXA scan ("Save"), or that it needs one
    after all ("A scan is needed": the reason is cleared). Audited like every clinical row and
    refused over someone else's change (the form's version token)."""
    access = patient_for_user(request.user, patient_pk, Action.MANAGE_THERAPY)
    episode = get_object_or_404(
        FlsEpisode.objects.select_related("fracture"), patient=access.patient, pk=pk
    )
    is_clearing = "clear" in request.POST
    form = DxaNotNeededForm(request.POST or None, instance=episode, is_clearing=is_clearing)
    if request.method == "POST" and form.is_valid():
        if is_clearing:
            form.instance.dxa_not_needed_reason = ""
        try:
            record_save(instance=form.instance, actor=request.user)  # type: ignore[arg-type]
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            messages.success(
                request,
                "A DXA scan is needed for this episode."
                if is_clearing
                else "Recorded: no DXA scan is needed for this episode.",
            )
            return redirect(patient_url(access, FLS_EPISODE))
    return render(
        request,
        "quality/dxa_not_needed_form.html",
        {
            "access": access,
            "patient": access.patient,
            "episode": episode,
            "form": form,
            "back_url": patient_url(access, FLS_EPISODE),
        },
        status=400 if request.method == "POST" else 200,
    )
