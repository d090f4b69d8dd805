"""Services of the DXA entry page: a scan (with the T-score direction check) and its summary.
(Lab values are `monitoring.labs`; the clinic's scanner list `monitoring.clinic_measurements`.)

Every write goes through `record_save`, so the model's validation and the audit trail apply
exactly as for any other form or import.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from monitoring.models import DxaScan
from patients.services import record_save
from therapy.engine.case import DxaSite

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
