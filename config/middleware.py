"""Headers on every response: `Cache-Control: no-store, private` to a signed-in user (pages,
exports, PDFs, htmx partials: nothing of a patient is kept in a browser's or a proxy's cache, so
the back button after sign-out shows nothing), and a Permissions-Policy that turns off browser
features no page uses. Static files are answered by WhiteNoise before this runs and stay
cacheable."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Whether the user was signed in when the request came: a sign-out page is private too.
        user = getattr(request, "user", None)
        signed_in = bool(user is not None and user.is_authenticated)
        response = self.get_response(request)
        if signed_in:
            patch_cache_control(response, no_store=True, private=True)
            response.headers.pop("Expires", None)
        response.headers.setdefault("Permissions-Policy", settings.OSSA_PERMISSIONS_POLICY)
        return response
