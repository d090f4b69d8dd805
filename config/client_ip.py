"""The client's IP address, for django-axes (AXES_CLIENT_IP_CALLABLE).

Without trusted proxies (`OSSA_TRUSTED_PROXY_COUNT` unset or 0) it is REMOTE_ADDR: a client can
write any X-Forwarded-For it likes. Behind N trusted proxies, each appends the address it was
reached from, so the N-th address from the right was written by the outermost proxy and is the
client's; whatever stands left of it came from the client and is ignored.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    count = settings.OSSA_TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR")
    if not count:
        return remote
    forwarded = [
        a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()
    ]
    if len(forwarded) < count:
        # Fewer hops than proxies configured: not a request that came through all of them.
        return remote
    return forwarded[-count]
