"""Forms for patients and their records. Validation lives on the models (`full_clean`), so the
same rules apply to forms and imports; forms only choose fields, widgets and layout."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms

from patients import approximate_dates
from patients.approximate_dates import DatePrecision
from patients.models import (
    CardiovascularEvent,
    Fracture,
    GlucocorticoidExposure,
    Immunosuppressant,
    Patient,
    PatientStatus,
    RiskProfile,
    Role,
)
from patients.selectors import (
    SEVERITY_CRITICAL,
    SEVERITY_ROUTINE,
    SORT_DUE,
    SORT_NAME,
    STATUS_ALL,
    PatientFilters,
)
from patients.validators import iso_date_field
from patients.versions import VersionedForm


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class CrispyMixin(VersionedForm):
    """Crispy renders the fields; the page owns <form>, the CSRF token and the buttons. A form
    editing a saved row carries the row's version (`patients.versions`), rendered hidden even
    where a layout lists the fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.render_hidden_fields = True
        for field in self.fields.values():  # type: ignore[attr-defined]
            if isinstance(field, forms.DateField):
                iso_date_field(field)  # one date convention everywhere: YYYY-MM-DD
        first = next(iter(self.fields.values()), None)  # type: ignore[attr-defined]
        if first is not None:
            first.widget.attrs.setdefault("autofocus", True)


class ExactWhenRetyped:
    """For the single-record forms of records the history intake may have dated approximately
    (`patients.intake_forms`). Their date inputs hold full dates: a date left as it was keeps
    its precision ("≈ 2016" stays), a date typed here is that exact day."""

    #: form field → the model's precision field
    precision_fields: dict[str, str] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, precision_field in self.precision_fields.items():
            day = getattr(self.instance, name)  # type: ignore[attr-defined]
            precision = getattr(self.instance, precision_field)  # type: ignore[attr-defined]
            if day and precision != DatePrecision.DAY:
                self.fields[name].help_text = (  # type: ignore[attr-defined]
                    f"Recorded as {approximate_dates.shown(day, precision)} (known to the "
                    f"{precision}); a date typed here is recorded as that exact day."
                )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()  # type: ignore[misc]
        for name, precision_field in self.precision_fields.items():
            if name in self.changed_data:  # type: ignore[attr-defined]
                setattr(self.instance, precision_field, DatePrecision.DAY)  # type: ignore[attr-defined]
        return data


def date_widgets(*names: str) -> dict[str, forms.Widget]:
    return {name: DateInput() for name in names}


class PatientForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["mrn", "given_name", "family_name", "birth_date", "sex"]
        widgets = date_widgets("birth_date")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Blank on the model so that a record saved with only `name` is split by `sync_name`;
        # a person typing the name gives the family name.
        self.fields["family_name"].required = True


class ContactDetailsForm(CrispyMixin, forms.ModelForm):
    """How to reach the patient and their GP: demographics a clinic admin may edit too."""

    class Meta:
        model = Patient
        fields = ["phone", "email", "address", "preferred_contact", "gp_name", "gp_practice"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class PatientStatusForm(CrispyMixin, forms.Form):
    """Active, or why the patient no longer comes: the date is the date of death, transfer
    or discharge (the service `patient_set_status` checks it)."""

    status = forms.ChoiceField(choices=PatientStatus.choices)
    status_date = forms.DateField(
        label="Date",
        required=False,
        widget=DateInput(),
        help_text="The date of death, transfer or discharge. Leave empty for an active patient.",
    )
    status_note = forms.CharField(
        label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class RiskProfileForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = RiskProfile
        fields = [
            "has_oral_bisphosphonate_intolerance",
            "has_oral_bisphosphonate_contraindication",
            "creatinine_clearance_ml_min",
            "is_organ_transplant_recipient",
            "has_cancer_treatment_bone_loss",
            "had_skeletal_radiation",
            "has_bone_metastases",
            "has_pagets_disease",
            "has_unexplained_elevated_alp",
            "has_open_epiphyses",
            "has_hypercalcemia",
            "has_hypocalcemia",
            "has_high_fall_risk",
            "frax_major_osteoporotic_pct",
            "frax_hip_pct",
            "is_current_smoker",
            "alcohol_drinks_per_day",
        ]


class CardiovascularEventForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = CardiovascularEvent
        fields = ["kind", "date"]
        widgets = date_widgets("date")


class ImmunosuppressantForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = Immunosuppressant
        fields = ["name"]


class GlucocorticoidExposureForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = GlucocorticoidExposure
        fields = ["prednisone_mg_per_day", "start", "end"]
        widgets = date_widgets("start", "end")


class FractureForm(ExactWhenRetyped, CrispyMixin, forms.ModelForm):
    precision_fields = {"date": "date_precision"}

    class Meta:
        model = Fracture
        fields = ["date", "site", "is_fragility"]
        widgets = date_widgets("date")


class OfferedChoiceField(forms.ChoiceField):
    """A select whose choices are offers, not limits: a reminder kind no active reminder has
    (a bookmarked search) filters to nobody rather than being refused."""

    def valid_value(self, value: str) -> bool:
        return len(value) <= 50


class PatientSearchForm(forms.Form):
    q = forms.CharField(label="Name or MRN", required=False, max_length=100)
    sex = forms.ChoiceField(
        required=False,
        choices=[("", "Any sex"), *Patient._meta.get_field("sex").choices],
    )
    clinic = forms.ChoiceField(required=False, choices=[("", "All my clinics")])
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Active"),
            (STATUS_ALL, "All"),
            *[(value, label) for value, label in PatientStatus.choices if value != "active"],
        ],
    )
    severity = forms.ChoiceField(
        label="Reminders",
        required=False,
        choices=[
            ("", "Any or none"),
            (SEVERITY_CRITICAL, "A critical alert"),
            (SEVERITY_ROUTINE, "A routine item (dose, scan, lab…)"),
        ],
    )
    kind = OfferedChoiceField(label="Reminder kind", required=False, choices=[("", "Any kind")])
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[(SORT_NAME, "Family name"), (SORT_DUE, "Next due date")],
    )

    def __init__(
        self,
        *args: Any,
        clinics: list[tuple[str, str]],
        kinds: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinic"].choices = [("", "All my clinics"), *clinics]
        self.fields["kind"].choices = [("", "Any kind"), *kinds]

    def filters(self) -> PatientFilters:
        """The list's filters: those typed when they are all valid, none otherwise (the form
        shows what is wrong beside the field)."""
        if not self.is_valid():
            return PatientFilters()
        return PatientFilters(**self.cleaned_data)


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
