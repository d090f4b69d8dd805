"""The engine's assessment shaped for a busy clinician's page: the decision first, detail after.

Only wording and ordering happen here; every clinical judgement was made by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from therapy import catalogue
from therapy.engine import (
    ADVICE,
    EVIDENCE,
    RULES,
    Assessment,
    Pathway,
    RecommendationAction,
    RuleId,
    Severity,
)
from therapy.engine.assessment import Option, OptionLimit
from therapy.engine.case import Case, Drug
from therapy.engine.catalogue import DRUG_NAMES
from therapy.engine.codes import DrugGroup
from therapy.evaluation import case_evaluate
from therapy.exceptions import RecordNotEvaluable

_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
_BOOTSTRAP = {Severity.CRITICAL: "danger", Severity.WARNING: "warning", Severity.INFO: "info"}


#: Abbreviations kept in capitals when a code is turned into words.
_ACRONYMS = {"dxa": "DXA", "btm": "BTM", "bp": "BP", "ckd": "CKD", "mi": "MI", "pth": "PTH"}


def label(code: Any) -> str:
    """DENOSUMAB_OVERDUE → "Denosumab overdue"; DXA_FOLLOW_UP → "DXA follow up"."""
    words = str(getattr(code, "value", code)).replace("_", " ").lower().split()
    text = " ".join(_ACRONYMS.get(word, word) for word in words)
    return text[:1].upper() + text[1:]


def drug_label(drug: Any) -> str:
    value = str(getattr(drug, "value", drug))
    if value in ("bisphosphonate", "antiresorptive"):
        return f"a {value}"
    return catalogue.label(value).split(" (")[0]


def _limit(option: Option) -> str:
    if option.limit is None:
        return ""
    if option.limit.months_remaining is not None:
        return f"{option.limit.months_remaining} months of PTH analogue left (lifetime limit)"
    if option.limit.doses_remaining is not None:
        return f"{option.limit.doses_remaining} monthly doses left"
    return ""


def _evidence(option: Option) -> str:
    evidence = EVIDENCE.get(option.drug)
    if evidence is None:
        return ""
    parts = [
        f"{name} {value:+}%"
        for name, value in (
            ("lumbar spine", evidence.lumbar_spine_pct),
            ("femoral neck", evidence.femoral_neck_pct),
            ("total hip", evidence.total_hip_pct),
        )
        if value is not None
    ]
    if evidence.other:
        parts.append(evidence.other)
    return f"BMD gain {', '.join(parts)} ({evidence.source})"


def _limit_words(limit: OptionLimit | None) -> str:
    if limit is None:
        return ""
    if limit.months_remaining is not None:
        return f"{limit.months_remaining} month{'' if limit.months_remaining == 1 else 's'} left"
    if limit.doses_remaining is not None:
        return f"{limit.doses_remaining} dose{'' if limit.doses_remaining == 1 else 's'} left"
    return ""


def _name(drug: Drug | DrugGroup) -> str:
    """A drug as a sentence names it: `zoledronic acid`, `a bisphosphonate`."""
    return f"a {drug.value}" if isinstance(drug, DrugGroup) else DRUG_NAMES[drug]


def headline(assessment: Assessment) -> tuple[str, str]:
    """The page's first line, from the engine's recommendation (§5b), and the reason in one
    line: "Continue teriparatide — 14 months left — then zoledronic acid or denosumab"."""
    a = assessment
    r = a.recommendation
    if r is None:  # an assessment stored by engine version 1, which had no recommendation
        if a.options:
            first = a.options[0]
            return f"Consider {_name(first.drug)}", "Engine version 1: first ranked option"
        return "No change suggested", "Engine version 1"
    parts = []
    if r.action is RecommendationAction.NONE or r.drug is None:
        parts.append("No change suggested")
    else:
        verb = {"continue": "Continue", "switch": "Switch to", "start": "Start"}[r.action.value]
        parts.append(f"{verb} {_name(r.drug)}")
    if _limit_words(r.limit):
        parts.append(_limit_words(r.limit))
    if r.then:
        parts.append(f"then {' or '.join(_name(d) for d in r.then)}")
    return " — ".join(parts), _reason(a)


def _rule_sentence(a: Assessment, rule: RuleId) -> str:
    return next((entry.text for entry in a.rationale if entry.rule == rule), "")


def _reason(a: Assessment) -> str:
    """Why the recommendation says what it says, in one line of words (no codes)."""
    r = a.recommendation
    action = None if r is None else r.action
    if action is RecommendationAction.SWITCH:
        return _rule_sentence(a, RuleId.REC_2)
    if action is RecommendationAction.START and a.options:
        # The pathway rule's own reason, without its list of candidates.
        why = _rule_sentence(a, a.options[0].rules[0]).split(": ")[0].rstrip(".")
        return f"{why}."
    if action is RecommendationAction.CONTINUE:
        if a.options:
            return f"Alternatives if needed: {', '.join(_name(o.drug) for o in a.options)}."
        return "Nothing in the record calls for a change."
    if a.pathway is Pathway.NOT_REFRACTORY:
        return "Not refractory, and no osteoporosis therapy is active."
    return "No eligible option: review the drugs to avoid."


@dataclass(frozen=True)
class Panel:
    assessment: Assessment
    headline: str
    #: The headline's reason, in one line.
    reason: str
    options: list[dict[str, Any]]
    avoid: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    monitoring: list[dict[str, Any]]
    advice: list[str]
    rationale: list[dict[str, Any]]
    critical_count: int
    #: Always empty here; an `UnevaluatedPanel` lists what to correct (templates test this).
    problems: list[str] = field(default_factory=list)

    @property
    def refractory_reasons(self) -> list[str]:
        return [label(r) for r in self.assessment.refractory.reasons]

    @property
    def risk_reasons(self) -> list[str]:
        return [label(r) for r in self.assessment.very_high_risk.reasons]

    @property
    def populations(self) -> list[str]:
        return [label(p) for p in self.assessment.populations]

    @property
    def pathway(self) -> str:
        return label(self.assessment.pathway)


@dataclass(frozen=True)
class UnevaluatedPanel:
    """In place of a `Panel` when the stored record holds values the engine refuses: no
    recommendation, alerts or monitoring plan, but the values to correct (`RecordNotEvaluable`)."""

    problems: list[str]


def case_panel(case: Case) -> Panel | UnevaluatedPanel:
    """The panel for a case built from stored records, or what to correct before there is one."""
    try:
        return recommendation_panel(case_evaluate(case))
    except RecordNotEvaluable as error:
        return UnevaluatedPanel(problems=error.problems)


def recommendation_panel(assessment: Assessment) -> Panel:
    a = assessment
    options = [
        {
            "rank": o.rank,
            "drug": o.drug.value,
            "label": drug_label(o.drug),
            "drug_class": o.drug_class.value,
            "then": [drug_label(d) for d in o.then],
            "limit": _limit(o),
            "rules": [r.value for r in o.rules],
            "evidence": _evidence(o),
        }
        for o in a.options
    ]
    title, reason = headline(a)
    alerts = sorted(a.alerts, key=lambda al: _SEVERITY_ORDER[al.severity])
    return Panel(
        assessment=a,
        headline=title,
        reason=reason,
        options=options,
        avoid=[
            {
                "drug": e.drug.value,
                "label": drug_label(e.drug),
                "reason": label(e.reason),
                "severity": e.severity.value,
                "rules": [r.value for r in e.rules],
            }
            for e in a.avoid
        ],
        alerts=[
            {
                "code": al.code.value,
                "label": label(al.code),
                "severity": al.severity.value,
                "css": _BOOTSTRAP[al.severity],
                "due": al.due,
                "is_overdue": al.due is not None and al.due < a.as_of,
                "rules": [r.value for r in al.rules],
                "title": RULES[al.rules[0]].title if al.rules else "",
            }
            for al in alerts
        ],
        monitoring=[
            {
                "code": m.code.value,
                "label": label(m.code),
                "due": m.due,
                "drug": drug_label(m.drug) if m.drug else "",
                "is_overdue": m.due < a.as_of,
                "rule": m.rule.value,
            }
            for m in a.monitoring
        ],
        advice=[ADVICE[item] for item in (*a.supplementation, *a.lifestyle)],
        rationale=[
            {
                "rule": r.rule.value,
                "text": r.text,
                "source": RULES[r.rule].source,
                "basis": RULES[r.rule].basis.value,
                "title": RULES[r.rule].title,
            }
            for r in a.rationale
        ],
        critical_count=sum(al.severity is Severity.CRITICAL for al in a.alerts),
    )
