"""The drug catalogue as the web app shows it: names, how each drug is given, dose limits.

Drug codes are the engine's (`therapy.engine.case.Drug`); clinical limits come from the engine.
"""

from __future__ import annotations

from therapy.engine import limits
from therapy.engine.case import Drug

LABELS: dict[Drug, str] = {
    Drug.ALENDRONATE: "Alendronate (oral)",
    Drug.RISEDRONATE: "Risedronate (oral)",
    Drug.IBANDRONATE: "Ibandronate (oral)",
    Drug.ZOLEDRONIC_ACID: "Zoledronic acid (IV, yearly)",
    Drug.DENOSUMAB: "Denosumab (SC, 6-monthly)",
    Drug.TERIPARATIDE: "Teriparatide (SC, daily)",
    Drug.ABALOPARATIDE: "Abaloparatide (SC, daily)",
    Drug.ROMOSOZUMAB: "Romosozumab (SC, monthly)",
    Drug.RALOXIFENE: "Raloxifene (oral)",
    Drug.OTHER: "Other",
}

DRUG_CHOICES: list[tuple[str, str]] = [(drug.value, LABELS[drug]) for drug in Drug]

#: Drugs given by a clinic nurse, each administration recorded as a Dose.
INJECTED_IN_CLINIC: frozenset[Drug] = frozenset(
    {Drug.DENOSUMAB, Drug.ZOLEDRONIC_ACID, Drug.ROMOSOZUMAB}
)


def label(drug: str) -> str:
    return LABELS.get(drug, drug)  # type: ignore[call-overload]  # StrEnum keys hash as str


def name(drug: str) -> str:
    """The drug as a sentence names it: "zoledronic acid", "denosumab"."""
    return str(drug).replace("_", " ")


def is_injected(drug: str) -> bool:
    return drug in INJECTED_IN_CLINIC


def max_doses(drug: str) -> int | None:
    """Doses a single course may hold (romosozumab: 12 monthly doses, ELG-2)."""
    return limits.ROMOSOZUMAB_MAX_DOSES if drug == Drug.ROMOSOZUMAB else None
