"""Signing in with the second factor in a real browser: password, then the authenticator app
is set up from the page's QR code and key, and the next sign-in asks for the code."""

from __future__ import annotations

import base64

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import check_accessibility


def _code(secret_b32: str) -> str:
    return f"{totp(base64.b32decode(secret_b32)):06d}"


def test_a_clinician_sets_up_the_app_and_signs_in_with_a_code(
    page_for, clinician, patient, settings, live_server
):
    settings.OSSA_REQUIRE_2FA = True
    page = page_for(None)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("clinician")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/accounts/two-factor/setup/**")
    assert page.locator("svg title").text_content() == "QR code for your authenticator app"
    assert check_accessibility(page) == []
    secret = page.locator("[data-totp-secret]").inner_text()
    page.get_by_label("Code from your authenticator app").fill(_code(secret))
    page.get_by_role("button", name="Confirm and continue").click()
    page.wait_for_url(f"{live_server.url}/")
    assert TOTPDevice.objects.get(user=clinician).confirmed

    page.get_by_role("button", name="Sign out").click()
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_label("Username").fill("clinician")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/two-factor/verify/**")
    assert check_accessibility(page) == []
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    # Waited for: the refusal is a new page, which a loaded machine may take a moment to show.
    expect(page.get_by_text("This code is not right")).to_be_visible()
