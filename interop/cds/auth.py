"""Who is calling: the EHR's signed JWT (CDS Hooks 2.0, "Trusting CDS Clients").

Each request carries `Authorization: Bearer <jwt>`, signed with RS384 or ES384 by a configured
`CdsClient` (matched on `iss`), addressed to the endpoint it calls (`aud` = the endpoint's URL
under OSSA_SITE_URL), short-lived (`exp` at most five minutes after `iat`) and used once
(`jti`). Keys come from the client's JWKS URL (cached, refetched once for an unknown `kid`, with a
2-second timeout) or from the PEM key configured on the client.

Guarantees: a `jti` is accepted once per client, also under concurrent requests (a unique
constraint decides, not a read-then-write).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from jwt import PyJWK, PyJWKSet

from interop.cds.models import CdsClient, CdsTokenUse

ALGORITHMS = ["RS384", "ES384"]
#: The spec: "exp … SHALL be no more than 5 minutes in the future".
MAX_LIFETIME_SECONDS = 5 * 60
#: Clock difference tolerated between the EHR and Ossa.
LEEWAY_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 2.0
JWKS_CACHE_SECONDS = 5 * 60
#: A JWKS is refetched for an unknown `kid` at most this often (a forged kid cannot make Ossa
#: hammer the EHR).
JWKS_REFETCH_SECONDS = 30


class CdsAuthError(Exception):
    """The request is not from a configured EHR; the message says why (answered with 401)."""


@dataclass(frozen=True)
class CdsCaller:
    """The verified caller: None as client only when unsigned requests are allowed (DEBUG)."""

    client: CdsClient | None


@dataclass
class _CachedKeys:
    keys: PyJWKSet
    fetched_at: float


class JwksCache:
    """JWKS documents by URL, kept JWKS_CACHE_SECONDS; shared by the threads of a process."""

    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _CachedKeys] = {}
        self._http = httpx.Client(
            timeout=JWKS_TIMEOUT_SECONDS, follow_redirects=False, transport=transport
        )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _fetch(self, url: str) -> PyJWKSet:
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
            raise CdsAuthError(f"The client's JWKS could not be read from {url}.") from error

    def key(self, url: str, kid: str | None) -> PyJWK:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(url)
        if entry is None or now - entry.fetched_at > JWKS_CACHE_SECONDS:
            entry = _CachedKeys(self._fetch(url), now)
            with self._lock:
                self._entries[url] = entry
        found = _pick(entry.keys, kid)
        if found is None and now - entry.fetched_at > JWKS_REFETCH_SECONDS:
            entry = _CachedKeys(self._fetch(url), now)  # the EHR may have rotated its keys
            with self._lock:
                self._entries[url] = entry
            found = _pick(entry.keys, kid)
        if found is None:
            raise CdsAuthError("No key in the client's JWKS matches the token's kid.")
        return found


def _pick(keys: PyJWKSet, kid: str | None) -> PyJWK | None:
    if kid is None:
        return keys.keys[0] if len(keys.keys) == 1 else None
    return next((key for key in keys.keys if key.key_id == kid), None)


JWKS = JwksCache()


def endpoint_url(request: HttpRequest) -> str:
    """The audience a token for this request must name: the endpoint's URL where EHRs reach
    Ossa (OSSA_SITE_URL), not the Host header, which a caller controls."""
    return settings.OSSA_SITE_URL.rstrip("/") + request.path


def authenticate(request: HttpRequest, *, now: dt.datetime) -> CdsCaller:
    """The configured client that signed this request, or CdsAuthError."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        if settings.OSSA_CDS_ALLOW_UNSIGNED and settings.DEBUG:
            return CdsCaller(client=None)
        raise CdsAuthError("A signed JWT is required: Authorization: Bearer <jwt>.")
    token = token.strip()
    try:
        header_fields = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise CdsAuthError("The bearer token is not a JWT.") from error
    if header_fields.get("alg") not in ALGORITHMS:
        raise CdsAuthError(f"The JWT must be signed with {' or '.join(ALGORITHMS)}.")
    issuer = unverified.get("iss")
    client = (
        CdsClient.objects.select_related("clinic").filter(issuer=issuer, is_active=True).first()
        if isinstance(issuer, str)
        else None
    )
    if client is None:
        raise CdsAuthError("The JWT's issuer is not a registered CDS client.")
    jku = header_fields.get("jku")
    if jku is not None and jku != client.jwks_url:
        # Keys are only ever fetched from the URL registered for the issuer (the spec's
        # allowlist of `jku`), never from one a token names.
        raise CdsAuthError("The JWT's jku is not the JWKS URL registered for its issuer.")
    claims = _verify(token, client, header_fields.get("kid"), audience=endpoint_url(request))
    _check_lifetime(claims, now=now)
    _use_once(client, str(claims["jti"]), expires=int(claims["exp"]), now=now)
    return CdsCaller(client=client)


def _verify(token: str, client: CdsClient, kid: Any, *, audience: str) -> dict[str, Any]:
    key: Any
    if client.jwks_url:
        key = JWKS.key(client.jwks_url, kid if isinstance(kid, str) else None)
    else:
        key = client.public_key_pem.strip()
    try:
        return jwt.decode(
            token,
            key=key,
            algorithms=ALGORITHMS,
            audience=audience,
            issuer=client.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise CdsAuthError("The JWT has expired.") from error
    except jwt.InvalidAudienceError as error:
        raise CdsAuthError(f"The JWT's audience must be {audience}.") from error
    except jwt.InvalidSignatureError as error:
        raise CdsAuthError("The JWT's signature does not verify.") from error
    except jwt.MissingRequiredClaimError as error:
        raise CdsAuthError(f"The JWT lacks the {error.claim} claim.") from error
    except jwt.PyJWTError as error:
        raise CdsAuthError(f"The JWT is not valid: {error}.") from error


def _check_lifetime(claims: dict[str, Any], *, now: dt.datetime) -> None:
    if int(claims["exp"]) > now.timestamp() + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
        raise CdsAuthError("The JWT lives too long: exp must be within 5 minutes.")


#: Expired jti rows are deleted at most this often per process (they only take space: an
#: expired token is refused on `exp` before its jti is looked at).
PRUNE_EVERY_SECONDS = 60
_next_prune = 0.0


def _use_once(client: CdsClient, jti: str, *, expires: int, now: dt.datetime) -> None:
    """Record the jti, or refuse a replay: one INSERT … ON CONFLICT DO NOTHING RETURNING
    (PostgreSQL and SQLite alike), so the unique constraint decides in one round trip, also
    between concurrent requests."""
    global _next_prune  # noqa: PLW0603 — a per-process timer, not shared state
    if not jti or len(jti) > 255:
        raise CdsAuthError("The JWT's jti must be 1 to 255 characters.")
    expires_at = dt.datetime.fromtimestamp(expires + LEEWAY_SECONDS, tz=dt.UTC)
    table = connection.ops.quote_name(CdsTokenUse._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (client_id, jti, expires_at) VALUES (%s, %s, %s) "  # noqa: S608 — the table name is the model's
            "ON CONFLICT (client_id, jti) DO NOTHING RETURNING id",
            [client.pk, jti, expires_at],
        )
        is_new = cursor.fetchone() is not None
    if not is_new:
        raise CdsAuthError("The JWT has been used before (jti replayed).")
    if time.monotonic() >= _next_prune:
        _next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        CdsTokenUse.objects.filter(expires_at__lt=now).delete()
