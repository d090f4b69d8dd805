"""GET /healthz: the database and the broker, 200 when both answer and 503 when one does not."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.db import connection

from config import health

BROKER_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def staff_client(client, db):
    """Details are for staff (an anonymous caller gets only the status)."""
    from tests import factories

    user = factories.UserFactory(username="ops")
    user.is_staff = True
    user.save()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_the_health_check_answers_200_with_the_status_of_database_and_broker(staff_client):
    client = staff_client
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True, "detail": connection.vendor},
        "broker": {"ok": True, "detail": response.json()["broker"]["detail"]},
    }


def test_the_health_check_needs_no_login_and_is_never_cached(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_the_health_check_answers_503_when_the_broker_is_down(staff_client, settings):
    client = staff_client
    settings.CELERY_BROKER_URL = BROKER_DOWN
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False
    assert body["broker"]["detail"]  # the exception's name, e.g. OperationalError


def test_the_health_check_answers_503_when_the_database_is_down(
    staff_client, monkeypatch, require_postgres
):
    """A PostgreSQL server that refuses the connection (SQLite has no port to refuse)."""
    client = staff_client
    real = health._database_settings
    # Nothing listens on port 1: the connection is refused.
    monkeypatch.setattr(health, "_database_settings", lambda: {**real(), "PORT": "1"})

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is False
    assert body["database"]["detail"] in {"OperationalError", "refused"}
    assert body["broker"]["ok"] is True


def test_the_health_check_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405


def test_the_health_check_is_not_redirected_to_https(client, db, settings):
    """Load balancers probe it over plain HTTP inside the network; every other page redirects."""
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


@pytest.mark.redis
def test_the_health_check_reaches_the_real_redis_broker(staff_client, settings, require_redis):
    client = staff_client
    settings.CELERY_BROKER_URL = require_redis
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 3}

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["broker"] == {"ok": True, "detail": "redis"}


# --- issue 11: a hung database or broker, and what an anonymous caller learns -----------------


@pytest.fixture
def hung_server():
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


def test_a_hung_database_answers_503_within_the_budget(
    client, db, monkeypatch, hung_server, require_postgres
):
    real = health._database_settings

    def hung() -> dict:
        return {**real(), "HOST": "127.0.0.1", "PORT": str(hung_server)}

    monkeypatch.setattr(health, "_database_settings", hung)

    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert elapsed < 3.5
    assert response.json() == {"status": "unavailable"}


def test_a_hung_broker_answers_503_within_the_budget(client, db, settings, hung_server):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{hung_server}/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 3}

    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert elapsed < 3.5


def test_an_anonymous_caller_learns_only_ok_or_not(client, db, settings):
    assert client.get("/healthz").json() == {"status": "ok"}

    settings.CELERY_BROKER_URL = BROKER_DOWN
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    assert client.get("/healthz").json() == {"status": "unavailable"}


@pytest.mark.parametrize(
    ("is_staff", "is_superuser"), [(False, False), (True, False), (False, True)]
)
def test_only_staff_and_superusers_see_the_details(is_staff, is_superuser, clinician, client_for):
    clinician.is_staff, clinician.is_superuser = is_staff, is_superuser
    clinician.save()

    body = client_for(clinician).get("/healthz").json()

    assert ("database" in body) is (is_staff or is_superuser)
