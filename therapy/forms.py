from __future__ import annotations

from typing import Any

from django import forms

from patients.access import PatientAccess
from patients.forms import CrispyMixin, date_widgets
from therapy import catalogue
from therapy.models import Dose, TherapyCourse


class TherapyCourseForm(CrispyMixin, forms.ModelForm):
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
