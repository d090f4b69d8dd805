from __future__ import annotations

from typing import Any

from django import forms

from patients.access import PatientAccess
from patients.forms import CrispyMixin, DateInput, ExactWhenRetyped, date_widgets
from therapy import catalogue
from therapy.models import Dose, TherapyCourse


class TherapyCourseForm(ExactWhenRetyped, CrispyMixin, forms.ModelForm):
    precision_fields = {"start": "start_precision", "end": "end_precision"}

    class Meta:
        model = TherapyCourse
        fields = ["drug", "start", "end", "stop_reason"]
        widgets = date_widgets("start", "end")


class DoseForm(CrispyMixin, forms.ModelForm):
    """A dose given; the course is one of this patient's courses of an injected drug."""

    class Meta:
        model = Dose
        fields = ["course", "date"]
        widgets = date_widgets("date")

    def __init__(self, *args: Any, access: PatientAccess, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        courses = TherapyCourse.objects.filter(
            patient=access.patient,
            drug__in=[d.value for d in catalogue.INJECTED_IN_CLINIC],
        ).order_by("-start")
        field = self.fields["course"]
        field.queryset = courses  # type: ignore[attr-defined]
        field.empty_label = None  # type: ignore[attr-defined]
        field.help_text = "Only courses of drugs injected in clinic are listed."


class DoseGivenForm(forms.Form):
    """The one-step dose of the patient page: the course is in the URL, the date defaults to
    today."""

    date = forms.DateField(widget=DateInput())


class DecisionForm(CrispyMixin, forms.Form):
    """Accept a ranked option, or choose another drug and say why."""

    chosen_drug = forms.ChoiceField(label="Decision", widget=forms.RadioSelect)
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when the drug is not one of the ranked options.",
    )
    start_course = forms.BooleanField(
        required=False, initial=True, label="Start this therapy course now"
    )
    start_date = forms.DateField(
        required=False,
        widget=DateInput(),
        label="Course start date",
        # The course's own date rules, so that a refusal sits beside this field.
        validators=TherapyCourse._meta.get_field("start").validators,
    )

    def __init__(
        self,
        *args: Any,
        options: list[dict[str, Any]],
        contraindicated: set[str],
        today: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        ranked = [(o["drug"], f"{o['rank']}. {o['label']} ({o['drug_class']})") for o in options]
        ranked_drugs = {drug for drug, _ in ranked}
        # A contraindicated drug is not offered at all (the service refuses it too).
        others = [
            (value, f"Other: {text}")
            for value, text in catalogue.DRUG_CHOICES
            if value not in ranked_drugs and value not in contraindicated
        ]
        self.fields["chosen_drug"].choices = [*ranked, *others]
        if ranked:
            self.fields["chosen_drug"].initial = ranked[0][0]
        self.fields["start_date"].initial = today
