"""Reading a patient's record from the EHR's FHIR server when the hook request's prefetch lacks
some of it: the `fhirServer` and `fhirAuthorization` the request carries, one kept HTTP client
(connections are reused between hook calls), 2 seconds at most per call, search pages followed
up to a bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

#: Per call (connect, read, write, pool): an EHR waits for the whole hook answer.
TIMEOUT_SECONDS = 2.0
#: Search result pages followed per query (a 20-year history fits in a few pages of 1000).
MAX_PAGES = 20
PAGE_SIZE = 1000


class FhirServerError(Exception):
    """The EHR's FHIR server could not be read; the message says what failed."""


class FhirClient:
    """A kept `httpx.Client`: one connection pool for every hook call of the process."""

    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
            transport=transport,
            headers={"Accept": "application/fhir+json"},
        )

    def close(self) -> None:
        self._http.close()

    def read(self, base: str, query: str, *, token: str | None) -> dict[str, Any]:
        """One resource or the Bundle of a search, `query` relative to `base`
        ("Patient/123", "Condition?patient=123"); search pages are merged into one Bundle."""
        url = _under(base, query)
        first = self._get(url, token=token)
        if first.get("resourceType") != "Bundle":
            return first
        entries = list(first.get("entry") or [])
        page = first
        for _ in range(MAX_PAGES - 1):
            next_url = _next_link(page)
            if next_url is None:
                break
            page = self._get(_under(base, next_url), token=token)
            entries.extend(page.get("entry") or [])
        return {**first, "entry": entries}

    def _get(self, url: str, *, token: str | None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self._http.get(url, headers=headers)
        except httpx.TimeoutException as error:
            raise FhirServerError(f"The FHIR server did not answer in time: {url}") from error
        except httpx.HTTPError as error:
            raise FhirServerError(f"The FHIR server could not be reached: {url}") from error
        if response.status_code != 200:
            raise FhirServerError(f"The FHIR server answered {response.status_code}: {url}")
        try:
            data = response.json()
        except ValueError as error:
            raise FhirServerError(f"The FHIR server answered with no JSON: {url}") from error
        if not isinstance(data, dict):
            raise FhirServerError(f"The FHIR server answered with no resource: {url}")
        return data


def _under(base: str, query: str) -> str:
    """`query` resolved against the server's base; an absolute `next` link must stay on the
    same server (the token is not sent elsewhere)."""
    root = base.rstrip("/") + "/"
    url = urljoin(root, query)
    if urlsplit(url).netloc != urlsplit(root).netloc:
        raise FhirServerError(f"A link leaves the FHIR server: {query}")
    return url


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def resources_of(data: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """The resources in a prefetch value or a read: a resource, or a Bundle's entries."""
    if not data:
        return
    if data.get("resourceType") == "Bundle":
        for entry in data.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") != "OperationOutcome":
                yield resource
    else:
        yield data


#: The process's client, kept between hook calls (tests swap it for one on a mock transport).
_CLIENT: FhirClient | None = None


def fhir_client() -> FhirClient:
    global _CLIENT  # noqa: PLW0603 — one pool per process, created on first use
    if _CLIENT is None:
        _CLIENT = FhirClient()
    return _CLIENT


def set_fhir_client(client: FhirClient | None) -> FhirClient | None:
    """Swap the kept client (tests); returns the previous one."""
    global _CLIENT  # noqa: PLW0603
    previous, _CLIENT = _CLIENT, client
    return previous
