"""A refused request (PermissionDenied, 403) is logged in one line on logger `ossa.security`:
who (user id), what (method and path). Django's own log line for it (logger django.request, with
the exception's traceback) is dropped by `DropForbidden`: a refusal is an expected event, not an
error, and a traceback per refusal drowns the log."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.defaults import permission_denied as django_permission_denied

security_log = logging.getLogger("ossa.security")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else "-"
    security_log.warning(
        "403 forbidden user=%s method=%s path=%s",
        user_id,
        request.method,
        # One line whatever the path holds (a %0A in a URL is a newline once decoded).
        request.path.encode("unicode_escape").decode("ascii"),
    )
    return django_permission_denied(request, exception)


class DropForbidden(logging.Filter):
    """Drops django.request's record of a 403 (the one line above says it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 403
