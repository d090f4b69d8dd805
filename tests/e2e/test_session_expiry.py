"""Idle sessions in the browser (static/js/session.js, config/session.py), with an idle time of
seconds instead of 15 minutes: the warning with "Stay signed in", and a form submitted after the
session ended, put back after signing in again — for the same user only."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from patients.models import RiskProfile
from tests.conftest import PASSWORD

#: Seconds of idle time in these tests; the warning comes at half of it (min(120 s, idle / 2)).
IDLE = 10


@pytest.fixture
def short_sessions(settings):
    settings.SESSION_COOKIE_AGE = IDLE
    return settings


def _sign_in(page, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_the_warning_comes_before_the_end_and_stay_signed_in_keeps_the_session(
    page_for, demo_clinic, short_sessions
):
    _, people = demo_clinic
    page = page_for(people["clinician"])
    page.goto("/patients/")
    warning = page.get_by_role("region", name="Session")
    stay = warning.get_by_role("button", name="Stay signed in")
    expect(warning).to_be_hidden()

    expect(stay).to_be_visible(timeout=IDLE * 1000)
    expect(warning).to_contain_text("you will be signed out soon")
    expect(warning.locator("[data-session-countdown]")).to_have_text(re.compile(r"^0:0[1-5]$"))
    stay.click()
    expect(warning).to_be_hidden()

    page.wait_for_timeout(IDLE / 2 * 1000 + 500)  # past the end the first page load set
    page.goto("/patients/")
    expect(page).to_have_url(re.compile(r"/patients/$"))
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()


def test_a_form_submitted_after_the_end_is_put_back_after_signing_in(
    page_for, demo_clinic, demo_patient, short_sessions
):
    _, people = demo_clinic
    page = page_for(people["clinician"])
    form_page = f"/patients/{demo_patient.pk}/risk-factors/"
    page.goto(form_page)
    page.get_by_label("High fall risk").check()
    page.get_by_label("Alcohol (drinks per day)").fill("3")
    page.get_by_label("Creatinine clearance (mL/min)").fill("37.5")

    warning = page.get_by_role("region", name="Session")
    expect(warning).to_contain_text("Your session has ended", timeout=IDLE * 1000 + 2000)
    expect(warning.get_by_role("link", name="Sign in again")).to_be_visible()
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    query = urlsplit(page.url).query
    assert "37.5" not in query and "fall" not in query and "alcohol" not in query
    expect(page.get_by_text("What you typed is kept in this browser tab")).to_be_visible()
    short_sessions.SESSION_COOKIE_AGE = 15 * 60
    _sign_in(page, "clinician")

    expect(page).to_have_url(re.compile(re.escape(form_page) + "$"))
    expect(page.get_by_role("status").filter(has_text="is back in the form")).to_be_visible()
    expect(page.get_by_label("High fall risk")).to_be_checked()
    expect(page.get_by_label("Alcohol (drinks per day)")).to_have_value("3")
    expect(page.get_by_label("Creatinine clearance (mL/min)")).to_have_value("37.5")
    assert page.evaluate("sessionStorage.getItem('ossa.pendingForm')") is None
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status").filter(has_text="Risk factors were updated")).to_be_visible()
    profile = RiskProfile.objects.get(patient=demo_patient)
    assert profile.has_high_fall_risk is True
    assert profile.alcohol_drinks_per_day == 3
    assert profile.creatinine_clearance_ml_min == 37.5


def test_what_one_user_typed_is_never_put_back_for_another(
    page_for, demo_clinic, demo_patient, short_sessions, watch
):
    _, people = demo_clinic
    watch.expected.append("status of 403")  # the nurse may not edit risk factors
    page = page_for(people["clinician"])
    page.goto(f"/patients/{demo_patient.pk}/risk-factors/")
    page.get_by_label("Creatinine clearance (mL/min)").fill("37.5")
    expect(page.get_by_role("region", name="Session")).to_contain_text(
        "Your session has ended", timeout=IDLE * 1000 + 2000
    )
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    short_sessions.SESSION_COOKIE_AGE = 15 * 60

    _sign_in(page, "nurse")

    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('ossa.pendingForm')") is None
    assert "37.5" not in page.content()


def test_sign_in_again_from_the_warning_also_keeps_what_was_typed(
    page_for, demo_clinic, demo_patient, short_sessions
):
    _, people = demo_clinic
    page = page_for(people["clinician"])
    form_page = f"/patients/{demo_patient.pk}/risk-factors/"
    page.goto(form_page)
    page.get_by_label("Current smoker").check()
    warning = page.get_by_role("region", name="Session")
    expect(warning).to_contain_text("Your session has ended", timeout=IDLE * 1000 + 2000)

    warning.get_by_role("link", name="Sign in again").click()
    short_sessions.SESSION_COOKIE_AGE = 15 * 60
    _sign_in(page, "clinician")

    expect(page).to_have_url(re.compile(re.escape(form_page) + "$"))
    expect(page.get_by_label("Current smoker")).to_be_checked()
    assert not RiskProfile.objects.get(patient=demo_patient).is_current_smoker  # not yet saved
