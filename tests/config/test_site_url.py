"""OSSA_SITE_URL: where e-mails link to. Required and checked when DEBUG is off; a local default
while debugging."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_url
from tests.config.test_settings import _env, _run

VAR = "OSSA_TEST_URL"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("https://ossa.hospital.example", "https://ossa.hospital.example"),
        ("https://ossa.hospital.example/", "https://ossa.hospital.example"),
        ("http://10.0.0.5:8000/ossa/", "http://10.0.0.5:8000/ossa"),
        (" https://ossa.example ", "https://ossa.example"),
    ],
)
def test_env_url_reads_an_absolute_address(raw, value, monkeypatch):
    monkeypatch.setenv(VAR, raw)

    assert env_url(VAR) == value


@pytest.mark.parametrize(
    "raw", ["ossa.hospital.example", "/ossa", "ftp://ossa.example", "https://", "http://a b.org"]
)
def test_env_url_refuses_what_is_not_an_absolute_http_address(raw, monkeypatch):
    monkeypatch.setenv(VAR, raw)

    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_url(VAR)


def test_env_url_without_a_default_refuses_a_missing_value(monkeypatch):
    monkeypatch.delenv(VAR, raising=False)

    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_url(VAR)


def test_production_settings_refuse_to_load_without_the_site_address(tmp_path):
    env = _env(tmp_path)
    env.pop("OSSA_SITE_URL", None)

    result = _run(["-c", "import config.settings"], env)

    assert result.returncode != 0
    assert "OSSA_SITE_URL" in result.stderr


def test_production_settings_refuse_a_relative_site_address(tmp_path):
    result = _run(["-c", "import config.settings"], _env(tmp_path, OSSA_SITE_URL="/ossa"))

    assert result.returncode != 0
    assert "OSSA_SITE_URL" in result.stderr


def test_debugging_links_to_the_local_server_by_default(tmp_path):
    env = _env(tmp_path, DJANGO_DEBUG="1")
    env.pop("OSSA_SITE_URL", None)

    result = _run(
        ["-c", "from django.conf import settings; print(settings.OSSA_SITE_URL)"],
        {**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:8000"


def test_the_deployment_checks_pass_with_the_site_address_set(tmp_path):
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        _env(tmp_path, OSSA_SITE_URL="https://ossa.example.org"),
    )

    assert result.returncode == 0, result.stdout + result.stderr
