"""Personas and builders shared by every suite.

Four people, as healthchecks names its personas: a clinician, a nurse and a clinic admin of the
Hillside clinic, and an outsider — a clinician of another clinic who must never see Hillside's
patients.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from patients.models import Clinic, Membership, Role
from tests import factories

PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 costs ~0.6 s per persona created; password strength is not what these tests check
    (logging in still goes through the real authentication backends)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def lazy_static_files(settings):
    """Every test client builds its middleware, and WhiteNoise then lists every static file of
    every app (~75 ms a test); looking files up on request instead serves them the same way."""
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture
def clinic(db):
    return Clinic.objects.create(name="Hillside Bone Clinic", slug="hillside")


@pytest.fixture
def other_clinic(db):
    return Clinic.objects.create(name="Riverside Clinic", slug="riverside")


def _member(clinic: Clinic, username: str, role: Role):
    user = factories.UserFactory(username=username, password=PASSWORD)
    Membership.objects.create(user=user, clinic=clinic, role=role)
    return user


@pytest.fixture
def clinician(clinic):
    return _member(clinic, "clinician", Role.CLINICIAN)


@pytest.fixture
def nurse(clinic):
    return _member(clinic, "nurse", Role.NURSE)


@pytest.fixture
def clinic_admin(clinic):
    return _member(clinic, "clinicadmin", Role.CLINIC_ADMIN)


@pytest.fixture
def outsider(other_clinic):
    return _member(other_clinic, "outsider", Role.CLINICIAN)


@pytest.fixture
def patient(clinic):
    return factories.PatientFactory(clinic=clinic)


@pytest.fixture
def client_for(client):
    """`client_for(user)`: the test client signed in as that user."""

    def sign_in(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return sign_in


def _service_missing(what: str, reason: str) -> None:
    if settings.OSSA_REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (OSSA_REQUIRE_SERVICES=1) but {reason}", pytrace=False)
    pytest.skip(f"needs {what}: {reason}")


@pytest.fixture
def require_postgres(db):
    if connection.vendor != "postgresql":
        _service_missing("PostgreSQL", "DATABASE_URL does not point at PostgreSQL")


@pytest.fixture
def require_redis():
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        _service_missing("Redis", "CELERY_BROKER_URL does not point at Redis")
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:  # noqa: BLE001
        _service_missing("Redis", f"{url} is unreachable ({error})")
    return url


def pytest_configure(config):
    """In CI (OSSA_REQUIRE_SERVICES=1) the suite must run on PostgreSQL, not quietly on SQLite."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if settings.OSSA_REQUIRE_SERVICES and engine != "django.db.backends.postgresql":
        raise pytest.UsageError(f"OSSA_REQUIRE_SERVICES=1 but the database engine is {engine}")
