"""GET /healthz: the database and the broker, 200 when both answer and 503 when one does not."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection

from config import health

BROKER_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_the_health_check_answers_200_with_the_status_of_database_and_broker(client, db):
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


def test_the_health_check_answers_503_when_the_broker_is_down(client, db, settings):
    settings.CELERY_BROKER_URL = BROKER_DOWN
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False
    assert body["broker"]["detail"]  # the exception's name, e.g. OperationalError


class _DownDatabase:
    def cursor(self):
        raise OperationalError("could not connect to server")


def test_the_health_check_answers_503_when_the_database_is_down(client, db, monkeypatch):
    monkeypatch.setattr(health, "connection", _DownDatabase())

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == {"ok": False, "detail": "OperationalError"}
    assert body["broker"]["ok"] is True


def test_the_health_check_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405


def test_the_health_check_is_not_redirected_to_https(client, db, settings):
    """Load balancers probe it over plain HTTP inside the network; every other page redirects."""
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


@pytest.mark.redis
def test_the_health_check_reaches_the_real_redis_broker(client, db, settings, require_redis):
    settings.CELERY_BROKER_URL = require_redis
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 3}

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["broker"] == {"ok": True, "detail": "redis"}
