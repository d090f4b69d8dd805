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


def calcium() -> bool:
    """SUP-1: calcium 1000–1200 mg/day in total, diet plus supplement, for every patient (SEED;
    BHOF 2022)."""
    return True


def vitamin_d() -> bool:
    """SUP-2: vitamin D 800–1000 IU/day, keeping 25-OH vitamin D ≥ 30 ng/mL, for every patient
    (SEED; BHOF 2022)."""
    return True


def exercise() -> bool:
    """LIF-1: weight-bearing and resistance exercise, for every patient (SEED)."""
    return True


def fall_prevention() -> bool:
    """LIF-2: fall prevention, for every patient (SEED)."""
    return True


def smoking_cessation(history: History) -> bool:
    """LIF-3: stop smoking, for a current smoker (SEED)."""
    return history.risk.current_smoker


def alcohol_limit(history: History) -> bool:
    """LIF-4: limit alcohol, for more than 2 drinks a day (SEED: 1–2 drinks a day at most)."""
    return history.risk.alcohol_drinks_per_day > ALCOHOL_MAX_DRINKS_PER_DAY


_EVERY_PATIENT = (
    (calcium, Supplement.CALCIUM, RuleId.SUP_1),
    (vitamin_d, Supplement.VITAMIN_D, RuleId.SUP_2),
    (exercise, Lifestyle.EXERCISE, RuleId.LIF_1),
    (fall_prevention, Lifestyle.FALL_PREVENTION, RuleId.LIF_2),
)
#: What every patient is told: the rules above hold for everyone, so this is decided once.
_ALWAYS = tuple(
    (item, Rationale(rule, f"{ADVICE[item]}, for every patient."))
    for applies, item, rule in _EVERY_PATIENT
    if applies()
)
_ALWAYS_SUPPLEMENTS = tuple(item for item, _ in _ALWAYS if isinstance(item, Supplement))
_ALWAYS_LIFESTYLE = tuple(item for item, _ in _ALWAYS if isinstance(item, Lifestyle))
_ALWAYS_RATIONALE = tuple(rationale for _, rationale in _ALWAYS)
_SMOKING = Rationale(RuleId.LIF_3, "Current smoker: stop smoking.")


def assess_advice(history: History) -> AdviceFindings:
    """§8: supplementation and lifestyle advice, one sentence per item that applies."""
    lifestyle = list(_ALWAYS_LIFESTYLE)
    rationale = list(_ALWAYS_RATIONALE)
    risk = history.risk
    if smoking_cessation(history):
        lifestyle.append(Lifestyle.SMOKING_CESSATION)
        rationale.append(_SMOKING)
    if alcohol_limit(history):
        lifestyle.append(Lifestyle.ALCOHOL_LIMIT)
        rationale.append(
            Rationale(
                RuleId.LIF_4,
                f"{number(risk.alcohol_drinks_per_day)} alcoholic drinks a day, more than "
                f"{number(ALCOHOL_MAX_DRINKS_PER_DAY)}: {ADVICE[Lifestyle.ALCOHOL_LIMIT].lower()}.",
            )
        )
    return AdviceFindings(_ALWAYS_SUPPLEMENTS, tuple(lifestyle), tuple(rationale))
