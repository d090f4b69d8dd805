"""The engine's assessment shaped for a busy clinician's page: the decision first, detail after.

Only wording and ordering happen here; every clinical judgement was made by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from therapy import catalogue
from therapy.engine import ADVICE, EVIDENCE, RULES, Assessment, Severity
from therapy.engine.assessment import Option
from therapy.engine.case import Case
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


@dataclass(frozen=True)
class Panel:
    assessment: Assessment
    headline: str
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
    if options:
        first = options[0]
        headline = f"Consider {first['label']} ({first['drug_class']})"
        if first["then"]:
            headline += f", followed by {' or '.join(first['then'])}"
    elif a.pathway.value == "not_refractory":
        headline = "Not refractory: no change of therapy suggested"
    else:
        headline = "No eligible option: review the drugs to avoid"
    alerts = sorted(a.alerts, key=lambda al: _SEVERITY_ORDER[al.severity])
    return Panel(
        assessment=a,
        headline=headline,
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
