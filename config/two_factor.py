"""The second sign-in factor: a TOTP code from an authenticator app (django-otp).

Required for every role when `OSSA_REQUIRE_2FA` is on (the default whenever DEBUG is off).
After the password, a user without a confirmed device is sent to `setup` (a QR code drawn on the
server as SVG, and the secret in base32 for typing in), and a user with one to `verify`. Until
the code is accepted, every other page refuses (`TwoFactorRequiredMiddleware`); the sign-in and
sign-out pages, these two, and /healthz stay reachable (static files are served before it).

A wrong code counts towards django-otp's throttling: after each failure the device refuses
every code, right or wrong, for an interval that doubles (1 s, 2 s, 4 s, ...), and the count
starts again with the next right code. The setup page only exists for a user without a confirmed
device: someone who has stolen the password cannot enrol their own phone in its place.
"""

from __future__ import annotations

import base64
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

#: URL names a signed-in but unverified user may reach.
EXEMPT = frozenset(
    {"login", "logout", "healthz", "two-factor-setup", "two-factor-verify", "session-touch"}
)


def two_factor(request: HttpRequest) -> dict[str, Any]:
    """Template flag for base.html's banner when the second factor is off (development)."""
    return {"two_factor_off": not settings.OSSA_REQUIRE_2FA}


def _needs_second_factor(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(
        settings.OSSA_REQUIRE_2FA
        and user is not None
        and user.is_authenticated
        and not user.is_verified()
    )


def _confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


class TwoFactorRequiredMiddleware:
    """Sends a user signed in with the password only to the setup or the verify page."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not _needs_second_factor(request):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in EXEMPT:
            return None
        name = "two-factor-verify" if _confirmed_device(request.user) else "two-factor-setup"
        target = redirect_to_login(request.get_full_path(), reverse(name))["Location"]
        if request.headers.get("HX-Request") == "true":
            return HttpResponse(status=204, headers={"HX-Redirect": target})
        return redirect(target)


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def __init__(self, *args: Any, device: TOTPDevice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].replace(" ", "")
        allowed, _ = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError(
                "Too many wrong codes in a row: wait a few seconds, then type the current code."
            )
        if not token.isdigit() or not self.device.verify_token(token):
            raise forms.ValidationError("This code is not right. Type the current code.")
        return token


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _signed_in_with(request: HttpRequest, device: TOTPDevice) -> HttpResponse:
    request.session.cycle_key()
    otp_login(request, device)
    return redirect(_next_url(request))


def _qr_svg(device: TOTPDevice) -> str:
    return segno.make(device.config_url, error="m").svg_inline(
        scale=5, light="#fff", title="QR code for your authenticator app"
    )


@never_cache
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the code (or type the secret), then type a code."""
    if not settings.OSSA_REQUIRE_2FA or request.user.is_verified():
        return redirect(_next_url(request))
    if _confirmed_device(request.user):
        return redirect(f"{reverse('two-factor-verify')}?{request.GET.urlencode()}")
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by(
        "pk"
    ).first() or TOTPDevice.objects.create(
        user=request.user, name="Authenticator app", confirmed=False
    )
    device.user = request.user  # the QR code's label names the user: no second read
    form = TokenForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return _signed_in_with(request, device)
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": mark_safe(_qr_svg(device)),  # noqa: S308 — segno's own SVG markup
            "secret": base64.b32encode(device.bin_key).decode("ascii"),
            "next": _next_url(request),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of every sign-in: the current code of the enrolled app."""
    if not settings.OSSA_REQUIRE_2FA or request.user.is_verified():
        return redirect(_next_url(request))
    device = _confirmed_device(request.user)
    if device is None:
        return redirect(f"{reverse('two-factor-setup')}?{request.GET.urlencode()}")
    form = TokenForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        return _signed_in_with(request, device)
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request)}
    )
