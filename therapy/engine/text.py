"""Small formatting helpers for rationale sentences."""

from __future__ import annotations

from collections.abc import Iterable

from therapy.engine.case import CardiovascularEvent, CardiovascularEventKind
from therapy.engine.codes import AvoidReason, DrugGroup, Pathway
from therapy.engine.limits import (
    CV_EVENT_MONTHS,
    PTH_ANALOGUE_LIFETIME_MONTHS,
    ROMOSOZUMAB_MAX_DOSES,
)

_EVENT_NAMES = {
    CardiovascularEventKind.MYOCARDIAL_INFARCTION: "myocardial infarction",
    CardiovascularEventKind.STROKE: "stroke",
}


def number(value: float) -> str:
    """A number as a person writes it: 10.0 → `10`, 7.5 → `7.5`, 0.801 → `0.801`."""
    return f"{value:g}"


def percent(value: float) -> str:
    """A computed percentage, one decimal: `12.2 %`."""
    return f"{value:.1f} %"


def listing(items: Iterable[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def pathway_name(pathway: Pathway) -> str:
    """A pathway as a sentence names it: `denosumab_exit` → `denosumab exit`."""
    return pathway.value.replace("_", " ")


#: A drug class named where any of its drugs will do, with its article.
GROUP_NAMES = {
    DrugGroup.BISPHOSPHONATE: "a bisphosphonate",
    DrugGroup.ANTIRESORPTIVE: "an antiresorptive",
}


def sentence(*clauses: str) -> str:
    """Non-empty clauses joined by `; `, first letter capitalised, one final full stop."""
    text = "; ".join(clauses)
    return f"{text[0].upper()}{text[1:]}{'' if text[-1] == '.' else '.'}"


#: Why a drug is avoided, as a sentence says it (§4 and SEL-8).
AVOID_REASON_WORDS = {
    AvoidReason.MI_OR_STROKE_WITHIN_12_MONTHS: (
        f"myocardial infarction or stroke within {CV_EVENT_MONTHS} months"
    ),
    AvoidReason.ROMOSOZUMAB_DOSES_EXHAUSTED: f"all {ROMOSOZUMAB_MAX_DOSES} doses given",
    AvoidReason.PTH_ANALOGUE_LIFETIME_LIMIT: (
        f"{PTH_ANALOGUE_LIFETIME_MONTHS}-month PTH-analogue lifetime limit reached"
    ),
    AvoidReason.OSTEOSARCOMA_RISK: "osteosarcoma risk",
    AvoidReason.HYPERCALCEMIA: "hypercalcaemia",
    AvoidReason.IMMUNOSUPPRESSED: "infection risk when immunosuppressed",
    AvoidReason.RENAL_IMPAIRMENT: "creatinine clearance too low",
    AvoidReason.ORAL_BP_NOT_APPROPRIATE: "oral bisphosphonates not appropriate when refractory",
    AvoidReason.NOT_INDICATED_MALE: "labelled for postmenopausal women",
    AvoidReason.TREATMENT_FAILURE: "treatment failure",
}


def cardiovascular_event(event: CardiovascularEvent) -> str:
    """`myocardial infarction on 2026-06-14`."""
    return f"{_EVENT_NAMES[event.kind]} on {event.date}"
