"""§8 Supplementation and lifestyle (SEED; content from BHOF 2022 and ASCO 2019).

RULES.md gives §8 no rule ids; the engine names its items SUP-1, SUP-2 and LIF-1 to LIF-4 so
that they are reported and explained like every other rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from therapy.engine.assessment import Rationale
from therapy.engine.codes import Lifestyle, RuleId, Supplement
from therapy.engine.history import History
from therapy.engine.limits import ALCOHOL_MAX_DRINKS_PER_DAY, VITAMIN_D_MIN_NG_ML
from therapy.engine.text import number

#: What each advice code means, as the UI shows it.
ADVICE: Mapping[Supplement | Lifestyle, str] = MappingProxyType(
    {
        Supplement.CALCIUM: "Calcium 1000–1200 mg/day in total, diet plus supplement",
        Supplement.VITAMIN_D: (
            f"Vitamin D 800–1000 IU/day; keep 25-OH vitamin D ≥ {number(VITAMIN_D_MIN_NG_ML)} ng/mL"
        ),
        Lifestyle.EXERCISE: "Weight-bearing and resistance exercise",
        Lifestyle.FALL_PREVENTION: "Fall prevention",
        Lifestyle.SMOKING_CESSATION: "Stop smoking",
        Lifestyle.ALCOHOL_LIMIT: (
            f"Limit alcohol to {number(ALCOHOL_MAX_DRINKS_PER_DAY)} drinks a day at most"
        ),
    }
)


class AdviceFindings(NamedTuple):
    supplementation: tuple[Supplement, ...]
    lifestyle: tuple[Lifestyle, ...]
    rationale: tuple[Rationale, ...]


_SUPPLEMENTS = (Supplement.CALCIUM, Supplement.VITAMIN_D)
_EVERY_PATIENT = (
    Rationale(RuleId.SUP_1, f"{ADVICE[Supplement.CALCIUM]}, for every patient."),
    Rationale(RuleId.SUP_2, f"{ADVICE[Supplement.VITAMIN_D]}, for every patient."),
    Rationale(RuleId.LIF_1, f"{ADVICE[Lifestyle.EXERCISE]}, for every patient."),
    Rationale(RuleId.LIF_2, f"{ADVICE[Lifestyle.FALL_PREVENTION]}, for every patient."),
)
_SMOKING = Rationale(RuleId.LIF_3, "Current smoker: stop smoking.")


def assess_advice(history: History) -> AdviceFindings:
    """SUP-1 calcium and SUP-2 vitamin D always; LIF-1 exercise and LIF-2 fall prevention always;
    LIF-3 smoking cessation for a current smoker; LIF-4 alcohol limit above 2 drinks a day."""
    risk = history.risk
    lifestyle = [Lifestyle.EXERCISE, Lifestyle.FALL_PREVENTION]
    rationale = list(_EVERY_PATIENT)
    if risk.current_smoker:
        lifestyle.append(Lifestyle.SMOKING_CESSATION)
        rationale.append(_SMOKING)
    if risk.alcohol_drinks_per_day > ALCOHOL_MAX_DRINKS_PER_DAY:
        lifestyle.append(Lifestyle.ALCOHOL_LIMIT)
        rationale.append(
            Rationale(
                RuleId.LIF_4,
                f"{number(risk.alcohol_drinks_per_day)} alcoholic drinks a day, more than "
                f"{number(ALCOHOL_MAX_DRINKS_PER_DAY)}: {ADVICE[Lifestyle.ALCOHOL_LIMIT].lower()}.",
            )
        )
    return AdviceFindings(_SUPPLEMENTS, tuple(lifestyle), tuple(rationale))
