"""The staff page's account actions: unlock after failed logins, a password-reset link,
deactivate (every session ends at once), reactivate — each logged, each for the admin's own
clinic only, refused to other roles."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse

from patients.models import Membership, Role, StaffAction
from tests import factories
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"
NEW_PASSWORD = "amber-lantern-orchard-73"


def _url(membership):
    return reverse("patients:staff-account", args=[membership.clinic.slug, membership.pk])


def _membership(user, clinic):
    return Membership.objects.get(user=user, clinic=clinic)


def _signed_in_client(user) -> Client:
    client = Client()
    assert client.post(LOGIN, {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_a_clinic_admin_unlocks_a_locked_out_nurse(
    clinic, nurse, clinic_admin, client_for, settings
):
    stranger = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        stranger.post(LOGIN, {"username": "nurse", "password": "wrong"})
    assert stranger.post(LOGIN, {"username": "nurse", "password": PASSWORD}).status_code == 429

    response = client_for(clinic_admin).post(
        _url(_membership(nurse, clinic)), {"action": "unlock"}, follow=True
    )

    assert "nurse may sign in again" in " ".join(_messages(response))
    assert stranger.post(LOGIN, {"username": "nurse", "password": PASSWORD}).status_code == 302
    logged = StaffAction.objects.get()
    assert (logged.kind, logged.actor, logged.target, logged.clinic) == (
        "unlock",
        clinic_admin,
        nurse,
        clinic,
    )
    assert "Unlocked after failed logins" in response.content.decode()


def test_a_password_reset_link_is_mailed_absolute_and_sets_a_new_password(
    clinic, nurse, clinic_admin, client_for, settings
):
    settings.OSSA_SITE_URL = "https://ossa.hillside.example"
    nurse.email = "nina@hillside.example"
    nurse.save()

    response = client_for(clinic_admin).post(
        _url(_membership(nurse, clinic)), {"action": "password_reset"}, follow=True
    )

    assert "A password-reset link was sent to nina@hillside.example." in _messages(response)
    assert [m.to for m in mail.outbox] == [["nina@hillside.example"]]
    link = re.search(r"https://ossa\.hillside\.example/accounts/reset/\S+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    visitor = Client()
    form_page = visitor.get(link.group(0).removeprefix(settings.OSSA_SITE_URL), follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = visitor.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    nurse.refresh_from_db()
    assert nurse.check_password(NEW_PASSWORD)
    assert StaffAction.objects.get().kind == "password_reset"
    # The link works once.
    again = Client().get(link.group(0).removeprefix(settings.OSSA_SITE_URL), follow=True)
    assert "This link no longer works" in again.content.decode()


def test_without_a_site_url_the_link_uses_the_requests_own_host(
    clinic, nurse, clinic_admin, client_for, settings
):
    settings.OSSA_SITE_URL = ""
    nurse.email = "nina@hillside.example"
    nurse.save()

    client_for(clinic_admin).post(_url(_membership(nurse, clinic)), {"action": "password_reset"})

    assert "http://testserver/accounts/reset/" in mail.outbox[0].body


def test_a_colleague_without_an_email_gets_no_link_and_the_admin_is_told(
    clinic, nurse, clinic_admin, client_for
):
    nurse.email = ""
    nurse.save()

    response = client_for(clinic_admin).post(
        _url(_membership(nurse, clinic)), {"action": "password_reset"}, follow=True
    )

    assert "nurse has no e-mail address" in " ".join(_messages(response))
    assert mail.outbox == []
    assert not StaffAction.objects.exists()


def test_deactivating_ends_every_session_of_the_colleague_at_once(
    clinic, nurse, clinician, clinic_admin, client_for
):
    first, second = _signed_in_client(nurse), _signed_in_client(nurse)
    bystander = _signed_in_client(clinician)

    response = client_for(clinic_admin).post(
        _url(_membership(nurse, clinic)), {"action": "deactivate"}, follow=True
    )

    assert "nurse is deactivated; 2 sessions ended." in _messages(response)
    nurse.refresh_from_db()
    assert not nurse.is_active
    for client in (first, second):
        assert client.get("/patients/").status_code == 302
    assert bystander.get("/patients/").status_code == 200
    assert str(nurse.pk) not in [s.get_decoded().get(SESSION_KEY) for s in Session.objects.all()]
    assert Client().post(LOGIN, {"username": "nurse", "password": PASSWORD}).status_code == 200
    assert StaffAction.objects.get().detail == "2 sessions ended"


def test_reactivating_lets_the_colleague_sign_in_again(clinic, nurse, clinic_admin, client_for):
    client = client_for(clinic_admin)
    client.post(_url(_membership(nurse, clinic)), {"action": "deactivate"})

    client.post(_url(_membership(nurse, clinic)), {"action": "reactivate"})

    nurse.refresh_from_db()
    assert nurse.is_active
    assert list(StaffAction.objects.values_list("kind", flat=True)) == ["reactivate", "deactivate"]
    _signed_in_client(nurse)


def test_a_colleague_who_also_works_in_another_clinic_is_not_deactivated(
    clinic, other_clinic, nurse, clinic_admin, client_for
):
    Membership.objects.create(user=nurse, clinic=other_clinic, role=Role.NURSE)

    response = client_for(clinic_admin).post(
        _url(_membership(nurse, clinic)), {"action": "deactivate"}, follow=True
    )

    assert f"also works at {other_clinic.name}" in " ".join(_messages(response))
    nurse.refresh_from_db()
    assert nurse.is_active
    assert not StaffAction.objects.exists()


def test_an_admin_cannot_deactivate_themselves_or_a_superuser(clinic, clinic_admin, client_for):
    boss = factories.UserFactory(username="boss", is_superuser=True, is_staff=True)
    Membership.objects.create(user=boss, clinic=clinic, role=Role.CLINICIAN)
    client = client_for(clinic_admin)

    own = client.post(
        _url(_membership(clinic_admin, clinic)), {"action": "deactivate"}, follow=True
    )
    other = client.post(_url(_membership(boss, clinic)), {"action": "deactivate"}, follow=True)

    assert "You cannot change your own account here." in _messages(own)
    assert "site administrator" in " ".join(_messages(other))
    assert get_user_model().objects.filter(is_active=False).count() == 0


@pytest.mark.parametrize("role", ["clinician", "nurse"])
@pytest.mark.parametrize("action", ["unlock", "password_reset", "deactivate", "reactivate"])
def test_a_clinician_or_nurse_is_refused_every_account_action(
    role, action, clinic, clinic_admin, request, client_for
):
    user = request.getfixturevalue(role)
    target = _membership(clinic_admin, clinic)

    response = client_for(user).post(_url(target), {"action": action})

    assert response.status_code == 403
    assert not StaffAction.objects.exists()
    clinic_admin.refresh_from_db()
    assert clinic_admin.is_active


@pytest.mark.parametrize("action", ["unlock", "password_reset", "deactivate"])
def test_another_clinics_member_answers_404(action, clinic, other_clinic, clinic_admin, client_for):
    stranger = factories.UserFactory(username="stranger", email="s@example.org")
    membership = Membership.objects.create(user=stranger, clinic=other_clinic, role=Role.NURSE)
    url = reverse("patients:staff-account", args=[clinic.slug, membership.pk])

    response = client_for(clinic_admin).post(url, {"action": action})

    assert response.status_code == 404
    stranger.refresh_from_db()
    assert stranger.is_active
    assert mail.outbox == []


def test_an_admin_of_another_clinic_answers_404(clinic, nurse, other_clinic, client_for):
    admin = factories.UserFactory(username="otheradmin")
    Membership.objects.create(user=admin, clinic=other_clinic, role=Role.CLINIC_ADMIN)

    response = client_for(admin).post(_url(_membership(nurse, clinic)), {"action": "deactivate"})

    assert response.status_code == 404
    nurse.refresh_from_db()
    assert nurse.is_active


def test_the_account_actions_need_a_post(clinic, nurse, clinic_admin, client_for):
    assert client_for(clinic_admin).get(_url(_membership(nurse, clinic))).status_code == 405


def test_a_role_change_is_logged_on_the_staff_page(clinic, clinician, clinic_admin, client_for):
    # A clinician made a nurse loses access: it needs nobody's confirmation (a promotion does:
    # tests/patients/test_staff_confirmation.py).
    membership = _membership(clinician, clinic)

    client_for(clinic_admin).post(
        reverse("patients:staff-update", args=[clinic.slug, membership.pk]), {"role": "nurse"}
    )

    logged = StaffAction.objects.get()
    assert (logged.kind, logged.target, logged.detail) == (
        "role_change",
        clinician,
        "Clinician → Nurse",
    )
    page = client_for(clinic_admin).get(reverse("patients:staff", args=[clinic.slug]))
    assert "Changed role (Clinician → Nurse)" in page.content.decode()
