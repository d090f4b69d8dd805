"""ossa-patient-view: the EHR's record of the patient (prefetch, or its FHIR server) becomes
the engine's case, and the assessment comes back as cards in words."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from interop.cds import auth
from interop.cds import client as fhir_client_module
from interop.cds.cards import SUMMARY_MAX, fit_summary, indicator_of
from interop.cds.client import FhirClient
from interop.cds.models import CdsCard
from interop.fhir import codes
from patients.models import Patient
from tests.factories import PatientFactory
from tests.interop.cds.conftest import SITE, assert_valid
from tests.interop.cds.helpers import (
    CASES,
    EHR_MRN_SYSTEM,
    hook_request,
    prefetch_for,
    resources_for,
    shared_case,
)
from therapy.engine import RecommendationAction, Severity, evaluate
from therapy.presenters import headline

URL = "/cds-services/ossa-patient-view"
#: A code where words belong: DENOSUMAB_OVERDUE, ORAL_BP_…, a rule id such as REC-2.
RAW_CODE = re.compile(r"\b[A-Z0-9]+_[A-Z0-9_]+\b|\b[A-Z]{3}-\d+\b|\b[a-z]+_[a-z_]+\b")


def _travel(day: dt.date):
    noon = dt.datetime(day.year, day.month, day.day, 12, 0, tzinfo=ZoneInfo(settings.TIME_ZONE))
    return time_machine.travel(noon, tick=False)


def _texts(card: dict[str, Any]) -> list[str]:
    texts = [card["summary"], card.get("detail", "")]
    for suggestion in card.get("suggestions", []):
        texts.append(suggestion["label"])
        texts.extend(action["description"] for action in suggestion["actions"])
    return texts


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_shared_case_answers_with_its_recommendation_in_words(cds, path):
    case = shared_case(path)
    assessment = evaluate(case)
    with _travel(case.as_of):
        response = cds.post(
            URL, hook_request("patient-view", "ehr-123", prefetch_for(resources_for(case)))
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert_valid("card-response", body)
    first, *alert_cards = body["cards"]
    assert first["summary"] == fit_summary(headline(assessment)[0])
    assert len(first["summary"]) <= SUMMARY_MAX
    assert first["indicator"] == indicator_of(assessment)
    assert first["source"]["label"] == "Ossa rule book, engine v2"
    critical = [a for a in assessment.alerts if a.severity is Severity.CRITICAL]
    assert len(alert_cards) == len(critical)
    assert all(card["indicator"] == "critical" for card in alert_cards)
    for card in body["cards"]:
        assert len(card["summary"]) <= SUMMARY_MAX
        for text in _texts(card):
            assert not RAW_CODE.search(text), text
    r = assessment.recommendation
    if r is not None and r.action in (RecommendationAction.START, RecommendationAction.SWITCH):
        (suggestion,) = first["suggestions"]
        order = suggestion["actions"][0]["resource"]
        assert order["resourceType"] == "MedicationRequest"
        assert order["subject"] == {"reference": "Patient/ehr-123"}
        coding = order["medicationCodeableConcept"]["coding"][0]
        assert (coding["system"], coding["code"]) == (codes.ATC, codes.DRUG_ATC[r.drug][0])
    else:
        assert "suggestions" not in first


def test_the_indicator_is_the_gravest_alerts():
    case = shared_case(next(p for p in CASES if "denosumab_overdue" in p.stem))
    assessment = evaluate(case)
    assert any(a.severity is Severity.CRITICAL for a in assessment.alerts)
    assert indicator_of(assessment) == "critical"
    calm = dataclasses.replace(assessment, alerts=())
    assert indicator_of(calm) == "info"


def test_a_summary_over_140_characters_loses_its_tail_not_its_head():
    long = "Switch to teriparatide — 24 months left — then " + "zoledronic acid or " * 8 + "x"
    assert fit_summary(long) == "Switch to teriparatide — 24 months left"
    assert len(fit_summary("y" * 300)) == SUMMARY_MAX


def _mrn_case(mrn: str):
    case = shared_case(next(p for p in CASES if "denosumab_overdue" in p.stem))
    return dataclasses.replace(case, patient=dataclasses.replace(case.patient, mrn=mrn))


def test_a_patient_known_by_mrn_gets_a_smart_link_to_their_page(cds, ehr, clinic, other_clinic):
    ehr.mrn_system = EHR_MRN_SYSTEM
    ehr.save()
    ours = PatientFactory(clinic=clinic, mrn="H-100")
    PatientFactory(clinic=other_clinic, mrn="H-100")  # same MRN, another clinic: never linked
    case = _mrn_case("H-100")
    with _travel(case.as_of):
        body = cds.post(
            URL,
            hook_request(
                "patient-view", "ehr-9", prefetch_for(resources_for(case, patient_id="ehr-9"))
            ),
        ).json()
    detail = SITE + reverse("patients:detail", args=[ours.pk])
    assert all(
        card["links"] == [{"label": "Open the patient in Ossa", "url": detail, "type": "smart"}]
        for card in body["cards"]
    )
    issued = CdsCard.objects.filter(uuid__in=[card["uuid"] for card in body["cards"]])
    assert issued.count() == len(body["cards"])
    assert {(c.patient_id, c.mrn, c.patient_reference) for c in issued} == {
        (ours.pk, "H-100", "Patient/ehr-9")
    }


def test_an_unknown_patient_gets_a_link_to_add_them(cds, ehr, other_clinic):
    ehr.mrn_system = EHR_MRN_SYSTEM
    ehr.save()
    PatientFactory(clinic=other_clinic, mrn="H-100")
    case = _mrn_case("H-100")
    with _travel(case.as_of):
        body = cds.post(
            URL,
            hook_request(
                "patient-view", "ehr-9", prefetch_for(resources_for(case, patient_id="ehr-9"))
            ),
        ).json()
    assert body["cards"][0]["links"] == [
        {
            "label": "Add this patient to Ossa",
            "url": SITE + reverse("patients:create"),
            "type": "absolute",
        }
    ]
    assert not CdsCard.objects.filter(patient__isnull=False).exists()


def test_without_a_configured_system_ossas_own_mrn_system_is_read(cds, clinic):
    ours = PatientFactory(clinic=clinic, mrn="H-7")
    case = _mrn_case("H-7")
    system = codes.mrn_system(SITE, clinic.slug)
    with _travel(case.as_of):
        body = cds.post(
            URL,
            hook_request(
                "patient-view",
                "p",
                prefetch_for(resources_for(case, patient_id="p", mrn_system=system)),
            ),
        ).json()
    assert body["cards"][0]["links"][0]["url"].endswith(f"/patients/{ours.pk}/")


def test_a_request_without_prefetch_or_fhir_server_is_412(cds):
    response = cds.post(URL, hook_request("patient-view", "ehr-1", None))
    assert response.status_code == 412
    assert "prefetch.patient is missing" in response.json()["error"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hook": "order-sign"}, "answers the patient-view hook, not order-sign"),
        ({"context": {"patientId": None}}, "context.patientId"),
        ({"hookInstance": 7}, "hookInstance"),
        ({"fhirServer": "ftp://ehr"}, "fhirServer"),
    ],
)
def test_a_malformed_hook_request_is_400_naming_the_field(cds, change, message):
    body = hook_request("patient-view", "ehr-1", {})
    for key, value in change.items():
        body[key] = {**body[key], **value} if isinstance(value, dict) else value
    response = cds.post(URL, body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_an_unknown_service_is_404(cds):
    response = cds.post("/cds-services/nope", hook_request("patient-view", "x", {}))
    assert response.status_code == 404


def test_a_record_ossa_cannot_read_gets_a_warning_card_listing_what(cds):
    case = _mrn_case("H-1")
    prefetch = prefetch_for(resources_for(case))
    prefetch["patient"] = {**prefetch["patient"], "birthDate": "not a date"}
    with _travel(case.as_of):
        response = cds.post(URL, hook_request("patient-view", "ehr-123", prefetch))
    assert response.status_code == 200
    body = response.json()
    assert_valid("card-response", body)
    (card,) = body["cards"]
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Ossa could not assess this patient")
    assert "birthDate" in card["detail"]
    assert CdsCard.objects.get().summary == card["summary"]


# --- from the EHR's FHIR server -------------------------------------------------------------


def _server_routes(resources: list[dict[str, Any]], page: int = 0) -> dict[str, Any]:
    """path?query → the JSON a FHIR server answers (searches paged by `page` when > 0)."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    patient = None
    for resource in resources:
        if resource["resourceType"] == "Patient":
            patient = resource
        else:
            by_kind.setdefault(resource["resourceType"], []).append(resource)
    routes: dict[str, Any] = {f"/fhir/Patient/{patient['id']}": patient}
    for kind in ("Condition", "Observation", "MedicationStatement", "MedicationAdministration"):
        items = by_kind.get(kind, [])
        size = page or max(len(items), 1)
        chunks = [items[i : i + size] for i in range(0, len(items), size)] or [[]]
        for number, chunk in enumerate(chunks):
            path = f"/fhir/{kind}?patient={patient['id']}" + (f"&page={number}" if number else "")
            bundle: dict[str, Any] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in chunk],
            }
            if number + 1 < len(chunks):
                bundle["link"] = [
                    {
                        "relation": "next",
                        "url": f"http://ehr.test/fhir/{kind}?patient={patient['id']}"
                        f"&page={number + 1}",
                    }
                ]
            routes[path] = bundle
    return routes


@pytest.fixture
def fake_fhir(monkeypatch):
    """Swap the kept FHIR client for one on a mock transport serving `routes`."""
    seen: list[httpx.Request] = []
    routes: dict[str, Any] = {}

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        key = request.url.raw_path.decode()
        if key not in routes:
            return httpx.Response(404, json={"resourceType": "OperationOutcome"})
        return httpx.Response(200, json=routes[key])

    client = FhirClient(transport=httpx.MockTransport(serve))
    previous = fhir_client_module.set_fhir_client(client)
    yield routes, seen
    fhir_client_module.set_fhir_client(previous)


def test_without_prefetch_the_fhir_server_is_read_with_the_ehrs_token(cds, fake_fhir):
    routes, seen = fake_fhir
    case = _mrn_case("H-2")
    resources = resources_for(case)
    routes.update(_server_routes(resources, page=2))
    body = hook_request(
        "patient-view",
        "ehr-123",
        None,
        fhirServer="http://ehr.test/fhir",
        fhirAuthorization={
            "access_token": "secret-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "ossa",
        },
    )
    with _travel(case.as_of):
        response = cds.post(URL, body)
    assert response.status_code == 200, response.content
    assert_valid("card-response", response.json())
    assert response.json()["cards"][0]["summary"] == fit_summary(headline(evaluate(case))[0])
    assert {r.headers["Authorization"] for r in seen} == {"Bearer secret-token"}
    assert any("page=1" in str(r.url) for r in seen)  # search pages followed


def test_only_what_the_prefetch_lacks_is_read_from_the_server(cds, fake_fhir):
    routes, seen = fake_fhir
    case = _mrn_case("H-3")
    resources = resources_for(case)
    routes.update(_server_routes(resources))
    prefetch = prefetch_for(resources)
    prefetch["observations"] = None  # the EHR could not prefetch these
    del prefetch["conditions"]
    with _travel(case.as_of):
        response = cds.post(
            URL,
            hook_request("patient-view", "ehr-123", prefetch, fhirServer="http://ehr.test/fhir"),
        )
    assert response.status_code == 200
    assert sorted(urlsplit(str(r.url)).path for r in seen) == [
        "/fhir/Condition",
        "/fhir/Observation",
    ]
    assert response.json()["cards"][0]["summary"] == fit_summary(headline(evaluate(case))[0])


def test_a_fhir_server_that_fails_is_412_naming_it(cds, fake_fhir):
    with _travel(dt.date(2026, 11, 25)):
        response = cds.post(
            URL, hook_request("patient-view", "gone", None, fhirServer="http://ehr.test/fhir")
        )
    assert response.status_code == 412
    assert "answered 404" in response.json()["error"]


def test_a_next_link_off_the_server_is_not_followed(cds, fake_fhir):
    routes, seen = fake_fhir
    case = _mrn_case("H-4")
    routes.update(_server_routes(resources_for(case)))
    routes["/fhir/Condition?patient=ehr-123"]["link"] = [
        {"relation": "next", "url": "https://attacker.test/steal"}
    ]
    with _travel(case.as_of):
        response = cds.post(
            URL, hook_request("patient-view", "ehr-123", None, fhirServer="http://ehr.test/fhir")
        )
    assert response.status_code == 412
    assert "leaves the FHIR server" in response.json()["error"]
    assert all(r.url.host == "ehr.test" for r in seen)


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, Any] = {}
    tokens: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.tokens.append(self.headers.get("Authorization", ""))
        data = self.routes.get(self.path)
        payload = json.dumps(data or {"resourceType": "OperationOutcome"}).encode()
        self.send_response(200 if data else 404)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_real_http_fhir_server_in_a_thread(cds, monkeypatch):
    case = _mrn_case("H-5")
    _Handler.routes = _server_routes(resources_for(case), page=3)
    _Handler.tokens = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}/fhir"
    for bundle in _Handler.routes.values():
        for link in bundle.get("link", []):
            link["url"] = link["url"].replace("http://ehr.test/fhir", base)
    previous = fhir_client_module.set_fhir_client(FhirClient())
    try:
        with _travel(case.as_of):
            response = cds.post(
                URL,
                hook_request(
                    "patient-view",
                    "ehr-123",
                    None,
                    fhirServer=base,
                    fhirAuthorization={
                        "access_token": "t0k",
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "scope": "patient/*.read",
                        "subject": "ossa",
                    },
                ),
            )
    finally:
        fhir_client_module.set_fhir_client(previous)
        server.shutdown()
        server.server_close()
    assert response.status_code == 200, response.content
    assert response.json()["cards"][0]["summary"] == fit_summary(headline(evaluate(case))[0])
    assert set(_Handler.tokens) == {"Bearer t0k"}


def test_patient_view_queries_are_pinned(cds, ehr, clinic, django_assert_num_queries, monkeypatch):
    ehr.mrn_system = EHR_MRN_SYSTEM
    ehr.save()
    PatientFactory(clinic=clinic, mrn="H-100")
    case = _mrn_case("H-100")
    body = hook_request(
        "patient-view", "ehr-9", prefetch_for(resources_for(case, patient_id="ehr-9"))
    )
    monkeypatch.setattr(auth, "_next_prune", 0.0)
    with _travel(case.as_of), django_assert_num_queries(5):
        # client, jti insert, expired jtis (at most once a minute), patient by MRN, cards
        assert cds.post(URL, body).status_code == 200
    body["hookInstance"] = "again"
    with _travel(case.as_of), django_assert_num_queries(4):
        assert cds.post(URL, body).status_code == 200
    assert Patient.objects.count() == 1
