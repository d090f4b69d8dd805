"""Issue 11, signing in: the lock-out by username and address together and its end after the
cool-off (M5), the client's address behind trusted proxies only, the TOTP second factor (M9),
and the absolute lifetime of a session (L8)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import RequestFactory
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.client_ip import client_ip
from config.session import SIGNED_IN_AT
from tests.config.test_settings import _env, _run
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"
SETUP = "/accounts/two-factor/setup/"
VERIFY = "/accounts/two-factor/verify/"
NINE = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


def sign_in(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


# --- M5: lock-out by username and address together, and its end ---------------------------


def test_the_lockout_parameters_are_username_and_address_together(settings):
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_a_locked_username_still_signs_in_from_another_address(client, clinician, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clinician", "wrong-password", REMOTE_ADDR="10.0.0.1")

    assert sign_in(client, "clinician", PASSWORD, REMOTE_ADDR="10.0.0.1").status_code == 429
    response = sign_in(client, "clinician", PASSWORD, REMOTE_ADDR="10.0.0.2")

    assert response.status_code == 302
    assert signed_in(client)


def test_a_locked_address_still_lets_another_username_sign_in(client, clinician, nurse, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clinician", "wrong-password", REMOTE_ADDR="10.0.0.1")

    assert sign_in(client, "nurse", PASSWORD, REMOTE_ADDR="10.0.0.1").status_code == 302


@pytest.fixture
def locked_at_nine(client, clinician, settings, time_machine):
    """The clinician, locked out at 09:00 after the failure limit (cool-off 15 minutes)."""
    assert settings.AXES_COOLOFF_TIME == 15 / 60
    time_machine.move_to(NINE, tick=False)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clinician", "wrong-password")
    assert sign_in(client, "clinician", PASSWORD).status_code == 429
    return client


def test_a_wrong_password_during_the_lockout_does_not_extend_it(locked_at_nine, time_machine):
    time_machine.move_to(NINE + dt.timedelta(minutes=10), tick=False)
    assert sign_in(locked_at_nine, "clinician", "wrong-password").status_code == 429

    time_machine.move_to(NINE + dt.timedelta(minutes=15, seconds=1), tick=False)
    response = sign_in(locked_at_nine, "clinician", PASSWORD)

    assert response.status_code == 302
    assert signed_in(locked_at_nine)


def test_after_the_cool_off_one_wrong_password_does_not_lock_again(locked_at_nine, time_machine):
    time_machine.move_to(NINE + dt.timedelta(minutes=16), tick=False)

    wrong = sign_in(locked_at_nine, "clinician", "wrong-password")
    right = sign_in(locked_at_nine, "clinician", PASSWORD)

    assert wrong.status_code == 200  # the form again, with its error: not the lock-out page
    assert right.status_code == 302


# --- the client's address: REMOTE_ADDR, or X-Forwarded-For behind trusted proxies ---------


def _request(remote: str, forwarded: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings):
    settings.OSSA_TRUSTED_PROXY_COUNT = 0

    assert client_ip(_request("10.0.0.9", "203.0.113.5")) == "10.0.0.9"


@pytest.mark.parametrize(
    ("count", "forwarded", "ip"),
    [
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # the client's own entry is not believed
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.9"),  # fewer hops than proxies: not through them
        (1, "", "10.0.0.9"),
    ],
)
def test_behind_trusted_proxies_the_outermost_proxys_entry_is_the_client(
    count, forwarded, ip, settings
):
    settings.OSSA_TRUSTED_PROXY_COUNT = count

    assert client_ip(_request("10.0.0.9", forwarded)) == ip


def test_behind_a_proxy_one_clients_lockout_does_not_lock_the_others(client, clinician, settings):
    settings.OSSA_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.9"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clinician", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy)

    assert (
        sign_in(client, "clinician", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy)
    ).status_code == 429
    other = sign_in(client, "clinician", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
    assert other.status_code == 302


def test_without_a_proxy_a_forged_forwarded_address_does_not_escape_the_lockout(
    client, clinician, settings
):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clinician", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")

    response = sign_in(client, "clinician", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99")

    assert response.status_code == 429


# --- M9: the second factor -----------------------------------------------------------------


@pytest.fixture
def two_factor(settings):
    settings.OSSA_REQUIRE_2FA = True


def _token(device: TOTPDevice) -> str:
    token = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{token:0{device.digits}d}"


def _confirmed(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


@pytest.mark.parametrize(
    "setting_env", [{}, {"DJANGO_DEBUG": "1"}], ids=["production", "development"]
)
def test_the_second_factor_is_required_by_default_unless_debug(setting_env, tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.OSSA_REQUIRE_2FA)"
    )
    result = _run(["-c", code], _env(tmp_path, **setting_env))

    assert result.stdout.strip() == ("False" if setting_env else "True"), result.stderr


@pytest.mark.parametrize("role", ["clinician", "nurse", "clinic_admin"])
def test_without_a_device_no_role_reaches_a_patient_page(
    role, patient, request, client, two_factor
):
    user = request.getfixturevalue(role)
    sign_in(client, user.username, PASSWORD)
    url = reverse("patients:detail", args=[patient.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{SETUP}?next={url}"
    assert client.get(reverse("patients:list")).status_code == 302
    assert client.post(reverse("patients:create"), {}).status_code == 302


def test_an_htmx_request_before_the_second_factor_is_sent_to_the_setup_page(
    clinician, client_for, two_factor
):
    response = client_for(clinician).get(reverse("patients:list"), headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(SETUP)


def test_setting_up_with_the_right_code_lets_the_user_in(clinician, patient, client, two_factor):
    sign_in(client, "clinician", PASSWORD)
    url = reverse("patients:detail", args=[patient.pk])

    page = client.get(f"{SETUP}?next={url}")
    device = TOTPDevice.objects.get(user=clinician)
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    assert page.context["secret"] in page.content.decode()
    assert not device.confirmed

    response = client.post(f"{SETUP}?next={url}", {"token": _token(device), "next": url})

    assert response.status_code == 302
    assert response["Location"] == url
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(url).status_code == 200


def test_setting_up_with_a_wrong_code_is_refused_beside_the_field(
    clinician, patient, client, two_factor
):
    sign_in(client, "clinician", PASSWORD)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=clinician)
    wrong = f"{(int(_token(device)) + 1) % 10**6:06d}"

    response = client.post(SETUP, {"token": wrong})

    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    assert 'value="' + wrong + '"' in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 302


def test_a_user_with_a_device_is_asked_for_the_code_after_the_password(
    clinician, patient, client, two_factor
):
    _confirmed(clinician)
    sign_in(client, "clinician", PASSWORD)
    url = reverse("patients:detail", args=[patient.pk])

    response = client.get(url)

    assert response["Location"] == f"{VERIFY}?next={url}"
    # ... and cannot enrol another device in its place.
    assert client.get(SETUP)["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=clinician).count() == 1


def test_the_right_code_lets_the_user_in(clinician, patient, client, two_factor):
    device = _confirmed(clinician)
    sign_in(client, "clinician", PASSWORD)
    url = reverse("patients:detail", args=[patient.pk])

    response = client.post(VERIFY, {"token": _token(device), "next": url})

    assert response["Location"] == url
    assert client.get(url).status_code == 200


def test_a_wrong_code_is_refused_and_throttles_the_next_tries(
    clinician, patient, client, two_factor, time_machine
):
    time_machine.move_to(NINE, tick=False)
    device = _confirmed(clinician)
    sign_in(client, "clinician", PASSWORD)
    wrong = f"{(int(_token(device)) + 1) % 10**6:06d}"

    refused = client.post(VERIFY, {"token": wrong})

    assert refused.status_code == 200
    assert refused.context["form"].errors["token"]
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    # Even the right code is refused during the throttle interval ...
    throttled = client.post(VERIFY, {"token": _token(device)})
    assert throttled.status_code == 200
    assert "Too many wrong codes" in str(throttled.context["form"].errors["token"])
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 302
    # ... and accepted once it is over.
    time_machine.move_to(NINE + dt.timedelta(seconds=31), tick=False)
    assert client.post(VERIFY, {"token": _token(device)}).status_code == 302
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200


def test_sign_out_and_the_health_check_stay_reachable_before_the_second_factor(
    clinician, client, two_factor
):
    sign_in(client, "clinician", PASSWORD)

    assert client.get(reverse("healthz")).status_code in {200, 503}
    assert client.post(reverse("logout")).status_code == 302
    assert not signed_in(client)


def test_the_development_banner_shows_only_when_the_second_factor_is_off(
    clinician, client_for, settings
):
    client = client_for(clinician)
    settings.OSSA_REQUIRE_2FA = False
    assert "Two-factor sign-in is off (development)" in client.get("/").content.decode()

    settings.OSSA_REQUIRE_2FA = True
    device = _confirmed(clinician)
    client.post(VERIFY, {"token": _token(device)})
    assert "Two-factor sign-in is off" not in client.get("/").content.decode()


# --- L8: the absolute lifetime of a session -------------------------------------------------


@pytest.fixture
def long_idle(settings):
    """An idle timeout longer than the day, so that only the absolute lifetime ends it."""
    settings.SESSION_COOKIE_AGE = 24 * 60 * 60


def test_a_session_ends_12_hours_after_sign_in_however_active(
    client, clinician, long_idle, time_machine, settings
):
    assert settings.OSSA_SESSION_MAX_HOURS == 12
    time_machine.move_to(NINE, tick=False)
    sign_in(client, "clinician", PASSWORD)
    for hour in range(1, 12):
        time_machine.move_to(NINE + dt.timedelta(hours=hour), tick=False)
        assert client.get("/patients/").status_code == 200
    time_machine.move_to(NINE + dt.timedelta(hours=11, minutes=59), tick=False)
    assert client.get("/patients/").status_code == 200

    time_machine.move_to(NINE + dt.timedelta(hours=12, seconds=1), tick=False)
    response = client.get("/patients/")

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/patients/"
    assert not signed_in(client)


def test_the_absolute_lifetime_is_configurable(
    client, clinician, long_idle, time_machine, settings
):
    settings.OSSA_SESSION_MAX_HOURS = 2
    time_machine.move_to(NINE, tick=False)
    sign_in(client, "clinician", PASSWORD)

    time_machine.move_to(NINE + dt.timedelta(hours=2, seconds=1), tick=False)

    assert client.get("/patients/").status_code == 302


def test_a_session_without_a_sign_in_time_is_ended(client, clinician):
    sign_in(client, "clinician", PASSWORD)
    session = client.session
    del session[SIGNED_IN_AT]
    session.save()

    assert client.get("/patients/").status_code == 302
    assert not signed_in(client)
