"""Settings read from the environment fail loudly on bad values, and the production settings pass
Django's deployment checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parents[2]
VAR = "OSSA_TEST_SETTING"


# --- env_bool ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "True", "YES", "on", " yes "])
def test_env_bool_reads_true(raw, monkeypatch):
    monkeypatch.setenv(VAR, raw)

    assert env_bool(VAR, False) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", ""])
def test_env_bool_reads_false(raw, monkeypatch):
    monkeypatch.setenv(VAR, raw)

    assert env_bool(VAR, True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_falls_back_to_the_default_when_unset(default, monkeypatch):
    monkeypatch.delenv(VAR, raising=False)

    assert env_bool(VAR, default) is default


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "y es"])
def test_env_bool_refuses_anything_else(raw, monkeypatch):
    monkeypatch.setenv(VAR, raw)

    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_bool(VAR, False)


# --- env_int ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value"), [("42", 42), ("0", 0), (" 7 ", 7), ("-3", -3)])
def test_env_int_reads_a_whole_number(raw, value, monkeypatch):
    monkeypatch.setenv(VAR, raw)

    assert env_int(VAR, 1) == value


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_env_int_falls_back_to_the_default_when_unset_or_empty(raw, monkeypatch):
    if raw is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, raw)

    assert env_int(VAR, 15) == 15


@pytest.mark.parametrize("raw", ["seven", "1.5", "15m", "0x10"])
def test_env_int_refuses_what_is_not_a_whole_number(raw, monkeypatch):
    monkeypatch.setenv(VAR, raw)

    with pytest.raises(ImproperlyConfigured, match="is not a whole number"):
        env_int(VAR, 1)


def test_env_int_refuses_a_value_below_the_minimum(monkeypatch):
    monkeypatch.setenv(VAR, "0")

    with pytest.raises(ImproperlyConfigured, match="must be at least 1"):
        env_int(VAR, 5, minimum=1)


def test_env_int_accepts_the_minimum_itself(monkeypatch):
    monkeypatch.setenv(VAR, "1")

    assert env_int(VAR, 5, minimum=1) == 1


# --- env_list ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "items"),
    [
        ("ossa.example.org", ["ossa.example.org"]),
        ("a.example.org, b.example.org", ["a.example.org", "b.example.org"]),
        (" a ,, b ,", ["a", "b"]),
    ],
)
def test_env_list_splits_on_commas_and_drops_blanks(raw, items, monkeypatch):
    monkeypatch.setenv(VAR, raw)

    assert env_list(VAR, ["default"]) == items


def test_env_list_falls_back_to_the_default_when_unset(monkeypatch):
    monkeypatch.delenv(VAR, raising=False)

    assert env_list(VAR, ["localhost"]) == ["localhost"]


@pytest.mark.parametrize("raw", ["", " ", ","])
def test_env_list_does_not_silently_turn_an_empty_variable_into_no_items(raw, monkeypatch):
    monkeypatch.setenv(VAR, raw)

    try:
        items = env_list(VAR, ["localhost"])
    except ImproperlyConfigured:
        return
    assert items == ["localhost"]


# --- env_str ----------------------------------------------------------------------------------


def test_env_str_reads_the_value(monkeypatch):
    monkeypatch.setenv(VAR, "postgres://db/ossa")

    assert env_str(VAR) == "postgres://db/ossa"


@pytest.mark.parametrize("raw", [None, ""])
def test_env_str_falls_back_to_the_default_when_unset_or_empty(raw, monkeypatch):
    if raw is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, raw)

    assert env_str(VAR, "fallback") == "fallback"


@pytest.mark.parametrize("raw", [None, ""])
def test_env_str_without_a_default_refuses_a_missing_value(raw, monkeypatch):
    if raw is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, raw)

    with pytest.raises(ImproperlyConfigured, match=f"Set the environment variable {VAR}"):
        env_str(VAR)


# --- the settings module ----------------------------------------------------------------------


def test_security_settings_of_the_issue(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    assert "config.session.SessionIdleMiddleware" in settings.MIDDLEWARE  # idle sessions end
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.USE_TZ is True
    lengths = [
        v.get("OPTIONS", {}).get("min_length")
        for v in settings.AUTH_PASSWORD_VALIDATORS
        if v["NAME"].endswith("MinimumLengthValidator")
    ]
    assert lengths == [12]


def _env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The test process's environment without the switches tests/testenv.py turns off, with the
    production variables of the issue."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "OSSA_SSL_REDIRECT",
            "OSSA_SECURE_COOKIES",
            "OSSA_STATIC_MANIFEST",
            "OSSA_REQUIRE_2FA",
            "OSSA_ADMIN_ENABLED",
            "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests for their own process
        }
    }
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="ossa.example.org",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        DJANGO_SETTINGS_MODULE="config.settings",
        OSSA_VAR_DIR=str(tmp_path),
    )
    env.update(overrides)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 — our own interpreter and manage.py
        [sys.executable, *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_production_settings_pass_the_deployment_checks(tmp_path):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deployment_checks_fail_with_debug_on(tmp_path):
    """The check above is not vacuous: it catches DEBUG left on in production."""
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        _env(tmp_path, DJANGO_DEBUG="1"),
    )

    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("OSSA_SESSION_IDLE_MINUTES", "0"),
        ("OSSA_LOGIN_FAILURE_LIMIT", "five"),
        ("DATABASE_URL", "mysql://db/ossa"),
    ],
)
def test_the_settings_refuse_to_load_with_a_bad_value(name, value, tmp_path):
    result = _run(["-c", "import config.settings"], _env(tmp_path, **{name: value}))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


def test_the_wsgi_application_loads_every_view_then_freezes_what_it_holds(tmp_path):
    """config/wsgi.py: a full garbage collection in a web worker walks only what requests made,
    not the 145,000 objects the loaded application holds for its whole life."""
    probe = (
        "import gc, sys\n"
        "import config.wsgi\n"
        "print(gc.get_freeze_count(), 'patients.views' in sys.modules, "
        "'monitoring.reminder_views' in sys.modules)"
    )
    result = _run(["-c", probe], _env(tmp_path))

    assert result.returncode == 0, result.stderr
    frozen, views_loaded, worklist_loaded = result.stdout.split()
    assert int(frozen) > 50_000
    assert (views_loaded, worklist_loaded) == ("True", "True")
