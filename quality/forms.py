"""The fracture-liaison forms: an episode of an index fracture, a follow-up contact, and the
clinician's "DXA not needed". The rules live on the models (`quality.models`, `clean`); these
forms choose the fields, limit the selects to the patient's own rows and lay them out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q

from patients.access import PatientAccess
from patients.forms import CrispyMixin, date_widgets
from patients.models import Fracture
from quality.models import FlsEpisode, FollowUpContact, FollowUpKind, Identification

#: The unique constraint's own words, so the form and a race past it say the same.
UNIQUE_MESSAGE = next(
    c.violation_error_message
    for c in FollowUpContact._meta.constraints
    if c.name == "fls_follow_up_one_per_kind"
)


class FlsEpisodeForm(CrispyMixin, forms.ModelForm):
    """The episode of one index fracture: the select offers the patient's fractures that have
    no episode yet (and, when editing, the episode's own)."""

    class Meta:
        model = FlsEpisode
        fields = [
            "fracture",
            "identified_on",
            "identified_by",
            "assessed_on",
            "falls_assessment",
            "falls_assessed_on",
            "exercise_started_on",
            "closed_on",
            "outcome",
        ]
        widgets = {
            **date_widgets(
                "identified_on",
                "assessed_on",
                "falls_assessed_on",
                "exercise_started_on",
                "closed_on",
            ),
            "identified_by": forms.RadioSelect,
        }
        help_texts = {
            "identified_by": "Only a spine fracture is found on imaging done for another reason.",
            "closed_on": "Leave empty while the episode is open; closing needs the outcome too.",
        }

    def __init__(
        self,
        *args: Any,
        access: PatientAccess,
        today: dt.date,
        fracture_id: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        free = Q(fls_episode__isnull=True)
        if self.instance.pk:
            free |= Q(fls_episode=self.instance.pk)
        field = self.fields["fracture"]
        field.queryset = Fracture.objects.filter(free, patient=access.patient).order_by(  # type: ignore[attr-defined]
            "-date", "-pk"
        )
        field.empty_label = None if self.instance.pk else "—"  # type: ignore[attr-defined]
        field.help_text = "The patient's fractures that have no episode yet."
        if not self.instance.pk:
            # `self.initial` (the new row's empty values) would hide a field's own initial.
            self.initial["identified_on"] = today
            if fracture_id is not None:
                self.initial["fracture"] = fracture_id
        # Two radio buttons, no blank third: the question is required.
        self.fields["identified_by"].choices = Identification.choices  # type: ignore[attr-defined]


class YesNoField(forms.TypedChoiceField):
    """A required yes/no question asked with two radio buttons, nothing chosen in advance."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            choices=[("True", "Yes"), ("False", "No")],
            coerce=lambda value: value == "True",
            widget=forms.RadioSelect,
            **kwargs,
        )


class FollowUpContactForm(CrispyMixin, forms.ModelForm):
    """A contact at 16 or 52 weeks: on treatment (yes/no), and if so how it is taken."""

    is_on_treatment = YesNoField(label="On anti-osteoporosis medication")

    class Meta:
        model = FollowUpContact
        fields = ["episode", "kind", "date", "is_on_treatment", "adherence", "note"]
        widgets = {**date_widgets("date"), "note": forms.Textarea(attrs={"rows": 2})}
        help_texts = {"adherence": "Only for a patient on medication."}

    def __init__(
        self,
        *args: Any,
        access: PatientAccess,
        today: dt.date,
        episode_id: int | None = None,
        kind: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["episode"]
        field.queryset = FlsEpisode.objects.filter(patient=access.patient).select_related(  # type: ignore[attr-defined]
            "fracture"
        )
        field.empty_label = None if self.instance.pk else "—"  # type: ignore[attr-defined]
        if not self.instance.pk:
            self.initial["date"] = today
            if episode_id is None:
                # The patient's one open episode is the one a follow-up call is about.
                open_ids = [e.pk for e in field.queryset if e.closed_on is None]
                episode_id = open_ids[0] if len(open_ids) == 1 else None
            if episode_id is not None:
                self.initial["episode"] = episode_id
            if kind in FollowUpKind.values:  # a reminder's link says which call it was
                self.initial["kind"] = kind

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()
        if "is_on_treatment" not in data:
            # Unanswered (its own error says so): the model's adherence rule would otherwise
            # read it as "no" and call a typed adherence wrong. Nothing saves until answered.
            self.instance.is_on_treatment = bool(data.get("adherence"))
        episode, kind = data.get("episode"), data.get("kind")
        if episode is not None and kind:
            taken = FollowUpContact.objects.filter(episode=episode, kind=kind).exclude(
                pk=self.instance.pk
            )
            if taken.exists():
                # Beside the kind, where the person chose it (the model would put it beside
                # the episode, the constraint's first field).
                self.add_error("kind", UNIQUE_MESSAGE)
        return data


class DxaNotNeededForm(CrispyMixin, forms.ModelForm):
    """The clinician's judgement that this episode needs no DXA scan, and why (IOF KPI 4)."""

    class Meta:
        model = FlsEpisode
        fields = ["dxa_not_needed_reason"]
        widgets = {"dxa_not_needed_reason": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "dxa_not_needed_reason": "For example: a scan of the last two years is on file "
            "elsewhere, or treatment starts whatever its result. At most 300 characters."
        }

    def __init__(self, *args: Any, is_clearing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Clearing (a scan is needed after all) asks for no reason; setting one does.
        self.fields["dxa_not_needed_reason"].required = not is_clearing
        self.fields["dxa_not_needed_reason"].error_messages["required"] = (
            "Say why no DXA scan is needed."
        )
