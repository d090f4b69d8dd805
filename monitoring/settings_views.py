"""The clinic's reminder settings page (clinic admins): lead time, how long "done" holds, who is
told of critical reminders and whether at once; the nightly scan's time; the daily digest's
schedule; the clinic's expected yearly caseload of fragility fractures. Thin: access → form →
one service → redirect; a refusal is shown beside its field."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from monitoring.notifications import last_digest
from monitoring.reminder_forms import ScanTimeForm
from monitoring.reminder_settings import (
    can_change_scan_time,
    clinic_reminder_settings_update,
    digest_task,
    nightly_scan_task,
    reminder_scan_schedule_update,
    scan_time,
)
from monitoring.settings_forms import ClinicSettingsForm
from patients.access import clinic_for_user
from patients.permissions import Action
from patients.records import add_validation_error


def reminder_settings(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = clinic_for_user(request.user, slug, Action.MANAGE_REMINDERS)
    task = nightly_scan_task()
    may_change_time = can_change_scan_time(request.user)
    posted = request.POST if request.method == "POST" else None
    settings_form = ClinicSettingsForm(
        posted if "save_settings" in request.POST else None, instance=clinic
    )
    time = scan_time(task)
    scan_form = ScanTimeForm(
        posted if "save_scan_time" in request.POST else None,
        initial={"hour": time[0], "minute": time[1]} if time else {},
        disabled=not may_change_time or task is None,
    )
    if request.method == "POST":
        if "save_scan_time" in request.POST:
            if not may_change_time:
                raise PermissionDenied
            if scan_form.is_valid():
                try:
                    reminder_scan_schedule_update(
                        actor=request.user,  # type: ignore[arg-type]
                        **scan_form.cleaned_data,
                    )
                except ValidationError as refusal:
                    add_validation_error(scan_form, refusal)
                else:
                    data = scan_form.cleaned_data
                    messages.success(
                        request,
                        f"The nightly scan now runs at {data['hour']:02d}:{data['minute']:02d}.",
                    )
                    return redirect("reminders:settings", slug)
        elif settings_form.is_valid():
            data = settings_form.cleaned_data
            try:
                clinic_reminder_settings_update(
                    clinic=clinic,
                    lead_days=data["reminder_lead_days"],
                    notification_emails=data["notification_emails"],
                    done_hold_days=data["done_hold_days"],
                    immediate_critical_email=data["immediate_critical_email"],
                    expected_yearly_caseload=data["expected_yearly_caseload"],
                    actor=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as refusal:
                add_validation_error(settings_form, refusal)
            else:
                messages.success(request, f"Reminder settings of {clinic.name} were saved.")
                return redirect("reminders:settings", slug)
    digest = digest_task()
    return render(
        request,
        "monitoring/reminder_settings.html",
        {
            "clinic": clinic,
            "settings_form": settings_form,
            "scan_form": scan_form,
            "task": task,
            "scan_time": time,
            "may_change_time": may_change_time,
            "time_zone": (task.crontab.timezone if task and task.crontab else None),
            "digest_task": digest,
            "digest_time": scan_time(digest),
            "last_digest": last_digest(),
        },
        status=400 if request.method == "POST" else 200,
    )
