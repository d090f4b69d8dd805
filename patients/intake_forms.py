"""The history intake: previous fractures and previous therapy courses as rows of one page (two
formsets), each date typed as precisely as the clinician knows it ("2016", "2017-05",
"2017-05-14"). Rows are validated by their models (`full_clean`), so a row meets the rules the
single-record forms meet; the formsets add what only the whole page can see (two rows that
repeat or overlap each other)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from patients import approximate_dates
from patients.approximate_dates import ApproximateDate, DatePrecision
from patients.exceptions import IntakeRowError
from patients.models import Fracture, Patient
from patients.records import add_validation_error
from therapy.models import TherapyCourse

#: Rows per list; far above any history, low enough that a runaway page cannot flood the save.
MAX_ROWS = 30


class ApproximateDateField(forms.Field):
    """A year, a month or a day, typed as text: cleans to an `ApproximateDate`."""

    widget = forms.TextInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "2016, 2017-05 or 2017-05-14")
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> ApproximateDate | None:
        if value in self.empty_values:
            return None
        if isinstance(value, ApproximateDate):
            return value
        try:
            return approximate_dates.parse(str(value))
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from None

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, ApproximateDate):
            return approximate_dates.iso(value.day, value.precision)
        return value

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {
            **super().widget_attrs(widget),
            "placeholder": "YYYY, YYYY-MM or YYYY-MM-DD",
            "autocomplete": "off",
            "spellcheck": "false",
        }


class _RowForm(forms.ModelForm):
    """A row of one patient: its approximate date fields fill the model's date and precision."""

    #: form field → the model's precision field
    approximate_fields: dict[str, str] = {}

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.patient = patient

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name, precision_field in self.approximate_fields.items():
            if name not in data:  # refused beside the field already
                continue
            value = data[name]
            data[name] = value.day if value else None
            setattr(self.instance, precision_field, value.precision if value else DatePrecision.DAY)
        return data


class FractureRowForm(_RowForm):
    approximate_fields = {"date": "date_precision"}

    date = ApproximateDateField(label="When")

    class Meta:
        model = Fracture
        fields = ["date", "site", "is_fragility"]
        labels = {"is_fragility": "Fragility fracture"}


class CourseRowForm(_RowForm):
    approximate_fields = {"start": "start_precision", "end": "end_precision"}

    start = ApproximateDateField(label="Started")
    end = ApproximateDateField(label="Ended", required=False, help_text="Empty while ongoing")

    class Meta:
        model = TherapyCourse
        fields = ["drug", "start", "end", "stop_reason"]


class _RowFormSet(forms.BaseFormSet):
    deletion_widget = forms.HiddenInput

    def rows(self) -> list[forms.ModelForm]:
        """The rows to save: typed in, not removed."""
        return [
            form
            for form in self.forms
            if form.has_changed() and not (self.can_delete and self._should_delete_form(form))
        ]

    def _row_label(self, form: forms.BaseForm) -> str:
        return f"row {self.forms.index(form) + 1}"


class FractureFormSet(_RowFormSet):
    def clean(self) -> None:
        """Two rows of one fracture (same site, same date as typed) are one fracture."""
        seen: dict[tuple[Any, Any], forms.BaseForm] = {}
        for form in self.rows():
            key = (form.cleaned_data.get("date"), form.cleaned_data.get("site"))
            if None in key:
                continue
            if key in seen:
                form.add_error(
                    "date", f"This fracture is already listed in {self._row_label(seen[key])}."
                )
            else:
                seen[key] = form


class CourseFormSet(_RowFormSet):
    def clean(self) -> None:
        """Two rows of one drug whose periods may overlap would be one course twice (the models
        refuse the same against courses already saved)."""
        checked: list[tuple[TherapyCourse, forms.BaseForm]] = []
        for form in self.rows():
            course = form.instance
            if form.errors or not (course.drug and course.start):
                continue
            clash = next(
                (
                    row
                    for other, row in checked
                    if other.drug == course.drug and _may_overlap(other, course)
                ),
                None,
            )
            if clash is not None:
                form.add_error(
                    "start",
                    f"This overlaps the {clash.instance} course in {self._row_label(clash)}; "
                    "a course of the same drug is one row.",
                )
            else:
                checked.append((course, form))


def _may_overlap(a: TherapyCourse, b: TherapyCourse) -> bool:
    """Whether the two courses may have run on one day, each from its start's first day to its
    end's last day (open: to this day)."""
    a_end, b_end = a.end_latest, b.end_latest
    return (a_end is None or a_end >= b.start) and (b_end is None or b_end >= a.start)


FractureRows = forms.formset_factory(
    FractureRowForm,
    formset=FractureFormSet,
    extra=1,
    can_delete=True,
    max_num=MAX_ROWS,
    validate_max=True,
    absolute_max=MAX_ROWS,
)
CourseRows = forms.formset_factory(
    CourseRowForm,
    formset=CourseFormSet,
    extra=1,
    can_delete=True,
    max_num=MAX_ROWS,
    validate_max=True,
    absolute_max=MAX_ROWS,
)


class IntakeForms:
    """The page's two lists of rows, validated and reported together."""

    def __init__(self, data: Any = None, *, patient: Patient) -> None:
        kwargs = {"form_kwargs": {"patient": patient}}
        self.fractures = FractureRows(data, prefix="fractures", **kwargs)
        self.courses = CourseRows(data, prefix="courses", **kwargs)

    def is_valid(self) -> bool:
        # Both validated, so every refused row shows its message at once.
        return all([self.fractures.is_valid(), self.courses.is_valid()])

    def new_fractures(self) -> list[Fracture]:
        return [form.instance for form in self.fractures.rows()]

    def new_courses(self) -> list[TherapyCourse]:
        return [form.instance for form in self.courses.rows()]

    @property
    def is_empty(self) -> bool:
        return not (self.fractures.rows() or self.courses.rows())

    def add_row_error(self, error: IntakeRowError) -> None:
        """Put an error the save raised beside the fields of the row it came from."""
        formset = self.fractures if error.kind == "fractures" else self.courses
        form = formset.rows()[error.index]
        if isinstance(error.error, ValidationError):
            add_validation_error(form, error.error)
        else:
            form.add_error(None, "This row conflicts with a record saved meanwhile; check it.")
