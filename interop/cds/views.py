"""The CDS Hooks endpoints: discovery, the two services and their feedback.

Every endpoint is called by an EHR, not by a signed-in person: no session, no CSRF token (the
EHR's signed JWT stands in for both), CORS open to any origin for the browser-based CDS clients
the spec allows (no cookie is read, so no credentials are shared). The order of checks:
size (413, before reading the body) → JWT (401) → JSON (400) → the service.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from interop.cds import services
from interop.cds.auth import CdsAuthError, CdsCaller, authenticate
from interop.cds.client import fhir_client

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}

Handler = Callable[..., HttpResponse]


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="ossa-cds"'
    return response


def _body(request: HttpRequest) -> bytes | None:
    """The body, or None when it is over OSSA_CDS_MAX_REQUEST_BYTES (read no further)."""
    limit = settings.OSSA_CDS_MAX_REQUEST_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def cds_endpoint(methods: tuple[str, ...]) -> Callable[[Handler], Handler]:
    """The checks every CDS endpoint makes, in order; the view gets the caller and, for a
    POST, the parsed JSON body."""

    def decorate(view: Handler) -> Handler:
        @csrf_exempt
        @login_not_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = _dispatch(view, request, *args, **kwargs)
            for header, value in CORS_HEADERS.items():
                response[header] = value
            return response

        def _dispatch(view: Handler, request: HttpRequest, *args: Any, **kwargs: Any):
            if request.method == "OPTIONS":  # a browser's CORS preflight: no credentials
                return HttpResponse(status=204)
            if request.method not in methods:
                response = _error(405, f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join((*methods, "OPTIONS"))
                return response
            data: Any = None
            if request.method == "POST":
                body = _body(request)
                if body is None:
                    limit = settings.OSSA_CDS_MAX_REQUEST_BYTES
                    return _error(413, f"The request is larger than {limit} bytes.")
            try:
                caller = authenticate(request, now=timezone.now())
            except CdsAuthError as error:
                return _error(401, str(error))
            if request.method == "POST":
                try:
                    data = json.loads(body)
                except (UnicodeDecodeError, json.JSONDecodeError) as error:
                    return _error(400, f"The body is not JSON: {error}.")
            try:
                return view(request, caller, data, *args, **kwargs)
            except services.CdsRequestError as error:
                return _error(error.status, error.message)

        return wrapper

    return decorate


@cds_endpoint(("GET",))
def discovery(request: HttpRequest, caller: CdsCaller, data: Any) -> HttpResponse:
    return JsonResponse(services.discovery())


@cds_endpoint(("POST",))
def service(request: HttpRequest, caller: CdsCaller, data: Any, service_id: str) -> HttpResponse:
    if service_id not in services.SERVICES:
        return _error(404, f"No CDS service {service_id}.")
    hook = services.hook_request_parse(service_id, data)
    body = services.hook_answer(
        hook,
        client=caller.client,
        fhir=fhir_client(),
        today=timezone.localdate(),
        now=timezone.now(),
    )
    return JsonResponse(body)


@cds_endpoint(("POST",))
def feedback(request: HttpRequest, caller: CdsCaller, data: Any, service_id: str) -> HttpResponse:
    if service_id not in services.SERVICES:
        return _error(404, f"No CDS service {service_id}.")
    rows = services.cds_feedback_record(service=service_id, client=caller.client, data=data)
    return JsonResponse({"stored": len(rows)})
