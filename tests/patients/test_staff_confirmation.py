"""The two-person rule (issue 11, H1): a clinical role an admin gives takes effect only once a
clinician of the clinic — not the person, not the one who asked — or a superuser confirms it;
a promotion keeps the old role until then. Every membership change is audited and listed on the
staff log. Removing a member ends their sessions and deactivates an account left with no clinic
(L8). `create_first_clinician` starts a clinic."""

from __future__ import annotations

import io
import re
import threading
import time

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from patients.models import Membership, Role, RoleConfirmation, StaffAction
from patients.staff_services import role_confirm, staff_role_set
from tests import factories
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"


def _waiting(clinic, *, role=Role.NURSE, requested_by=None, username="newcomer"):
    user = factories.UserFactory(username=username, password=PASSWORD)
    return RoleConfirmation.objects.create(
        clinic=clinic, user=user, role=role, requested_by=requested_by
    )


def _decide(client, confirmation, decision):
    return client.post(
        reverse("patients:role-decision", args=[confirmation.clinic.slug, confirmation.pk]),
        {"decision": decision},
    )


def _signed_in(user) -> Client:
    client = Client()
    assert client.post(LOGIN, {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


# --- confirming a newcomer ------------------------------------------------------------------


def test_a_clinician_confirms_a_nurse_who_then_reaches_patients(
    clinic, clinician, clinic_admin, patient, client_for
):
    waiting = _waiting(clinic, requested_by=clinic_admin)
    newcomer = _signed_in(waiting.user)
    assert newcomer.get(reverse("patients:detail", args=[patient.pk])).status_code == 404

    response = _decide(client_for(clinician), waiting, "confirm")

    assert response.status_code == 302
    assert Membership.objects.get(user=waiting.user, clinic=clinic).role == Role.NURSE
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by) == ("confirmed", clinician)
    assert newcomer.get(reverse("patients:detail", args=[patient.pk])).status_code == 200
    logged = StaffAction.objects.get(kind="confirm")
    assert (logged.actor, logged.target) == (clinician, waiting.user)


@pytest.mark.parametrize("role", ["nurse", "clinic_admin"])
def test_a_nurse_or_an_admin_cannot_confirm(role, request, clinic, client_for):
    waiting = _waiting(clinic)

    response = _decide(client_for(request.getfixturevalue(role)), waiting, "confirm")

    assert response.status_code == 403
    assert not Membership.objects.filter(user=waiting.user).exists()
    assert RoleConfirmation.objects.get(pk=waiting.pk).status == "pending"


def test_a_clinician_of_another_clinic_cannot_confirm(clinic, outsider, client_for):
    waiting = _waiting(clinic)

    response = _decide(client_for(outsider), waiting, "confirm")

    assert response.status_code == 404
    assert not Membership.objects.filter(user=waiting.user).exists()


def test_a_superuser_confirms_without_belonging_to_the_clinic(clinic, client_for):
    waiting = _waiting(clinic)
    root = factories.UserFactory(username="root", is_superuser=True, is_staff=True)

    assert _decide(client_for(root), waiting, "confirm").status_code == 302
    assert Membership.objects.get(user=waiting.user).role == Role.NURSE


def test_nobody_confirms_a_role_they_asked_for(clinic, clinician):
    root = factories.UserFactory(username="root", is_superuser=True)
    waiting = _waiting(clinic, requested_by=root)

    with pytest.raises(ValidationError, match="another clinician confirms it"):
        role_confirm(confirmation=waiting, actor=root, now=timezone.now())

    assert not Membership.objects.filter(user=waiting.user).exists()


def test_nobody_confirms_their_own_role(clinic, nurse):
    membership = nurse.memberships.get()
    staff_role_set(membership=membership, role=Role.CLINICIAN, actor=factories.UserFactory())
    waiting = RoleConfirmation.objects.get(user=nurse)
    nurse.is_superuser = True  # even a site administrator
    nurse.save()

    with pytest.raises(ValidationError, match="Another clinician confirms your own role"):
        role_confirm(confirmation=waiting, actor=nurse, now=timezone.now())

    assert Membership.objects.get(pk=membership.pk).role == Role.NURSE


def test_a_refused_newcomer_with_no_clinic_is_deactivated(clinic, clinician, client_for):
    waiting = _waiting(clinic)
    newcomer = _signed_in(waiting.user)

    _decide(client_for(clinician), waiting, "refuse")

    waiting.user.refresh_from_db()
    assert not waiting.user.is_active
    assert RoleConfirmation.objects.get(pk=waiting.pk).status == "refused"
    assert SESSION_KEY not in newcomer.session
    assert StaffAction.objects.get().kind == "refuse"


def test_a_decided_role_cannot_be_decided_again(clinic, clinician, client_for):
    waiting = _waiting(clinic)
    _decide(client_for(clinician), waiting, "refuse")

    response = _decide(client_for(clinician), waiting, "confirm")

    assert response.status_code == 404
    assert not Membership.objects.filter(user=waiting.user).exists()


# --- promotion ------------------------------------------------------------------------------


def test_a_nurse_promoted_by_an_admin_stays_a_nurse_until_a_clinician_confirms(
    clinic, nurse, clinician, clinic_admin, patient, client_for
):
    membership = nurse.memberships.get()
    letter = reverse("patients:letter", args=[patient.pk])

    client_for(clinic_admin).post(
        reverse("patients:staff-update", args=["hillside", membership.pk]), {"role": "clinician"}
    )

    assert Membership.objects.get(pk=membership.pk).role == Role.NURSE
    assert _signed_in(nurse).get(letter).status_code == 403
    waiting = RoleConfirmation.objects.get(user=nurse, status="pending")
    assert (waiting.role, waiting.requested_by) == (Role.CLINICIAN, clinic_admin)

    _decide(client_for(clinician), waiting, "confirm")

    assert Membership.objects.get(pk=membership.pk).role == Role.CLINICIAN
    assert _signed_in(nurse).get(letter).status_code == 200


def test_a_refused_promotion_keeps_the_old_role_and_the_account(
    clinic, nurse, clinician, clinic_admin, client_for
):
    membership = nurse.memberships.get()
    staff_role_set(membership=membership, role=Role.CLINICIAN, actor=clinic_admin)

    _decide(client_for(clinician), RoleConfirmation.objects.get(user=nurse), "refuse")

    assert Membership.objects.get(pk=membership.pk).role == Role.NURSE
    nurse.refresh_from_db()
    assert nurse.is_active


@pytest.mark.parametrize(
    ("old", "new", "waits"),
    [
        (Role.NURSE, Role.CLINICIAN, True),
        (Role.CLINIC_ADMIN, Role.NURSE, True),
        (Role.CLINIC_ADMIN, Role.CLINICIAN, True),
        (Role.CLINICIAN, Role.NURSE, False),
        (Role.CLINICIAN, Role.CLINIC_ADMIN, False),
        (Role.NURSE, Role.CLINIC_ADMIN, False),
    ],
)
def test_only_a_role_that_opens_more_of_the_record_waits(old, new, waits, clinic, clinic_admin):
    user = factories.UserFactory(username="colleague")
    membership = Membership.objects.create(user=user, clinic=clinic, role=old)

    staff_role_set(membership=membership, role=new, actor=clinic_admin)

    assert Membership.objects.get(pk=membership.pk).role == (old if waits else new)
    assert RoleConfirmation.objects.filter(user=user, status="pending").exists() == waits


# --- the dashboard --------------------------------------------------------------------------


def test_the_clinicians_dashboard_lists_roles_to_confirm(clinic, clinician, nurse, client_for):
    waiting = _waiting(clinic)

    page = client_for(clinician).get("/").content.decode()
    nurse_page = client_for(nurse).get("/").content.decode()

    assert "Roles waiting for your confirmation" in page
    assert reverse("patients:role-decision", args=["hillside", waiting.pk]) in page
    assert "Roles waiting for your confirmation" not in nurse_page


def test_the_dashboard_costs_the_same_queries_for_1_or_10_roles_to_confirm(
    clinic, clinician, client_for, django_assert_num_queries
):
    client = client_for(clinician)
    _waiting(clinic)
    with django_assert_num_queries(6) as one:
        client.get("/")
    for n in range(9):
        _waiting(clinic, username=f"newcomer{n}")

    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get("/")

    assert len(response.context["confirmations"].to_decide) == 10


# --- removal (L8) ---------------------------------------------------------------------------


def test_removing_a_member_ends_their_sessions_and_deactivates_a_clinicless_account(
    clinic, nurse, clinic_admin, patient, client_for
):
    session = _signed_in(nurse)
    assert session.get(reverse("patients:detail", args=[patient.pk])).status_code == 200

    client_for(clinic_admin).post(
        reverse("patients:staff-update", args=["hillside", nurse.memberships.get().pk]),
        {"remove": "1"},
    )

    assert session.get(reverse("patients:detail", args=[patient.pk])).status_code == 302
    nurse.refresh_from_db()
    assert not nurse.is_active
    assert Client().post(LOGIN, {"username": "nurse", "password": PASSWORD}).status_code != 302
    logged = StaffAction.objects.get()
    assert (logged.kind, logged.target) == ("remove", nurse)
    assert "account deactivated" in logged.detail


def test_removing_a_member_of_two_clinics_ends_sessions_but_keeps_the_account(
    clinic, other_clinic, nurse, clinic_admin, client_for
):
    Membership.objects.create(user=nurse, clinic=other_clinic, role=Role.NURSE)
    session = _signed_in(nurse)

    client_for(clinic_admin).post(
        reverse(
            "patients:staff-update", args=["hillside", nurse.memberships.get(clinic=clinic).pk]
        ),
        {"remove": "1"},
    )

    nurse.refresh_from_db()
    assert nurse.is_active
    assert SESSION_KEY not in session.session
    assert list(Membership.objects.filter(user=nurse).values_list("clinic", flat=True)) == [
        other_clinic.pk
    ]


# --- audit and the staff log ----------------------------------------------------------------


def test_membership_changes_are_in_the_history_with_their_author(
    clinic, nurse, clinician, clinic_admin, client_for
):
    membership = nurse.memberships.get()
    staff_role_set(membership=membership, role=Role.CLINICIAN, actor=clinic_admin)
    _decide(client_for(clinician), RoleConfirmation.objects.get(user=nurse), "confirm")

    latest = Membership.history.filter(id=membership.pk).latest("history_date")
    assert (latest.role, latest.history_user) == (Role.CLINICIAN, clinician)
    asked = RoleConfirmation.history.filter(user_id=nurse.pk).earliest("history_date")
    assert asked.history_user == clinic_admin


@pytest.mark.parametrize("reader", ["clinician", "clinic_admin"])
def test_the_staff_log_lists_every_change_for_clinicians_and_admins(
    reader, request, clinic, nurse, clinic_admin, client_for
):
    staff_role_set(membership=nurse.memberships.get(), role=Role.CLINICIAN, actor=clinic_admin)
    StaffAction.objects.create(clinic=clinic, actor=None, target=nurse, kind="remove")

    page = client_for(request.getfixturevalue(reader)).get(
        reverse("patients:staff-log", args=["hillside"])
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert "Asked for a clinical role (Nurse → Clinician, waiting for a clinician)" in html
    assert "Removed from the clinic" in html


def test_the_staff_log_shows_only_its_clinic(clinic, other_clinic, outsider, clinician, client_for):
    StaffAction.objects.create(clinic=other_clinic, target=outsider, kind="unlock")

    page = client_for(clinician).get(reverse("patients:staff-log", args=["hillside"]))

    assert list(page.context["page"].object_list) == []
    assert (
        client_for(clinician).get(reverse("patients:staff-log", args=["riverside"])).status_code
        == 404
    )


@pytest.mark.parametrize("entries", [3, 60])
def test_the_staff_log_costs_the_same_queries_for_3_or_60_entries(
    entries, clinic, nurse, clinician, client_for, django_assert_num_queries
):
    for _ in range(entries):
        StaffAction.objects.create(clinic=clinic, actor=clinician, target=nurse, kind="unlock")
    client = client_for(clinician)

    # session, user, clinic + role, count, the navigation's memberships, the page of entries
    # with actor and target; the session is not stored again
    with django_assert_num_queries(6):
        response = client.get(reverse("patients:staff-log", args=["hillside"]))

    assert response.status_code == 200


# --- create_first_clinician -----------------------------------------------------------------


def _first_clinician(*args: str) -> str:
    out = io.StringIO()
    call_command("create_first_clinician", *args, stdout=out)
    return out.getvalue()


def test_the_first_clinician_is_confirmed_and_chooses_a_password_through_the_printed_link(
    clinic, settings
):
    printed = _first_clinician(
        "--clinic", "hillside", "--username", "drfirst", "--email", "first@hillside.example"
    )

    user = get_user_model().objects.get(username="drfirst")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user).role == Role.CLINICIAN
    link = re.search(r"https?://\S+", printed).group(0)
    assert link.startswith(settings.OSSA_SITE_URL)
    client = Client()
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    new = "amber-lantern-orchard-73"
    client.post(form_url, {"new_password1": new, "new_password2": new})
    assert Client().post(LOGIN, {"username": "drfirst", "password": new}).status_code == 302


def test_a_clinic_with_a_clinician_gets_no_first_clinician(clinic, clinician):
    with pytest.raises(CommandError) as error:
        _first_clinician("--clinic", "hillside", "--username", "second", "--email", "s@x.example")

    assert error.value.returncode == 2
    assert "has a clinician already" in str(error.value)
    assert not get_user_model().objects.filter(username="second").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clinic", "nowhere", "--username", "a", "--email", "a@x.example"], "no clinic"),
        (["--clinic", "hillside", "--username", "bad name", "--email", "a@x.example"], "valid"),
        (["--clinic", "hillside", "--username", "ok", "--email", "nope"], "not an e-mail"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, message, clinic):
    with pytest.raises(CommandError, match=message) as error:
        _first_clinician(*args)

    assert error.value.returncode == 2


@pytest.mark.django_db(transaction=True)
def test_a_confirm_and_a_refuse_at_once_decide_once(require_postgres, clinic, monkeypatch):
    """Two clinicians click at the same moment: the first holds the row lock half-way; the
    second waits, then finds the role decided — one decision, one log row."""
    from patients import staff_services

    doctors = [factories.UserFactory(username=name) for name in ("doctor_a", "doctor_b")]
    for doctor in doctors:
        Membership.objects.create(user=doctor, clinic=clinic, role=Role.CLINICIAN)
    waiting = _waiting(clinic)
    half_way = threading.Event()
    check = staff_services._refuse_unless_may_confirm

    def slow_check(**kwargs):
        if not half_way.is_set():
            half_way.set()
            time.sleep(0.5)
        return check(**kwargs)

    monkeypatch.setattr(staff_services, "_refuse_unless_may_confirm", slow_check)
    outcomes: list[object] = []

    def decide(service, actor) -> None:
        try:
            outcomes.append(service(confirmation=waiting, actor=actor, now=timezone.now()))
        except ValidationError as error:
            outcomes.append(error)
        finally:
            connection.close()

    first = threading.Thread(target=decide, args=(staff_services.role_confirm, doctors[0]))
    first.start()
    assert half_way.wait(10)
    second = threading.Thread(target=decide, args=(staff_services.role_refuse, doctors[1]))
    second.start()
    first.join(10)
    second.join(10)

    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(refused) == 1 and refused[0].code == "decided"
    assert RoleConfirmation.objects.get(pk=waiting.pk).status == "confirmed"
    assert Membership.objects.filter(user=waiting.user).count() == 1
    assert StaffAction.objects.filter(kind__in=["confirm", "refuse"]).count() == 1
