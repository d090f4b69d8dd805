"""Reads for the staff pages and the dashboard: roles waiting for a clinician's confirmation."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from patients.models import Membership, Role, RoleConfirmation


@dataclass
class Confirmations:
    #: Roles in the user's clinics that the user may confirm or refuse.
    to_decide: list[RoleConfirmation] = field(default_factory=list)
    #: The user's own roles still waiting (they see nothing of those clinics yet).
    waiting: list[RoleConfirmation] = field(default_factory=list)


def confirmations_for(user: AbstractBaseUser, memberships: list[Membership]) -> Confirmations:
    """One query, whatever the number of clinics: the roles the user decides (as a clinician of
    the clinic, or any clinic's as a superuser) and the user's own waiting roles."""
    clinician_of = [m.clinic_id for m in memberships if m.role == Role.CLINICIAN]
    superuser = getattr(user, "is_superuser", False)
    if not (clinician_of or superuser):
        scope = Q(user_id=user.pk)
    elif superuser:
        scope = Q()
    else:
        scope = Q(user_id=user.pk) | Q(clinic_id__in=clinician_of)
    rows = (
        RoleConfirmation.objects.filter(scope, status=RoleConfirmation.Status.PENDING)
        .select_related("clinic", "user", "requested_by")
        .order_by("clinic__name", "requested_at", "pk")
    )
    result = Confirmations()
    for row in rows:
        if row.user_id == user.pk:
            result.waiting.append(row)
        elif row.requested_by_id != user.pk:
            result.to_decide.append(row)
    return result
