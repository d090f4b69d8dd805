"""The lab tests Ossa records, written once: readable names, the units each may be typed in with
exact conversion factors, and the range a value usually falls in.

The stored ("canonical") unit of a test is its first unit: `LabResult.value` holds it and the
engine reads it (CASE_FORMAT: 25-OH vitamin D in ng/mL). A unit's `per_canonical` says how many
of it make one canonical unit, so `canonical = typed / per_canonical`:

- 25-OH vitamin D: 1 ng/mL = 2.496 nmol/L (`therapy.engine.limits.VITAMIN_D_NMOL_L_PER_NG_ML`);
- calcium: 1 mmol/L = 4.008 mg/dL (molar mass 40.078 g/mol);
- CTX: 1 ng/mL = 1 µg/L = 1000 ng/L;
- P1NP: 1 µg/L = 1 ng/mL.

The usual ("plausible") range of each unit is no clinical threshold — those are the engine's.
A value outside it is saved only once the person confirms it: it catches a value typed in the
wrong unit (75 typed as ng/mL when the report says nmol/L still passes, 95 does not) or with a
slipped decimal point. Each unit states its range in its own round numbers, which a test holds
to the canonical unit's range. The hard limits (`patients.limits`, on the models) still refuse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from patients import limits
from therapy.engine.case import LabTest
from therapy.engine.limits import VITAMIN_D_NMOL_L_PER_NG_ML

#: Not a `LabResult.test`: stored as the patient's current value in the risk factors.
CREATININE_CLEARANCE = "creatinine_clearance"
#: mg/dL per mmol/L of calcium (40.078 g/mol ÷ 10).
CALCIUM_MG_DL_PER_MMOL_L = 4.008


@dataclass(frozen=True)
class LabUnit:
    symbol: str
    #: How many of this unit make one of the test's stored unit.
    per_canonical: float
    #: The usual range of a value in this unit (inclusive); outside, the value is confirmed.
    plausible: tuple[float, float]


@dataclass(frozen=True)
class LabKind:
    """One test as the pages know it."""

    code: str
    label: str
    units: tuple[LabUnit, ...]  # the first is the unit stored
    #: Decimals a converted value keeps in the stored unit: finer than any laboratory reports,
    #: so the rounding never moves a value across a threshold the way a typing error would.
    decimals: int
    #: The hard limits in the stored unit (a value outside is refused, not asked about).
    limits: tuple[float, float]

    @property
    def stored_unit(self) -> LabUnit:
        return self.units[0]

    @property
    def is_dated(self) -> bool:
        """A dated `LabResult`; creatinine clearance is the risk factors' current value."""
        return self.code != CREATININE_CLEARANCE

    @property
    def unit_symbols(self) -> tuple[str, ...]:
        return tuple(unit.symbol for unit in self.units)

    def unit(self, symbol: str) -> LabUnit | None:
        return next((unit for unit in self.units if unit.symbol == symbol), None)

    def to_stored(self, value: float, symbol: str) -> float:
        """`value` typed in `symbol`, in the stored unit (unchanged when the factor is 1)."""
        unit = self.require_unit(symbol)
        if unit.per_canonical == 1:
            return value
        return round(value / unit.per_canonical, self.decimals)

    def limits_in(self, symbol: str) -> tuple[float, float]:
        """The hard limits in another unit, for a message in the unit the person typed."""
        factor = self.require_unit(symbol).per_canonical
        return self.limits[0] * factor, self.limits[1] * factor

    def is_plausible(self, value: float, symbol: str) -> bool:
        low, high = self.require_unit(symbol).plausible
        return low <= value <= high

    def require_unit(self, symbol: str) -> LabUnit:
        """The unit `symbol` of this test (ValueError if it is not one)."""
        unit = self.unit(symbol)
        if unit is None:
            raise ValueError(f"{self.label} is not recorded in {symbol!r}.")
        return unit


def _same(symbol: str, plausible: tuple[float, float]) -> LabUnit:
    return LabUnit(symbol, 1, plausible)


LAB_KINDS: tuple[LabKind, ...] = (
    LabKind(
        LabTest.CTX,
        "CTX",
        (
            # Serum β-CTX: about 0.1–1 ng/mL; antiresorptives suppress it towards the assay's
            # floor, high turnover (Paget's disease, metastases) raises it above 1.
            _same("ng/mL", (0.01, 2.0)),
            _same("µg/L", (0.01, 2.0)),
            LabUnit("ng/L", 1000, (10, 2000)),
        ),
        decimals=3,
        limits=limits.LAB_VALUE,
    ),
    LabKind(
        LabTest.P1NP,
        "P1NP",
        # Suppressed to a few µg/L on denosumab, a few hundred on an anabolic.
        (_same("µg/L", (2, 300)), _same("ng/mL", (2, 300))),
        decimals=1,
        limits=limits.LAB_VALUE,
    ),
    LabKind(
        LabTest.VITAMIN_D_25OH,
        "25-OH vitamin D",
        (
            # Above 80 ng/mL (200 nmol/L) is rare without high-dose supplements, and a value
            # in nmol/L typed as ng/mL often lands there.
            _same("ng/mL", (3, 80)),
            LabUnit("nmol/L", VITAMIN_D_NMOL_L_PER_NG_ML, (7.5, 200)),
        ),
        decimals=2,
        limits=limits.LAB_VALUE,
    ),
    LabKind(
        LabTest.CALCIUM,
        "Calcium",
        # Total serum calcium; outside 1.5–3.5 mmol/L is a medical emergency (or mg/dL).
        (
            _same("mmol/L", (1.5, 3.5)),
            LabUnit("mg/dL", CALCIUM_MG_DL_PER_MMOL_L, (6.0, 14.0)),
        ),
        decimals=3,
        limits=limits.LAB_VALUE,
    ),
    LabKind(
        CREATININE_CLEARANCE,
        "Creatinine clearance",
        (_same("mL/min", (5, 180)),),
        decimals=1,
        limits=limits.CREATININE_CLEARANCE_ML_MIN,
    ),
)
LAB_KIND_BY_CODE: dict[str, LabKind] = {kind.code: kind for kind in LAB_KINDS}
#: The dated tests (`LabResult.test`), with their readable names.
LAB_TEST_CHOICES: list[tuple[str, str]] = [(k.code, k.label) for k in LAB_KINDS if k.is_dated]
#: Every (test, unit) a clinic may choose as its default.
UNIT_CHOICES: dict[str, list[tuple[str, str]]] = {
    kind.code: [(symbol, symbol) for symbol in kind.unit_symbols] for kind in LAB_KINDS
}
#: Largest value a person may type in any unit (the hard limit in the unit with most per
#: stored unit): bounds the "as entered" column the way `LAB_VALUE` bounds the stored one.
ENTERED_VALUE = (
    0.0,
    max(kind.limits[1] * unit.per_canonical for kind in LAB_KINDS for unit in kind.units),
)


def lab_number(value: float) -> str:
    """A lab value as a person writes it, never in exponent form: 30.05, 0.45, 10000, 2.395."""
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def label_of(code: str) -> str:
    kind = LAB_KIND_BY_CODE.get(code)
    return kind.label if kind else code.replace("_", " ")


def conversion_rules() -> list[str]:
    """Each conversion in words, for the lab form's notes: "25-OH vitamin D: nmol/L ÷ 2.496 =
    ng/mL"."""
    return [
        f"{kind.label}: {unit.symbol} ÷ {lab_number(unit.per_canonical)} = "
        f"{kind.stored_unit.symbol}"
        for kind in LAB_KINDS
        for unit in kind.units
        if unit.per_canonical != 1
    ]
