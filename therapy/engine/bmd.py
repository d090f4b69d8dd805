"""BMD change between two readings of one site against its least significant change (REF-2).

Also what the monitoring pages use to mark a BMD trend as significant, with the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from therapy.engine.case import DxaSite
from therapy.engine.limits import DEFAULT_LSC_PCT, PERCENT_DECIMALS


def exceeds(value_pct: float, threshold_pct: float) -> bool:
    """`value > threshold` for computed percentages, after rounding away float noise.

    Reading: a fall of 1.000 → 0.947 g/cm² is 5.3 % and does not exceed a 5.3 % LSC, although
    binary floating point computes 5.300000000000004 (REF-2, ALR-12).
    """
    return round(value_pct, PERCENT_DECIMALS) > threshold_pct


def at_least(value_pct: float, threshold_pct: float) -> bool:
    """`value ≥ threshold` for computed percentages, after rounding away float noise."""
    return round(value_pct, PERCENT_DECIMALS) >= threshold_pct


def percent_change(earlier: float, later: float) -> float:
    """Signed change `(later − earlier) / earlier × 100`; 0 when `earlier` is 0."""
    return (later - earlier) / earlier * 100 if earlier else 0.0


@dataclass(frozen=True, slots=True)
class BmdChange:
    """The change of one site's BMD between two scans and the LSC it is judged against."""

    site: DxaSite
    earlier_g_cm2: float
    later_g_cm2: float
    change_pct: float
    lsc_pct: float

    @property
    def fall_pct(self) -> float:
        """REF-2's fall `(old − new) / old × 100` (negative for a gain)."""
        return -self.change_pct

    @property
    def is_significant(self) -> bool:
        """The change, either way, strictly exceeds the LSC."""
        return exceeds(abs(self.change_pct), self.lsc_pct)

    @property
    def is_significant_loss(self) -> bool:
        """The fall strictly exceeds the LSC (REF-2's first condition)."""
        return exceeds(self.fall_pct, self.lsc_pct)

    @property
    def is_significant_gain(self) -> bool:
        return exceeds(self.change_pct, self.lsc_pct)


def site_lsc_pct(site: DxaSite, lsc_pct: float | None = None) -> float:
    """The scan's own LSC for the site if given, else the default of the site (REF-2)."""
    return DEFAULT_LSC_PCT[site] if lsc_pct is None else lsc_pct


def bmd_change(
    site: DxaSite, earlier_g_cm2: float, later_g_cm2: float, lsc_pct: float | None = None
) -> BmdChange:
    """% change between two BMD readings of `site`, judged against the later scan's `lsc_pct`
    if given, else the site's default LSC (REF-2)."""
    return BmdChange(
        site=site,
        earlier_g_cm2=earlier_g_cm2,
        later_g_cm2=later_g_cm2,
        change_pct=percent_change(earlier_g_cm2, later_g_cm2),
        lsc_pct=site_lsc_pct(site, lsc_pct),
    )
