"""What every staff change shares: its line on the staff log, and the e-mail it may send (an
invitation, a password-reset link). Used by `patients.staff_invitations` and
`patients.staff_services`."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail

from patients.models import Clinic, StaffAction


def staff_action_log(
    *,
    clinic: Clinic,
    actor: AbstractBaseUser | None,
    target: AbstractBaseUser | None,
    kind: str,
    detail: str = "",
) -> StaffAction:
    """One line of the clinic's staff log (the detail is cut to its 200 characters)."""
    return StaffAction.objects.create(
        clinic=clinic, actor=actor, target=target, kind=kind, detail=detail[:200]
    )


def staff_mail_send(*, subject: str, message: str, email: str) -> None:
    """Send one staff e-mail; a server that refuses or is down is a `ValidationError` the page
    shows (the caller's transaction then keeps nothing)."""
    try:
        send_mail(subject=subject, message=message, from_email=None, recipient_list=[email])
    except OSError as error:  # smtplib's errors included
        raise ValidationError(
            f"The e-mail to {email} could not be sent ({error}); try again later.",
            code="mail_failed",
        ) from error
