"""ossa-order-select: a selected draft order of a drug the assessment says to avoid gets a
warning (avoid) or critical (contraindicated) card with the reasons and override reasons."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.conf import settings

from interop.fhir import codes
from tests.interop.cds.conftest import SITE, assert_valid
from tests.interop.cds.helpers import CASES, hook_request, prefetch_for, resources_for, shared_case
from therapy.engine import AvoidSeverity, evaluate
from therapy.engine.case import Drug

URL = "/cds-services/ossa-order-select"
MI_CASE = next(p for p in CASES if "recent_mi_blocks_romosozumab" in p.stem)


def _order(order_id: str, drug: Drug) -> dict:
    code, display = codes.DRUG_ATC[drug]
    return {
        "resourceType": "MedicationRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/ehr-123"},
        "medicationCodeableConcept": {
            "coding": [
                {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1"},
                {"system": codes.ATC, "code": code, "display": display},
            ]
        },
    }


def _select(cds, *orders: dict, selections: list[str] | None = None):
    case = shared_case(MI_CASE)
    draft = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": order} for order in orders],
    }
    context = {"draftOrders": draft}
    if selections is not None:
        context["selections"] = selections
    body = hook_request(
        "order-select", "ehr-123", prefetch_for(resources_for(case)), context=context
    )
    noon = dt.datetime(*case.as_of.timetuple()[:3], 12, tzinfo=ZoneInfo(settings.TIME_ZONE))
    with time_machine.travel(noon, tick=False):
        response = cds.post(URL, body)
    assert response.status_code == 200, response.content
    assert_valid("card-response", response.json())
    return response.json()["cards"]


def test_the_case_avoids_romosozumab_as_contraindicated_and_alendronate_as_avoid():
    avoid = {(e.drug, e.severity) for e in evaluate(shared_case(MI_CASE)).avoid}
    assert (Drug.ROMOSOZUMAB, AvoidSeverity.CONTRAINDICATED) in avoid
    assert (Drug.ALENDRONATE, AvoidSeverity.AVOID) in avoid


def test_a_contraindicated_drug_gets_a_critical_card_with_override_reasons(cds):
    (card,) = _select(cds, _order("mr-1", Drug.ROMOSOZUMAB), selections=["MedicationRequest/mr-1"])
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("Romosozumab: contraindicated")
    assert "myocardial infarction or stroke within 12 months" in card["detail"]
    assert card["overrideReasons"]
    assert all(
        r["display"] and r["system"] == SITE + "/fhir/CodeSystem/cds-override-reason"
        for r in card["overrideReasons"]
    )
    action = card["suggestions"][0]["actions"][0]
    assert action == {
        "type": "delete",
        "description": "Remove the draft order for romosozumab.",
        "resourceId": "MedicationRequest/mr-1",
    }


def test_an_avoided_drug_gets_a_warning_card_with_every_reason(cds):
    (card,) = _select(cds, _order("mr-2", Drug.ALENDRONATE))
    assert card["indicator"] == "warning"
    assert "oral bisphosphonates not appropriate when refractory" in card["detail"]
    assert "treatment failure" in card["detail"]


def test_a_drug_without_an_avoid_entry_gets_no_card(cds):
    assert _select(cds, _order("mr-3", Drug.TERIPARATIDE)) == []


def test_only_the_selected_orders_are_checked(cds):
    cards = _select(
        cds,
        _order("mr-4", Drug.ROMOSOZUMAB),
        _order("mr-5", Drug.TERIPARATIDE),
        selections=["MedicationRequest/mr-5"],
    )
    assert cards == []


def test_an_order_coded_only_in_another_system_is_not_guessed(cds):
    order = _order("mr-6", Drug.ROMOSOZUMAB)
    order["medicationCodeableConcept"]["coding"] = order["medicationCodeableConcept"]["coding"][:1]
    assert _select(cds, order) == []


def test_order_select_needs_draft_orders(cds):
    body = hook_request("order-select", "ehr-123", {})
    response = cds.post(URL, body)
    assert response.status_code == 400
    assert "draftOrders" in response.json()["error"]
