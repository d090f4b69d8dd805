from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from crispy_forms.layout import HTML, Column, Field, Fieldset, Layout, Row
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.html import format_html

from monitoring import dxa_import
from monitoring.dxa import SITE_LABELS, DxaDirectionUnconfirmed
from monitoring.lab_tests import LAB_KIND_BY_CODE, LAB_KINDS, LabKind, LabUnit, lab_number
from monitoring.labs import LabEntry, unit_key
from monitoring.models import DxaScan, DxaScanner, LabResult, Reassessment
from patients.forms import CrispyMixin, date_widgets
from patients.versions import EditConflict
from therapy.case_records import DXA_READING_COLUMNS
from therapy.engine.case import DxaSite


class DecimalInput(forms.TextInput):
    """A number typed in a text box with the decimal keypad. Not `type="number"`: a browser
    sends such a box empty when what was typed is not a number in its locale ("0,780"), so a
    value would vanish without a word (in the lab panel, an empty test is skipped); typed in a
    text box it comes back with "Enter a number." beside it."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})


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


#: The scanner select's last option: a name typed in the box below it.
OTHER_SCANNER = "__other__"


class DxaScanForm(CrispyMixin, forms.ModelForm):
    """One scan, laid out for the keyboard: date (autofocus), scanner, then per site BMD,
    T-score and LSC — the tab order is the reading order. The page's first submit button is
    "Save and log next", so Enter in any field saves and opens an empty form.

    With a scanner list (`scanners`: the clinic's scanners in service), the scanner is picked
    from it; "Another scanner" opens a box for a name off the list (static/js/dxa-scanner.js
    hides the box until it is chosen), and a scan's name that is not on the list (a retired
    scanner, a CSV import) stays offered as it is. Without a list, the name is typed."""

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

    def __init__(self, *args: Any, scanners: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.direction_conflict: DxaDirectionUnconfirmed | None = None
        self.scanners = list(scanners)
        if self.scanners:
            self._offer_scanners()
        else:
            self.fields["scanner"].widget.attrs.update(
                {"placeholder": "e.g. Hologic Horizon A, room 2", "autocomplete": "on"}
            )
            self.fields["scanner"].help_text = (
                "Same scanner as before? Type it the same way: BMD and T-scores are compared "
                "only between scans of one scanner."
            )
        for site in DxaSite:
            for part, label in (("bmd_g_cm2", "BMD (g/cm²)"), ("t_score", "T-score")):
                field = self.fields[f"{site}_{part}"]
                field.label = label
                field.widget = DecimalInput()
            lsc = self.fields[f"{site}_lsc_pct"]
            lsc.label = "LSC (%)"
            lsc.help_text = "Empty: the default"
            lsc.widget = DecimalInput()
        self._lay_out(with_confirmation=bool(self.data.get("confirm_values")))

    def _offer_scanners(self) -> None:
        current = (self.instance.scanner or "").strip()
        listed = {name.casefold(): name for name in self.scanners}
        choices = [("", "Not recorded"), *((name, name) for name in self.scanners)]
        if current and current.casefold() not in listed:
            choices.append((current, f"{current} (not on the clinic's list)"))
        choices.append((OTHER_SCANNER, "Another scanner (type its name)"))
        initial = listed.get(current.casefold(), current)
        if not self.instance.pk and len(self.scanners) == 1:
            initial = self.scanners[0]  # the clinic's one scanner
        self.fields["scanner"] = forms.ChoiceField(
            label="Scanner",
            choices=choices,
            required=False,
            initial=initial,
            help_text="BMD from two different scanners is never compared.",
            widget=forms.Select(attrs={"data-scanner-select": OTHER_SCANNER}),
        )
        self.initial["scanner"] = initial
        self.fields["scanner_other"] = forms.CharField(
            label="Other scanner",
            required=False,
            max_length=DxaScan._meta.get_field("scanner").max_length,
            help_text="Only when the scanner is not on the list.",
            widget=forms.TextInput(attrs={"autocomplete": "off", "data-scanner-other": ""}),
        )
        # The fields' order is the tab order: the box right after the select.
        order = list(self.fields)
        order.remove("scanner_other")
        order.insert(order.index("scanner") + 1, "scanner_other")
        self.order_fields(order)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.scanners:
            chosen = data.get("scanner", "")
            if chosen == OTHER_SCANNER:
                typed = " ".join(data.get("scanner_other", "").split())
                if not typed:
                    self.add_error("scanner_other", "Type the scanner's name, or pick one.")
                listed = {name.casefold(): name for name in self.scanners}
                data["scanner"] = listed.get(typed.casefold(), typed)
            self.instance.scanner = data.get("scanner", "") or ""
        return data

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
        other = [Field("scanner_other", wrapper_class="scanner-other")] if self.scanners else []
        scanner = Column("scanner", *other, css_class="col-sm-8")
        self.helper.layout = Layout(
            Row(Column("date", css_class="col-sm-4"), scanner),
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


# --- labs -------------------------------------------------------------------------------------


class UnitSelect(forms.Select):
    """A unit select whose options carry their conversion factor and usual range, for the
    conversion shown as one types (static/js/lab-conversion.js)."""

    def __init__(self, units: dict[str, LabUnit], attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.units = units

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):  # type: ignore[no-untyped-def]  # Django's signature
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        unit = self.units.get(str(value))
        if unit is not None:
            option["attrs"].update(
                {
                    "data-per-canonical": f"{unit.per_canonical:g}",
                    "data-low": f"{unit.plausible[0]:g}",
                    "data-high": f"{unit.plausible[1]:g}",
                }
            )
        return option


def _unit_field(kind: LabKind, label: str = "Unit", *, required: bool = True) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        required=required,
        choices=[(unit.symbol, unit.symbol) for unit in kind.units],
        widget=UnitSelect({unit.symbol: unit for unit in kind.units}),
    )


def conversion_text(kind: LabKind, value: float | None, symbol: str | None) -> str:
    """What the line beside a typed value says: "= 30.05 ng/mL stored" for a value in another
    unit than the stored one, and "outside the usual 7.5–200 nmol/L" for an unusual value;
    nothing for nothing typed. The same words as static/js/lab-conversion.js."""
    unit = kind.unit(symbol or "")
    if value is None or unit is None or not math.isfinite(value):
        return ""
    parts = []
    if unit.symbol != kind.stored_unit.symbol:
        parts.append(
            f"= {lab_number(kind.to_stored(value, unit.symbol))} {kind.stored_unit.symbol} stored"
        )
    if not kind.is_plausible(value, unit.symbol):
        low, high = unit.plausible
        parts.append(f"outside the usual {lab_number(low)}–{lab_number(high)} {unit.symbol}")
    return "; ".join(parts)


def _conversion(
    kind: LabKind, text: str, *, element_id: str, for_ids: str, test_select: str = ""
) -> HTML:
    """The line beside a value that lab-conversion.js keeps up to date (a polite live region
    that the value input names in its aria-describedby): `data-for` names the value input and
    the unit select; `data-test-select` the test select when the test may change."""
    return HTML(
        format_html(
            '<span class="lab-conversion small" id="{}" data-for="{}" aria-live="polite" '
            'data-stored-unit="{}" data-decimals="{}"{}>{}</span>',
            element_id,
            for_ids,
            kind.stored_unit.symbol,
            kind.decimals,
            format_html(' data-test-select="{}"', test_select) if test_select else "",
            text,
        )
    )


def _typed_number(form: forms.Form, name: str) -> float | None:
    """The number typed in field `name` of a bound form (None if empty or not a number)."""
    try:
        return float(str(form.data.get(name, "")).strip())
    except ValueError:
        return None


class LabPanelForm(CrispyMixin, forms.Form):
    """The values of one sample: the date, then per test its value and unit (the clinic's unit
    first). Tests left empty are skipped. A value outside its unit's usual range is asked about:
    the warning beside it and a box to tick appear, and everything typed stays."""

    date = forms.DateField(
        label="Sample date",
        required=False,
        widget=IsoDateInput(),
        help_text="The day the sample was taken (creatinine clearance is not dated: it "
        "replaces the current value in the risk factors).",
    )

    def __init__(
        self, *args: Any, units: dict[str, str], initial_date: dt.date, **kwargs: Any
    ) -> None:
        kwargs.setdefault(
            "initial",
            {"date": initial_date, **{f"{code}_unit": unit for code, unit in units.items()}},
        )
        super().__init__(*args, **kwargs)
        self.warnings: dict[str, str] = {}
        for kind in LAB_KINDS:
            self.fields[f"{kind.code}_value"] = forms.FloatField(
                label="Value",
                required=False,
                widget=DecimalInput({"aria-describedby": f"{kind.code}-conversion"}),
            )
            # A test left empty needs no unit (a browser always sends one anyway).
            self.fields[f"{kind.code}_unit"] = _unit_field(kind, required=False)
            self.fields[f"{kind.code}_confirm"] = forms.BooleanField(
                label=f"This {kind.label} value is right: save it as typed",
                required=False,
            )
        self._lay_out()

    def _lay_out(self) -> None:
        tests = []
        for kind in LAB_KINDS:
            code = kind.code
            text = (
                conversion_text(
                    kind, _typed_number(self, f"{code}_value"), self.data.get(f"{code}_unit")
                )
                if self.is_bound
                else ""
            )
            shows_confirm = code in self.warnings or bool(self.data.get(f"{code}_confirm"))
            tests.append(
                Fieldset(
                    kind.label,
                    Row(
                        Column(f"{code}_value", css_class="col-6 col-sm-4"),
                        Column(f"{code}_unit", css_class="col-6 col-sm-3"),
                        Column(
                            _conversion(
                                kind,
                                text,
                                element_id=f"{code}-conversion",
                                for_ids=f"id_{code}_value id_{code}_unit",
                            ),
                            css_class="col-sm-5 lab-conversion-cell",
                        ),
                    ),
                    *([Field(f"{code}_confirm")] if shows_confirm else []),
                    css_class="lab-test",
                    data_lab_row=code,
                )
            )
        self.helper.layout = Layout(Row(Column("date", css_class="col-sm-4")), *tests)

    def entries(self) -> list[LabEntry]:
        """The tests with a value, in the form's order."""
        data = self.cleaned_data
        return [
            LabEntry(
                test=kind.code,
                value=data[f"{kind.code}_value"],
                unit=data[f"{kind.code}_unit"] or kind.stored_unit.symbol,
                is_confirmed=data[f"{kind.code}_confirm"],
            )
            for kind in LAB_KINDS
            if data.get(f"{kind.code}_value") is not None
        ]

    def add_service_error(self, error: ValidationError) -> None:
        """A refusal of `lab_panel_record` beside the field it is about."""
        for key, messages in error.message_dict.items():
            if key in self.fields:  # the date, a test's unit
                self.add_error(key, messages)
            elif f"{key}_value" in self.fields:
                self.add_error(f"{key}_value", messages)
            else:
                self.add_error(None, messages)

    def ask_confirmation(self, warnings: dict[str, str]) -> None:
        """Each unusual value's warning beside it, with its box; the first box takes the focus."""
        self.warnings = warnings
        for code, message in warnings.items():
            self.add_error(f"{code}_value", message)
        self.fields["date"].widget.attrs.pop("autofocus", None)
        first = next(kind.code for kind in LAB_KINDS if kind.code in warnings)
        self.fields[f"{first}_confirm"].widget.attrs["autofocus"] = True
        self._lay_out()


_DATED = [kind for kind in LAB_KINDS if kind.is_dated]
_ALL_UNITS = {unit.symbol: unit for kind in _DATED for unit in kind.units}


class TestSelect(forms.Select):
    """The test select of the correction form: each option carries its stored unit and decimals,
    so the conversion follows a change of test (static/js/lab-conversion.js)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):  # type: ignore[no-untyped-def]  # Django's signature
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        kind = LAB_KIND_BY_CODE.get(str(value))
        if kind is not None:
            option["attrs"].update(
                {"data-stored-unit": kind.stored_unit.symbol, "data-decimals": kind.decimals}
            )
        return option


class LabValueForm(CrispyMixin, forms.Form):
    """Correct one dated value: its date, test, value and unit (shown as it was typed)."""

    date = forms.DateField(label="Sample date", required=False, widget=IsoDateInput())
    test = forms.ChoiceField(
        choices=[(kind.code, kind.label) for kind in _DATED],
        widget=TestSelect(),
    )
    value = forms.FloatField(widget=DecimalInput({"aria-describedby": "lab-conversion"}))
    unit = forms.ChoiceField(
        choices=[(symbol, symbol) for symbol in _ALL_UNITS],
        widget=UnitSelect(_ALL_UNITS),
    )
    confirm = forms.BooleanField(label="The value is right: save it as typed", required=False)

    def __init__(self, *args: Any, lab: LabResult, **kwargs: Any) -> None:
        self.lab = lab  # the row edited, whose version the form carries
        typed = lab.entered_value is not None
        kwargs.setdefault(
            "initial",
            {
                "date": lab.date,
                "test": lab.test,
                "value": lab_number(lab.entered_value if typed else lab.value),
                "unit": lab.entered_unit if typed else lab.unit,
            },
        )
        super().__init__(*args, **kwargs)
        self.warning = ""
        self._lay_out()

    def _lay_out(self) -> None:
        kind = LAB_KIND_BY_CODE.get(self.data.get("test") or self.initial.get("test", ""))
        kind = kind if kind is not None and kind.is_dated else _DATED[0]
        text = (
            conversion_text(kind, _typed_number(self, "value"), self.data.get("unit"))
            if self.is_bound
            else ""
        )
        shows_confirm = bool(self.warning) or bool(self.data.get("confirm"))
        self.helper.layout = Layout(
            Row(Column("date", css_class="col-sm-6"), Column("test", css_class="col-sm-6")),
            Row(
                Column("value", css_class="col-6"),
                Column("unit", css_class="col-6"),
            ),
            _conversion(
                kind,
                text,
                element_id="lab-conversion",
                for_ids="id_value id_unit",
                test_select="id_test",
            ),
            *([Field("confirm")] if shows_confirm else []),
        )

    def entry(self) -> LabEntry:
        data = self.cleaned_data
        return LabEntry(
            test=data["test"], value=data["value"], unit=data["unit"], is_confirmed=data["confirm"]
        )

    def versioned_instance(self) -> LabResult:
        return self.lab

    def add_service_error(self, error: ValidationError) -> None:
        if isinstance(error, EditConflict):
            self.refresh_version(error.version)
        for key, messages in error.message_dict.items():
            if key == "date":
                self.add_error("date", messages)
            elif key == unit_key(self.cleaned_data.get("test", "")):
                self.add_error("unit", messages)
            elif key in LAB_KIND_BY_CODE:
                self.add_error("value", messages)
            else:
                self.add_error(None, messages)

    def ask_confirmation(self, warnings: dict[str, str]) -> None:
        self.warning = " ".join(warnings.values())
        self.add_error("value", self.warning)
        self.fields["date"].widget.attrs.pop("autofocus", None)
        self.fields["confirm"].widget.attrs["autofocus"] = True
        self._lay_out()


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


# --- a clinic's lab units and scanners --------------------------------------------------------


class ClinicLabUnitsForm(CrispyMixin, forms.Form):
    """The unit the clinic's laboratory reports each test in: the lab form offers it first."""

    def __init__(self, *args: Any, units: dict[str, str], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {f"{code}_unit": unit for code, unit in units.items()})
        super().__init__(*args, **kwargs)
        self.helper.layout = Layout(
            Row(*(Column(f"{kind.code}_unit", css_class="col-sm-6") for kind in LAB_KINDS))
        )
        for kind in LAB_KINDS:
            field = _unit_field(kind, label=kind.label)
            field.help_text = f"Stored in {kind.stored_unit.symbol}" + (
                "." if len(kind.units) > 1 else ", the only unit."
            )
            self.fields[f"{kind.code}_unit"] = field
        self.fields[f"{LAB_KINDS[0].code}_unit"].widget.attrs.pop("autofocus", None)

    def units(self) -> dict[str, str]:
        return {kind.code: self.cleaned_data[f"{kind.code}_unit"] for kind in LAB_KINDS}

    def add_service_error(self, error: ValidationError) -> None:
        for key, messages in error.message_dict.items():
            self.add_error(f"{key}_unit" if f"{key}_unit" in self.fields else None, messages)


class DxaScannerForm(CrispyMixin, forms.Form):
    """A scanner to add to the clinic's list (`dxa_scanner_add` validates it)."""

    name = forms.CharField(
        label="Scanner name",
        max_length=DxaScanner._meta.get_field("name").max_length,
        help_text=DxaScanner._meta.get_field("name").help_text,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.pop("autofocus", None)
