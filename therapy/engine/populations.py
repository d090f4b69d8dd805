"""§3 Populations: POP-1 to POP-3."""

from __future__ import annotations

from typing import NamedTuple

from therapy.engine.assessment import Rationale
from therapy.engine.case import GlucocorticoidExposure
from therapy.engine.codes import Population, RuleId
from therapy.engine.dates import add_months
from therapy.engine.history import History, glucocorticoid_is_active_on
from therapy.engine.limits import (
    GLUCOCORTICOID_MIN_MG_PER_DAY,
    GLUCOCORTICOID_MIN_MONTHS,
    IMMUNOSUPPRESSANT_MIN_AGENTS,
)
from therapy.engine.text import listing, number, sentence


class PopulationFindings(NamedTuple):
    populations: tuple[Population, ...]
    rationale: tuple[Rationale, ...]


def chronic_glucocorticoids(history: History) -> list[GlucocorticoidExposure]:
    """POP-1: exposures of ≥ 2.5 mg/day prednisone-equivalent active on as_of with
    as_of ≥ start + 3 calendar months (SEED).

    Reading: each exposure is judged on its own, as written (consecutive entries are not
    chained into one).
    """
    return [
        g
        for g in history.glucocorticoids
        if g.prednisone_mg_per_day >= GLUCOCORTICOID_MIN_MG_PER_DAY
        and glucocorticoid_is_active_on(g, history.as_of)
        and history.as_of >= add_months(g.start, GLUCOCORTICOID_MIN_MONTHS)
    ]


def immunosuppressive_agents(history: History) -> list[str]:
    """Each `immunosuppressants` entry (alphabetically), plus one for any glucocorticoid (any
    dose) active on as_of: what POP-2 counts."""
    agents = sorted(history.risk.immunosuppressants)
    if any(glucocorticoid_is_active_on(g, history.as_of) for g in history.glucocorticoids):
        agents.append("a glucocorticoid")
    return agents


def immunosuppressed(history: History) -> list[str]:
    """POP-2: organ transplant recipient, or ≥ 2 immunosuppressive agents on as_of (SEED); the
    clauses that hold."""
    agents = immunosuppressive_agents(history)
    clauses = []
    if history.risk.organ_transplant:
        clauses.append("organ transplant recipient")
    if len(agents) >= IMMUNOSUPPRESSANT_MIN_AGENTS:
        clauses.append(
            f"{len(agents)} immunosuppressive agents on {history.as_of}: {listing(agents)}"
        )
    return clauses


def cancer_treatment_bone_loss(history: History) -> bool:
    """POP-3: `cancer_treatment_bone_loss` is true (aromatase inhibitor, androgen deprivation…;
    ASCO 2019)."""
    return history.risk.cancer_treatment_bone_loss


def assess_populations(history: History) -> PopulationFindings:
    """§3: the populations the patient belongs to, in rule order."""
    populations: list[Population] = []
    rationale: list[Rationale] = []

    chronic = chronic_glucocorticoids(history)
    if chronic:
        populations.append(Population.GLUCOCORTICOID)
        rationale.append(
            Rationale(
                RuleId.POP_1,
                sentence(
                    *(
                        f"prednisone-equivalent {number(g.prednisone_mg_per_day)} mg/day since "
                        f"{g.start} (at least {number(GLUCOCORTICOID_MIN_MG_PER_DAY)} mg/day "
                        f"for at least {GLUCOCORTICOID_MIN_MONTHS} months)"
                        for g in chronic
                    )
                ),
            )
        )

    clauses = immunosuppressed(history)
    if clauses:
        populations.append(Population.IMMUNOSUPPRESSED)
        rationale.append(Rationale(RuleId.POP_2, sentence(*clauses)))

    if cancer_treatment_bone_loss(history):
        populations.append(Population.CANCER_TREATMENT_BONE_LOSS)
        rationale.append(
            Rationale(
                RuleId.POP_3,
                "Bone loss from cancer treatment (aromatase inhibitor, androgen deprivation…).",
            )
        )
    return PopulationFindings(tuple(populations), tuple(rationale))
