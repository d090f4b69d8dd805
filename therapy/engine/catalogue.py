"""Drug classes as the rule book defines them, and the §9 evidence shown with options.

RULES.md, "Conventions": oral bisphosphonate = alendronate, risedronate, ibandronate; IV
bisphosphonate = zoledronic acid; antiresorptive = bisphosphonate or denosumab; PTH analogue =
teriparatide, abaloparatide; anabolic = PTH analogue or romosozumab; osteoporosis therapy = any
of these. Raloxifene and `other` are recorded but ignored by every rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from therapy.engine.case import Drug
from therapy.engine.codes import DrugClass

#: Ordered as ELG-8 lists them.
ORAL_BISPHOSPHONATES: tuple[Drug, ...] = (Drug.ALENDRONATE, Drug.RISEDRONATE, Drug.IBANDRONATE)
BISPHOSPHONATES: frozenset[Drug] = frozenset((*ORAL_BISPHOSPHONATES, Drug.ZOLEDRONIC_ACID))
ANTIRESORPTIVES: frozenset[Drug] = BISPHOSPHONATES | {Drug.DENOSUMAB}
PTH_ANALOGUES: frozenset[Drug] = frozenset((Drug.TERIPARATIDE, Drug.ABALOPARATIDE))
ANABOLICS: frozenset[Drug] = PTH_ANALOGUES | {Drug.ROMOSOZUMAB}
OSTEOPOROSIS_THERAPIES: frozenset[Drug] = ANTIRESORPTIVES | ANABOLICS


_ANABOLIC, _ANTIRESORPTIVE = DrugClass.ANABOLIC, DrugClass.ANTIRESORPTIVE


def drug_class(drug: Drug) -> DrugClass:
    """An option's `class` (§5): anabolic or antiresorptive."""
    return _ANABOLIC if drug in ANABOLICS else _ANTIRESORPTIVE


#: Each drug as a sentence names it: `zoledronic_acid` → `zoledronic acid`.
DRUG_NAMES: Mapping[Drug, str] = MappingProxyType({drug: drug.replace("_", " ") for drug in Drug})


@dataclass(frozen=True, slots=True)
class Evidence:
    """§9: mean BMD gain by site (%, as printed in the source) and other findings."""

    drug: Drug
    lumbar_spine_pct: Decimal | None
    femoral_neck_pct: Decimal | None
    total_hip_pct: Decimal | None
    other: str | None
    source: str = "Source guideline, reference 1"


#: §9 (SEED, reference 1 of the source guideline), shown with options.
EVIDENCE: Mapping[Drug, Evidence] = MappingProxyType(
    {
        Drug.ZOLEDRONIC_ACID: Evidence(
            Drug.ZOLEDRONIC_ACID,
            Decimal("6.10"),
            Decimal("3.1"),
            Decimal("3.8"),
            "vertebral fracture RR 0.33",
        ),
        Drug.DENOSUMAB: Evidence(
            Drug.DENOSUMAB, Decimal("5.80"), Decimal("2.07"), Decimal("2.28"), None
        ),
        Drug.TERIPARATIDE: Evidence(
            Drug.TERIPARATIDE,
            Decimal("8.19"),
            Decimal("1.33"),
            None,
            "greater BMD gain than alendronate head to head",
        ),
    }
)
