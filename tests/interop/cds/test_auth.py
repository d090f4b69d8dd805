"""Only a registered EHR's signed, fresh, single-use JWT for this very endpoint gets an answer
(CDS Hooks 2.0, "Trusting CDS Clients"); the size limit comes before everything else."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from interop.cds import auth
from interop.cds.models import CdsClient, CdsTokenUse
from tests.interop.cds.conftest import ISSUER, SITE, public_pem

DISCOVERY = "/cds-services"
FEEDBACK = "/cds-services/ossa-patient-view/feedback"


def test_a_valid_es384_token_is_answered(cds):
    response = cds.get(DISCOVERY)
    assert response.status_code == 200
    assert response.json()["services"]


def test_an_unknown_issuer_is_refused(cds):
    response = cds.get(DISCOVERY, iss="https://other-ehr.example.org/")
    assert response.status_code == 401
    assert "issuer" in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_inactive_client_is_refused(cds, ehr):
    CdsClient.objects.filter(pk=ehr.pk).update(is_active=False)
    assert cds.get(DISCOVERY).status_code == 401


def test_a_token_for_another_endpoint_is_refused(cds):
    response = cds.get(DISCOVERY, aud=SITE + "/cds-services/ossa-patient-view")
    assert response.status_code == 401
    assert "audience" in response.json()["error"]


def test_a_token_for_another_host_is_refused(cds):
    response = cds.get(DISCOVERY, aud="https://elsewhere.test/cds-services")
    assert response.status_code == 401


def test_an_expired_token_is_refused(cds):
    now = int(time.time())
    response = cds.get(DISCOVERY, iat=now - 900, exp=now - 600)
    assert response.status_code == 401
    assert "expired" in response.json()["error"]


def test_a_token_living_longer_than_five_minutes_is_refused(cds):
    now = int(time.time())
    response = cds.get(DISCOVERY, iat=now, exp=now + 3600)
    assert response.status_code == 401
    assert "5 minutes" in response.json()["error"]


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "aud"])
def test_a_token_without_a_required_claim_is_refused(cds, claim):
    assert cds.get(DISCOVERY, **{claim: None}).status_code == 401


def test_a_token_signed_with_another_key_is_refused(cds):
    stranger = ec.generate_private_key(ec.SECP384R1())
    response = cds.get(DISCOVERY, key=stranger)
    assert response.status_code == 401
    assert "signature" in response.json()["error"]


def test_a_symmetric_or_unsigned_algorithm_is_refused(client, ehr):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": SITE + DISCOVERY, "iat": now, "exp": now + 60, "jti": "x1"}
    hs = jwt.encode(
        claims, "a shared secret long enough for HMAC with SHA-384 ok", algorithm="HS384"
    )
    none = jwt.encode(claims, None, algorithm="none")
    for token in (hs, none):
        response = client.get(DISCOVERY, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401
        assert "RS384 or ES384" in response.json()["error"]


def test_a_replayed_jti_is_refused(client, sign, ehr):
    token = sign(DISCOVERY)
    first = client.get(DISCOVERY, HTTP_AUTHORIZATION=f"Bearer {token}")
    again = client.get(DISCOVERY, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert first.status_code == 200
    assert again.status_code == 401
    assert "used before" in again.json()["error"]


def test_the_same_jti_from_two_clients_is_two_tokens(client, sign, ehr, other_clinic, rsa_key):
    CdsClient.objects.create(
        name="Other EHR",
        clinic=other_clinic,
        issuer="https://other-ehr.example.org/",
        public_key_pem=public_pem(rsa_key),
    )
    ours = sign(DISCOVERY, jti="same")
    theirs = sign(
        DISCOVERY, jti="same", key=rsa_key, algorithm="RS384", iss="https://other-ehr.example.org/"
    )
    assert client.get(DISCOVERY, HTTP_AUTHORIZATION=f"Bearer {ours}").status_code == 200
    assert client.get(DISCOVERY, HTTP_AUTHORIZATION=f"Bearer {theirs}").status_code == 200


def test_jti_records_of_expired_tokens_are_pruned(cds, ehr, monkeypatch):
    monkeypatch.setattr(auth, "_next_prune", 0.0)
    old = CdsTokenUse.objects.create(
        client=ehr, jti="old", expires_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert cds.get(DISCOVERY).status_code == 200
    assert not CdsTokenUse.objects.filter(pk=old.pk).exists()
    assert CdsTokenUse.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "kwargs", "method"),
    [
        ("cds:discovery", {}, "get"),
        ("cds:service", {"service_id": "ossa-patient-view"}, "post"),
        ("cds:service", {"service_id": "ossa-order-select"}, "post"),
        ("cds:feedback", {"service_id": "ossa-patient-view"}, "post"),
    ],
)
def test_every_cds_url_refuses_an_anonymous_caller_with_401(client, ehr, name, kwargs, method):
    url = reverse(name, kwargs=kwargs)
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, data="{}", content_type="application/json")
    assert response.status_code == 401


def test_a_signed_in_ossa_user_is_no_cds_client(client_for, clinician):
    response = client_for(clinician).get(reverse("cds:discovery"))
    assert response.status_code == 401


def test_an_unsigned_request_is_refused(client, ehr):
    response = client.get(DISCOVERY)
    assert response.status_code == 401
    assert "signed JWT is required" in response.json()["error"]
    assert client.get(DISCOVERY, HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz").status_code == 401
    assert client.get(DISCOVERY, HTTP_AUTHORIZATION="Bearer not-a-jwt").status_code == 401


def test_unsigned_requests_are_served_only_when_debugging_with_the_switch_on(client, settings):
    settings.OSSA_CDS_ALLOW_UNSIGNED = True
    settings.DEBUG = False
    assert client.get(DISCOVERY).status_code == 401
    settings.DEBUG = True
    assert client.get(DISCOVERY).status_code == 200


def test_keys_are_read_from_the_clients_jwks_url_and_cached(
    client, sign, clinic, rsa_key, monkeypatch
):
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    calls = []

    def serve(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(200, json={"keys": [{**jwk, "kid": "ehr-1", "alg": "RS384"}]})

    monkeypatch.setattr(auth, "JWKS", auth.JwksCache(transport=httpx.MockTransport(serve)))
    CdsClient.objects.create(
        name="Hillside EHR", clinic=clinic, issuer=ISSUER, jwks_url="https://ehr.example.org/jwks"
    )
    for _ in range(2):
        token = sign(DISCOVERY, key=rsa_key, algorithm="RS384")
        assert client.get(DISCOVERY, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert calls == ["https://ehr.example.org/jwks"]

    unknown_kid = sign(DISCOVERY, key=rsa_key, algorithm="RS384", headers={"kid": "rotated"})
    response = client.get(DISCOVERY, HTTP_AUTHORIZATION=f"Bearer {unknown_kid}")
    assert response.status_code == 401
    assert "kid" in response.json()["error"]

    elsewhere = sign(
        DISCOVERY, key=rsa_key, algorithm="RS384", headers={"jku": "https://evil.test/jwks"}
    )
    response = client.get(DISCOVERY, HTTP_AUTHORIZATION=f"Bearer {elsewhere}")
    assert response.status_code == 401
    assert "jku" in response.json()["error"]


def test_an_unreachable_jwks_url_is_a_401_not_a_crash(client, sign, clinic, rsa_key, monkeypatch):
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    monkeypatch.setattr(auth, "JWKS", auth.JwksCache(transport=httpx.MockTransport(down)))
    CdsClient.objects.create(
        name="Hillside EHR", clinic=clinic, issuer=ISSUER, jwks_url="https://ehr.example.org/jwks"
    )
    token = sign(DISCOVERY, key=rsa_key, algorithm="RS384")
    response = client.get(DISCOVERY, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert "JWKS could not be read" in response.json()["error"]


def test_a_body_over_the_limit_gets_413_before_anything_is_read(client, settings, ehr):
    settings.OSSA_CDS_MAX_REQUEST_BYTES = 2048
    body = json.dumps({"padding": "x" * 4000})
    response = client.post(FEEDBACK, data=body, content_type="application/json")
    assert response.status_code == 413  # unsigned, too: the size is checked first
    assert "2048 bytes" in response.json()["error"]


def test_a_body_under_the_limit_is_read(cds, settings):
    settings.OSSA_CDS_MAX_REQUEST_BYTES = 2048
    response = cds.post(FEEDBACK, {"feedback": []})
    assert response.status_code == 400  # read and judged: an empty feedback list


def test_malformed_json_gets_400_with_a_clear_message(cds):
    response = cds.post(FEEDBACK, b'{"feedback": [')
    assert response.status_code == 400
    assert response.json()["error"].startswith("The body is not JSON:")


def test_cors_headers_on_every_answer_and_a_preflight_without_credentials(client, cds):
    preflight = client.options(DISCOVERY, HTTP_ORIGIN="https://ehr.example.org")
    assert preflight.status_code == 204
    for response in (preflight, cds.get(DISCOVERY), client.get(DISCOVERY)):
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "Authorization" in response["Access-Control-Allow-Headers"]
        assert "POST" in response["Access-Control-Allow-Methods"]
        assert "Access-Control-Allow-Credentials" not in response


def test_a_wrong_method_gets_405(cds):
    response = cds.post(DISCOVERY, {})
    assert response.status_code == 405
    assert "GET" in response["Allow"]


@pytest.mark.django_db(transaction=True)
def test_the_same_token_sent_twice_at_once_is_answered_once(sign, ehr, require_postgres):
    """Two requests racing with one token: the unique (client, jti) row lets exactly one in.
    PostgreSQL only: SQLite's test database is one in-memory connection that racing threads
    find locked, so there is no race to see there."""
    token = sign(DISCOVERY)
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def send() -> None:
        try:
            barrier.wait()
            response = Client().get(DISCOVERY, HTTP_AUTHORIZATION=f"Bearer {token}")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 401, 401, 401]
    assert (
        CdsTokenUse.objects.filter(
            jti=jwt.decode(token, options={"verify_signature": False})["jti"]
        ).count()
        == 1
    )
