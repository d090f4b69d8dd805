"""Services of the lab pages: a panel of values taken on one day, and the correction of one value.

Each value is typed in a unit of its test (`monitoring.lab_tests`): it is stored in the test's
stored unit, the one the engine reads, and what was typed in another unit is kept beside it
(`LabResult.entered_value`, `entered_unit`). Creatinine clearance is not a dated lab result: it
becomes the current value of the patient's risk factors (audited like any change).

The order of the checks: a unit that does not fit the test, a value beyond the hard limits and
every model rule (dates, one value per test and day) are refused first, all at once; a value
outside the usual range of its unit is then asked about (`LabValuesUnconfirmed`), so the
question is only asked about values that are otherwise valid; then every row is saved in one
transaction (one rescan of the patient).

Errors are keyed by `date`, by a test's code (its value) or by `<code>_unit` (its unit).

Concurrency: a panel is all or nothing. When another request saves a value of the same test on
the same day between the checks and the save, the panel's transaction rolls back and the panel
is refused with a message (the unique constraint decides; nothing is overwritten).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from monitoring.lab_tests import (
    CREATININE_CLEARANCE,
    LAB_KIND_BY_CODE,
    LabKind,
    lab_number,
)
from monitoring.models import LabResult
from patients.models import Patient, RiskProfile
from patients.services import record_save

#: The key of an error about the panel's one date.
DATE = "date"
_SAVED_MEANWHILE = (
    "Someone saved a value of one of these tests on this date meanwhile: nothing was saved. "
    "Open the patient to see it."
)
#: "This test already has a value on this date; edit it instead."
_DUPLICATE = next(
    str(constraint.violation_error_message)
    for constraint in LabResult._meta.constraints
    if constraint.name == "lab_one_value_per_test_per_day"
)


@dataclass(frozen=True)
class LabEntry:
    """One value as typed: the test's code, the number, its unit; `is_confirmed` when the person
    ticked "the value is right" after the usual-range question."""

    test: str
    value: float
    unit: str
    is_confirmed: bool = False


class LabValuesUnconfirmed(Exception):
    """Values outside the usual range of their unit that the person has not confirmed yet:
    `warnings` maps each test's code to what to check."""

    def __init__(self, warnings: dict[str, str]) -> None:
        self.warnings = warnings
        super().__init__(" ".join(warnings.values()))


def lab_range_warning(kind: LabKind, value: float, symbol: str) -> str:
    """What to check about a value outside the usual range of its unit, naming the unit it would
    be usual in when there is one: "95 ng/mL is outside the usual range of 25-OH vitamin D
    (3–80 ng/mL). Typed in nmol/L? Then choose nmol/L: it would be 38.06 ng/mL." """
    unit = kind.require_unit(symbol)
    low, high = unit.plausible
    message = (
        f"{lab_number(value)} {symbol} is outside the usual range of {kind.label} "
        f"({lab_number(low)}–{lab_number(high)} {symbol})."
    )
    for other in kind.units:
        if other.per_canonical == unit.per_canonical:
            continue
        if kind.is_plausible(value, other.symbol):
            stored = kind.to_stored(value, other.symbol)
            message += (
                f" Typed in {other.symbol}? Then choose {other.symbol}: it would be "
                f"{lab_number(stored)} {kind.stored_unit.symbol}."
            )
            break
    return message


def unit_key(test: str) -> str:
    """The key of an error about the unit a test was typed in."""
    return f"{test}_unit"


def _kind(test: str) -> LabKind:
    kind = LAB_KIND_BY_CODE.get(test)
    if kind is None:
        raise ValidationError({test: "Choose one of the listed tests."})
    return kind


def _stored_value(kind: LabKind, entry: LabEntry) -> float:
    """The value in the stored unit, or a ValidationError saying what is wrong in the unit the
    person typed (keyed by the test's unit key, or by its code for a value beyond the limits)."""
    if kind.unit(entry.unit) is None:
        raise ValidationError(
            {unit_key(kind.code): f"{kind.label} is recorded in {' or '.join(kind.unit_symbols)}."}
        )
    low, high = kind.limits_in(entry.unit)
    stored = kind.to_stored(entry.value, entry.unit)
    if not (low <= entry.value <= high and kind.limits[0] <= stored <= kind.limits[1]):
        raise ValidationError(
            {
                kind.code: f"{kind.label} must be between {lab_number(low)} and "
                f"{lab_number(high)} {entry.unit}."
            }
        )
    return stored


def _fill(row: LabResult, kind: LabKind, entry: LabEntry, stored: float) -> None:
    row.test, row.value, row.unit = kind.code, stored, kind.stored_unit.symbol
    is_stored_unit = entry.unit == kind.stored_unit.symbol
    row.entered_value = None if is_stored_unit else entry.value
    row.entered_unit = "" if is_stored_unit else entry.unit


def _keyed(error: ValidationError, key: str) -> dict[str, list[str]]:
    """A model's errors about one row, keyed for the panel: the date's own errors (future,
    before birth) stay on the date; the rest, and a second value of the test on that day, go
    beside the test's value."""
    if not hasattr(error, "error_dict"):
        return {key: error.messages}
    keyed: dict[str, list[str]] = {}
    for name, messages in error.message_dict.items():
        for message in messages:
            target = DATE if name == DATE and message != _DUPLICATE else key
            keyed.setdefault(target, []).append(message)
    return keyed


def _add(errors: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for key, messages in more.items():
        known = errors.setdefault(key, [])
        known.extend(m for m in messages if m not in known)


def _rows(
    *, patient: Patient, date: dt.date | None, entries: list[LabEntry]
) -> list[tuple[LabEntry, LabKind, LabResult | RiskProfile]]:
    """Every entry as an unsaved row, each fully validated; errors of all rows raised at once,
    keyed by test code (and `date`)."""
    errors: dict[str, list[str]] = {}
    rows: list[tuple[LabEntry, LabKind, LabResult | RiskProfile]] = []
    if not entries:
        raise ValidationError({NON_FIELD_ERRORS: "Enter at least one value."})
    if date is None and any(entry.test != CREATININE_CLEARANCE for entry in entries):
        errors[DATE] = ["Enter the date the sample was taken."]
    for entry in entries:
        try:
            kind = _kind(entry.test)
            stored = _stored_value(kind, entry)
        except ValidationError as error:
            _add(errors, error.message_dict)
            continue
        row: LabResult | RiskProfile
        if not kind.is_dated:
            row = RiskProfile.objects.filter(patient=patient).first() or RiskProfile(
                patient=patient
            )
            row.creatinine_clearance_ml_min = stored
        elif date is None:
            continue
        else:
            row = LabResult(patient=patient, date=date)
            _fill(row, kind, entry, stored)
        try:
            # Every rule that can refuse it (one query: the same test on that day); the patient
            # is known, and the constraints are the fields' rules again: `record_save` runs the
            # whole `full_clean` once more before it writes.
            row.full_clean(exclude=["patient"], validate_constraints=False)
        except ValidationError as error:
            _add(errors, _keyed(error, kind.code))
            continue
        rows.append((entry, kind, row))
    if errors:
        raise ValidationError(errors)
    return rows


def _ask_about_unusual(checked: list[tuple[LabEntry, LabKind]]) -> None:
    warnings = {
        kind.code: lab_range_warning(kind, entry.value, entry.unit)
        for entry, kind in checked
        if not entry.is_confirmed and not kind.is_plausible(entry.value, entry.unit)
    }
    if warnings:
        raise LabValuesUnconfirmed(warnings)


def lab_panel_record(
    *,
    patient: Patient,
    date: dt.date | None,
    entries: list[LabEntry],
    actor: AbstractBaseUser | None,
) -> list[LabResult | RiskProfile]:
    """Record the values of one sample (`date`) of `patient`, all or none, in one transaction.

    Raises ValidationError (keyed as the module says; NON_FIELD_ERRORS for an empty panel) and
    LabValuesUnconfirmed for unusual values not yet confirmed."""
    rows = _rows(patient=patient, date=date, entries=entries)
    _ask_about_unusual([(entry, kind) for entry, kind, _ in rows])
    try:
        with transaction.atomic():
            return [record_save(instance=row, actor=actor) for _, _, row in rows]
    except ValidationError as error:  # a value of the same test and day saved meanwhile
        raise ValidationError(_keyed(error, _first_unsaved(rows))) from error
    except IntegrityError as error:  # the same, past validation: the database's constraint
        raise ValidationError({NON_FIELD_ERRORS: _SAVED_MEANWHILE}) from error


def _first_unsaved(rows: list[tuple[LabEntry, LabKind, Any]]) -> str:
    """The test a save's refusal is about: the first row not saved when it was raised."""
    for _, kind, row in rows:
        if row._state.adding:
            return kind.code
    return NON_FIELD_ERRORS


def lab_value_update(
    *, lab: LabResult, date: dt.date | None, entry: LabEntry, actor: AbstractBaseUser | None
) -> LabResult:
    """Correct one dated value (its date, test, value or unit). Errors keyed like
    `lab_panel_record`'s; a dated value does not become creatinine clearance."""
    kind = _kind(entry.test)
    if not kind.is_dated:
        raise ValidationError({entry.test: "Choose one of the listed tests."})
    if date is None:
        raise ValidationError({DATE: "Enter the date the sample was taken."})
    stored = _stored_value(kind, entry)
    lab.date = date
    _fill(lab, kind, entry, stored)
    try:
        lab.full_clean(exclude=["patient"], validate_constraints=False)
    except ValidationError as error:
        raise ValidationError(_keyed(error, kind.code)) from error
    _ask_about_unusual([(entry, kind)])
    return record_save(instance=lab, actor=actor)


def lab_panel_summary(saved: list[LabResult | RiskProfile]) -> str:
    """What was saved, in words, for the confirmation message: "25-OH vitamin D 30.05 ng/mL
    (entered as 75 nmol/L), CTX 0.45 ng/mL on 2025-01-10"."""
    dated = [row for row in saved if isinstance(row, LabResult)]
    parts = []
    for row in dated:
        entered = f" (entered as {row.entered_text})" if row.entered_text else ""
        parts.append(f"{row.get_test_display()} {row.value_text}{entered}")
    sentences = []
    if dated:
        sentences.append(f"{', '.join(parts)} on {dated[0].date:%Y-%m-%d} recorded")
    for row in saved:
        if isinstance(row, RiskProfile):
            sentences.append(
                f"creatinine clearance {lab_number(row.creatinine_clearance_ml_min or 0)} mL/min "
                "is now the current value in the risk factors"
            )
    text = "; ".join(sentences)
    return text[:1].upper() + text[1:]
