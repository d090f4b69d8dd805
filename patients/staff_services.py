"""What a clinic admin does to a colleague's account: unlock it after failed logins, send a
password-reset link, deactivate it (ending every session at once) or reactivate it.

Each action writes one `StaffAction` row (the staff page's log). A user account is shared by
every clinic its owner works in, so an admin of one clinic may deactivate or reactivate only an
account that belongs to their clinic alone: deactivating someone who also works elsewhere would
lock them out of the other clinics too, which is for a site administrator to decide. Unlocking
and sending a reset link only help the owner sign in again, so they are allowed for any member.
Nobody acts on their own account here, and a superuser's account is left to site administrators.
"""

from __future__ import annotations

import datetime as dt

from axes.utils import reset as axes_reset
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from patients.models import Clinic, Membership, Role, StaffAction
from patients.services import record_save

#: The key under which django.contrib.auth keeps the signed-in user's id in a session.
_SESSION_USER_KEY = "_auth_user_id"


def _refuse_self_or_superuser(*, target: AbstractBaseUser, actor: AbstractBaseUser) -> None:
    if target.pk == actor.pk:
        raise ValidationError("You cannot change your own account here.", code="self")
    if getattr(target, "is_superuser", False):
        raise ValidationError(
            f"{target.get_username()} is a site administrator; ask another site administrator.",
            code="superuser",
        )


def _log(
    *, clinic: Clinic, actor: AbstractBaseUser, target: AbstractBaseUser, kind: str, detail: str
) -> StaffAction:
    return StaffAction.objects.create(
        clinic=clinic, actor=actor, target=target, kind=kind, detail=detail[:200]
    )


def staff_unlock(*, membership: Membership, actor: AbstractBaseUser) -> int:
    """Forget the colleague's failed logins, from every address, so they may sign in again
    at once. Returns how many failure records were removed."""
    target = membership.user
    _refuse_self_or_superuser(target=target, actor=actor)
    with transaction.atomic():
        removed = axes_reset(username=target.get_username())
        _log(
            clinic=membership.clinic,
            actor=actor,
            target=target,
            kind=StaffAction.Kind.UNLOCK,
            detail=f"{removed} failed-login record{'s' if removed != 1 else ''} cleared",
        )
    return removed


def password_reset_link(*, user: AbstractBaseUser, base_url: str) -> str:
    """The one-time link that lets `user` choose a new password (Django's token: it stops
    working once the password changes, or after PASSWORD_RESET_TIMEOUT)."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),  # type: ignore[arg-type]
        },
    )
    return base_url.rstrip("/") + path


def staff_send_password_reset(
    *, membership: Membership, actor: AbstractBaseUser, base_url: str
) -> str:
    """E-mail the colleague a link to choose a new password; returns the address used.
    The link goes to the account's own address only, never to one typed here."""
    target = membership.user
    _refuse_self_or_superuser(target=target, actor=actor)
    email = getattr(target, "email", "")
    if not email:
        raise ValidationError(
            f"{target.get_username()} has no e-mail address; a site administrator adds one.",
            code="no_email",
        )
    if not target.is_active:
        raise ValidationError(
            f"{target.get_username()} is deactivated; reactivate the account first.",
            code="inactive",
        )
    link = password_reset_link(user=target, base_url=base_url)
    clinic = membership.clinic
    # Sent first, logged once sent: a mail server that refuses leaves no "sent" in the log.
    try:
        send_mail(
            subject=f"Ossa: choose a new password for {clinic.name}",
            message=(
                f"Hello {target.get_username()},\n\n"
                f"An administrator of {clinic.name} sent you this link to choose a new "
                f"password for Ossa:\n\n{link}\n\n"
                "The link works once. If you did not expect it, ignore this message and "
                "tell your clinic's administrator.\n"
            ),
            from_email=None,
            recipient_list=[email],
        )
    except OSError as error:  # smtplib's errors included: the server refused or is down
        raise ValidationError(
            f"The e-mail to {email} could not be sent ({error}); try again later.",
            code="mail_failed",
        ) from error
    _log(
        clinic=clinic,
        actor=actor,
        target=target,
        kind=StaffAction.Kind.PASSWORD_RESET,
        detail=f"sent to {email}",
    )
    return email


def _refuse_shared_account(membership: Membership) -> None:
    others = (
        Membership.objects.filter(user_id=membership.user_id)
        .exclude(clinic_id=membership.clinic_id)
        .select_related("clinic")
        .order_by("clinic__name")
    )
    names = [m.clinic.name for m in others]
    if names:
        raise ValidationError(
            f"{membership.user.get_username()} also works at {', '.join(names)}: deactivating "
            "the account would lock them out there too. Remove them from this clinic instead, "
            "or ask a site administrator.",
            code="shared_account",
        )


def _sessions_end(user: AbstractBaseUser, *, now: dt.datetime) -> int:
    """Delete every unexpired session signed in as `user`. Sessions are stored in the database
    and live minutes (SESSION_COOKIE_AGE), so reading the live ones is cheap."""
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=now).iterator()
        if session.get_decoded().get(_SESSION_USER_KEY) == str(user.pk)
    ]
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def staff_deactivate(*, membership: Membership, actor: AbstractBaseUser, now: dt.datetime) -> int:
    """Stop the colleague signing in and end their sessions at once (a request already under
    way finishes; the next one finds no session). Returns how many sessions were ended."""
    target = membership.user
    _refuse_self_or_superuser(target=target, actor=actor)
    _refuse_shared_account(membership)
    if not target.is_active:
        raise ValidationError(f"{target.get_username()} is already deactivated.", code="inactive")
    with transaction.atomic():
        target.is_active = False
        target.save(update_fields=["is_active"])
        ended = _sessions_end(target, now=now)
        _log(
            clinic=membership.clinic,
            actor=actor,
            target=target,
            kind=StaffAction.Kind.DEACTIVATE,
            detail=f"{ended} session{'s' if ended != 1 else ''} ended",
        )
    return ended


def staff_reactivate(*, membership: Membership, actor: AbstractBaseUser) -> None:
    target = membership.user
    _refuse_self_or_superuser(target=target, actor=actor)
    _refuse_shared_account(membership)
    if target.is_active:
        raise ValidationError(f"{target.get_username()} is already active.", code="active")
    with transaction.atomic():
        target.is_active = True
        target.save(update_fields=["is_active"])
        _log(
            clinic=membership.clinic,
            actor=actor,
            target=target,
            kind=StaffAction.Kind.REACTIVATE,
            detail="",
        )


@transaction.atomic
def staff_role_set(*, membership: Membership, role: str, actor: AbstractBaseUser) -> Membership:
    """Give the colleague another role in this clinic (audited on the membership, and logged
    on the staff page)."""
    before = membership.get_role_display()
    membership.role = Role(role)
    record_save(instance=membership, actor=actor)
    _log(
        clinic=membership.clinic,
        actor=actor,
        target=membership.user,
        kind=StaffAction.Kind.ROLE_CHANGE,
        detail=f"{before} → {membership.get_role_display()}",
    )
    return membership
