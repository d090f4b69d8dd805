from __future__ import annotations

import datetime as dt
from typing import Any

from crispy_forms.layout import Column, Field, Fieldset, Layout, Row
from django import forms
from django.core.files.uploadedfile import UploadedFile

from monitoring import dxa_import
from monitoring.dxa import (
    CREATININE_CLEARANCE,
    LAB_KINDS,
    LAB_UNITS,
    SITE_LABELS,
    DxaDirectionUnconfirmed,
    LabKind,
)
from monitoring.models import DxaScan, LabResult, Reassessment
from patients.forms import CrispyMixin, date_widgets
from therapy.case_records import DXA_READING_COLUMNS
from therapy.engine import limits
from therapy.engine.case import DxaSite

_NUMBER = {"inputmode": "decimal", "step": "any"}


class IsoDateInput(forms.DateInput):
    """A date typed as YYYY-MM-DD in a text box. The nurse's entry forms are for the keyboard:
    a browser date picker takes a Tab per part (day, month, year, then its button) before the
    next field; a text box takes the date in one go and one Tab moves on."""

    def __init__(self) -> None:
        super().__init__(
            format="%Y-%m-%d",
            attrs={
                "placeholder": "YYYY-MM-DD",
                "inputmode": "numeric",
                "autocomplete": "off",
                "pattern": r"\d{4}-\d{2}-\d{2}",
                "maxlength": 10,
            },
        )


class DxaScanForm(CrispyMixin, forms.ModelForm):
    """One scan, laid out for the keyboard: date (autofocus), scanner, then per site BMD,
    T-score and LSC — the tab order is the reading order. The page's first submit button is
    "Save and log next", so Enter in any field saves and opens an empty form."""

    confirm_values = forms.BooleanField(
        required=False,
        label="I confirm these values",
        help_text="Tick this after checking the scan report, or correct the values.",
    )

    class Meta:
        model = DxaScan
        fields = [
            "date",
            "scanner",
            *DXA_READING_COLUMNS.values(),
        ]
        widgets = {"date": IsoDateInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.direction_conflict: DxaDirectionUnconfirmed | None = None
        self.fields["scanner"].widget.attrs.update(
            {"placeholder": "e.g. Hologic Horizon A, room 2", "autocomplete": "on"}
        )
        self.fields["scanner"].help_text = (
            "Same scanner as before? Type it the same way: T-scores are checked against the "
            "previous scan on that scanner."
        )
        for site in DxaSite:
            for part, label in (("bmd_g_cm2", "BMD (g/cm²)"), ("t_score", "T-score")):
                field = self.fields[f"{site}_{part}"]
                field.label = label
                field.widget.attrs.update(_NUMBER)
            lsc = self.fields[f"{site}_lsc_pct"]
            lsc.label = "LSC (%)"
            lsc.help_text = "Empty: the default"
            lsc.widget.attrs.update(_NUMBER)
        self._lay_out(with_confirmation=bool(self.data.get("confirm_values")))

    def _lay_out(self, *, with_confirmation: bool) -> None:
        sites = [
            Fieldset(
                SITE_LABELS[site].capitalize(),
                Row(
                    Column(f"{site}_bmd_g_cm2", css_class="col-sm-4"),
                    Column(f"{site}_t_score", css_class="col-sm-4"),
                    Column(f"{site}_lsc_pct", css_class="col-sm-4"),
                ),
                css_class="dxa-site",
            )
            for site in DxaSite
        ]
        confirmation = [Field("confirm_values")] if with_confirmation else []
        self.helper.layout = Layout(
            Row(Column("date", css_class="col-sm-4"), Column("scanner", css_class="col-sm-8")),
            *sites,
            *confirmation,
        )

    def ask_confirmation(self, conflict: DxaDirectionUnconfirmed) -> None:
        """Show the direction warning and the confirmation box (the scan is not saved)."""
        self.direction_conflict = conflict
        self._lay_out(with_confirmation=True)
        # The next key press answers the question: focus moves from the date to the box.
        self.fields["date"].widget.attrs.pop("autofocus", None)
        self.fields["confirm_values"].widget.attrs["autofocus"] = True
        self.add_error(
            "confirm_values",
            "Check the values: tick this box to save them as they are, or correct them.",
        )


def _lab_choice(kind: LabKind) -> str:
    return f"{kind.label} ({' or '.join(kind.units)})"


class LabEntryForm(CrispyMixin, forms.Form):
    """One lab value in one step: date (today), test, value, unit. 25-OH vitamin D may be typed
    in ng/mL or nmol/L; creatinine clearance updates the risk factors (not on edit)."""

    nmol_l_per_ng_ml = limits.VITAMIN_D_NMOL_L_PER_NG_ML

    date = forms.DateField(
        required=False,
        widget=IsoDateInput(),
        help_text="The day the sample was taken (not used for creatinine clearance).",
    )
    test = forms.ChoiceField(choices=[(kind.code, _lab_choice(kind)) for kind in LAB_KINDS])
    value = forms.FloatField(widget=forms.NumberInput(attrs=_NUMBER))
    unit = forms.ChoiceField(
        required=False,
        choices=[("", "The test's usual unit"), *((unit, unit) for unit in LAB_UNITS)],
        help_text="Only 25-OH vitamin D may be typed in another unit (nmol/L).",
    )

    def __init__(
        self, *args: Any, today: dt.date, lab: LabResult | None = None, **kwargs: Any
    ) -> None:
        if lab is not None:
            kwargs.setdefault(
                "initial", {"date": lab.date, "test": lab.test, "value": lab.value, "unit": ""}
            )
        else:
            kwargs.setdefault("initial", {"date": today})
        super().__init__(*args, **kwargs)
        if lab is not None:  # a dated result stays a dated result
            self.fields["test"].choices = [
                (kind.code, _lab_choice(kind))
                for kind in LAB_KINDS
                if kind.code != CREATININE_CLEARANCE
            ]


class DxaImportForm(CrispyMixin, forms.Form):
    clinic = forms.ChoiceField(help_text="The clinic whose patients the MRNs belong to.")
    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text=(
            f"UTF-8, comma-separated, at most {dxa_import.MAX_BYTES // (1024 * 1024)} MB and "
            f"{dxa_import.MAX_ROWS:,} rows."
        ),
    )

    def __init__(self, *args: Any, clinics: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinic"].choices = clinics

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size and upload.size > dxa_import.MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / (1024 * 1024):.1f} MB; the limit is "
                f"{dxa_import.MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files."
            )
        return upload


class LabResultForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = LabResult
        fields = ["date", "test", "value", "unit"]
        widgets = date_widgets("date")


class ReassessmentForm(CrispyMixin, forms.ModelForm):
    class Meta:
        model = Reassessment
        fields = ["date", "note"]
        widgets = {**date_widgets("date"), "note": forms.Textarea(attrs={"rows": 3})}
