"""Field validators shared by every dated clinical record, and the one way a typed date is
read (forms, their text fallbacks and the DXA CSV import alike)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from patients.limits import LAST_DATE

#: The one accepted way to type a date: ISO 8601, YYYY-MM-DD (what <input type=date> sends).
DATE_INPUT_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_INPUT_MESSAGE = "Enter the date as YYYY-MM-DD, for example 2024-12-31."


def parse_date_text(text: str) -> dt.date:
    """A typed date: exactly YYYY-MM-DD and a day of the calendar; ValueError with
    `DATE_INPUT_MESSAGE` otherwise ("31/12/2024", "20241231", "2024-1-5", "2024-02-30")."""
    text = text.strip()
    if DATE_INPUT_PATTERN.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(DATE_INPUT_MESSAGE)


def iso_date_field(field: Any) -> None:
    """Make a form's DateField read dates as `parse_date_text` does, with its message."""
    field.strptime = lambda value, _format: parse_date_text(value)
    field.error_messages = {**field.error_messages, "invalid": DATE_INPUT_MESSAGE}


def not_in_future(value: dt.date) -> None:
    """A clinical event cannot be recorded ahead of today (the clinic's local date). A date
    past `limits.LAST_DATE` gets the range's message alone (`limits.date_in_range`)."""
    today = timezone.localdate()
    if today < value <= LAST_DATE:
        raise ValidationError(
            "This date is in the future (today is %(today)s).",
            code="future",
            params={"today": today.isoformat()},
        )


def check_not_before_birth(value: dt.date | None, birth_date: dt.date | None, field: str) -> None:
    """Raise a field error when a clinical date lies before the patient was born."""
    if value and birth_date and value < birth_date:
        raise ValidationError(
            {field: f"This date is before the patient's birth date ({birth_date.isoformat()})."},
            code="before_birth",
        )


def check_end_not_before_start(
    start: dt.date | None, end: dt.date | None, field: str = "end"
) -> None:
    if start and end and end < start:
        raise ValidationError(
            {field: f"The end date is before the start date ({start.isoformat()})."},
            code="end_before_start",
        )


#: Foreign keys that own a record; a clash is reported beside the record's own field instead.
_OWNER_FIELDS = frozenset({"patient", "clinic", "course"})


def check_unique_beside_field(instance: models.Model) -> None:
    """Report a clash with an unconditional unique constraint beside the first field the user
    typed (the date, the MRN), where the form shows it, instead of above the form."""
    meta = instance._meta
    for constraint in meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint) or constraint.condition is not None:
            continue
        lookup = {}
        for name in constraint.fields:
            attname = meta.get_field(name).attname
            value = getattr(instance, attname)
            if value is None or value == "":
                break
            lookup[attname] = value
        else:
            if type(instance)._default_manager.filter(**lookup).exclude(pk=instance.pk).exists():
                target = next(n for n in constraint.fields if n not in _OWNER_FIELDS)
                raise ValidationError(
                    {target: constraint.get_violation_error_message()}, code="unique"
                )
