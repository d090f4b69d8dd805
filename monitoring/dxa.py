"""Services for the nurse's entry pages: DXA scans (with the T-score direction check) and lab
values (with 25-OH vitamin D unit conversion; creatinine clearance goes to the risk factors).

Every write goes through `record_save`, so the model's validation and the audit trail apply
exactly as for any other form or import.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from monitoring.models import DxaScan, LabResult
from patients.models import Patient, RiskProfile
from patients.services import record_save
from therapy.engine import limits
from therapy.engine.case import DxaSite, LabTest

SITE_LABELS: dict[DxaSite, str] = {
    DxaSite.LUMBAR_SPINE: "lumbar spine",
    DxaSite.FEMORAL_NECK: "femoral neck",
    DxaSite.TOTAL_HIP: "total hip",
}

# --- DXA --------------------------------------------------------------------------------------


class DxaDirectionUnconfirmed(Exception):
    """BMD and T-score moved in opposite directions since the previous scan on the same
    scanner, and the user has not confirmed the values yet."""

    def __init__(self, *, previous: DxaScan, sites: list[DxaSite]) -> None:
        self.previous = previous
        self.sites = sites
        names = ", ".join(SITE_LABELS[site] for site in sites)
        super().__init__(
            f"BMD and T-score moved in opposite directions at {names} since the scan of "
            f"{previous.date:%Y-%m-%d} on the same scanner ({previous.scanner})."
        )


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def dxa_direction_conflicts(*, earlier: DxaScan, later: DxaScan) -> list[DxaSite]:
    """Sites where BMD went up while the T-score went down, or the reverse, between two scans.

    Pure arithmetic on the two rows: a T-score is a linear function of the BMD on one scanner,
    so both must move the same way; a site missing either value in either scan is not judged,
    and an unchanged value contradicts nothing.
    """
    conflicts = []
    for site in DxaSite:
        earlier_bmd, earlier_t, _ = earlier.site_values(site)
        later_bmd, later_t, _ = later.site_values(site)
        if None in (earlier_bmd, earlier_t, later_bmd, later_t):
            continue
        if _sign(later_bmd - earlier_bmd) * _sign(later_t - earlier_t) < 0:  # type: ignore[operator]
            conflicts.append(site)
    return conflicts


def dxa_previous_same_scanner(*, scan: DxaScan) -> DxaScan | None:
    """The patient's latest scan before `scan`'s date on the same (non-empty) scanner."""
    scanner = scan.scanner.strip()
    if not scanner or not scan.patient_id or not scan.date:
        return None
    return (
        DxaScan.objects.filter(patient_id=scan.patient_id, scanner__iexact=scanner)
        .filter(date__lt=scan.date)
        .exclude(pk=scan.pk)
        .order_by("-date", "-pk")
        .first()
    )


def dxa_scan_record(
    *, scan: DxaScan, actor: AbstractBaseUser | None, is_confirmed: bool = False
) -> DxaScan:
    """Validate and save a scan (new or edited). A T-score that contradicts the BMD direction
    against the previous scan on the same scanner is not saved unless `is_confirmed`:
    `DxaDirectionUnconfirmed` names the sites. Model validation (same-day scan, ranges, future
    date…) raises `ValidationError` from `record_save`; a form has run it before this call, so
    the question is only asked about values that are otherwise valid."""
    scan.scanner = scan.scanner.strip()
    if not is_confirmed:
        previous = dxa_previous_same_scanner(scan=scan)
        if previous is not None:
            sites = dxa_direction_conflicts(earlier=previous, later=scan)
            if sites:
                raise DxaDirectionUnconfirmed(previous=previous, sites=sites)
    return record_save(instance=scan, actor=actor)


def dxa_scan_summary(scan: DxaScan) -> str:
    """ "2024-02-02, lumbar spine BMD 0.812 g/cm² T-score -2.1; total hip T-score -1.9": what
    was saved, for the confirmation message."""
    parts = []
    for site in DxaSite:
        bmd, t_score, _ = scan.site_values(site)
        values = []
        if bmd is not None:
            values.append(f"BMD {bmd:.3f} g/cm²")
        if t_score is not None:
            values.append(f"T-score {t_score:.1f}")
        if values:
            parts.append(f"{SITE_LABELS[site]} {' '.join(values)}")
    scanner = f" on {scan.scanner}" if scan.scanner else ""
    return f"{scan.date:%Y-%m-%d}{scanner}, {'; '.join(parts)}"


# --- Labs -------------------------------------------------------------------------------------

#: Not a `LabResult.test`: stored as the patient's current value in the risk factors.
CREATININE_CLEARANCE = "creatinine_clearance"
NMOL_L = "nmol/L"


@dataclass(frozen=True)
class LabKind:
    code: str
    label: str
    units: tuple[str, ...]  # the first is the unit stored

    @property
    def stored_unit(self) -> str:
        return self.units[0]


LAB_KINDS: tuple[LabKind, ...] = (
    LabKind(LabTest.CTX, "CTX", (LabResult.UNITS[LabTest.CTX],)),
    LabKind(LabTest.P1NP, "P1NP", (LabResult.UNITS[LabTest.P1NP],)),
    LabKind(
        LabTest.VITAMIN_D_25OH, "25-OH vitamin D", (LabResult.UNITS[LabTest.VITAMIN_D_25OH], NMOL_L)
    ),
    LabKind(LabTest.CALCIUM, "Calcium", (LabResult.UNITS[LabTest.CALCIUM],)),
    LabKind(CREATININE_CLEARANCE, "Creatinine clearance", ("mL/min",)),
)
LAB_KIND_BY_CODE: dict[str, LabKind] = {kind.code: kind for kind in LAB_KINDS}
#: Every unit a value may be typed in, in the order the form lists them.
LAB_UNITS: tuple[str, ...] = tuple(dict.fromkeys(u for kind in LAB_KINDS for u in kind.units))


def vitamin_d_ng_ml(value_nmol_l: float) -> float:
    """25-OH vitamin D in ng/mL from nmol/L (CASE_FORMAT), to 0.01 ng/mL: finer than any
    laboratory reports, so the rounding never moves a value across a threshold."""
    return round(value_nmol_l / limits.VITAMIN_D_NMOL_L_PER_NG_ML, 2)


def _remap(error: ValidationError, names: dict[str, str]) -> ValidationError:
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError(
        {names.get(name, name): messages for name, messages in error.error_dict.items()}
    )


def lab_value_record(
    *,
    patient: Patient,
    test: str,
    value: float,
    unit: str,
    date: dt.date | None,
    actor: AbstractBaseUser | None,
    lab: LabResult | None = None,
) -> LabResult | RiskProfile:
    """Record one lab value of `patient` (or correct `lab`). The value is stored in the test's
    unit: 25-OH vitamin D typed in nmol/L is converted to ng/mL. Creatinine clearance is not
    a dated lab result: it becomes the current value of the patient's risk factors (audited like
    any change). Errors are keyed by this function's argument names (`value`, `unit`, `date`…).
    """
    kind = LAB_KIND_BY_CODE.get(test)
    if kind is None or (lab is not None and kind.code == CREATININE_CLEARANCE):
        raise ValidationError({"test": "Choose one of the listed tests."})
    unit = unit or kind.stored_unit
    if unit not in kind.units:
        raise ValidationError({"unit": f"{kind.label} is recorded in {' or '.join(kind.units)}."})
    if kind.code == LabTest.VITAMIN_D_25OH and unit == NMOL_L:
        value = vitamin_d_ng_ml(value)

    if kind.code == CREATININE_CLEARANCE:
        try:
            profile = RiskProfile.objects.get(patient=patient)
        except RiskProfile.DoesNotExist:
            profile = RiskProfile(patient=patient)
        profile.creatinine_clearance_ml_min = value
        try:
            return record_save(instance=profile, actor=actor)
        except ValidationError as error:
            raise _remap(error, {"creatinine_clearance_ml_min": "value"}) from error

    if date is None:
        raise ValidationError({"date": "Enter the date the sample was taken."})
    row = lab if lab is not None else LabResult(patient=patient)
    row.date, row.test, row.value, row.unit = date, kind.code, value, kind.stored_unit
    return record_save(instance=row, actor=actor)


def lab_value_summary(*, test: str, saved: LabResult | RiskProfile) -> str:
    """What was saved, in words, for the confirmation message."""
    kind = LAB_KIND_BY_CODE[test]
    if isinstance(saved, RiskProfile):
        return (
            f"{kind.label} {saved.creatinine_clearance_ml_min:g} mL/min is now the current "
            "value in the risk factors"
        )
    return f"{kind.label} {saved.value:g} {saved.unit} on {saved.date:%Y-%m-%d} was recorded"
