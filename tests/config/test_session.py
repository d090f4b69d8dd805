"""Idle sessions, the server's part (config/session.py): what a page tells its countdown,
"Stay signed in", and where a form posted after the session ended sends the user. The browser's
part (the warning, what was typed kept and put back) is tests/e2e/test_session_expiry.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from monitoring.models import DxaScan
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"
TOUCH = "/accounts/session/"


@pytest.fixture
def at_nine(client, clinician, time_machine):
    """The clinician, signed in through the login form at 09:00 (the clock stands still)."""
    time_machine.move_to(dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC), tick=False)
    client.post(LOGIN, {"username": "clinician", "password": PASSWORD})
    return client


def _expiry(client) -> dt.datetime:
    return Session.objects.get(session_key=client.session.session_key).expire_date


# --- what a page tells its countdown --------------------------------------------------------------


def test_a_signed_in_page_carries_the_idle_time_the_warning_and_the_touch_url(at_nine):
    html = at_nine.get("/patients/").content.decode()

    assert 'data-session-idle="900"' in html
    assert 'data-session-warning="120"' in html
    assert f'data-session-touch="{TOUCH}"' in html
    assert 'id="session-warning"' in html


def test_a_short_idle_time_warns_at_half_of_it_not_on_arrival(at_nine, settings):
    settings.SESSION_COOKIE_AGE = 60

    html = at_nine.get("/patients/").content.decode()

    assert 'data-session-idle="60"' in html
    assert 'data-session-warning="30"' in html


def test_the_login_page_carries_no_user_and_no_countdown(client, db):
    html = client.get(LOGIN).content.decode()

    assert "data-user=" not in html
    assert "data-session-idle" not in html
    assert 'id="session-kept"' in html  # revealed by session.js when a form is kept


# --- when a request renews the session -----------------------------------------------------------


def test_a_page_within_a_minute_of_the_last_renewal_does_not_store_the_session_again(
    at_nine, time_machine, django_assert_num_queries
):
    signed_in = _expiry(at_nine)
    assert signed_in == dt.datetime(2025, 3, 3, 9, 15, tzinfo=dt.UTC)
    time_machine.shift(dt.timedelta(seconds=59))

    with django_assert_num_queries(2):  # the session and the user: no UPDATE of the session
        assert at_nine.get(TOUCH).status_code == 405  # a page that is no renewal of its own

    assert _expiry(at_nine) == signed_in


def test_a_page_a_minute_or_more_after_the_last_renewal_renews_it(at_nine, time_machine):
    time_machine.shift(dt.timedelta(minutes=1))
    at_nine.get("/patients/")
    assert _expiry(at_nine) == dt.datetime(2025, 3, 3, 9, 16, tzinfo=dt.UTC)

    time_machine.shift(dt.timedelta(seconds=30))  # 09:01:30: within the minute, kept
    at_nine.get("/patients/")
    assert _expiry(at_nine) == dt.datetime(2025, 3, 3, 9, 16, tzinfo=dt.UTC)


def test_a_session_ends_at_most_a_minute_before_the_idle_time_and_never_after_it(
    at_nine, time_machine
):
    """Pages at 09:00 (sign-in) and 09:00:59 (not a renewal): the session ends at 09:15,
    14 min 1 s after the last page. It is still alive just before; after 09:15, signed out."""
    time_machine.shift(dt.timedelta(seconds=59))
    assert at_nine.get("/patients/").status_code == 200
    time_machine.move_to(dt.datetime(2025, 3, 3, 9, 14, 59, tzinfo=dt.UTC), tick=False)
    assert _expiry(at_nine) > dt.datetime.now(dt.UTC)  # 14 min after the last page: alive

    time_machine.move_to(dt.datetime(2025, 3, 3, 9, 15, 1, tzinfo=dt.UTC), tick=False)
    response = at_nine.get("/patients/")

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_a_page_tells_its_countdown_the_time_left_since_the_last_renewal(at_nine, time_machine):
    time_machine.shift(dt.timedelta(seconds=45))  # not renewed: 14 min 15 s left

    html = at_nine.get("/patients/").content.decode()

    assert 'data-session-idle="855"' in html


def test_the_warning_comes_while_the_session_is_alive_however_its_renewal_fell(settings):
    """The countdown may start up to one renewal interval late (a page that did not renew the
    session): the warning lead must be longer than that interval, whatever the idle time."""
    from config.session import touch_seconds, warning_seconds

    for minutes in (1, 2, 5, 15, 60):
        settings.SESSION_COOKIE_AGE = minutes * 60
        assert warning_seconds() >= 2 * touch_seconds() > 0, minutes


def test_a_request_without_a_session_creates_none(client, db):
    client.get(LOGIN)

    assert not Session.objects.exists()


def test_a_request_with_the_cookie_of_an_ended_session_creates_none(at_nine, time_machine):
    ended = at_nine.session.session_key
    time_machine.shift(dt.timedelta(minutes=16))

    at_nine.get(LOGIN)
    at_nine.get(LOGIN)

    assert list(Session.objects.values_list("session_key", flat=True)) == [ended]


# --- stay signed in -------------------------------------------------------------------------------


def test_stay_signed_in_starts_the_idle_time_again(at_nine, time_machine):
    time_machine.shift(dt.timedelta(minutes=14))

    response = at_nine.post(TOUCH)

    assert response.status_code == 200
    assert response.json() == {"idle_seconds": 900}
    assert _expiry(at_nine) == dt.datetime(2025, 3, 3, 9, 29, tzinfo=dt.UTC)
    time_machine.shift(dt.timedelta(minutes=14))
    assert at_nine.get("/patients/").status_code == 200


def test_stay_signed_in_needs_a_post(at_nine):
    assert at_nine.get(TOUCH).status_code == 405


def test_stay_signed_in_after_the_end_is_sent_to_the_login_page(at_nine, time_machine):
    time_machine.shift(dt.timedelta(minutes=16))

    response = at_nine.post(TOUCH, HTTP_REFERER="http://testserver/patients/")

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/patients/"


# --- a form posted after the end ------------------------------------------------------------------


@pytest.fixture
def ended(at_nine, time_machine, patient):
    """The clinician's session ended while the DXA form of `patient` was open."""
    at_nine.get(reverse("monitoring:dxa-create", args=[patient.pk]))
    time_machine.shift(dt.timedelta(minutes=16))
    return at_nine


def test_a_form_posted_after_the_end_returns_after_signing_in_to_the_page_it_was_on(ended, patient):
    form_page = reverse("patients:detail", args=[patient.pk])
    posted_to = reverse("therapy:dose-given", args=[patient.pk, 1])

    response = ended.post(
        posted_to, {"date": "2025-03-03"}, HTTP_REFERER=f"http://testserver{form_page}"
    )

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={form_page}"


def test_nothing_typed_goes_into_the_url_and_nothing_is_saved(ended, patient):
    form_page = reverse("monitoring:dxa-create", args=[patient.pk])

    response = ended.post(
        form_page,
        {"date": "2025-03-02", "lumbar_spine_t_score": "-3.7", "note": "fell at home"},
        HTTP_REFERER=f"http://testserver{form_page}",
    )

    assert response["Location"] == f"{LOGIN}?next={form_page}"
    for typed in ("3.7", "2025-03-02", "fell"):
        assert typed not in response["Location"]
    assert not DxaScan.objects.filter(patient=patient).exists()


def test_a_referer_of_another_site_is_not_followed(ended, patient):
    posted_to = reverse("monitoring:dxa-create", args=[patient.pk])

    response = ended.post(posted_to, {}, HTTP_REFERER="https://elsewhere.example/phish/")

    assert response["Location"] == f"{LOGIN}?next={posted_to}"


def test_an_htmx_post_after_the_end_loads_the_login_page_instead_of_swapping_it_in(ended):
    response = ended.post(
        "/reminders/1/done/",
        {},
        HTTP_HX_REQUEST="true",
        HTTP_REFERER="http://testserver/reminders/?status=open",
    )

    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{LOGIN}?next=/reminders/%3Fstatus%3Dopen"


def test_a_page_opened_after_the_end_still_returns_to_itself(ended, patient):
    page = reverse("patients:detail", args=[patient.pk])

    response = ended.get(page, HTTP_REFERER="http://testserver/patients/")

    assert response["Location"] == f"{LOGIN}?next={page}"


def test_signing_in_again_lands_on_the_page_the_form_was_on(ended, patient):
    form_page = reverse("monitoring:dxa-create", args=[patient.pk])

    response = ended.post(
        f"{LOGIN}?next={form_page}", {"username": "clinician", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == form_page


def test_stay_signed_in_costs_the_session_and_user_reads_and_the_session_save(
    clinician, client_for, django_assert_num_queries
):
    client = client_for(clinician)

    # Session read, user read; the renewal "Stay signed in" always stores (SAVEPOINT, UPDATE,
    # RELEASE). No membership is read: the answer is not a page.
    with django_assert_num_queries(5):
        response = client.post(TOUCH)

    assert response.status_code == 200
