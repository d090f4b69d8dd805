"""The engine's assessment as CDS Hooks cards: words from `therapy.presenters`, never a code.

- patient-view: the recommendation (its indicator the gravest alert's), one card per critical
  alert, a suggestion to order the drug to start or switch to, and a link back to Ossa;
- order-select: a warning (`avoid`) or critical (`contraindicated`) card for each selected
  draft order of a drug the assessment says to avoid, with override reasons.

Only wording and shape happen here; every clinical judgement was the engine's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from therapy.engine import (
    ENGINE_VERSION,
    RULES,
    Assessment,
    AvoidEntry,
    AvoidSeverity,
    RecommendationAction,
    Severity,
)
from therapy.engine.case import Drug
from therapy.engine.text import AVOID_REASON_WORDS
from therapy.presenters import drug_label, headline, label, recommendation_panel

#: The spec: "summary … SHOULD be under a 140-character limit".
SUMMARY_MAX = 140
SOURCE_LABEL = f"Ossa rule book, engine v{ENGINE_VERSION}"
_GRAVITY = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
_AVOID_INDICATOR = {AvoidSeverity.AVOID: "warning", AvoidSeverity.CONTRAINDICATED: "critical"}

#: Why a clinician may order a drug the rule book says to avoid (order-select card); a local
#: code system under Ossa's site URL.
OVERRIDE_REASONS: tuple[tuple[str, str], ...] = (
    ("benefit-outweighs-risk", "Benefit outweighs the risk for this patient"),
    ("specialist-decision", "Decided with the bone specialist"),
    ("record-out-of-date", "The record Ossa read is out of date"),
    ("patient-informed-choice", "Patient's informed choice"),
)


@dataclass(frozen=True)
class Coding:
    system: str
    code: str
    display: str

    def as_json(self) -> dict[str, str]:
        return {"system": self.system, "code": self.code, "display": self.display}


@dataclass(frozen=True)
class CardLink:
    label: str
    url: str
    type: str  # "absolute" or "smart"

    def as_json(self) -> dict[str, str]:
        return {"label": self.label, "url": self.url, "type": self.type}


def fit_summary(text: str) -> str:
    """`text` within SUMMARY_MAX: trailing " — " parts dropped first, then cut with "…"."""
    while len(text) > SUMMARY_MAX and " — " in text:
        text = text.rsplit(" — ", 1)[0]
    if len(text) > SUMMARY_MAX:
        text = text[: SUMMARY_MAX - 1].rstrip() + "…"
    return text


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _source(site_url: str) -> dict[str, str]:
    return {"label": SOURCE_LABEL, "url": site_url.rstrip("/") + "/"}


def _card(
    summary: str, indicator: str, *, site_url: str, detail: str = "", **rest: Any
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": fit_summary(summary),
        "indicator": indicator,
        "source": _source(site_url),
    }
    if detail:
        card["detail"] = detail
    card.update({key: value for key, value in rest.items() if value})
    return card


def indicator_of(assessment: Assessment) -> str:
    """The gravest alert's severity; `info` when there is none."""
    gravest = max((_GRAVITY[alert.severity] for alert in assessment.alerts), default=0)
    return next(sev.value for sev, rank in _GRAVITY.items() if rank == gravest)


def _recommendation_detail(assessment: Assessment) -> str:
    panel = recommendation_panel(assessment)
    lines = [panel.reason]
    if panel.avoid:
        avoid = "; ".join(f"{e['label']} ({e['reason_inline']})" for e in panel.avoid)
        lines.append(f"**Avoid:** {avoid}.")
    if panel.other_alerts:
        alerts = "; ".join(
            a["label"] + (f" (due {_day(a['due'])})" if a["due"] else "")
            for a in panel.other_alerts
        )
        lines.append(f"**Alerts:** {alerts}.")
    if panel.monitoring:
        follow = "; ".join(
            f"{m['label']}{' of ' + m['drug'] if m['drug'] else ''} by {_day(m['due'])}"
            for m in panel.monitoring
        )
        lines.append(f"**Follow-up:** {follow}.")
    return "\n\n".join(lines)


def _order_suggestion(
    assessment: Assessment, *, patient_id: str, drug_coding: Coding | None
) -> dict[str, Any] | None:
    r = assessment.recommendation
    if r is None or r.drug is None or drug_coding is None:
        return None
    # Continuing needs no new order: the EHR already holds the active one.
    if r.action not in (RecommendationAction.START, RecommendationAction.SWITCH):
        return None
    name = drug_label(r.drug)
    return {
        "label": f"Order {name.lower() if name[1:2].islower() else name}",
        "uuid": str(uuid.uuid4()),
        "isRecommended": True,
        "actions": [
            {
                "type": "create",
                "description": f"Draft an order for {name.lower()}.",
                "resource": {
                    "resourceType": "MedicationRequest",
                    "status": "draft",
                    "intent": "order",
                    "subject": {"reference": f"Patient/{patient_id}"},
                    "medicationCodeableConcept": {
                        "coding": [drug_coding.as_json()],
                        "text": name,
                    },
                },
            }
        ],
    }


def patient_view_cards(
    assessment: Assessment,
    *,
    patient_id: str,
    link: CardLink,
    site_url: str,
    drug_coding: Coding | None,
) -> list[dict[str, Any]]:
    """The recommendation card, then one card per critical alert (CDS Hooks patient-view).

    `drug_coding`: the recommended drug's ATC coding, for the order suggestion (None when the
    recommendation names no drug or the drug has no code)."""
    title, _reason = headline(assessment)
    suggestion = _order_suggestion(assessment, patient_id=patient_id, drug_coding=drug_coding)
    cards = [
        _card(
            title,
            indicator_of(assessment),
            site_url=site_url,
            detail=_recommendation_detail(assessment),
            suggestions=[suggestion] if suggestion else None,
            selectionBehavior="at-most-one" if suggestion else None,
            links=[link.as_json()],
        )
    ]
    for alert in assessment.alerts:
        if alert.severity is not Severity.CRITICAL:
            continue
        summary = label(alert.code)
        if alert.due is not None:
            when = "overdue since" if alert.due < assessment.as_of else "due"
            summary = f"{summary} — {when} {_day(alert.due)}"
        detail = "; ".join(RULES[rule].title for rule in alert.rules)
        cards.append(
            _card(summary, "critical", site_url=site_url, detail=detail, links=[link.as_json()])
        )
    return cards


def _ordered_drugs(
    draft_orders: dict[str, Any], selections: Iterable[str], drug_for_code: dict[str, Drug]
) -> list[tuple[str, Drug]]:
    """(order reference, drug) of each selected draft MedicationRequest whose coding Ossa
    knows; every draft order when the context selects none."""
    chosen = set(selections)
    found = []
    for entry in draft_orders.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "MedicationRequest":
            continue
        reference = f"MedicationRequest/{resource['id']}" if resource.get("id") else ""
        if chosen and reference not in chosen:
            continue
        concept = resource.get("medicationCodeableConcept") or {}
        for coding in concept.get("coding") or []:
            drug = drug_for_code.get(f"{coding.get('system')}|{coding.get('code')}")
            if drug is not None:
                found.append((reference, drug))
                break
    return found


def order_select_cards(
    assessment: Assessment,
    *,
    draft_orders: dict[str, Any],
    selections: Iterable[str],
    drug_for_code: dict[str, Drug],
    site_url: str,
    link: CardLink,
) -> list[dict[str, Any]]:
    """One card per ordered drug with `avoid` entries: critical when one says
    "contraindicated", else warning; every reason in words, and the reasons a clinician may
    give to go on.

    `drug_for_code`: "system|code" → drug, for the codings Ossa recognises (ATC)."""
    avoid: dict[Drug, list[AvoidEntry]] = {}
    for entry in assessment.avoid:
        avoid.setdefault(entry.drug, []).append(entry)
    system = site_url.rstrip("/") + "/fhir/CodeSystem/cds-override-reason"
    instead, _ = headline(assessment)
    cards = []
    for reference, drug in _ordered_drugs(draft_orders, selections, drug_for_code):
        entries = avoid.get(drug)
        if not entries:
            continue
        name = drug_label(drug)
        is_contraindicated = any(
            entry.severity is AvoidSeverity.CONTRAINDICATED for entry in entries
        )
        severity = AvoidSeverity.CONTRAINDICATED if is_contraindicated else AvoidSeverity.AVOID
        reasons = [AVOID_REASON_WORDS[entry.reason] for entry in entries]
        verb = "never give" if is_contraindicated else "avoid"
        detail = [
            f"The rule book says to {verb} {name.lower()} for this patient:",
            *(
                f"- {AVOID_REASON_WORDS[entry.reason]} "
                f"({'; '.join(RULES[rule].title for rule in entry.rules)})"
                for entry in entries
            ),
            "",
            f"Ossa recommends: {instead}.",
        ]
        cards.append(
            _card(
                f"{name}: {'contraindicated' if is_contraindicated else 'avoid'} — "
                + "; ".join(reasons),
                _AVOID_INDICATOR[severity],
                site_url=site_url,
                detail="\n".join(detail),
                suggestions=reference
                and [
                    {
                        "label": f"Remove the {name.lower()} order",
                        "uuid": str(uuid.uuid4()),
                        "actions": [
                            {
                                "type": "delete",
                                "description": f"Remove the draft order for {name.lower()}.",
                                "resourceId": reference,
                            }
                        ],
                    }
                ],
                selectionBehavior=reference and "at-most-one",
                overrideReasons=[
                    Coding(system, code, display).as_json() for code, display in OVERRIDE_REASONS
                ],
                links=[link.as_json()],
            )
        )
    return cards
