"""Staff by invitation (issue 11, H1 and L3): an admin invites a person by e-mail; the person
opens the one-time link, chooses a username and a password, and only then does an account exist.
No admin ever sets or sees a password.

The link carries a random token of 256 bits; the table keeps only its SHA-256, so a copy of the
database holds no usable link. A token works once (the accepting transaction locks the row and
marks it accepted) and until `expires_at` (INVITATION_DAYS after it was sent).

A clinic admin role takes effect at once on acceptance. A clinical role (clinician or nurse)
opens patients' records, so it waits for a clinician of the clinic to confirm it
(`patients.staff_services.role_confirm`): the accepted invitation leaves a pending
`RoleConfirmation` and no membership.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from patients.models import Clinic, Invitation, Membership, Role, RoleConfirmation, StaffAction
from patients.permissions import role_needs_confirmation
from patients.staff_actions import staff_action_log, staff_mail_send

#: How long an invitation link works.
INVITATION_DAYS = 7
#: The one message for a username that cannot be had, whoever holds it and wherever they work
#: (L3: it must not tell an invitee which accounts exist in other clinics).
USERNAME_UNAVAILABLE = "This username is not available. Choose another."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(*, token: str, base_url: str) -> str:
    return base_url.rstrip("/") + reverse("patients:invitation-accept", args=[token])


def staff_invite(
    *,
    clinic: Clinic,
    actor: AbstractBaseUser | None,
    email: str,
    first_name: str,
    last_name: str,
    role: str,
    now: dt.datetime,
    base_url: str,
) -> Invitation:
    """Create an invitation and e-mail its link to `email`. Nothing is kept when the mail
    server refuses: the admin sees the error and tries again."""
    Role(role)  # an unknown role is a programming error here: the form offers the known ones
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation(
            clinic=clinic,
            email=email,
            first_name=first_name,
            last_name=last_name,
            role=role,
            token_hash=token_hash(token),
            invited_by=actor,
            expires_at=now + dt.timedelta(days=INVITATION_DAYS),
        )
        invitation._history_user = actor  # type: ignore[attr-defined]  # read by simple-history
        invitation.save()
        link = invitation_link(token=token, base_url=base_url)
        staff_mail_send(
            subject=f"Ossa: you are invited to {clinic.name}",
            message=(
                f"Hello {first_name or email},\n\n"
                f"An administrator of {clinic.name} invites you to Ossa as "
                f"{invitation.get_role_display().lower()}. Open this link to choose your "
                f"username and password:\n\n{link}\n\n"
                f"The link works once, for {INVITATION_DAYS} days. If you did not expect "
                "it, ignore this message.\n"
            ),
            email=email,
        )
        staff_action_log(
            clinic=clinic,
            actor=actor,
            target=None,
            kind=StaffAction.Kind.INVITE,
            detail=f"{email} as {invitation.get_role_display()}"[:200],
        )
    return invitation


def invitation_for_token(token: str, *, now: dt.datetime) -> Invitation | None:
    """The open invitation of this token, or None (unknown, used or expired: the page says the
    same for all three)."""
    return (
        Invitation.objects.select_related("clinic")
        .filter(token_hash=token_hash(token), accepted_at__isnull=True, expires_at__gt=now)
        .first()
    )


def username_check(username: str) -> None:
    """Django's username rules, and a taken name refused with the one generic message."""
    user_model = get_user_model()
    field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    field.run_validators(username)  # UnicodeUsernameValidator and the length limit
    if user_model._default_manager.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}):
        raise ValidationError(USERNAME_UNAVAILABLE, code="unavailable")


def invitation_accept(
    *, token: str, username: str, password: str, now: dt.datetime
) -> AbstractBaseUser:
    """Create the invitee's account with the password they chose, and either their membership
    (clinic admin) or a role waiting for a clinician's confirmation (clinician, nurse).

    Raises ValidationError with a dict keyed by form field (username, password) or, for a link
    no longer valid, code "invalid"."""
    user_model = get_user_model()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("clinic")
            .filter(token_hash=token_hash(token), accepted_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if invitation is None:
            raise ValidationError("This invitation link is no longer valid.", code="invalid")
        try:
            username_check(username)
        except ValidationError as error:
            raise ValidationError({"username": error.error_list}) from error
        user = user_model(
            username=username,
            email=invitation.email,
            first_name=invitation.first_name,
            last_name=invitation.last_name,
        )
        try:
            password_validation.validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password1": error.error_list}) from error
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as error:  # the same name taken a moment ago
            raise ValidationError({"username": [USERNAME_UNAVAILABLE]}) from error
        invitation.accepted_at = now
        invitation.user = user
        invitation._history_user = user  # type: ignore[attr-defined]
        invitation.save(update_fields=["accepted_at", "user"])
        clinic = invitation.clinic
        staff_action_log(
            clinic=clinic, actor=user, target=user, kind=StaffAction.Kind.ACCEPT, detail=""
        )
        if role_needs_confirmation(invitation.role):
            confirmation = RoleConfirmation(
                clinic=clinic, user=user, role=invitation.role, requested_by=invitation.invited_by
            )
            confirmation._history_user = user  # type: ignore[attr-defined]
            confirmation.save()
            staff_action_log(
                clinic=clinic,
                actor=user,
                target=user,
                kind=StaffAction.Kind.ROLE_REQUEST,
                detail=f"{confirmation.get_role_display()}, waiting for a clinician",
            )
        else:
            membership = Membership(user=user, clinic=clinic, role=invitation.role)
            membership._history_user = user  # type: ignore[attr-defined]
            membership.save()
    return user
