"""Small formatting helpers for rationale sentences."""

from __future__ import annotations

from collections.abc import Iterable

from therapy.engine.case import CardiovascularEvent, CardiovascularEventKind

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


def sentence(*clauses: str) -> str:
    """Non-empty clauses joined by `; `, first letter capitalised, one final full stop."""
    text = "; ".join(clauses)
    return f"{text[0].upper()}{text[1:]}{'' if text[-1] == '.' else '.'}"


def words(code: str) -> str:
    """A code as words in a sentence: `TREATMENT_FAILURE` → `treatment failure`."""
    return code.replace("_", " ").lower()


def cardiovascular_event(event: CardiovascularEvent) -> str:
    """`myocardial infarction on 2026-06-14`."""
    return f"{_EVENT_NAMES[event.kind]} on {event.date}"
