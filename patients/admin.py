from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from patients.models import Clinic, Membership, Patient


def superuser_only(request: HttpRequest) -> bool:
    """The Django admin is for superusers only; staff flags give no access."""
    return bool(request.user.is_active and request.user.is_superuser)


admin.site.has_permission = superuser_only  # type: ignore[method-assign]
admin.site.site_header = "Ossa administration"


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
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
