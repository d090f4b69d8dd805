"""The feedback endpoint keeps what clinicians did with Ossa's cards, tied to the card's
patient when Ossa knows them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import time_machine
from django.conf import settings
from django.urls import reverse

from interop.cds import auth
from interop.cds.models import CdsCard, CdsClient, CdsFeedback
from tests.factories import PatientFactory
from tests.interop.cds.conftest import public_pem
from tests.interop.cds.helpers import (
    CASES,
    EHR_MRN_SYSTEM,
    hook_request,
    prefetch_for,
    resources_for,
    shared_case,
)

URL = "/cds-services/ossa-patient-view"
FEEDBACK = URL + "/feedback"


def _cards(cds, ehr, clinic):
    ehr.mrn_system = EHR_MRN_SYSTEM
    ehr.save()
    patient = PatientFactory(clinic=clinic, mrn="H-100")
    case = shared_case(next(p for p in CASES if "denosumab_overdue" in p.stem))
    case = dataclasses.replace(case, patient=dataclasses.replace(case.patient, mrn="H-100"))
    noon = dt.datetime(*case.as_of.timetuple()[:3], 12, tzinfo=ZoneInfo(settings.TIME_ZONE))
    with time_machine.travel(noon, tick=False):
        response = cds.post(
            URL,
            hook_request(
                "patient-view", "ehr-9", prefetch_for(resources_for(case, patient_id="ehr-9"))
            ),
        )
    return patient, response.json()["cards"]


def test_an_overridden_card_is_kept_with_its_reason_and_patient(cds, ehr, clinic):
    patient, cards = _cards(cds, ehr, clinic)
    card = cards[0]
    response = cds.post(
        FEEDBACK,
        {
            "feedback": [
                {
                    "card": card["uuid"],
                    "outcome": "overridden",
                    "overrideReason": {
                        "reason": {
                            "code": "patient-informed-choice",
                            "system": "https://ossa.test/x",
                            "display": "Patient's informed choice",
                        },
                        "userComment": "Discussed in clinic",
                    },
                    "outcomeTimestamp": "2026-11-25T10:30:00Z",
                }
            ]
        },
    )
    assert response.status_code == 200
    assert response.json() == {"stored": 1}
    row = CdsFeedback.objects.get()
    assert row.card.summary == card["summary"]
    assert (row.patient, row.mrn, row.patient_reference) == (patient, "H-100", "Patient/ehr-9")
    assert (row.outcome, row.override_reason_code, row.override_reason, row.user_comment) == (
        "overridden",
        "patient-informed-choice",
        "Patient's informed choice",
        "Discussed in clinic",
    )
    assert row.outcome_at == dt.datetime(2026, 11, 25, 10, 30, tzinfo=dt.UTC)
    assert row.client == ehr
    assert row.service == "ossa-patient-view"


def test_an_accepted_suggestion_is_kept(cds, ehr, clinic):
    _patient, cards = _cards(cds, ehr, clinic)
    response = cds.post(
        FEEDBACK,
        {
            "feedback": [
                {
                    "card": c["uuid"],
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": "s-1"}],
                    "outcomeTimestamp": "2026-11-25T10:31:00+00:00",
                }
                for c in cards
            ]
        },
    )
    assert response.json() == {"stored": len(cards)}
    assert list(CdsFeedback.objects.values_list("outcome", "accepted_suggestions").distinct()) == [
        ("accepted", ["s-1"])
    ]


def test_feedback_on_a_card_ossa_did_not_issue_to_this_client_names_no_patient(
    cds, ehr, clinic, other_clinic, rsa_key
):
    _patient, cards = _cards(cds, ehr, clinic)
    other = CdsClient.objects.create(
        name="Other", clinic=other_clinic, issuer="https://o/", public_key_pem=public_pem(rsa_key)
    )
    CdsCard.objects.filter(uuid=cards[0]["uuid"]).update(client=other)
    stranger = str(uuid.uuid4())
    for card_uuid in (cards[0]["uuid"], stranger):
        cds.post(
            FEEDBACK,
            {
                "feedback": [
                    {
                        "card": card_uuid,
                        "outcome": "overridden",
                        "outcomeTimestamp": "2026-11-25T10:30:00Z",
                    }
                ]
            },
        )
    assert list(CdsFeedback.objects.values_list("card", "patient", "mrn")) == [
        (None, None, ""),
        (None, None, ""),
    ]


def test_invalid_feedback_is_400_naming_the_field(cds):
    cases = [
        (
            {
                "feedback": [
                    {
                        "card": str(uuid.uuid4()),
                        "outcome": "maybe",
                        "outcomeTimestamp": "2026-11-25T10:30:00Z",
                    }
                ]
            },
            "feedback[0].outcome",
        ),
        (
            {
                "feedback": [
                    {
                        "card": str(uuid.uuid4()),
                        "outcome": "accepted",
                        "outcomeTimestamp": "2026-11-25T10:30:00Z",
                    }
                ]
            },
            "acceptedSuggestions",
        ),
        (
            {
                "feedback": [
                    {
                        "card": "not-a-uuid",
                        "outcome": "overridden",
                        "outcomeTimestamp": "2026-11-25T10:30:00Z",
                    }
                ]
            },
            "feedback[0].card",
        ),
        (
            {
                "feedback": [
                    {
                        "card": str(uuid.uuid4()),
                        "outcome": "overridden",
                        "outcomeTimestamp": "2026-11-25 10:30",
                    }
                ]
            },
            "UTC offset",
        ),
        (
            {
                "feedback": [
                    {
                        "card": str(uuid.uuid4()),
                        "outcome": "overridden",
                        "outcomeTimestamp": "tomorrow",
                    }
                ]
            },
            "outcomeTimestamp",
        ),
        ([], "(body)"),
    ]
    for body, where in cases:
        response = cds.post(FEEDBACK, body)
        assert response.status_code == 400, body
        assert where in response.json()["error"], response.json()
    assert not CdsFeedback.objects.exists()


def test_feedback_is_listed_beside_the_decisions_on_the_patient_page(
    cds, ehr, clinic, client_for, clinician, clinic_admin
):
    patient, cards = _cards(cds, ehr, clinic)
    cds.post(
        FEEDBACK,
        {
            "feedback": [
                {
                    "card": cards[0]["uuid"],
                    "outcome": "overridden",
                    "overrideReason": {
                        "reason": {
                            "code": "x",
                            "system": "https://ehr/r",
                            "display": "Patient away",
                        },
                        "userComment": "Back in March",
                    },
                    "outcomeTimestamp": "2026-11-25T10:30:00Z",
                }
            ]
        },
    )
    page = client_for(clinician).get(reverse("patients:detail", args=[patient.pk]))
    html = page.content.decode()
    assert "In the EHR" in html
    assert cards[0]["summary"] in html
    assert "Patient away — Back in March" in html
    admin_page = client_for(clinic_admin).get(reverse("patients:detail", args=[patient.pk]))
    assert "In the EHR" not in admin_page.content.decode()  # clinical records only


def test_a_patient_without_feedback_shows_no_ehr_table(client_for, clinician, patient):
    page = client_for(clinician).get(reverse("patients:detail", args=[patient.pk]))
    assert "In the EHR" not in page.content.decode()


def test_feedback_queries_are_pinned(cds, ehr, clinic, django_assert_num_queries, monkeypatch):
    _patient, cards = _cards(cds, ehr, clinic)
    monkeypatch.setattr(auth, "_next_prune", float("inf"))
    body = {
        "feedback": [
            {"card": c["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:30:00Z"}
            for c in cards
        ]
    }
    with django_assert_num_queries(4):  # client, jti, the cards, one insert for every entry
        assert cds.post(FEEDBACK, body).status_code == 200
