"""§5 Pathway and ranked options: SEL-1 to SEL-9."""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Mapping
from typing import NamedTuple

from therapy.engine.alerts import DenosumabStop
from therapy.engine.assessment import AvoidEntry, Option, OptionLimit, Rationale
from therapy.engine.case import Drug
from therapy.engine.catalogue import ANABOLICS, DRUG_NAMES, PTH_ANALOGUES, drug_class
from therapy.engine.codes import AvoidReason, AvoidSeverity, DrugGroup, Pathway, Population, RuleId
from therapy.engine.history import Course, History
from therapy.engine.limits import PTH_ANALOGUE_LIFETIME_MONTHS, ROMOSOZUMAB_MAX_DOSES
from therapy.engine.rulebook import GLUCOCORTICOID_NOTE
from therapy.engine.text import AVOID_REASON_WORDS, listing, pathway_name, sentence

_ZOL, _DEN = Drug.ZOLEDRONIC_ACID, Drug.DENOSUMAB
_TPTD, _ROMO = Drug.TERIPARATIDE, Drug.ROMOSOZUMAB

#: The §5 table: each pathway rule's pathway and candidates in order.
PATHWAYS: dict[RuleId, tuple[Pathway, tuple[Drug, ...]]] = {
    RuleId.SEL_1: (Pathway.DENOSUMAB_EXIT, (_ZOL, Drug.ALENDRONATE)),
    RuleId.SEL_2: (Pathway.SEQUENTIAL, (_ZOL, _DEN)),
    RuleId.SEL_3: (Pathway.ANABOLIC_FAILURE, (_ZOL, _DEN)),
    RuleId.SEL_4: (Pathway.GLUCOCORTICOID, (_ZOL, _TPTD, _DEN)),
    RuleId.SEL_5: (Pathway.CANCER_SURVIVOR, (_DEN, _ZOL)),
    RuleId.SEL_6: (Pathway.ANABOLIC, (_TPTD, _ROMO, _ZOL, _DEN)),
    RuleId.SEL_7: (Pathway.ANTIRESORPTIVE, (_ZOL, _DEN)),
}
#: SEL-5: added after denosumab and zoledronic acid only at very high risk (ASCO 2019 agents).
CANCER_SURVIVOR_ANABOLICS: tuple[Drug, ...] = (_TPTD, _ROMO)
_NOT_REFRACTORY = Pathway.NOT_REFRACTORY
_GLUCOCORTICOID, _CANCER = Population.GLUCOCORTICOID, Population.CANCER_TREATMENT_BONE_LOSS
#: What must follow an anabolic (SEED), before drugs with an avoid entry are taken out.
AFTER_ANABOLIC: tuple[Drug, ...] = (_ZOL, _DEN)


class PathwayChoice(NamedTuple):
    """The first pathway rule that applies, its candidates and why it applies."""

    rule: RuleId
    pathway: Pathway
    candidates: tuple[Drug, ...]
    why: str


def _choose(rule: RuleId, why: str, extra: tuple[Drug, ...] = ()) -> PathwayChoice:
    pathway, candidates = PATHWAYS[rule]
    return PathwayChoice(rule, pathway, candidates + extra, why)


def denosumab_exit(stop: DenosumabStop | None) -> PathwayChoice | None:
    """SEL-1: ALR-3 or ALR-4 holds (denosumab stopped, no bisphosphonate yet): zoledronic acid,
    alendronate (SEED: denosumab must be followed by a bisphosphonate; ECTS 2021)."""
    if stop is None:
        return None
    return _choose(RuleId.SEL_1, "denosumab was stopped and must be followed by a bisphosphonate")


def sequential(history: History, anabolic_ended: Course | None) -> PathwayChoice | None:
    """SEL-2: an anabolic course is active on as_of, or ALR-5 holds: zoledronic acid,
    denosumab (SEED: anabolics must be followed by an antiresorptive, planned before they
    end)."""
    active_anabolics = history.active_of(ANABOLICS)
    if active_anabolics:
        names = listing(DRUG_NAMES[c.drug] for c in active_anabolics)
        return _choose(
            RuleId.SEL_2,
            f"{names} active on {history.as_of}, and an anabolic must be followed by an "
            "antiresorptive",
        )
    if anabolic_ended is not None:
        return _choose(
            RuleId.SEL_2,
            f"{DRUG_NAMES[anabolic_ended.drug]} ended on {anabolic_ended.end}, and an anabolic "
            "must be followed by an antiresorptive",
        )
    return None


def anabolic_failure(failed: frozenset[Drug]) -> PathwayChoice | None:
    """SEL-3: an anabolic drug failed (refractory patients): zoledronic acid, denosumab (SEED
    third line: sequential to antiresorptive)."""
    failed_anabolics = sorted(DRUG_NAMES[drug] for drug in failed & ANABOLICS)
    if not failed_anabolics:
        return None
    return _choose(
        RuleId.SEL_3, f"{listing(failed_anabolics)} failed, so an antiresorptive follows"
    )


def glucocorticoid(populations: tuple[Population, ...]) -> PathwayChoice | None:
    """SEL-4: population GLUCOCORTICOID (refractory patients): zoledronic acid, teriparatide,
    denosumab (SEED; the ACR 2022 note goes to the rationale)."""
    if _GLUCOCORTICOID not in populations:
        return None
    return _choose(RuleId.SEL_4, "refractory glucocorticoid-induced osteoporosis")


def cancer_survivor(
    populations: tuple[Population, ...], *, is_very_high_risk: bool
) -> PathwayChoice | None:
    """SEL-5: population CANCER_TREATMENT_BONE_LOSS (refractory patients): denosumab,
    zoledronic acid, then — only at very high risk — teriparatide, romosozumab (ADDED; ASCO
    2019 agents)."""
    if _CANCER not in populations:
        return None
    if is_very_high_risk:
        return _choose(
            RuleId.SEL_5,
            "refractory cancer-treatment bone loss at very high fracture risk",
            CANCER_SURVIVOR_ANABOLICS,
        )
    return _choose(RuleId.SEL_5, "refractory cancer-treatment bone loss")


def anabolic_first(*, is_very_high_risk: bool) -> PathwayChoice | None:
    """SEL-6: very high risk (refractory patients): teriparatide, romosozumab, zoledronic acid,
    denosumab (SEED second line, first-line alternatives after)."""
    if not is_very_high_risk:
        return None
    return _choose(RuleId.SEL_6, "refractory at very high fracture risk, so an anabolic first")


def antiresorptive() -> PathwayChoice:
    """SEL-7: any other refractory patient: zoledronic acid, denosumab (SEED first-line
    alternative)."""
    return _choose(RuleId.SEL_7, "refractory, not at very high fracture risk")


def choose_pathway(
    history: History,
    *,
    stop: DenosumabStop | None,
    anabolic_ended: Course | None,
    failed: frozenset[Drug],
    is_refractory: bool,
    populations: tuple[Population, ...],
    is_very_high_risk: bool,
) -> PathwayChoice | None:
    """§5: the first pathway rule that applies; SEL-1 and SEL-2 for every patient, SEL-3 to
    SEL-7 only for refractory patients; None (`not_refractory`) when none applies."""
    choice = denosumab_exit(stop) or sequential(history, anabolic_ended)
    if choice is not None or not is_refractory:
        return choice
    return (
        anabolic_failure(failed)
        or glucocorticoid(populations)
        or cancer_survivor(populations, is_very_high_risk=is_very_high_risk)
        or anabolic_first(is_very_high_risk=is_very_high_risk)
        or antiresorptive()
    )


_FAILURE_ENTRIES = {
    drug: AvoidEntry(drug, AvoidReason.TREATMENT_FAILURE, AvoidSeverity.AVOID, (RuleId.SEL_8,))
    for drug in Drug
}


def failure_entries(failed: frozenset[Drug]) -> tuple[AvoidEntry, ...]:
    """The `avoid` entries of SEL-8: every failed drug, with reason TREATMENT_FAILURE."""
    return tuple([_FAILURE_ENTRIES[drug] for drug in sorted(failed)])


def option_limit(drug: Drug, history: History) -> OptionLimit | None:
    """§5 `limit`: teriparatide months left of the PTH-analogue lifetime (floored, ≥ 0);
    romosozumab doses left of 12; none for other drugs. (REC-1 asks the same of an active
    abaloparatide course, so both PTH analogues get the teriparatide limit.)"""
    if drug in PTH_ANALOGUES:
        months = math.floor(PTH_ANALOGUE_LIFETIME_MONTHS - history.pth_analogue_months)
        return OptionLimit(months_remaining=max(0, months))
    if drug == _ROMO:
        return OptionLimit(
            doses_remaining=max(0, ROMOSOZUMAB_MAX_DOSES - history.romosozumab_doses)
        )
    return None


def option_then(drug: Drug, avoided: Collection[Drug]) -> tuple[Drug | DrugGroup, ...]:
    """§5 `then`: an anabolic → zoledronic acid, denosumab minus avoided drugs (SEED); denosumab
    → a bisphosphonate (SEED); a bisphosphonate → nothing."""
    if drug in ANABOLICS:
        return tuple(d for d in AFTER_ANABOLIC if d not in avoided)
    if drug == _DEN:
        return (DrugGroup.BISPHOSPHONATE,)
    return ()


@functools.cache
def _names(drugs: tuple[Drug, ...]) -> str:
    return listing([DRUG_NAMES[drug] for drug in drugs])


class Selection(NamedTuple):
    pathway: Pathway
    options: tuple[Option, ...]
    #: The pathway left without a candidate (SEL-9), if any.
    empty_pathway: Pathway | None
    rationale: tuple[Rationale, ...]


def select_options(
    history: History,
    choice: PathwayChoice | None,
    avoid: tuple[AvoidEntry, ...],
    failed: frozenset[Drug],
) -> Selection:
    """SEL-8/SEL-9 and ranking: drop candidates with an avoid entry (of either severity, SEL-8
    failures included) or already active on as_of; rank the rest in pathway order.

    `avoid` already holds SEL-8's entries (`failure_entries`); `failed` names the failed drugs
    for SEL-8's sentence. A failed drug implies a refractory patient, hence a pathway.
    """
    if choice is None:
        return Selection(_NOT_REFRACTORY, (), None, ())
    avoided: dict[Drug, list[str]] = {}
    for entry in avoid:
        avoided.setdefault(entry.drug, []).append(AVOID_REASON_WORDS[entry.reason])
    kept, dropped = drop_excluded(choice.candidates, avoided, history.active_drugs)
    options = tuple(
        [
            Option(
                rank=rank,
                drug=drug,
                drug_class=drug_class(drug),
                then=option_then(drug, avoided),
                limit=option_limit(drug, history),
                rules=(choice.rule,),
            )
            for rank, drug in enumerate(kept, start=1)
        ]
    )
    pathway = pathway_name(choice.pathway)
    clauses = [f"{choice.why}: {pathway} pathway, candidates {_names(choice.candidates)}"]
    if dropped:
        clauses.append(f"not offered: {listing(dropped)}")
    text = sentence(*clauses)
    if choice.rule == RuleId.SEL_4:
        text = f"{text} {GLUCOCORTICOID_NOTE}"
    rationale = [Rationale(choice.rule, text)]
    if failed:
        names = listing([DRUG_NAMES[drug] for drug in sorted(failed)])
        rationale.append(
            Rationale(RuleId.SEL_8, f"Treatment failure of {names}: not recommended again.")
        )
    empty = no_candidate_left(choice, options)
    if empty is not None:
        rationale.append(
            Rationale(
                RuleId.SEL_9,
                sentence(f"every candidate of the {pathway} pathway was excluded"),
            )
        )
    return Selection(choice.pathway, options, empty, tuple(rationale))


def drop_excluded(
    candidates: tuple[Drug, ...], avoided: Mapping[Drug, list[str]], active: frozenset[Drug]
) -> tuple[list[Drug], list[str]]:
    """SEL-8: every failed drug is avoided (TREATMENT_FAILURE, see `failure_entries`); drop each
    candidate with an `avoid` entry of either severity, and each drug of a course active on
    as_of. The candidates kept, in order, and the dropped ones with why."""
    kept: list[Drug] = []
    dropped: list[str] = []
    for drug in candidates:
        if drug in avoided:
            dropped.append(f"{DRUG_NAMES[drug]} ({', '.join(avoided[drug])})")
        elif drug in active:
            dropped.append(f"{DRUG_NAMES[drug]} (already active)")
        else:
            kept.append(drug)
    return kept, dropped


def no_candidate_left(choice: PathwayChoice, options: tuple[Option, ...]) -> Pathway | None:
    """SEL-9: a pathway applies and no candidate remains: `options` is empty (and ALR-14 is
    raised); the pathway left empty."""
    return None if options else choice.pathway
