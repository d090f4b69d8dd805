from __future__ import annotations

from interop.cds import auth
from interop.cds.schemas import problems
from tests.interop.cds.conftest import assert_valid


def test_discovery_lists_both_services_with_their_prefetch(cds):
    response = cds.get("/cds-services")
    assert response.status_code == 200
    body = response.json()
    assert_valid("discovery-response", body)
    services = {service["id"]: service for service in body["services"]}
    assert services["ossa-patient-view"]["hook"] == "patient-view"
    assert services["ossa-order-select"]["hook"] == "order-select"
    for service in services.values():
        assert service["prefetch"] == {
            "patient": "Patient/{{context.patientId}}",
            "conditions": "Condition?patient={{context.patientId}}",
            "observations": "Observation?patient={{context.patientId}}",
            "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
            "medicationAdministrations": ("MedicationAdministration?patient={{context.patientId}}"),
        }


def test_the_discovery_schema_rejects_a_service_without_a_hook():
    found = problems("discovery-response", {"services": [{"id": "x", "description": "d"}]})
    assert found == ["services[0]: 'hook' is a required property"]


def test_discovery_queries_are_pinned(cds, django_assert_num_queries, monkeypatch):
    monkeypatch.setattr(auth, "_next_prune", float("inf"))
    with django_assert_num_queries(2):  # the client, its jti
        assert cds.get("/cds-services").status_code == 200
