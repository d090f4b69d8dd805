"""Field validators shared by every dated clinical record."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from patients.limits import LAST_DATE


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
