"""The engine's answer (CASE_FORMAT.md, "Assessment") as frozen values, and its JSON form."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from therapy.engine.case import Drug
from therapy.engine.codes import (
    AlertCode,
    AvoidReason,
    AvoidSeverity,
    DrugClass,
    DrugGroup,
    Lifestyle,
    MonitoringCode,
    Pathway,
    Population,
    RecommendationAction,
    RefractoryReason,
    RiskReason,
    RuleId,
    Severity,
    Supplement,
)


@dataclass(frozen=True, slots=True)
class Refractory:
    """§1: refractory when any REF reason holds; reasons in rule order."""

    status: bool
    reasons: tuple[RefractoryReason, ...]


@dataclass(frozen=True, slots=True)
class VeryHighRisk:
    """§2: very high risk when any VHR reason holds; reasons in rule order."""

    status: bool
    reasons: tuple[RiskReason, ...]


@dataclass(frozen=True, slots=True)
class OptionLimit:
    """§5 `limit`: what is left of a capped drug (teriparatide months, romosozumab doses)."""

    months_remaining: int | None = None
    doses_remaining: int | None = None


@dataclass(frozen=True, slots=True)
class Option:
    """§5: one ranked drug of the pathway."""

    rank: int
    drug: Drug
    drug_class: DrugClass
    then: tuple[Drug | DrugGroup, ...]
    limit: OptionLimit | None
    rules: tuple[RuleId, ...]


@dataclass(frozen=True, slots=True)
class Recommendation:
    """§5b: what to do first — continue the active course, switch, start, or nothing."""

    action: RecommendationAction
    drug: Drug | None
    then: tuple[Drug | DrugGroup, ...]
    limit: OptionLimit | None
    rules: tuple[RuleId, ...]


@dataclass(frozen=True, slots=True)
class AvoidEntry:
    """§4 and SEL-8: a drug not to recommend, and why."""

    drug: Drug
    reason: AvoidReason
    severity: AvoidSeverity
    rules: tuple[RuleId, ...]


@dataclass(frozen=True, slots=True)
class Alert:
    """§6: something to act on; `due` where one applies."""

    code: AlertCode
    severity: Severity
    due: dt.date | None
    rules: tuple[RuleId, ...]


@dataclass(frozen=True, slots=True)
class MonitoringItem:
    """§7: a follow-up and its due date; `rule` is not part of the JSON."""

    code: MonitoringCode
    due: dt.date
    drug: Drug | DrugGroup | None
    rule: RuleId


@dataclass(frozen=True, slots=True)
class Rationale:
    """One plain-language sentence for one fired rule."""

    rule: RuleId
    text: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """Everything the engine says about a case on `as_of`."""

    engine_version: str
    as_of: dt.date
    refractory: Refractory
    very_high_risk: VeryHighRisk
    populations: tuple[Population, ...]
    pathway: Pathway
    options: tuple[Option, ...]
    #: Always set by this engine; None only in an assessment stored by engine version 1,
    #: which had no recommendation (`assessment_from_json`).
    recommendation: Recommendation | None
    avoid: tuple[AvoidEntry, ...]
    alerts: tuple[Alert, ...]
    monitoring: tuple[MonitoringItem, ...]
    supplementation: tuple[Supplement, ...]
    lifestyle: tuple[Lifestyle, ...]
    rationale: tuple[Rationale, ...]
    #: Ids of the rules that fired, in RULES.md order (one rationale sentence each).
    fired_rules: tuple[RuleId, ...]


def _date(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _limit(limit: OptionLimit | None) -> dict[str, int] | None:
    if limit is None:
        return None
    if limit.months_remaining is not None:
        return {"months_remaining": limit.months_remaining}
    if limit.doses_remaining is not None:
        return {"doses_remaining": limit.doses_remaining}
    return None


def _recommendation(recommendation: Recommendation | None) -> dict[str, Any]:
    if recommendation is None:  # stored by engine version 1
        return {}
    r = recommendation
    return {
        "recommendation": {
            "action": r.action.value,
            "drug": None if r.drug is None else r.drug.value,
            "then": [drug.value for drug in r.then],
            "limit": _limit(r.limit),
            "rules": [rule.value for rule in r.rules],
        }
    }


def assessment_to_json(assessment: Assessment) -> dict[str, Any]:
    """The assessment as CASE_FORMAT.md prints it: same keys, same order, plain JSON values."""
    a = assessment
    return {
        "engine_version": a.engine_version,
        "as_of": a.as_of.isoformat(),
        "refractory": {
            "status": a.refractory.status,
            "reasons": [reason.value for reason in a.refractory.reasons],
        },
        "very_high_risk": {
            "status": a.very_high_risk.status,
            "reasons": [reason.value for reason in a.very_high_risk.reasons],
        },
        "populations": [population.value for population in a.populations],
        "pathway": a.pathway.value,
        "options": [
            {
                "rank": option.rank,
                "drug": option.drug.value,
                "class": option.drug_class.value,
                "then": [drug.value for drug in option.then],
                "limit": _limit(option.limit),
                "rules": [rule.value for rule in option.rules],
            }
            for option in a.options
        ],
        **_recommendation(a.recommendation),
        "avoid": [
            {
                "drug": entry.drug.value,
                "reason": entry.reason.value,
                "severity": entry.severity.value,
                "rules": [rule.value for rule in entry.rules],
            }
            for entry in a.avoid
        ],
        "alerts": [
            {
                "code": alert.code.value,
                "severity": alert.severity.value,
                "due": _date(alert.due),
                "rules": [rule.value for rule in alert.rules],
            }
            for alert in a.alerts
        ],
        "monitoring": [
            {
                "code": item.code.value,
                "due": item.due.isoformat(),
                "drug": None if item.drug is None else item.drug.value,
            }
            for item in a.monitoring
        ],
        "supplementation": [supplement.value for supplement in a.supplementation],
        "lifestyle": [advice.value for advice in a.lifestyle],
        "rationale": [{"rule": entry.rule.value, "text": entry.text} for entry in a.rationale],
    }


def _then(values: list[str]) -> tuple[Drug | DrugGroup, ...]:
    groups = {group.value for group in DrugGroup}
    return tuple(DrugGroup(v) if v in groups else Drug(v) for v in values)


def _limit_from(data: dict[str, int] | None) -> OptionLimit | None:
    return None if data is None else OptionLimit(**data)


def _day(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


#: MON-n of each monitoring code (the JSON does not carry it; the schedule is sorted by it).
_MONITORING_RULES = {
    MonitoringCode.FRACTURE_RISK_REASSESSMENT: RuleId.MON_1,
    MonitoringCode.BTM_BASELINE: RuleId.MON_2,
    MonitoringCode.BTM_3_MONTHS: RuleId.MON_3,
    MonitoringCode.DXA_FOLLOW_UP: RuleId.MON_4,
    MonitoringCode.NEXT_DOSE: RuleId.MON_5,
    MonitoringCode.FOLLOW_ON_START: RuleId.MON_6,
}


def assessment_from_json(data: dict[str, Any]) -> Assessment:
    """An assessment as `assessment_to_json` stored it, by this or an earlier engine version, so
    that a stored decision is shown exactly as it was; the inverse of `assessment_to_json`.

    Raises KeyError, TypeError or ValueError on JSON of another shape."""
    rec = data.get("recommendation")
    rationale = tuple(Rationale(RuleId(r["rule"]), r["text"]) for r in data["rationale"])
    return Assessment(
        engine_version=data["engine_version"],
        as_of=dt.date.fromisoformat(data["as_of"]),
        refractory=Refractory(
            data["refractory"]["status"],
            tuple(RefractoryReason(r) for r in data["refractory"]["reasons"]),
        ),
        very_high_risk=VeryHighRisk(
            data["very_high_risk"]["status"],
            tuple(RiskReason(r) for r in data["very_high_risk"]["reasons"]),
        ),
        populations=tuple(Population(p) for p in data["populations"]),
        pathway=Pathway(data["pathway"]),
        options=tuple(
            Option(
                rank=o["rank"],
                drug=Drug(o["drug"]),
                drug_class=DrugClass(o["class"]),
                then=_then(o["then"]),
                limit=_limit_from(o["limit"]),
                rules=tuple(RuleId(r) for r in o["rules"]),
            )
            for o in data["options"]
        ),
        recommendation=None
        if rec is None
        else Recommendation(
            action=RecommendationAction(rec["action"]),
            drug=None if rec["drug"] is None else Drug(rec["drug"]),
            then=_then(rec["then"]),
            limit=_limit_from(rec["limit"]),
            rules=tuple(RuleId(r) for r in rec["rules"]),
        ),
        avoid=tuple(
            AvoidEntry(
                Drug(e["drug"]),
                AvoidReason(e["reason"]),
                AvoidSeverity(e["severity"]),
                tuple(RuleId(r) for r in e["rules"]),
            )
            for e in data["avoid"]
        ),
        alerts=tuple(
            Alert(
                AlertCode(a["code"]),
                Severity(a["severity"]),
                _day(a["due"]),
                tuple(RuleId(r) for r in a["rules"]),
            )
            for a in data["alerts"]
        ),
        monitoring=tuple(
            MonitoringItem(
                MonitoringCode(m["code"]),
                dt.date.fromisoformat(m["due"]),
                None if m["drug"] is None else _then([m["drug"]])[0],
                _MONITORING_RULES[MonitoringCode(m["code"])],
            )
            for m in data["monitoring"]
        ),
        supplementation=tuple(Supplement(s) for s in data["supplementation"]),
        lifestyle=tuple(Lifestyle(item) for item in data["lifestyle"]),
        rationale=rationale,
        fired_rules=tuple(entry.rule for entry in rationale),
    )
