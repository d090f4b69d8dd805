"""Plausibility limits of stored clinical values: the numbers, the field validators that refuse a
value beside its field, and the database CHECK constraints that hold the same numbers.

The engine's data limits (`therapy.engine.limits`: dates, BMD, T-score, FRAX) are used as they
are, so a form refuses what `parse_case` refuses. The engine accepts any finite non-negative
number for the other values; the app adds an upper bound to each, only to catch typing errors
(a dose of 7500 for 7.5, 1e308), never as a clinical threshold. Each number is written once,
here or in the engine.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length, Trim
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils.deconstruct import deconstructible

from therapy.engine import limits as engine

FIRST_DATE, LAST_DATE = engine.DATE_RANGE
BMD_G_CM2 = engine.BMD_G_CM2_RANGE
T_SCORE = engine.T_SCORE_RANGE
FRAX_PCT = engine.FRAX_PCT_RANGE
#: Creatinine clearance, mL/min: glomerular hyperfiltration rarely exceeds 200.
CREATININE_CLEARANCE_ML_MIN = (0.0, 250.0)
#: Alcohol, drinks per day.
ALCOHOL_DRINKS_PER_DAY = (0.0, 50.0)
#: Glucocorticoid dose, prednisone-equivalent mg/day: more than nothing, at most a pulse dose.
PREDNISONE_MG_PER_DAY = (0.1, 1000.0)
#: A scanner's least significant change, %: above 0 (CASE_FORMAT), far below 50 in practice.
LSC_PCT = (0.1, 50.0)
#: Any lab value in its stored unit (CTX ng/mL, P1NP µg/L, 25-OH vitamin D ng/mL, calcium
#: mmol/L): not negative; the bound is far above every marker (P1NP in Paget's disease reaches
#: the low thousands).
LAB_VALUE = (0.0, 10_000.0)


#: Free text a person types (a note, a reason, a postal address), in characters: a page of
#: text, far more than any note needs, and a bound on what a form or an import may store.
NOTE_MAX_CHARS = 2000


def note_field(verbose_name: str | None = None, **kwargs: Any) -> models.TextField:
    """An optional free-text field of at most `NOTE_MAX_CHARS` characters: refused beside the
    field by its validator (a form's textarea says so with maxlength), held by the database
    with `text_length_check`."""
    return models.TextField(
        verbose_name,
        blank=True,
        default="",
        max_length=NOTE_MAX_CHARS,
        validators=[MaxLengthValidator(NOTE_MAX_CHARS)],
        **kwargs,
    )


def _numbers(low: float, high: float) -> tuple[str, str]:
    """Both bounds with as many decimals as the finer one needs: (0.2, 2.0) → "0.2", "2.0"."""
    decimals = max(len(f"{n:g}".partition(".")[2]) for n in (low, high))
    return f"{low:.{decimals}f}", f"{high:.{decimals}f}"


@deconstructible
class RangeValidator:
    """Refuse a number outside [low, high] (and NaN or infinity) with one plain message:
    "BMD must be between 0.2 and 2.0 g/cm²." """

    code = "out_of_range"

    def __init__(self, what: str, bounds: tuple[float, float], unit: str = "") -> None:
        self.what = what
        self.bounds = (float(bounds[0]), float(bounds[1]))
        self.unit = unit

    @property
    def message(self) -> str:
        low, high = _numbers(*self.bounds)
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.what} must be between {low} and {high}{unit}."

    def __call__(self, value: float) -> None:
        low, high = self.bounds
        if not (math.isfinite(value) and low <= value <= high):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RangeValidator) and (self.what, self.bounds, self.unit) == (
            other.what,
            other.bounds,
            other.unit,
        )

    def __hash__(self) -> int:
        return hash((self.what, self.bounds, self.unit))


DATE_MESSAGE = f"Date must be between {FIRST_DATE.isoformat()} and {LAST_DATE.isoformat()}."


def date_in_range(value: Any) -> None:
    """Every clinical date lies within the engine's calendar (`limits.DATE_RANGE`)."""
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValidationError(DATE_MESSAGE, code="date_range")


def not_blank(value: str) -> None:
    """Text that is only spaces is no name or unit (an empty optional value never gets here)."""
    if not value.strip():
        raise ValidationError("Enter some text, not only spaces.", code="only_spaces")


# --- CHECK constraints ------------------------------------------------------------------------


class DatabaseCheck(models.CheckConstraint):
    """A CHECK constraint that only the database enforces, for writes that bypass validation
    (`QuerySet.update`, raw SQL, a script). `full_clean` skips it: the field's validators refuse
    the same values beside the field, and validating it would cost a query per constraint on
    every save."""

    def validate(self, *args: Any, **kwargs: Any) -> None:
        return None


def choices_check(field: str, values: list[str], *, name: str) -> DatabaseCheck:
    """The field holds one of `values` (the field's `choices` refuse others in a form)."""
    return DatabaseCheck(condition=Q(**{f"{field}__in": values}), name=name)


def date_range_check(field: str, *, name: str, nullable: bool = False) -> DatabaseCheck:
    condition = Q(**{f"{field}__gte": FIRST_DATE, f"{field}__lte": LAST_DATE})
    if nullable:
        condition = Q(**{f"{field}__isnull": True}) | condition
    return DatabaseCheck(condition=condition, name=name, violation_error_message=DATE_MESSAGE)


def number_range_check(
    field: str, bounds: tuple[float, float], *, name: str, nullable: bool = False
) -> DatabaseCheck:
    low, high = bounds
    condition = Q(**{f"{field}__gte": low, f"{field}__lte": high})
    if nullable:
        condition = Q(**{f"{field}__isnull": True}) | condition
    return DatabaseCheck(condition=condition, name=name)


def not_blank_check(field: str, *, name: str, optional: bool = False) -> DatabaseCheck:
    """Text holds more than spaces (`optional`: or is empty, meaning "not given")."""
    condition = Q(GreaterThan(Length(Trim(field)), 0))
    if optional:
        condition = Q(**{field: ""}) | condition
    return DatabaseCheck(condition=condition, name=name)


def text_length_check(field: str, *, name: str, max_chars: int = NOTE_MAX_CHARS) -> DatabaseCheck:
    """The text holds at most `max_chars` characters."""
    return DatabaseCheck(condition=Q(LessThanOrEqual(Length(field), max_chars)), name=name)
