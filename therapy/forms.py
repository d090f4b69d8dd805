from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from patients.access import PatientAccess
from patients.forms import CrispyMixin, DateInput, ExactWhenRetyped, date_widgets
from patients.limits import NOTE_MAX_CHARS
from patients.validators import iso_date_field
from therapy import catalogue
from therapy.models import DecisionKind, Dose, TherapyCourse


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        iso_date_field(self.fields["date"])


class DecisionForm(CrispyMixin, forms.Form):
    """What the clinician decides on the engine's recommendation, and what it does to the
    courses: continue the current course, a ranked option, another drug (with a reason), no
    treatment now (with a reason) or no anti-osteoporosis medication indicated (with a reason:
    an explicit judgement the fracture-liaison indicators count); for a drug, whether its course
    starts now (and, for an injected drug, whether the first dose was given on the start date);
    which open course stops, when and why.

    Nothing that starts or stops a course is ticked in advance. The rules are the service's
    (`decision_record`); this form only gathers the answers (`decision_arguments`) and puts the
    service's refusals beside the fields that caused them (`add_refusal`)."""

    CONTINUE, ANOTHER, NONE = "continue", "another", "none"
    NOT_INDICATED = "not_indicated"
    #: The choices that choose no drug.
    WITHOUT_A_DRUG = (CONTINUE, NONE, NOT_INDICATED)

    decision = forms.ChoiceField(label="Decision", widget=forms.RadioSelect)
    other_drug = forms.ChoiceField(label="Drug", required=False)
    reason = forms.CharField(
        required=False,
        max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required for another drug, for no treatment now and for no medication "
        "indicated.",
    )
    start_course = forms.BooleanField(required=False, label="Start the course")
    start_date = forms.DateField(
        required=False,
        widget=DateInput(),
        label="Start date",
        # The course's own date rules, so that a refusal sits beside this field.
        validators=TherapyCourse._meta.get_field("start").validators,
    )
    first_dose_given = forms.ChoiceField(
        required=False,
        widget=forms.RadioSelect,
        label="Was the first dose given on the start date?",
        choices=[("yes", "Yes: record the dose"), ("no", "No, not yet")],
        help_text="Asked for denosumab, zoledronic acid and romosozumab.",
    )
    stop_courses = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Courses open today",
    )
    stop_date = forms.DateField(
        required=False,
        widget=DateInput(),
        label="Last day of the stopped course",
        help_text="For a switch, the day before the new course starts.",
    )
    stop_reason = forms.ChoiceField(
        required=False,
        label="Why it stops",
        choices=[("", "—"), *TherapyCourse._meta.get_field("stop_reason").choices],
    )
    confirm_overlap = forms.BooleanField(
        required=False, label="Yes, keep both courses open from the start date"
    )

    def __init__(
        self,
        *args: Any,
        options: list[dict[str, Any]],
        contraindicated: set[str],
        open_courses: list[TherapyCourse],
        today: dt.date,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Nothing is chosen for the clinician, not even by focus (CrispyMixin focuses the first
        # field, which would put `autofocus` on every radio button).
        self.fields["decision"].widget.attrs.pop("autofocus", None)
        #: The courses the overlap warning names, once the service raised it.
        self.overlapping: list[str] = []
        current = open_courses[-1] if open_courses else None
        choices: list[tuple[str, str]] = []
        if current is not None and current.drug not in contraindicated:
            choices.append((self.CONTINUE, f"Continue current therapy: {_course_words(current)}"))
        self.ranked = {o["drug"] for o in options}
        choices += [(o["drug"], f"{o['rank']}. {o['label']} ({o['drug_class']})") for o in options]
        choices += [
            (self.ANOTHER, "Another drug"),
            (self.NONE, "No treatment now"),
            (self.NOT_INDICATED, "No anti-osteoporosis medication indicated"),
        ]
        self.fields["decision"].choices = choices
        # A contraindicated drug is not offered at all (the service refuses it too).
        self.fields["other_drug"].choices = [
            ("", "—"),
            *(
                (value, text)
                for value, text in catalogue.DRUG_CHOICES
                if value not in self.ranked and value not in contraindicated
            ),
        ]
        self.fields["start_date"].initial = today
        self.fields["stop_courses"].choices = [
            (course.pk, f"Stop {_course_words(course)}") for course in open_courses
        ]
        # Pre-filled for the usual switch: the old course ends the day before the new one.
        self.fields["stop_date"].initial = today - dt.timedelta(days=1)

    @property
    def is_confirming_overlap(self) -> bool:
        """The overlap question is on the page: just asked, or answered on this post."""
        return bool(self.overlapping) or bool(self.data.get("confirm_overlap"))

    def chosen_drug(self) -> str:
        decision = self.cleaned_data["decision"]
        if decision == self.ANOTHER:
            return str(self.cleaned_data["other_drug"])
        return "" if decision in self.WITHOUT_A_DRUG else str(decision)

    def decision_arguments(self) -> dict[str, Any]:
        """The service's keyword arguments from a valid form; fields that do not apply to the
        decision (hidden by the page's script, posted all the same) are left out."""
        data = self.cleaned_data
        decision = data["decision"]
        kind = {
            self.CONTINUE: DecisionKind.CONTINUE,
            self.ANOTHER: DecisionKind.OTHER_DRUG,
            self.NONE: DecisionKind.NO_TREATMENT,
            self.NOT_INDICATED: DecisionKind.NOT_INDICATED,
        }.get(decision, DecisionKind.RANKED_OPTION)
        drug = self.chosen_drug()
        starts = bool(drug) and data["start_course"]
        # A stop ticked beside a drug that does not start goes to the service, which refuses it
        # beside the box: a ticked box is never ignored where it shows.
        stops = kind != DecisionKind.CONTINUE
        answer = data["first_dose_given"]
        return {
            "kind": kind,
            "chosen_drug": drug,
            "reason": data["reason"],
            "start_date": data["start_date"] if starts else None,
            "first_dose_given": (
                {"yes": True, "no": False}.get(answer)
                if starts and catalogue.is_injected(drug)
                else None
            ),
            "stop_courses": data["stop_courses"] if stops else [],
            "stop_date": data["stop_date"] if stops else None,
            "stop_reason": data["stop_reason"] if stops else "",
            "allow_overlap": data["confirm_overlap"],
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        is_drug = data.get("decision") not in (None, "", *self.WITHOUT_A_DRUG)
        # A date typed wrong already has its own message.
        missing = "start_date" not in self.errors and not data.get("start_date")
        if is_drug and data.get("start_course") and missing:
            self.add_error("start_date", "Enter the date the course starts.")
        return data

    def add_refusal(self, error: ValidationError) -> None:
        """The service's refusal beside the field that caused it (the drug is the radio
        button of a ranked option, or the list of other drugs)."""
        drug_field = "other_drug" if self.cleaned_data["decision"] == self.ANOTHER else "decision"
        names = {"kind": "decision", "chosen_drug": drug_field}
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            field = names.get(name, name)
            self.add_error(field if field in self.fields else None, errors)

    def ask_to_confirm_overlap(self, courses: list[str]) -> None:
        self.overlapping = courses
        self.add_error(
            "confirm_overlap",
            f"{'; '.join(courses)} would stay open beside the new course. Tick “Stop” above "
            "to end it the day before, or confirm that both courses run together.",
        )


def _course_words(course: TherapyCourse) -> str:
    """ "denosumab (since 2024-06-12, last dose 2026-06-10)", "alendronate (since ≈ 2016)"."""
    last_dose = getattr(course, "last_dose", None)
    dose = f", last dose {last_dose:%Y-%m-%d}" if last_dose else ""
    return f"{catalogue.name(course.drug)} (since {course.start_shown}{dose})"
