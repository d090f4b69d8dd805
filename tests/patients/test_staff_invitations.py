"""Staff by invitation (issue 11, H1 and L3): an admin invites by e-mail and never sets or sees
a password; the invitee opens a one-time, expiring link and chooses a username (Django's rules;
a taken one refused with a message that names no clinic) and a password."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import time

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from patients.models import Invitation, Membership, Role, RoleConfirmation, StaffAction
from patients.staff_invitations import INVITATION_DAYS, USERNAME_UNAVAILABLE

STRONG = "violet-kettle-harbour-42"
LINK = re.compile(r"https?://\S+/invitations/(?P<token>[^/\s]+)/")


def _invite(client, *, role="nurse", email="nora@hillside.example", slug="hillside"):
    return client.post(
        reverse("patients:staff", args=[slug]),
        {"first_name": "Nora", "last_name": "Newcomb", "email": email, "role": role},
    )


def _link_in_mail() -> str:
    match = LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(0)


def _accept(link: str, *, username="nnewcomb", password=STRONG, client=None):
    client = client or Client()
    return client.post(link, {"username": username, "password1": password, "password2": password})


def test_an_admin_invites_by_email_and_no_account_exists_until_it_is_accepted(
    clinic, clinic_admin, client_for, settings
):
    response = _invite(client_for(clinic_admin))

    assert response.status_code == 302
    assert not get_user_model().objects.filter(email="nora@hillside.example").exists()
    (message,) = mail.outbox
    assert message.to == ["nora@hillside.example"]
    link = _link_in_mail()
    assert link.startswith(settings.OSSA_SITE_URL + "/invitations/")
    invitation = Invitation.objects.get()
    assert (invitation.clinic, invitation.role, invitation.invited_by) == (
        clinic,
        Role.NURSE,
        clinic_admin,
    )
    logged = StaffAction.objects.get()
    assert (logged.kind, logged.actor, logged.target) == ("invite", clinic_admin, None)


def test_the_token_is_stored_only_as_its_hash(clinic_admin, client_for):
    _invite(client_for(clinic_admin))

    token = LINK.search(mail.outbox[-1].body).group("token")
    stored = Invitation.objects.get().token_hash
    assert token not in stored
    assert stored == hashlib.sha256(token.encode()).hexdigest()


def test_the_invite_form_has_no_password_or_username_field(clinic_admin, client_for):
    form = (
        client_for(clinic_admin).get(reverse("patients:staff", args=["hillside"])).context["form"]
    )

    assert set(form.fields) == {"first_name", "last_name", "email", "role"}


def test_a_post_with_a_password_as_in_the_old_staff_form_creates_no_account(
    clinic_admin, client_for
):
    # H1's probe: the admin posted username, password and role clinician, then signed in.
    client_for(clinic_admin).post(
        reverse("patients:staff", args=["hillside"]),
        {"username": "mole", "role": "clinician", "password": STRONG, "email": "m@x.example"},
    )

    assert not get_user_model().objects.filter(username="mole").exists()
    assert (
        Client().post("/accounts/login/", {"username": "mole", "password": STRONG}).status_code
        == 200
    )


def test_an_invite_without_an_address_is_refused_beside_the_field(clinic_admin, client_for):
    response = client_for(clinic_admin).post(
        reverse("patients:staff", args=["hillside"]),
        {"first_name": "Nora", "last_name": "Newcomb", "email": "", "role": "nurse"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    assert response.context["form"]["first_name"].value() == "Nora"
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_an_invited_admin_chooses_a_username_and_password_and_signs_in(
    clinic, clinic_admin, client_for
):
    _invite(client_for(clinic_admin), role="clinic_admin")
    link = _link_in_mail()
    visitor = Client()

    page = visitor.get(link)
    response = _accept(link, client=visitor)

    assert page.status_code == 200
    assert response.status_code == 302
    user = get_user_model().objects.get(username="nnewcomb")
    assert (user.email, user.first_name, user.last_name) == (
        "nora@hillside.example",
        "Nora",
        "Newcomb",
    )
    assert Membership.objects.get(user=user).role == Role.CLINIC_ADMIN
    signed_in = visitor.post("/accounts/login/", {"username": "nnewcomb", "password": STRONG})
    assert signed_in.status_code == 302
    assert SESSION_KEY in visitor.session
    kinds = list(StaffAction.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["invite", "accept"]


def test_the_link_works_once(clinic_admin, client_for):
    _invite(client_for(clinic_admin), role="clinic_admin")
    link = _link_in_mail()
    _accept(link)

    again = _accept(link, username="second")

    assert again.status_code == 404
    assert not get_user_model().objects.filter(username="second").exists()
    assert Client().get(link).status_code == 404


def test_the_link_expires_after_a_week(clinic_admin, client_for, time_machine):
    _invite(client_for(clinic_admin), role="clinic_admin")
    link = _link_in_mail()

    time_machine.move_to(timezone.now() + dt.timedelta(days=INVITATION_DAYS, minutes=1))

    assert Client().get(link).status_code == 404
    assert _accept(link).status_code == 404
    assert not get_user_model().objects.filter(username="nnewcomb").exists()


def test_a_made_up_token_answers_404(db):
    assert Client().get(reverse("patients:invitation-accept", args=["x" * 43])).status_code == 404


@pytest.mark.parametrize("username", ["bad name", "semi;colon", "x" * 151, "<script>"])
def test_a_username_django_refuses_is_refused_beside_the_field(username, clinic_admin, client_for):
    # L3: the old staff form accepted usernames Django's own validator refuses.
    _invite(client_for(clinic_admin), role="clinic_admin")

    response = _accept(_link_in_mail(), username=username)

    assert response.status_code == 400
    assert response.context["form"].errors["username"]
    assert get_user_model().objects.filter(email="nora@hillside.example").count() == 0


@pytest.mark.parametrize("taken", ["OUTSIDER", "clinician"])
def test_a_taken_username_gets_one_message_that_names_no_clinic(
    taken, clinic_admin, clinician, outsider, client_for
):
    # L3: a name taken in another clinic and one taken here answer alike.
    _invite(client_for(clinic_admin), role="clinic_admin")

    response = _accept(_link_in_mail(), username=taken)

    assert response.status_code == 400
    assert response.context["form"].errors["username"] == [USERNAME_UNAVAILABLE]
    html = response.content.decode()
    assert "Riverside" not in html and "superuser" not in html
    assert response.context["form"]["username"].value() == taken


def test_a_weak_password_is_refused_and_nothing_is_created(clinic_admin, client_for):
    _invite(client_for(clinic_admin), role="clinic_admin")
    link = _link_in_mail()

    response = _accept(link, password="nnewcomb1234")

    assert response.status_code == 400
    assert response.context["form"].errors["password1"]
    assert not get_user_model().objects.filter(username="nnewcomb").exists()
    assert _accept(link).status_code == 302  # the link still works after a refused try


def test_two_different_passwords_are_refused(clinic_admin, client_for):
    _invite(client_for(clinic_admin), role="clinic_admin")

    response = Client().post(
        _link_in_mail(), {"username": "nnewcomb", "password1": STRONG, "password2": STRONG + "x"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["password2"]


@pytest.mark.parametrize("role", ["clinician", "nurse"])
def test_an_invited_clinical_role_waits_for_a_clinician_and_sees_no_patient(
    role, clinic, clinic_admin, patient, client_for
):
    _invite(client_for(clinic_admin), role=role)
    _accept(_link_in_mail())
    user = get_user_model().objects.get(username="nnewcomb")
    client = Client()
    client.post("/accounts/login/", {"username": "nnewcomb", "password": STRONG})

    dashboard = client.get("/")
    detail = client.get(reverse("patients:detail", args=[patient.pk]))
    listed = client.get(reverse("patients:list"))

    assert not Membership.objects.filter(user=user).exists()
    assert RoleConfirmation.objects.get(user=user).role == role
    assert "waits for a clinician of the clinic to confirm it" in dashboard.content.decode()
    assert detail.status_code == 404
    assert list(listed.context["page"].object_list) == []


def test_only_a_clinic_admin_invites(clinician, nurse, client_for):
    for user in (clinician, nurse):
        assert _invite(client_for(user)).status_code == 403
    assert not Invitation.objects.exists()


def test_a_clinic_admin_cannot_invite_into_another_clinic(clinic_admin, other_clinic, client_for):
    assert _invite(client_for(clinic_admin), slug="riverside").status_code == 404
    assert not Invitation.objects.exists()


def test_a_signed_in_user_cannot_accept_an_invitation(clinic_admin, client_for):
    _invite(client_for(clinic_admin), role="clinic_admin")

    response = _accept(_link_in_mail(), client=client_for(clinic_admin))

    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="nnewcomb").exists()


def test_a_mail_server_that_refuses_leaves_no_invitation(clinic_admin, client_for, monkeypatch):
    from patients import staff_actions

    def refuse(**kwargs):
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(staff_actions, "send_mail", refuse)

    response = _invite(client_for(clinic_admin))

    assert response.status_code == 400
    assert "could not be sent" in " ".join(response.context["form"].non_field_errors())
    assert not Invitation.objects.exists()
    assert not StaffAction.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_one_link_opened_twice_at_once_makes_one_account(
    require_postgres, clinic, clinic_admin, monkeypatch
):
    """The first acceptance holds the invitation's row lock half-way while the second arrives:
    the second waits, then finds the link used."""
    from patients import staff_invitations

    invitation_token = "race-token-" + "x" * 32
    Invitation.objects.create(
        clinic=clinic,
        email="nora@hillside.example",
        role=Role.CLINIC_ADMIN,
        token_hash=hashlib.sha256(invitation_token.encode()).hexdigest(),
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    half_way = threading.Event()
    check = staff_invitations.username_check

    def slow_check(username):
        if not half_way.is_set():
            half_way.set()
            time.sleep(0.5)
        return check(username)

    monkeypatch.setattr(staff_invitations, "username_check", slow_check)
    outcomes: list[object] = []

    def accept(username: str) -> None:
        try:
            outcomes.append(
                staff_invitations.invitation_accept(
                    token=invitation_token, username=username, password=STRONG, now=timezone.now()
                )
            )
        except ValidationError as error:
            outcomes.append(error)
        finally:
            connection.close()

    first = threading.Thread(target=accept, args=("first",))
    first.start()
    assert half_way.wait(10)
    second = threading.Thread(target=accept, args=("second",))
    second.start()
    first.join(10)
    second.join(10)

    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(refused) == 1 and refused[0].code == "invalid"
    assert list(get_user_model().objects.values_list("username", flat=True).order_by("pk")) == [
        "clinicadmin",
        "first",
    ]
    assert Membership.objects.filter(clinic=clinic, role=Role.CLINIC_ADMIN).count() == 2
