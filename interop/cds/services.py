"""Ossa's CDS Hooks 2.0 services: what the EHR is told (discovery), what a hook call reads
(prefetch, else the EHR's FHIR server), how it becomes the engine's case, which cards come
back, and the feedback clinicians give on them.

A hook call writes only the cards it returns (`CdsCard`, so that feedback can name its
patient); it never changes a patient's record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse

from interop.cds import fhir_adapter
from interop.cds.cards import SOURCE_LABEL, CardLink, order_select_cards, patient_view_cards
from interop.cds.client import FhirClient, FhirServerError, resources_of
from interop.cds.models import CdsCard, CdsClient, CdsFeedback, CdsService
from interop.cds.schemas import problems
from patients.models import Patient
from therapy.engine import Assessment, CaseError
from therapy.evaluation import case_evaluate
from therapy.exceptions import RecordNotEvaluable

PATIENT_VIEW = CdsService.PATIENT_VIEW.value
ORDER_SELECT = CdsService.ORDER_SELECT.value

#: What each service reads of the patient's record, keyed as the request's `prefetch` names it.
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
}

SERVICES: dict[str, dict[str, Any]] = {
    PATIENT_VIEW: {
        "hook": "patient-view",
        "title": "Ossa osteoporosis therapy",
        "description": (
            "The next step in a refractory-osteoporosis patient's therapy (continue, switch, "
            "start), its critical alerts, and a draft order for the drug to start."
        ),
        "id": PATIENT_VIEW,
        "prefetch": PREFETCH,
        "usageRequirements": (
            "Register the EHR as a CDS client in Ossa (issuer and JWKS URL). "
            "Prefetch the patient's Conditions, Observations, MedicationStatements and "
            "MedicationAdministrations, or pass fhirServer and fhirAuthorization."
        ),
    },
    ORDER_SELECT: {
        "hook": "order-select",
        "title": "Ossa osteoporosis drug check",
        "description": (
            "Warns when a selected osteoporosis drug order (ATC-coded MedicationRequest) is "
            "one the rule book says to avoid, or never to give, for this patient."
        ),
        "id": ORDER_SELECT,
        "prefetch": PREFETCH,
    },
}


class CdsRequestError(Exception):
    """A request Ossa cannot serve: `status` and a message that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def discovery() -> dict[str, Any]:
    return {"services": list(SERVICES.values())}


@dataclass(frozen=True)
class HookRequest:
    service: str
    hook_instance: str
    patient_id: str
    context: dict[str, Any]
    prefetch: dict[str, Any]
    fhir_server: str | None
    fhir_token: str | None


def hook_request_parse(service: str, data: Any) -> HookRequest:
    """The request body, held to the hook-request schema and to the service's hook."""
    found = problems("hook-request", data)
    if found:
        raise CdsRequestError(400, "The hook request is not valid: " + "; ".join(found))
    expected = SERVICES[service]["hook"]
    if data["hook"] != expected:
        raise CdsRequestError(400, f"This service answers the {expected} hook, not {data['hook']}.")
    if service == ORDER_SELECT and "draftOrders" not in data["context"]:
        raise CdsRequestError(400, "context.draftOrders: required by the order-select hook.")
    authorization = data.get("fhirAuthorization") or {}
    return HookRequest(
        service=service,
        hook_instance=data["hookInstance"],
        patient_id=data["context"]["patientId"],
        context=data["context"],
        prefetch=data.get("prefetch") or {},
        fhir_server=data.get("fhirServer"),
        fhir_token=authorization.get("access_token"),
    )


def patient_resources(hook: HookRequest, *, fhir: FhirClient) -> list[dict[str, Any]]:
    """The patient's resources: each prefetch key as the EHR sent it, and what it left out
    (absent or null) read from its FHIR server."""
    resources: list[dict[str, Any]] = []
    for key, template in PREFETCH.items():
        value = hook.prefetch.get(key)
        if value is None:
            if not hook.fhir_server:
                raise CdsRequestError(
                    412, f"prefetch.{key} is missing and the request names no fhirServer."
                )
            query = template.replace("{{context.patientId}}", hook.patient_id)
            try:
                value = fhir.read(hook.fhir_server, query, token=hook.fhir_token)
            except FhirServerError as error:
                raise CdsRequestError(412, str(error)) from error
        resources.extend(resources_of(value))
    return resources


def _mrn(resources: list[dict[str, Any]], system: str) -> str:
    for resource in resources:
        if resource.get("resourceType") != "Patient":
            continue
        for identifier in resource.get("identifier") or []:
            if isinstance(identifier, dict) and identifier.get("system") == system:
                return str(identifier.get("value") or "")
    return ""


def _ossa_patient(client: CdsClient | None, mrn: str) -> Patient | None:
    """The patient the EHR names, looked up by MRN in the calling client's clinic only: an EHR
    registered for one clinic never reaches another clinic's patients."""
    if client is None or not mrn:
        return None
    return Patient.objects.filter(clinic_id=client.clinic_id, mrn=mrn).only("pk").first()


def _link(patient: Patient | None, site_url: str) -> CardLink:
    base = site_url.rstrip("/")
    if patient is not None:
        return CardLink(
            "Open the patient in Ossa",
            base + reverse("patients:detail", args=[patient.pk]),
            "smart",
        )
    return CardLink("Add this patient to Ossa", base + reverse("patients:create"), "absolute")


def _assess(resources: list[dict[str, Any]], today: dt.date) -> Assessment:
    case = fhir_adapter.case_for(resources, as_of=today)
    return case_evaluate(case)


def _unreadable_card(message: str, site_url: str, link: CardLink) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "summary": "Ossa could not assess this patient: the record has entries it cannot read",
        "indicator": "warning",
        "detail": message,
        "source": {"label": SOURCE_LABEL, "url": site_url.rstrip("/") + "/"},
        "links": [link.as_json()],
    }


def hook_answer(
    hook: HookRequest,
    *,
    client: CdsClient | None,
    fhir: FhirClient,
    today: dt.date,
    now: dt.datetime,
) -> dict[str, Any]:
    """The response body (the cards) for one hook call; the cards are recorded for feedback."""
    site_url = settings.OSSA_SITE_URL
    resources = patient_resources(hook, fhir=fhir)
    system = (
        client.mrn_system or fhir_adapter.mrn_system(site_url, client.clinic.slug)
        if client is not None
        else ""
    )
    mrn = _mrn(resources, system) if system else ""
    patient = _ossa_patient(client, mrn)
    link = _link(patient, site_url)
    try:
        assessment = _assess(resources, today)
    except fhir_adapter.FhirMappingError as error:
        cards = [_unreadable_card(_problem_lines(error), site_url, link)]
    except (RecordNotEvaluable, CaseError) as error:
        cards = [_unreadable_card(_problem_lines(error), site_url, link)]
    else:
        if hook.service == PATIENT_VIEW:
            recommended = assessment.recommendation.drug if assessment.recommendation else None
            cards = patient_view_cards(
                assessment,
                patient_id=hook.patient_id,
                link=link,
                site_url=site_url,
                drug_coding=fhir_adapter.drug_coding(recommended),
            )
        else:
            cards = order_select_cards(
                assessment,
                draft_orders=hook.context["draftOrders"],
                selections=hook.context.get("selections") or (),
                drug_for_code=fhir_adapter.drug_for_code(),
                site_url=site_url,
                link=link,
            )
    _cards_record(cards, hook=hook, client=client, patient=patient, mrn=mrn, now=now)
    return {"cards": cards}


def _problem_lines(error: Exception) -> str:
    found = getattr(error, "problems", None) or [str(error)]
    return "\n".join(f"- {problem}" for problem in found)


def _cards_record(
    cards: list[dict[str, Any]],
    *,
    hook: HookRequest,
    client: CdsClient | None,
    patient: Patient | None,
    mrn: str,
    now: dt.datetime,
) -> None:
    CdsCard.objects.bulk_create(
        CdsCard(
            uuid=card["uuid"],
            service=hook.service,
            client=client,
            patient=patient,
            patient_reference=f"Patient/{hook.patient_id}",
            mrn=mrn,
            summary=card["summary"],
            indicator=card["indicator"],
            issued_at=now,
        )
        for card in cards
    )


# --- feedback ---------------------------------------------------------------------------------


def _timestamp(value: str, where: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise CdsRequestError(400, f"{where}: not an ISO timestamp: {value}") from error
    if moment.tzinfo is None:
        raise CdsRequestError(400, f"{where}: the timestamp needs its UTC offset: {value}")
    return moment


def cds_feedback_record(*, service: str, client: CdsClient | None, data: Any) -> list[CdsFeedback]:
    """Store each feedback entry, tied to the card Ossa issued to this client (and through it to
    the patient); a card Ossa has no record of, or issued to another client, is kept without."""
    found = problems("feedback-request", data)
    if found:
        raise CdsRequestError(400, "The feedback is not valid: " + "; ".join(found))
    entries = data["feedback"]
    moments = [
        _timestamp(entry["outcomeTimestamp"], f"feedback[{index}].outcomeTimestamp")
        for index, entry in enumerate(entries)
    ]
    cards = {
        str(card.uuid): card
        for card in CdsCard.objects.filter(
            uuid__in=[entry["card"] for entry in entries], service=service, client=client
        )
    }
    rows = []
    for entry, moment in zip(entries, moments, strict=True):
        card = cards.get(str(uuid.UUID(entry["card"])))
        reason = (entry.get("overrideReason") or {}).get("reason") or {}
        rows.append(
            CdsFeedback(
                card_uuid=entry["card"],
                card=card,
                service=service,
                client=client,
                patient_id=card.patient_id if card else None,
                patient_reference=card.patient_reference if card else "",
                mrn=card.mrn if card else "",
                outcome=entry["outcome"],
                accepted_suggestions=[s["id"] for s in entry.get("acceptedSuggestions") or []],
                override_reason_code=reason.get("code", ""),
                override_reason_system=reason.get("system", ""),
                override_reason=reason.get("display", ""),
                user_comment=(entry.get("overrideReason") or {}).get("userComment", ""),
                outcome_at=moment,
            )
        )
    return CdsFeedback.objects.bulk_create(rows)
