"""CDS clients are registered by superusers (they decide which EHR may call Ossa and for which
clinic); the cards issued and the feedback received are read-only records."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from interop.cds.models import CdsCard, CdsClient, CdsFeedback


class SuperuserOnly:
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser


@admin.register(CdsClient)
class CdsClientAdmin(SuperuserOnly, SimpleHistoryAdmin):
    list_display = ["name", "issuer", "clinic", "is_active", "created_at"]
    list_filter = ["is_active", "clinic"]
    search_fields = ["name", "issuer"]
    fields = ["name", "clinic", "issuer", "jwks_url", "public_key_pem", "mrn_system", "is_active"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser


class ReadOnly(SuperuserOnly):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CdsCard)
class CdsCardAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["issued_at", "service", "indicator", "summary", "patient", "client"]
    list_filter = ["service", "indicator"]
    list_select_related = ["patient", "client"]
    search_fields = ["uuid", "mrn", "patient_reference"]
    date_hierarchy = "issued_at"


@admin.register(CdsFeedback)
class CdsFeedbackAdmin(ReadOnly, admin.ModelAdmin):
    list_display = [
        "outcome_at",
        "service",
        "outcome",
        "override_reason",
        "card_summary",
        "patient",
        "mrn",
        "client",
    ]
    list_filter = ["outcome", "service"]
    list_select_related = ["card", "patient", "client"]
    search_fields = ["card_uuid", "mrn", "patient_reference", "override_reason"]
    date_hierarchy = "outcome_at"

    @admin.display(description="card")
    def card_summary(self, obj: CdsFeedback) -> str:
        return obj.card.summary if obj.card else str(obj.card_uuid)
