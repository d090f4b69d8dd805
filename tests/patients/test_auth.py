"""Signing in and out, the lockout after repeated failures, idle sessions, passwords, the admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests import factories
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"
NEW_PASSWORD = "amber-lantern-orchard-73"


def sign_in(client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def is_signed_in(client) -> bool:
    return SESSION_KEY in client.session


# --- signing in, and the lockout ---------------------------------------------------------------


def test_a_member_signs_in_with_the_right_password_and_lands_on_the_dashboard(client, clinician):
    response = sign_in(client, "clinician", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert is_signed_in(client)


def test_a_wrong_password_is_refused_with_a_message(client, clinician):
    response = sign_in(client, "clinician", "not-the-password")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not is_signed_in(client)


def test_after_the_failure_limit_even_the_right_password_is_refused(client, clinician, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clinician", "not-the-password")

    response = sign_in(client, "clinician", PASSWORD)

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert not is_signed_in(client)


def test_one_failure_below_the_limit_the_right_password_still_works(client, clinician, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "clinician", "not-the-password")

    response = sign_in(client, "clinician", PASSWORD)

    assert response.status_code == 302
    assert is_signed_in(client)


def test_a_locked_account_does_not_lock_out_a_colleague(client, clinician, nurse, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clinician", "not-the-password")

    response = sign_in(client, "nurse", PASSWORD)

    assert response.status_code == 302
    assert is_signed_in(client)


# --- sessions ----------------------------------------------------------------------------------


def test_sessions_expire_after_15_idle_minutes_and_requests_renew_them(settings):
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    # Renewed by config.session.SessionIdleMiddleware (a minute apart), not on every request.
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    assert "config.session.SessionIdleMiddleware" in settings.MIDDLEWARE


@pytest.fixture
def signed_in_at_nine(client, clinician, time_machine):
    time_machine.move_to(dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC), tick=False)
    sign_in(client, "clinician", PASSWORD)
    assert is_signed_in(client)
    return client


def test_after_16_idle_minutes_the_next_page_asks_to_sign_in_again(signed_in_at_nine, time_machine):
    time_machine.shift(dt.timedelta(minutes=16))

    response = signed_in_at_nine.get("/patients/")

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_a_page_every_ten_minutes_keeps_the_session_alive(signed_in_at_nine, time_machine):
    for _ in range(3):
        time_machine.shift(dt.timedelta(minutes=10))
        response = signed_in_at_nine.get("/patients/")
        assert response.status_code == 200


def test_signing_out_ends_the_session(client, clinician):
    sign_in(client, "clinician", PASSWORD)
    session_key = client.session.session_key

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not Session.objects.filter(session_key=session_key).exists()
    assert client.get("/patients/")["Location"].startswith(LOGIN)


def test_signing_out_needs_a_post(client, clinician):
    sign_in(client, "clinician", PASSWORD)

    response = client.get("/accounts/logout/")

    assert response.status_code == 405
    assert is_signed_in(client)


# --- passwords ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Tr0ub4dor&3", "11 characters: shorter than 12"),
        ("password1234", "a common password"),
        ("804719236551", "entirely numeric"),
        ("clinician123", "too similar to the username"),
    ],
)
def test_the_password_validators_refuse_a_weak_password(password, why, clinician):
    with pytest.raises(ValidationError):
        validate_password(password, clinician)


def test_the_password_validators_accept_a_long_uncommon_password(clinician):
    validate_password(NEW_PASSWORD, clinician)


def test_changing_to_a_weak_password_is_refused_and_the_old_one_still_works(client, clinician):
    client.force_login(clinician, backend="django.contrib.auth.backends.ModelBackend")

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "short1", "new_password2": "short1"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    clinician.refresh_from_db()
    assert clinician.check_password(PASSWORD)


def test_changing_to_a_strong_password_works_and_keeps_the_user_signed_in(client, clinician):
    client.force_login(clinician, backend="django.contrib.auth.backends.ModelBackend")

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    clinician.refresh_from_db()
    assert clinician.check_password(NEW_PASSWORD)
    assert is_signed_in(client)


def test_the_password_change_needs_the_current_password(client, clinician):
    client.force_login(clinician, backend="django.contrib.auth.backends.ModelBackend")

    response = client.post(
        reverse("password_change"),
        {"old_password": "a-guess", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.context["form"].errors["old_password"]
    clinician.refresh_from_db()
    assert clinician.check_password(PASSWORD)


# --- the Django admin --------------------------------------------------------------------------


def test_a_superuser_opens_the_django_admin(client, db):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", PASSWORD)
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/patients/patient/").status_code == 200


@pytest.mark.parametrize("url", ["/admin/", "/admin/patients/patient/", "/admin/auth/user/"])
def test_a_staff_user_who_is_not_a_superuser_is_refused_the_admin(url, client, db):
    staff = factories.UserFactory(username="staffer", is_staff=True)
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_clinic_member_is_refused_the_admin(client, clinic_admin):
    client.force_login(clinic_admin, backend="django.contrib.auth.backends.ModelBackend")

    assert client.get("/admin/").status_code == 302


def test_a_staff_user_cannot_sign_in_through_the_admin_login_page(client, db):
    factories.UserFactory(username="staffer", is_staff=True, password=PASSWORD)

    client.post("/admin/login/?next=/admin/", {"username": "staffer", "password": PASSWORD})

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_an_anonymous_visitor_of_the_admin_is_sent_to_a_login_page(client, db):
    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
