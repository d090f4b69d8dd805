"""Idle sessions: a warning before the idle timeout, "Stay signed in", and a form posted after
the session ended that is not lost.

The session ends `OSSA_SESSION_IDLE_MINUTES` after the last request (`SESSION_COOKIE_AGE`),
or up to a minute sooner: `SessionIdleMiddleware` renews it (stores it again, with a new
expiry) on a request that comes at least `touch_seconds()` (a minute; a quarter of a shorter
idle time) after it was last renewed, not on every request. Writing the session on every page
view (`SESSION_SAVE_EVERY_REQUEST`) cost three statements and a commit per page (3-7 ms of a
30-45 ms page at 100,000 patients, issue 14). So a session can end up to a minute *before* the
idle time has passed since the last request, never after it. Every signed-in page carries the
time left (from the last renewal) and the warning lead (`session_timeout`);
`static/js/session.js` counts down from the page's last request and,
`OSSA_SESSION_WARNING_SECONDS` (two minutes; half a shorter idle time) before the end, shows the
warning. Its count can run up to one renewal interval past the session's end (a request that
did not renew it restarts the count); the lead is at least twice that interval, so the warning
always comes while the session is still alive. "Stay signed in" posts to `session_touch`, which
always renews it.

A form posted after the session ended is answered with the login page, as every request of a
signed-out user is; `IdleLoginRequiredMiddleware` sends the user back, once signed in, to the
page the form was on (its `Referer`, when it is a page of this site) instead of the URL it posted
to, which may answer POST only. What was typed comes back with the browser, not the server:

Reading (where what was typed is kept). `session.js` copies a form's fields into the tab's
`sessionStorage` when it is submitted, and puts them back in the same form of the same page
after signing in, only for the same user, then deletes them; any other page load deletes them
too, and a copy older than two hours is never used. Passwords, CSRF tokens, hidden and file
fields are never copied. Nothing typed goes into a URL (only the path of the page the user was
on, as `next`), into a cookie, or into the server's session store. Keeping the POST on the
server was rejected: the expired session is gone, so the server can no longer tell whose data it
holds; it would sit in an anonymous session that whoever next uses that browser could sign into.
`sessionStorage` lives in one tab, is never sent to the server and is cleared with the tab.

Absolute lifetime. However active, a session ends `OSSA_SESSION_MAX_HOURS` (12) after sign-in:
the time of sign-in is kept in the session (`user_logged_in`), and `SessionLifetimeMiddleware`
signs out a request that comes later, or a session that has no time of sign-in (one from before
this rule), and the page then asks to sign in again as after the idle timeout.
"""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: Session key: when the user signed in (seconds since the epoch).
SIGNED_IN_AT = "ossa_signed_in_at"
#: Session key: when the session was last renewed (seconds since the epoch): it ends
#: SESSION_COOKIE_AGE after that.
RENEWED_AT = "ossa_renewed_at"


def touch_seconds() -> int:
    """How long after its last renewal a request renews the session again: a minute, or a
    quarter of a shorter idle time (the warning lead is at least twice this)."""
    return min(60, settings.SESSION_COOKIE_AGE // 4)


def warning_seconds() -> int:
    """How long before the idle timeout the page warns: OSSA_SESSION_WARNING_SECONDS, at most
    half the idle time, so that a short timeout does not warn on arrival (and at least twice
    `touch_seconds()`, so that the warning comes while the session is alive)."""
    return min(settings.OSSA_SESSION_WARNING_SECONDS, settings.SESSION_COOKIE_AGE // 2)


def _renew(session: Any, now: float) -> None:
    session[RENEWED_AT] = now  # modified: SessionMiddleware stores it, expiring in the idle time


def _renewed_at(session: Any) -> float | None:
    """When the session was last renewed; None for one from before this rule. Reading it
    loads the session: one that has ended (or was ended) is then empty and has no key."""
    renewed_at = session.get(RENEWED_AT)
    return renewed_at if isinstance(renewed_at, int | float) else None


@receiver(user_logged_in, dispatch_uid="ossa-session-signed-in-at")
def _remember_sign_in(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SIGNED_IN_AT] = now
        _renew(request.session, now)


class SessionLifetimeMiddleware:
    """Signs out a session older than OSSA_SESSION_MAX_HOURS (after AuthenticationMiddleware,
    before the login-required one, which then sends the user to the login page)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            signed_in_at = request.session.get(SIGNED_IN_AT)
            max_age = settings.OSSA_SESSION_MAX_HOURS * 60 * 60
            if not isinstance(signed_in_at, int | float) or time.time() - signed_in_at >= max_age:
                logout(request)
        return self.get_response(request)


class SessionIdleMiddleware:
    """Renews an existing session when it was last renewed `touch_seconds()` ago or more (or
    never: a session from before this rule), so that it ends SESSION_COOKIE_AGE after that
    (after SessionLifetimeMiddleware: a session past its lifetime is not renewed). A request
    without a session (no cookie, or the cookie of one that has ended) creates none."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None:
            now, renewed_at = time.time(), _renewed_at(session)  # no cookie: no query
            if session.session_key is not None and (
                renewed_at is None or now - renewed_at >= touch_seconds()
            ):
                _renew(session, now)
        return self.get_response(request)


def session_timeout(request: HttpRequest) -> dict[str, Any]:
    """The time left before the idle timeout and the warning lead of a signed-in page, in
    seconds, for session.js: the time left counts from the session's last renewal, which may
    be up to `touch_seconds()` before this request; the lead is `warning_seconds()`."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    idle = settings.SESSION_COOKIE_AGE
    renewed_at = _renewed_at(request.session)
    left = idle
    if renewed_at is not None:
        # Rounded up: the countdown never says "ended" while the session is still alive.
        left = max(0, min(idle, math.ceil(renewed_at + idle - time.time())))
    return {
        "session_idle_seconds": left,
        "session_warning_seconds": warning_seconds(),
    }


@require_POST
def session_touch(request: HttpRequest) -> JsonResponse:
    """Stay signed in: renews the session whenever it was last renewed; the answer says how
    long it now lasts. A signed-out user is sent to the login page as from any page."""
    _renew(request.session, time.time())
    return JsonResponse({"idle_seconds": settings.SESSION_COOKIE_AGE})


def _referring_page(request: HttpRequest) -> str | None:
    """The path (and query) of the page of this site the request came from, if it says."""
    referer = request.headers.get("Referer", "")
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(referer)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path or None


class IdleLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, except for a form posted by a signed-out user (most
    often: after the session ended): once signed in, the user goes back to the page the form was
    on, where session.js puts back what was typed. An htmx request is told to load the login
    page rather than swap it into part of the page."""

    def handle_no_permission(self, request: HttpRequest, view_func: Any) -> HttpResponse:
        if request.method in _SAFE_METHODS:
            return super().handle_no_permission(request, view_func)
        page = _referring_page(request) or request.get_full_path()
        login = redirect_to_login(
            page,
            resolve_url(self.get_login_url(view_func)),
            self.get_redirect_field_name(view_func),
        )
        if request.headers.get("HX-Request") == "true":
            return HttpResponse(status=204, headers={"HX-Redirect": login["Location"]})
        return login
