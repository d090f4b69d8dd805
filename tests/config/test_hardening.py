"""Issue 11, configuration and headers: the secret key, the admin, the proxy header, database
timeouts, password rules, Cache-Control on every signed-in response, CSP and Permissions-Policy,
and a 403 logged in one line."""

from __future__ import annotations

import importlib
import json
import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import Resolver404, clear_url_caches, resolve, reverse

import config.urls
from tests.config.test_settings import _env, _run
from tests.patients.test_permissions import ROUTES, _kwargs

# --- L9: no generated secret key in production -----------------------------------------------


def _without_key(tmp_path, **overrides):
    env = _env(tmp_path, **overrides)
    env.pop("DJANGO_SECRET_KEY", None)
    return env


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run(["-c", "import config.settings"], _without_key(tmp_path))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_development_generates_a_key_once_into_var(tmp_path):
    code = "from django.conf import settings as s; print(s.SECRET_KEY)"
    env = _without_key(tmp_path, DJANGO_DEBUG="1")
    first = _run(["-c", f"import django; django.setup(); {code}"], env | _dj())
    second = _run(["-c", f"import django; django.setup(); {code}"], env | _dj())

    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert len(first.stdout.strip()) >= 50


def _dj() -> dict[str, str]:
    return {"DJANGO_SETTINGS_MODULE": "config.settings"}


def _setting(tmp_path, expr: str, **overrides) -> object:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({expr}))"
    )
    result = _run(["-c", code], _env(tmp_path, **overrides))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- L11: X-Forwarded-Proto trusted only behind configured proxies ---------------------------


def test_the_forwarded_proto_header_is_not_trusted_without_a_proxy(tmp_path):
    assert _setting(tmp_path, "s.SECURE_PROXY_SSL_HEADER") is None


def test_the_forwarded_proto_header_is_trusted_behind_a_configured_proxy(tmp_path):
    header = _setting(tmp_path, "s.SECURE_PROXY_SSL_HEADER", OSSA_TRUSTED_PROXY_COUNT="1")

    assert header == ["HTTP_X_FORWARDED_PROTO", "https"]


# --- M6: database timeouts ----------------------------------------------------------------------


def test_postgresql_connections_time_out_on_connect_and_on_a_long_statement(tmp_path):
    options = _setting(
        tmp_path, 's.DATABASES["default"]["OPTIONS"]', DATABASE_URL="postgres://u@db:5432/ossa"
    )

    assert options["connect_timeout"] == 5
    assert "-c statement_timeout=30000" in options["options"]


def test_the_web_statement_timeout_is_configurable(tmp_path):
    options = _setting(
        tmp_path,
        's.DATABASES["default"]["OPTIONS"]',
        DATABASE_URL="postgres://u@db:5432/ossa",
        OSSA_DB_STATEMENT_TIMEOUT_SECONDS="12",
    )

    assert "-c statement_timeout=12000" in options["options"]


@pytest.mark.django_db
def test_a_statement_that_runs_too_long_is_cancelled(require_postgres):
    from django.db import OperationalError, connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"
        cursor.execute("SET LOCAL statement_timeout = 100")
        with pytest.raises(OperationalError, match="statement timeout"), transaction.atomic():
            cursor.execute("SELECT pg_sleep(2)")


# --- L10: the admin is off in production unless asked for --------------------------------------


def _admin_routed() -> bool:
    importlib.reload(config.urls)
    clear_url_caches()
    try:
        resolve("/admin/")
    except Resolver404:
        return False
    return True


@pytest.fixture
def reload_urls():
    yield
    importlib.reload(config.urls)
    clear_url_caches()


@pytest.mark.parametrize(
    ("debug", "enabled", "routed"),
    [(False, False, False), (False, True, True), (True, False, True)],
)
def test_the_admin_is_routed_only_in_development_or_when_enabled(
    debug, enabled, routed, reload_urls
):
    with override_settings(DEBUG=debug, OSSA_ADMIN_ENABLED=enabled):
        assert _admin_routed() is routed


def test_production_leaves_the_admin_off_by_default(tmp_path):
    env = _env(tmp_path)
    env.pop("OSSA_ADMIN_ENABLED", None)
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.OSSA_ADMIN_ENABLED)"
    )
    result = _run(["-c", code], env)

    assert result.stdout.strip() == "False", result.stderr


# --- L4: passwords --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "attrs"),
    [
        ("load51234567", {"username": "load5"}),
        ("xxLOAD5-horse-battery", {"username": "load5"}),
        ("margaret-horse-9", {"username": "mh", "first_name": "Margaret"}),
        ("Hopkins-horse-99", {"username": "mh", "last_name": "hopkins"}),
        ("mhop77-horse-battery", {"username": "x1", "email": "mhop77@clinic.example"}),
    ],
)
def test_a_password_containing_the_users_names_is_refused(password, attrs, db):
    user = get_user_model()(**attrs)

    with pytest.raises(ValidationError) as error:
        validate_password(password, user=user)

    assert any("contains" in m for m in error.value.messages)


@pytest.mark.parametrize("password", ["short-1", "abcdefghij1"])
def test_a_password_shorter_than_12_characters_is_refused(password, db):
    with pytest.raises(ValidationError):
        validate_password(password, user=get_user_model()(username="someone"))


def test_a_long_unrelated_password_is_accepted(db):
    user = get_user_model()(username="load5", first_name="Al", email="load5@example.org")

    validate_password("purple-otter-glides-19", user=user)


# --- M1: no-store on every response to a signed-in user ------------------------------------------


@pytest.mark.parametrize(
    ("name", "converters"),
    [pytest.param(name, conv, id=name) for name, _, conv in ROUTES],
)
def test_every_response_to_a_signed_in_user_is_no_store_private(
    name, converters, world, clinician, client_for
):
    client = client_for(clinician)
    url = reverse(name, kwargs=_kwargs(converters, pk=world.patient.pk))

    for response in (client.get(url), client.post(url, {})):
        cache = {v.strip() for v in response.get("Cache-Control", "").split(",")}
        assert {"no-store", "private"} <= cache, (url, response.status_code, cache)


def test_an_htmx_partial_to_a_signed_in_user_is_no_store(clinician, client_for):
    client = client_for(clinician)

    response = client.get(reverse("patients:list"), headers={"HX-Request": "true"})

    assert "no-store" in response["Cache-Control"]


def test_the_login_page_of_a_visitor_keeps_no_store_off_static_files(client, db):
    response = client.get("/static/css/ossa.css")

    assert "no-store" not in response.get("Cache-Control", "")


# --- L5: Content-Security-Policy and Permissions-Policy -----------------------------------------


def _directives(response) -> dict[str, set[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: set(part.split()[1:]) for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("signed_in", [False, True])
def test_every_page_carries_a_strict_content_security_policy(
    signed_in, clinician, client, client_for
):
    if signed_in:
        client = client_for(clinician)
    response = client.get(reverse("dashboard") if signed_in else reverse("login"))

    directives = _directives(response)
    assert directives["default-src"] == {"'self'"}
    assert directives["script-src"] == {"'self'"}
    assert directives["style-src"] == {"'self'"}
    assert directives["img-src"] == {"'self'", "data:"}
    assert directives["object-src"] == {"'none'"}
    assert directives["frame-ancestors"] == {"'none'"}
    assert directives["base-uri"] == {"'self'"}
    assert directives["form-action"] == {"'self'"}
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_every_page_carries_a_permissions_policy(client, db):
    policy = client.get(reverse("login"))["Permissions-Policy"]

    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy


def test_htmx_is_told_not_to_inject_its_inline_indicator_style(client, db):
    html = client.get(reverse("login")).content.decode()

    config = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'>', html)
    assert config is not None
    assert json.loads(config.group(1))["includeIndicatorStyles"] is False
    # Settling would copy style attributes with setAttribute, which style-src refuses.
    assert "style" not in json.loads(config.group(1))["attributesToSettle"]


# --- a 403 is logged in one line, without a traceback ---------------------------------------------


def test_a_refused_request_is_logged_in_one_line_without_a_traceback(
    world, nurse, client_for, caplog
):
    client = client_for(nurse)
    url = reverse("patients:letter", args=[world.patient.pk])

    with caplog.at_level(logging.INFO):
        response = client.get(url)

    assert response.status_code == 403
    security = [r for r in caplog.records if r.name == "ossa.security"]
    assert len(security) == 1
    message = security[0].getMessage()
    assert f"user={nurse.pk}" in message
    assert f"path={url}" in message
    assert "method=GET" in message
    assert "\n" not in message
    assert all(r.exc_info is None for r in caplog.records)
    assert not [r for r in caplog.records if r.name == "django.request"]
