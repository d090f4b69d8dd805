"""Query budgets of the second factor's pages (signed in with the password only, 2FA on).

Each count includes the session read, the user read, the OTP middleware's device lookup (none
in the session yet: no query) and the navigation's memberships. The session is not stored again
on these requests (config.session.SessionIdleMiddleware renews it at most once a minute).

    page                                             queries
    setup, first visit (creates the unconfirmed device)   6
    setup, again (reuses it)                              5
    verify                                                4
"""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

SETUP = "/accounts/two-factor/setup/"
VERIFY = "/accounts/two-factor/verify/"


@pytest.fixture
def unverified(client_for, clinician, settings):
    settings.OSSA_REQUIRE_2FA = True
    client = client_for(clinician)
    client.get("/healthz")  # a first request, so that nothing one-off is counted
    return client


def test_the_setup_page_query_budget(unverified, django_assert_num_queries):
    with django_assert_num_queries(6):
        assert unverified.get(SETUP).status_code == 200
    with django_assert_num_queries(5):
        assert unverified.get(SETUP).status_code == 200


def test_the_verify_page_query_budget(unverified, clinician, django_assert_num_queries):
    TOTPDevice.objects.create(user=clinician, name="phone", confirmed=True)

    with django_assert_num_queries(4):
        assert unverified.get(VERIFY).status_code == 200
