"""§5b Recommendation: REC-1 to REC-4, the one thing the page's headline says to do first.

Decided after §4, §5 and §6: the active course continues unless its drug is to be avoided or has
reached its limit; otherwise the first ranked option is a switch (a course is active) or a start
(none is); with no option, nothing is suggested. `options` keeps listing the alternatives.
"""

from __future__ import annotations

from typing import NamedTuple

from therapy.engine.assessment import AvoidEntry, Option, Rationale, Recommendation
from therapy.engine.case import Drug
from therapy.engine.catalogue import DRUG_NAMES, PTH_ANALOGUES
from therapy.engine.codes import AvoidReason, DrugGroup, RecommendationAction, RuleId
from therapy.engine.history import Course, History
from therapy.engine.limits import PTH_ANALOGUE_LIFETIME_MONTHS, ROMOSOZUMAB_MAX_DOSES
from therapy.engine.selection import option_limit, option_then
from therapy.engine.text import AVOID_REASON_WORDS, GROUP_NAMES, sentence

_ROMOSOZUMAB = Drug.ROMOSOZUMAB


class RecommendationFindings(NamedTuple):
    recommendation: Recommendation
    rationale: tuple[Rationale, ...]


def reasons_to_stop(
    history: History, course: Course, avoid: tuple[AvoidEntry, ...], *, romosozumab_stopped: bool
) -> list[str]:
    """Why the active course's drug cannot simply go on: its `avoid` entries (SEL-8 failures
    included), a PTH analogue at ≥ 24 months, romosozumab at 12 doses or after an MI or stroke
    on it (ALR-8). Empty when it can."""
    reasons = [AVOID_REASON_WORDS[entry.reason] for entry in avoid if entry.drug == course.drug]
    if course.drug in PTH_ANALOGUES and history.pth_analogue_months >= PTH_ANALOGUE_LIFETIME_MONTHS:
        reasons.append(AVOID_REASON_WORDS[AvoidReason.PTH_ANALOGUE_LIFETIME_LIMIT])
    if course.drug == _ROMOSOZUMAB:
        if history.romosozumab_doses >= ROMOSOZUMAB_MAX_DOSES:
            reasons.append(AVOID_REASON_WORDS[AvoidReason.ROMOSOZUMAB_DOSES_EXHAUSTED])
        if romosozumab_stopped:
            reasons.append("myocardial infarction or stroke during romosozumab")
    return list(dict.fromkeys(reasons))  # ELG-3 and the lifetime check name one reason


def continue_current(
    history: History, avoid: tuple[AvoidEntry, ...], *, stop_reasons: list[str]
) -> Recommendation | None:
    """REC-1: a course is active on as_of (the active course), its drug has no `avoid` entry of
    either severity, and it is not a PTH analogue with exposure ≥ 24 months, nor romosozumab
    with 12 doses given or ALR-8: continue it, with the `then` and `limit` an option of that
    drug would carry (both PTH analogues take teriparatide's limit).

    `stop_reasons` are the active course's `reasons_to_stop`, worked out once for this rule and
    for the sentence of the rule that holds instead."""
    course = history.current
    if course is None or stop_reasons:
        return None
    return Recommendation(
        RecommendationAction.CONTINUE,
        course.drug,
        option_then(course.drug, {entry.drug for entry in avoid}),
        option_limit(course.drug, history),
        (RuleId.REC_1,),
    )


def _first_option(action: RecommendationAction, option: Option, rule: RuleId) -> Recommendation:
    return Recommendation(action, option.drug, option.then, option.limit, (rule,))


def switch_to_first_option(
    history: History, options: tuple[Option, ...], *, continues: bool
) -> Recommendation | None:
    """REC-2: a course is active, REC-1 does not hold, and `options` is not empty: option rank 1,
    with its `then` and `limit`."""
    if history.current is None or continues or not options:
        return None
    return _first_option(RecommendationAction.SWITCH, options[0], RuleId.REC_2)


def start_first_option(history: History, options: tuple[Option, ...]) -> Recommendation | None:
    """REC-3: no course is active and `options` is not empty: option rank 1, with its `then`
    and `limit`."""
    if history.current is not None or not options:
        return None
    return _first_option(RecommendationAction.START, options[0], RuleId.REC_3)


def no_change() -> Recommendation:
    """REC-4: when REC-1 to REC-3 do not hold: no drug, `then` empty, no limit."""
    return Recommendation(RecommendationAction.NONE, None, (), None, (RuleId.REC_4,))


def assess_recommendation(
    history: History,
    options: tuple[Option, ...],
    avoid: tuple[AvoidEntry, ...],
    *,
    romosozumab_stopped: bool,
) -> RecommendationFindings:
    """§5b: the first of REC-1 to REC-4 that holds, and one sentence saying why."""
    course = history.current
    stop_reasons = (
        []
        if course is None
        else reasons_to_stop(history, course, avoid, romosozumab_stopped=romosozumab_stopped)
    )
    kept = continue_current(history, avoid, stop_reasons=stop_reasons)
    switched = switch_to_first_option(history, options, continues=kept is not None)
    started = start_first_option(history, options)
    if kept is not None:
        return RecommendationFindings(kept, (Rationale(RuleId.REC_1, _continue_text(kept)),))
    # Reasons are phrases that may hold "and" themselves: one "; " between two of them.
    why = "; ".join(stop_reasons)
    if switched is not None and course is not None:
        text = sentence(
            f"{DRUG_NAMES[course.drug]} should not go on ({why}): switch to "
            f"{_drug_and_after(switched)}"
        )
        return RecommendationFindings(switched, (Rationale(RuleId.REC_2, text),))
    if started is not None:
        text = sentence(f"no osteoporosis therapy is active: start {_drug_and_after(started)}")
        return RecommendationFindings(started, (Rationale(RuleId.REC_3, text),))
    if course is not None:
        text = sentence(
            f"{DRUG_NAMES[course.drug]} should not go on ({why}) and no eligible option "
            "remains: no drug is suggested"
        )
    else:
        text = "No osteoporosis therapy is active and none is suggested."
    return RecommendationFindings(no_change(), (Rationale(RuleId.REC_4, text),))


def _limit_text(recommendation: Recommendation) -> str:
    limit = recommendation.limit
    if limit is None:
        return ""
    if limit.months_remaining is not None:
        months = limit.months_remaining
        return f", {months} month{'' if months == 1 else 's'} of the PTH-analogue lifetime left"
    if limit.doses_remaining is not None:
        doses = limit.doses_remaining
        return f", {doses} dose{'' if doses == 1 else 's'} left"
    return ""


def _then_name(drug: Drug | DrugGroup) -> str:
    return GROUP_NAMES[drug] if isinstance(drug, DrugGroup) else DRUG_NAMES[drug]


def _drug_and_after(recommendation: Recommendation) -> str:
    drug = recommendation.drug
    text = DRUG_NAMES[drug] if drug is not None else "no drug"
    text += _limit_text(recommendation)
    if recommendation.then:
        text += f", then {' or '.join(_then_name(d) for d in recommendation.then)}"
    return text


def _continue_text(recommendation: Recommendation) -> str:
    return sentence(f"continue {_drug_and_after(recommendation)}")
