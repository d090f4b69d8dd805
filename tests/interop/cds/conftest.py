"""An EHR calling Ossa's CDS service: its key pairs, its registration as a `CdsClient` of the
Hillside clinic, and a signer that makes the JWT each request carries."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from interop.cds.models import CdsClient
from interop.cds.schemas import problems

SITE = "https://ossa.test"
ISSUER = "https://ehr.example.org/"


@pytest.fixture(scope="session")
def ec_key():
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="session")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture
def ehr(clinic, ec_key):
    """The Hillside clinic's EHR, registered with its EC public key."""
    return CdsClient.objects.create(
        name="Hillside EHR", clinic=clinic, issuer=ISSUER, public_key_pem=public_pem(ec_key)
    )


Signer = Callable[..., str]


@pytest.fixture
def sign(ec_key) -> Signer:
    """sign(path, **claims overrides) → a JWT for the endpoint at `path`, as the EHR signs it."""

    def make(
        path: str,
        *,
        key: Any = None,
        algorithm: str = "ES384",
        headers: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": "ehr-client",
            "aud": SITE + path,
            "iat": now,
            "exp": now + 120,
            "jti": str(uuid.uuid4()),
            **overrides,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(
            claims,
            key or ec_key,
            algorithm=algorithm,
            headers={"kid": "ehr-1", "typ": "JWT", **(headers or {})},
        )

    return make


@pytest.fixture
def cds(client, sign, ehr):
    """cds.get(path) / cds.post(path, body): signed requests from the EHR."""

    class Cds:
        def get(self, path: str, **claims: Any):
            return client.get(path, HTTP_AUTHORIZATION=f"Bearer {sign(path, **claims)}")

        def post(self, path: str, body: Any, **claims: Any):
            data = body if isinstance(body, bytes | str) else json.dumps(body)
            return client.post(
                path,
                data=data,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {sign(path, **claims)}",
            )

    return Cds()


def assert_valid(schema: str, data: Any) -> None:
    found = problems(schema, data)
    assert not found, found
