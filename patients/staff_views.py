"""The clinic's staff pages: the admin's list (invite, change a role, remove, account actions),
a clinician's confirmation of a clinical role, the staff log, and the invitee's own page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from patients.access import clinic_for_user, patient_for_user
from patients.forms import MembershipRoleForm
from patients.models import AccessLogEntry, Clinic, Membership, RoleConfirmation, StaffAction
from patients.permissions import MATRIX, Action
from patients.staff_forms import InvitationAcceptForm, StaffInviteForm
from patients.staff_invitations import invitation_accept, invitation_for_token, staff_invite
from patients.staff_services import (
    role_confirm,
    role_refuse,
    staff_deactivate,
    staff_reactivate,
    staff_remove,
    staff_role_set,
    staff_send_password_reset,
    staff_unlock,
)

#: The staff page lists this many of the latest account actions; the log page pages by this many.
STAFF_LOG_SIZE = 20
LOG_PAGE_SIZE = 50


def _site_url(request: HttpRequest) -> str:
    """Where links in e-mails point: OSSA_SITE_URL when set, else this request's own site."""
    return getattr(settings, "OSSA_SITE_URL", "") or request.build_absolute_uri("/")


def staff_list(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = clinic_for_user(request.user, slug, Action.MANAGE_STAFF)
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            staff_invite(
                clinic=clinic,
                actor=request.user,  # type: ignore[arg-type]
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                role=data["role"],
                now=timezone.now(),
                base_url=_site_url(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"An invitation was sent to {data['email']}. The account exists once they "
                "choose their username and password.",
            )
            return redirect("patients:staff", slug)
    memberships = (
        Membership.objects.filter(clinic=clinic).select_related("user").order_by("user__username")
    )
    return render(
        request,
        "patients/staff_list.html",
        {
            "clinic": clinic,
            "memberships": memberships,
            "pending": RoleConfirmation.objects.filter(
                clinic=clinic, status=RoleConfirmation.Status.PENDING
            ).select_related("user"),
            "form": form,
            "role_form": MembershipRoleForm(),
            "matrix": MATRIX,
            "staff_actions": StaffAction.objects.filter(clinic=clinic).select_related(
                "actor", "target"
            )[:STAFF_LOG_SIZE],
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def staff_update(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    clinic = clinic_for_user(request.user, slug, Action.MANAGE_STAFF)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "clinic"), clinic=clinic, pk=pk
    )
    if membership.user_id == request.user.pk:
        messages.error(request, "You cannot change or remove your own access.")
        return redirect("patients:staff", slug)
    name = membership.user.get_username()
    if "remove" in request.POST:
        try:
            deactivated = staff_remove(
                membership=membership,
                actor=request.user,  # type: ignore[arg-type]
                now=timezone.now(),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            done = f"{name} no longer has access to {clinic.name}; their sessions ended."
            if deactivated:
                done += " The account belongs to no other clinic and is deactivated."
            messages.success(request, done)
        return redirect("patients:staff", slug)
    form = MembershipRoleForm(request.POST)
    if form.is_valid():
        before = membership.role
        staff_role_set(
            membership=membership,
            role=form.cleaned_data["role"],
            actor=request.user,  # type: ignore[arg-type]
        )
        if membership.role == before and form.cleaned_data["role"] != before:
            messages.success(
                request,
                f"{name} stays {membership.get_role_display()} until a clinician of "
                f"{clinic.name} confirms the new role.",
            )
        else:
            messages.success(request, f"{name} is now {membership.get_role_display()}.")
    else:
        messages.error(request, "Choose a role.")
    return redirect("patients:staff", slug)


@require_POST
def staff_account(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Unlock, send a password-reset link, deactivate or reactivate a colleague's account."""
    clinic = clinic_for_user(request.user, slug, Action.MANAGE_STAFF)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "clinic"), clinic=clinic, pk=pk
    )
    action = request.POST.get("action", "")
    name = membership.user.get_username()
    actor = request.user
    try:
        if action == "unlock":
            staff_unlock(membership=membership, actor=actor)  # type: ignore[arg-type]
            done = f"{name} may sign in again: failed logins were cleared."
        elif action == "password_reset":
            email = staff_send_password_reset(
                membership=membership,
                actor=actor,  # type: ignore[arg-type]
                base_url=_site_url(request),
            )
            done = f"A password-reset link was sent to {email}."
        elif action == "deactivate":
            ended = staff_deactivate(
                membership=membership,
                actor=actor,  # type: ignore[arg-type]
                now=timezone.now(),
            )
            done = f"{name} is deactivated; {ended} session{pluralize(ended)} ended."
        elif action == "reactivate":
            staff_reactivate(membership=membership, actor=actor)  # type: ignore[arg-type]
            done = f"{name} is active again."
        else:
            messages.error(request, "Choose an action.")
            return redirect("patients:staff", slug)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("patients:staff", slug)


def _clinic_to_confirm_in(request: HttpRequest, slug: str) -> Clinic:
    """A clinic where the user confirms roles: as its clinician, or as a superuser (who may
    belong to no clinic)."""
    if getattr(request.user, "is_superuser", False):
        return get_object_or_404(Clinic, slug=slug)
    return clinic_for_user(request.user, slug, Action.CONFIRM_STAFF)


@require_POST
def role_decision(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Confirm or refuse a clinical role waiting in this clinic (the two-person rule)."""
    clinic = _clinic_to_confirm_in(request, slug)
    confirmation = get_object_or_404(
        RoleConfirmation.objects.select_related("user"),
        clinic=clinic,
        pk=pk,
        status=RoleConfirmation.Status.PENDING,
    )
    decision = request.POST.get("decision", "")
    name = confirmation.user.get_username()
    actor = request.user
    try:
        if decision == "confirm":
            membership = role_confirm(
                confirmation=confirmation,
                actor=actor,  # type: ignore[arg-type]
                now=timezone.now(),
            )
            messages.success(
                request, f"{name} is now {membership.get_role_display()} at {clinic.name}."
            )
        elif decision == "refuse":
            role_refuse(
                confirmation=confirmation,
                actor=actor,  # type: ignore[arg-type]
                now=timezone.now(),
            )
            messages.success(request, f"The role of {name} was refused.")
        else:
            messages.error(request, "Choose Confirm or Refuse.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("dashboard")


def staff_log(request: HttpRequest, slug: str) -> HttpResponse:
    """Every membership change of the clinic, newest first: for its clinicians and admins."""
    clinic = clinic_for_user(request.user, slug, Action.VIEW_STAFF_LOG)
    actions = StaffAction.objects.filter(clinic=clinic).select_related("actor", "target")
    page = Paginator(actions, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "patients/staff_log.html", {"clinic": clinic, "page": page})


@login_not_required
@never_cache
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee's page: choose a username and a password. Open to a signed-out visitor
    (the token is the credential); a link unknown, used or expired answers 404."""
    now = timezone.now()
    invitation = invitation_for_token(token, now=now)
    if invitation is None:
        return render(request, "registration/invitation_invalid.html", status=404)
    if request.user.is_authenticated:
        raise PermissionDenied("Sign out before accepting an invitation.")
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation_accept(
                token=token, username=data["username"], password=data["password1"], now=now
            )
        except ValidationError as error:
            if not hasattr(error, "error_dict"):  # the link was used or expired meanwhile
                return render(request, "registration/invitation_invalid.html", status=404)
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request,
                "Your account is ready: sign in with your new username and password.",
            )
            return redirect("login")
    return render(
        request,
        "registration/invitation_accept.html",
        {"form": form, "invitation": invitation},
        status=400 if request.method == "POST" else 200,
    )


def patient_access_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Who opened this patient's clinical record, on which page, newest first (the clinic's
    clinicians; a superuser reads all of it in the Django admin)."""
    access = patient_for_user(request.user, pk, Action.VIEW_ACCESS_LOG)
    entries = AccessLogEntry.objects.filter(patient=access.patient).select_related("user")
    page = Paginator(entries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "patients/access_log.html",
        {"access": access, "patient": access.patient, "page": page},
    )
