"""What is done to a colleague's account and membership: unlock it after failed logins, send a
password-reset link, deactivate it (ending every session at once) or reactivate it; change the
role, remove from the clinic; confirm or refuse a clinical role (the two-person rule: a role
that opens patients' records takes effect only once a clinician of the clinic — not the
person, not the one who asked — confirms it). Invitations are in `patients.staff_invitations`.

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
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from patients.models import Clinic, Membership, Role, RoleConfirmation, StaffAction
from patients.permissions import role_needs_confirmation
from patients.services import record_save
from patients.staff_actions import staff_action_log, staff_mail_send
from patients.staff_invitations import username_check

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


def staff_unlock(*, membership: Membership, actor: AbstractBaseUser) -> int:
    """Forget the colleague's failed logins, from every address, so they may sign in again
    at once. Returns how many failure records were removed."""
    target = membership.user
    _refuse_self_or_superuser(target=target, actor=actor)
    with transaction.atomic():
        removed = axes_reset(username=target.get_username())
        staff_action_log(
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
    staff_mail_send(
        subject=f"Ossa: choose a new password for {clinic.name}",
        message=(
            f"Hello {target.get_username()},\n\n"
            f"An administrator of {clinic.name} sent you this link to choose a new "
            f"password for Ossa:\n\n{link}\n\n"
            "The link works once. If you did not expect it, ignore this message and "
            "tell your clinic's administrator.\n"
        ),
        email=email,
    )
    staff_action_log(
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
        staff_action_log(
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
        staff_action_log(
            clinic=membership.clinic,
            actor=actor,
            target=target,
            kind=StaffAction.Kind.REACTIVATE,
            detail="",
        )


def _pending(*, user_id: int, clinic: Clinic) -> RoleConfirmation | None:
    return (
        RoleConfirmation.objects.select_for_update()
        .filter(user_id=user_id, clinic=clinic, status=RoleConfirmation.Status.PENDING)
        .first()
    )


@transaction.atomic
def staff_role_set(*, membership: Membership, role: str, actor: AbstractBaseUser) -> Membership:
    """Give the colleague another role in this clinic. A role that opens more of the clinical
    record than the current one (a nurse made clinician, an admin made nurse) waits for a
    clinician's confirmation and the current role stays until then; any other change takes
    effect at once (audited on the membership, and logged on the staff page). Returns the
    membership as it now stands."""
    new = Role(role)
    clinic = membership.clinic
    pending = _pending(user_id=membership.user_id, clinic=clinic)
    if new == membership.role:
        if pending is not None:  # the admin changed their mind: the request lapses
            _decide(pending, actor=actor, status=RoleConfirmation.Status.REFUSED)
        return membership
    if role_needs_confirmation(new, old=membership.role):
        if pending is not None:
            pending.role = new
            pending.requested_by = actor
            pending._history_user = actor  # type: ignore[attr-defined]
            pending.save(update_fields=["role", "requested_by"])
        else:
            confirmation = RoleConfirmation(
                clinic=clinic, user=membership.user, role=new, requested_by=actor
            )
            confirmation._history_user = actor  # type: ignore[attr-defined]
            confirmation.save()
        staff_action_log(
            clinic=clinic,
            actor=actor,
            target=membership.user,
            kind=StaffAction.Kind.ROLE_REQUEST,
            detail=f"{membership.get_role_display()} → {new.label}, waiting for a clinician",
        )
        return membership
    if pending is not None:
        _decide(pending, actor=actor, status=RoleConfirmation.Status.REFUSED)
    before = membership.get_role_display()
    membership.role = new
    record_save(instance=membership, actor=actor)
    staff_action_log(
        clinic=clinic,
        actor=actor,
        target=membership.user,
        kind=StaffAction.Kind.ROLE_CHANGE,
        detail=f"{before} → {membership.get_role_display()}",
    )
    return membership


def _decide(
    confirmation: RoleConfirmation,
    *,
    actor: AbstractBaseUser | None,
    status: str,
    now: dt.datetime | None = None,
) -> None:
    confirmation.status = status
    confirmation.decided_by = actor
    confirmation.decided_at = now or timezone.now()
    confirmation._history_user = actor  # type: ignore[attr-defined]
    confirmation.save(update_fields=["status", "decided_by", "decided_at"])


def may_confirm(*, actor: AbstractBaseUser, confirmation: RoleConfirmation) -> bool:
    """A clinician of the clinic, or a superuser — never the person whose role it is, nor the
    one who asked for it (two people, always)."""
    if actor.pk in (confirmation.user_id, confirmation.requested_by_id):
        return False
    if getattr(actor, "is_superuser", False):
        return True
    return Membership.objects.filter(
        user_id=actor.pk, clinic_id=confirmation.clinic_id, role=Role.CLINICIAN
    ).exists()


def _refuse_unless_may_confirm(*, actor: AbstractBaseUser, confirmation: RoleConfirmation) -> None:
    if actor.pk == confirmation.user_id:
        raise ValidationError("Another clinician confirms your own role.", code="self")
    if actor.pk == confirmation.requested_by_id:
        raise ValidationError(
            "You asked for this role; another clinician confirms it.", code="requester"
        )
    if not may_confirm(actor=actor, confirmation=confirmation):
        raise ValidationError(
            "Only a clinician of the clinic confirms a role.", code="not_clinician"
        )


def role_confirm(
    *, confirmation: RoleConfirmation, actor: AbstractBaseUser, now: dt.datetime
) -> Membership:
    """Give the waiting role: a new member's membership is created, a promoted one's role
    changes. Raises ValidationError when `actor` may not confirm or it was decided already.
    Two decisions at once (two clinicians, a confirm and a refuse): the row lock makes the
    second wait for the first, then find the role decided."""
    with transaction.atomic():
        confirmation = (
            RoleConfirmation.objects.select_for_update()
            .select_related("clinic", "user")
            .get(pk=confirmation.pk)
        )
        if confirmation.status != RoleConfirmation.Status.PENDING:
            raise ValidationError("This role was decided already.", code="decided")
        _refuse_unless_may_confirm(actor=actor, confirmation=confirmation)
        membership = (
            Membership.objects.select_for_update()
            .filter(user_id=confirmation.user_id, clinic=confirmation.clinic)
            .first()
        )
        before = membership.get_role_display() if membership else "new member"
        if membership is None:
            membership = Membership(
                user=confirmation.user, clinic=confirmation.clinic, role=confirmation.role
            )
        membership.role = confirmation.role
        membership._history_user = actor  # type: ignore[attr-defined]
        membership.save()
        _decide(confirmation, actor=actor, status=RoleConfirmation.Status.CONFIRMED, now=now)
        staff_action_log(
            clinic=confirmation.clinic,
            actor=actor,
            target=confirmation.user,
            kind=StaffAction.Kind.CONFIRM,
            detail=f"{before} → {membership.get_role_display()}",
        )
    return membership


def role_refuse(
    *, confirmation: RoleConfirmation, actor: AbstractBaseUser, now: dt.datetime
) -> None:
    """Refuse the waiting role: a promoted member keeps the old role; a newcomer left with no
    clinic at all has the account deactivated (L8)."""
    with transaction.atomic():
        confirmation = (
            RoleConfirmation.objects.select_for_update()
            .select_related("clinic", "user")
            .get(pk=confirmation.pk)
        )
        if confirmation.status != RoleConfirmation.Status.PENDING:
            raise ValidationError("This role was decided already.", code="decided")
        _refuse_unless_may_confirm(actor=actor, confirmation=confirmation)
        _decide(confirmation, actor=actor, status=RoleConfirmation.Status.REFUSED, now=now)
        ended = _deactivate_if_clinicless(confirmation.user, now=now)
        staff_action_log(
            clinic=confirmation.clinic,
            actor=actor,
            target=confirmation.user,
            kind=StaffAction.Kind.REFUSE,
            detail=confirmation.get_role_display()
            + ("; account deactivated (no clinic left)" if ended is not None else ""),
        )


def _deactivate_if_clinicless(user: AbstractBaseUser, *, now: dt.datetime) -> int | None:
    """Deactivate an account that belongs to no clinic and waits for no role any more (a site
    administrator's account excepted); returns the sessions ended, or None when kept."""
    if getattr(user, "is_superuser", False):
        return None
    if Membership.objects.filter(user_id=user.pk).exists():
        return None
    if RoleConfirmation.objects.filter(
        user_id=user.pk, status=RoleConfirmation.Status.PENDING
    ).exists():
        return None
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return _sessions_end(user, now=now)


def staff_remove(*, membership: Membership, actor: AbstractBaseUser, now: dt.datetime) -> bool:
    """Take the colleague out of this clinic (L8): the membership and any role waiting for
    confirmation here go, every session of theirs ends at once (whatever they had open here
    must not outlive the removal), and an account left with no clinic is deactivated.
    Returns whether the account was deactivated."""
    target = membership.user
    _refuse_self_or_superuser(target=target, actor=actor)
    clinic = membership.clinic
    with transaction.atomic():
        pending = _pending(user_id=target.pk, clinic=clinic)
        if pending is not None:
            _decide(pending, actor=actor, status=RoleConfirmation.Status.REFUSED, now=now)
        role = membership.get_role_display()
        membership._history_user = actor  # type: ignore[attr-defined]
        membership.delete()
        deactivated = _deactivate_if_clinicless(target, now=now) is not None
        if not deactivated:
            _sessions_end(target, now=now)
        staff_action_log(
            clinic=clinic,
            actor=actor,
            target=target,
            kind=StaffAction.Kind.REMOVE,
            detail=role + ("; account deactivated (no clinic left)" if deactivated else ""),
        )
    return deactivated


def first_clinician_create(
    *, clinic: Clinic, username: str, email: str, first_name: str = "", last_name: str = ""
) -> AbstractBaseUser:
    """The clinic's first clinician, created on the server by whoever runs the command (the
    second person of the two-person rule): confirmed at once, with no usable password — the
    caller hands out a one-time link to choose one. Refused when the clinic has a clinician."""
    if Membership.objects.filter(clinic=clinic, role=Role.CLINICIAN).exists():
        raise ValidationError(
            f"{clinic.name} has a clinician already: invite colleagues from the staff page.",
            code="has_clinician",
        )
    username_check(username)
    with transaction.atomic():
        user = get_user_model()(
            username=username, email=email, first_name=first_name, last_name=last_name
        )
        user.set_unusable_password()
        user.save()
        Membership.objects.create(user=user, clinic=clinic, role=Role.CLINICIAN)
        staff_action_log(
            clinic=clinic,
            actor=None,
            target=user,
            kind=StaffAction.Kind.CONFIRM,
            detail="first clinician, created on the server",
        )
    return user
