"""GET /healthz: is the database reachable, is the broker reachable? 200 or 503, as JSON.

It answers within `BUDGET_SECONDS` (3 s) whatever the services do: each check runs in its own
thread, and a check still running when the budget is spent counts as down (a database that
accepts connections but never answers, a broker that hangs). The database check opens its own
short-lived connection with a connect timeout and a statement timeout under the budget, so a
hung check's thread ends by itself soon after.

An anonymous caller (a load balancer) learns only `{"status": "ok"}` or
`{"status": "unavailable"}`; which service failed, and why, is shown to a signed-in staff user or
superuser (the people who run Ossa), and only once past the second factor when it is required.
"""

from __future__ import annotations

import concurrent.futures
import math
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connections
from django.db.utils import load_backend
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

BUDGET_SECONDS = 3.0
_CHECK_TIMEOUT_SECONDS = 2  # each service's own timeouts, under the budget


def _database_settings() -> dict[str, Any]:
    """The default database's settings, with timeouts that fit the budget."""
    settings_dict = dict(connections["default"].settings_dict)
    options = dict(settings_dict.get("OPTIONS") or {})
    if settings_dict["ENGINE"] == "django.db.backends.postgresql":
        options["connect_timeout"] = _CHECK_TIMEOUT_SECONDS
        options["options"] = f"-c statement_timeout={_CHECK_TIMEOUT_SECONDS * 1000}"
    elif settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        options["timeout"] = _CHECK_TIMEOUT_SECONDS
    settings_dict["OPTIONS"] = options
    return settings_dict


def database_ok() -> tuple[bool, str]:
    settings_dict = _database_settings()
    backend = load_backend(settings_dict["ENGINE"])
    conn = backend.DatabaseWrapper(settings_dict, alias="healthz")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 — any failure means "down"; say which
        return False, type(error).__name__
    finally:
        conn.close()
    return True, conn.vendor


def broker_ok() -> tuple[bool, str]:
    url = settings.CELERY_BROKER_URL
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    if "socket_timeout" in options:
        options["socket_timeout"] = min(options["socket_timeout"], _CHECK_TIMEOUT_SECONDS)
    try:
        with Connection(
            url, transport_options=options, connect_timeout=_CHECK_TIMEOUT_SECONDS
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=_CHECK_TIMEOUT_SECONDS)
            transport = conn.transport_cls
    except Exception as error:  # noqa: BLE001
        return False, type(error).__name__
    return True, str(transport)


def _run_within_budget(checks: dict[str, Callable[[], tuple[bool, str]]]) -> dict[str, Any]:
    """Each check in its own thread; one not done when the budget is spent is down."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(checks))
    try:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        deadline = time.monotonic() + BUDGET_SECONDS
        results: dict[str, Any] = {}
        for name, future in futures.items():
            try:
                ok, detail = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except concurrent.futures.TimeoutError:
                ok, detail = False, f"no answer within {math.floor(BUDGET_SECONDS)} s"
            results[name] = {"ok": ok, "detail": detail}
        return results
    finally:
        # A hung check's thread is left to end on its own timeouts; never wait for it here.
        pool.shutdown(wait=False, cancel_futures=True)


def _may_see_details(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not (user.is_staff or user.is_superuser):
        return False
    return not settings.OSSA_REQUIRE_2FA or user.is_verified()


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results = _run_within_budget({"database": database_ok, "broker": broker_ok})
    status = "ok" if all(r["ok"] for r in results.values()) else "unavailable"
    body: dict[str, Any] = {"status": status}
    if _may_see_details(request):
        body.update(results)
    return JsonResponse(body, status=200 if status == "ok" else 503)
