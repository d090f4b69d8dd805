from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from patients.models import (
    AccessLogEntry,
    Clinic,
    Invitation,
    Membership,
    Patient,
    RoleConfirmation,
    StaffAction,
)


def superuser_only(request: HttpRequest) -> bool:
    """The Django admin is for superusers only; staff flags give no access."""
    return bool(request.user.is_active and request.user.is_superuser)


admin.site.has_permission = superuser_only  # type: ignore[method-assign]
admin.site.site_header = "Ossa administration"


@admin.register(Clinic)
class ClinicAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "clinic", "role"]
    list_filter = ["clinic", "role"]


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):
    list_display = ["name", "mrn", "clinic", "birth_date", "status"]
    list_filter = ["clinic", "status"]
    search_fields = ["name", "mrn"]
    # Kept by Patient.save from the given and family names: edit those instead.
    readonly_fields = ["name"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """An audit trail: read, filtered and searched, never written here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "clinic", "patient_ref", "route"]
    list_filter = ["clinic", "route"]
    search_fields = ["user__username", "patient_ref"]
    date_hierarchy = "at"


@admin.register(StaffAction)
class StaffActionAdmin(ReadOnlyAdmin):
    list_display = ["at", "clinic", "actor", "target", "kind", "detail"]
    list_filter = ["clinic", "kind"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["email", "clinic", "role", "invited_by", "created_at", "expires_at", "user"]
    list_filter = ["clinic", "role"]
    exclude = ["token_hash"]


@admin.register(RoleConfirmation)
class RoleConfirmationAdmin(ReadOnlyAdmin):
    list_display = ["user", "clinic", "role", "status", "requested_by", "decided_by", "decided_at"]
    list_filter = ["clinic", "status"]
