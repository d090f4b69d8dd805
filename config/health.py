"""GET /healthz: is the database reachable, is the broker reachable? 200 or 503, as JSON."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection


def database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 — any failure means "down"; say which
        return False, type(error).__name__
    return True, connection.vendor


def broker_ok() -> tuple[bool, str]:
    url = settings.CELERY_BROKER_URL
    try:
        with Connection(
            url,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as error:  # noqa: BLE001
        return False, type(error).__name__
    return True, str(transport)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    db_up, db_detail = database_ok()
    broker_up, broker_detail = broker_ok()
    status = "ok" if db_up and broker_up else "unavailable"
    return JsonResponse(
        {
            "status": status,
            "database": {"ok": db_up, "detail": db_detail},
            "broker": {"ok": broker_up, "detail": broker_detail},
        },
        status=200 if status == "ok" else 503,
    )
