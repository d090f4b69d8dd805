"""A clinic's measurement settings: the unit its laboratory reports each test in, and its DXA
scanners. Reads and writes, each audited through `record_save` (the rows have a history).

Concurrency: two people adding the same scanner at once get one row (a unique constraint on
the clinic and the name in any case) and the second a message; two saving the units at once:
the later save wins per test (both in the history), except that when both choose a test's
first unit the second is refused with a message and nothing of it is saved.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from monitoring.lab_tests import LAB_KIND_BY_CODE, LAB_KINDS
from monitoring.models import ClinicLabUnit, DxaScanner
from patients.models import Clinic
from patients.services import record_save

# --- lab units --------------------------------------------------------------------------------


def clinic_lab_units(*, clinic_id: int) -> dict[str, str]:
    """Each test's unit for this clinic's forms (the test's stored unit unless the clinic chose
    another), in one query."""
    chosen = dict(ClinicLabUnit.objects.filter(clinic_id=clinic_id).values_list("test", "unit"))
    return {
        kind.code: chosen[kind.code]
        if chosen.get(kind.code) in kind.unit_symbols
        else kind.stored_unit.symbol
        for kind in LAB_KINDS
    }


@transaction.atomic
def clinic_lab_units_update(
    *, clinic: Clinic, units: dict[str, str], actor: AbstractBaseUser | None
) -> list[str]:
    """Set the clinic's unit of each test in `units` (test code → unit); returns the codes that
    changed. A unit that does not fit its test is refused keyed by the test's code."""
    current = {row.test: row for row in ClinicLabUnit.objects.filter(clinic=clinic)}
    changed = []
    for code, unit in units.items():
        kind = LAB_KIND_BY_CODE.get(code)
        if kind is None:
            raise ValidationError({code: "Not a lab test of this clinic's forms."})
        row = current.get(code) or ClinicLabUnit(clinic=clinic, test=code)
        if row.pk is None and unit == kind.stored_unit.symbol:
            continue  # the default needs no row
        if row.unit == unit:
            continue
        row.unit = unit
        try:
            record_save(instance=row, actor=actor)
        except ValidationError as error:
            raise ValidationError({code: error.messages}) from error
        except IntegrityError as error:  # the first unit of this test chosen meanwhile
            raise ValidationError(
                {code: "Someone else set this unit meanwhile: check it and save again."}
            ) from error
        changed.append(code)
    return changed


# --- DXA scanners -----------------------------------------------------------------------------


def clinic_scanners(*, clinic_id: int, with_retired: bool = False) -> list[DxaScanner]:
    """The clinic's scanners, in service first, by name (one query)."""
    scanners = DxaScanner.objects.filter(clinic_id=clinic_id)
    if not with_retired:
        scanners = scanners.filter(is_retired=False)
    return list(scanners.order_by("is_retired", Lower("name"), "pk"))


def dxa_scanner_add(*, clinic: Clinic, name: str, actor: AbstractBaseUser | None) -> DxaScanner:
    """Add a scanner to the clinic's list (its name trimmed; unique in the clinic whatever the
    case). A retired scanner of that name is brought back into service instead."""
    name = " ".join(name.split())
    retired = DxaScanner.objects.filter(clinic=clinic, name__iexact=name, is_retired=True).first()
    if retired is not None:
        return dxa_scanner_set_retired(scanner=retired, is_retired=False, actor=actor)
    try:
        return record_save(instance=DxaScanner(clinic=clinic, name=name), actor=actor)
    except ValidationError as error:
        raise ValidationError({"name": error.messages}) from error
    except IntegrityError as error:  # the same name added meanwhile: the constraint decides
        raise ValidationError(
            {"name": "This clinic already has a scanner of this name."}
        ) from error


def dxa_scanner_set_retired(
    *, scanner: DxaScanner, is_retired: bool, actor: AbstractBaseUser | None
) -> DxaScanner:
    """Retire a scanner (no longer offered; its scans keep its name) or bring it back."""
    scanner.is_retired = is_retired
    return record_save(instance=scanner, actor=actor)
