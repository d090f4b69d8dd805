"""Reminder pages for clinic admins: the worklist, one reminder with its history, the actions
(single, by htmx or plain POST, and bulk). The clinic's reminder settings: `settings_views`.

Every page is scoped through `patients.access` (via `monitoring.reminder_selectors`): clinicians
and nurses get 403, anyone outside the reminder's clinic 404. Views are thin: access → form → one
service → redirect; a refusal from a service is shown beside its field or above the form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder, ReminderStatus
from monitoring.reminder_forms import (
    AssignForm,
    BulkForm,
    DismissForm,
    DoneForm,
    SnoozeForm,
    WorklistFilterForm,
    staff_choices,
)
from monitoring.reminder_presenters import decorate, reminder_history
from monitoring.reminder_selectors import (
    PAGE_SIZE,
    WorklistFilters,
    admin_clinics,
    assignable_staff,
    reminder_for_user,
    reminders_in,
    worklist,
    worklist_counts,
    worklist_kinds,
)
from monitoring.reminder_services import (
    BULK_VERBS,
    BulkAction,
    reminder_assign,
    reminder_dismiss,
    reminder_done,
    reminder_reopen,
    reminder_snooze,
    reminders_bulk_act,
)
from patients.models import Clinic, Membership
from patients.records import add_validation_error


def _admin_clinics(request: HttpRequest) -> list[Clinic]:
    clinics = admin_clinics(request.user)
    if not clinics:
        raise PermissionDenied
    return clinics


def _next_url(request: HttpRequest, fallback: str) -> str:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return fallback


def _choices_by_clinic(staff: list[Membership]) -> dict[int, list[tuple[str, str]]]:
    by_clinic: dict[int, list[Membership]] = {}
    for m in staff:
        by_clinic.setdefault(m.clinic_id, []).append(m)
    return {cid: staff_choices(ms, show_clinic=False) for cid, ms in by_clinic.items()}


# --- the worklist -----------------------------------------------------------------------------


def reminder_list(request: HttpRequest) -> HttpResponse:
    return _render_list(request, request.GET)


def _render_list(
    request: HttpRequest,
    query: QueryDict,
    *,
    bulk_form: BulkForm | None = None,
    status: int = 200,
) -> HttpResponse:
    clinics = _admin_clinics(request)
    today = timezone.localdate()
    reminders = reminders_in(clinics)
    staff = assignable_staff(c.pk for c in clinics)
    show_clinic = len(clinics) > 1
    form = WorklistFilterForm(
        query if any(k != "page" for k in query) else None,
        clinics=clinics,
        kinds=worklist_kinds(reminders),
        staff=staff,
    )
    form.is_valid()
    filters = form.filters()
    page = Paginator(worklist(reminders, filters=filters, today=today), PAGE_SIZE).get_page(
        query.get("page")
    )
    rows = decorate(page.object_list, today)
    choices = _choices_by_clinic(staff)
    for r in rows:
        r.assignable = choices.get(r.patient.clinic_id, [])  # type: ignore[attr-defined]
    counts = worklist_counts(reminders, filters=filters, today=today)
    without_page = query.copy()
    without_page.pop("page", None)
    without_status = without_page.copy()
    without_status.pop("status", None)
    bulk_form = bulk_form or BulkForm(staff=staff, show_clinic=show_clinic)
    return render(
        request,
        "monitoring/reminder_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "counts": counts,
            "status_links": _status_links(counts, without_status, filters.status),
            "query": without_page.urlencode(),
            "here": request.path + (f"?{query.urlencode()}" if query else ""),
            "bulk_form": bulk_form,
            "selected": bulk_form.selected_ids() if bulk_form.is_bound else set(),
            "show_clinic": show_clinic,
            "clinics": clinics,
            "today": today,
            "is_filtered": filters != WorklistFilters(),
        },
        status=status,
    )


def _status_links(counts: dict[str, int], query: QueryDict, current: str) -> list[dict[str, Any]]:
    """One link per status with its count, keeping the other filters."""
    links = []
    active = sum(counts[s] for s in ACTIVE_REMINDER_STATUSES)
    for value, label, count in [
        ("", "Active", active),
        *[(s.value, s.label, counts[s.value]) for s in ReminderStatus],
        ("all", "All", sum(counts[s.value] for s in ReminderStatus)),
    ]:
        q = query.copy()
        if value:
            q["status"] = value
        links.append(
            {"label": label, "count": count, "query": q.urlencode(), "current": value == current}
        )
    return links


def reminder_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = reminder_for_user(request.user, pk)
    return _render_detail(request, reminder)


def _render_detail(
    request: HttpRequest,
    reminder: Reminder,
    bound: forms.Form | None = None,
    status: int = 200,
) -> HttpResponse:
    today = timezone.localdate()
    staff = assignable_staff([reminder.patient.clinic_id])
    forms_by_name: dict[str, forms.Form] = {
        "assign": AssignForm(staff=staff, initial={"assignee": reminder.assignee_id or ""}),
        "snooze": SnoozeForm(initial={"until": reminder.snoozed_until}),
        "done": DoneForm(),
        "dismiss": DismissForm(),
    }
    if bound is not None:
        forms_by_name[_FORM_NAMES[type(bound)]] = bound
    decorate([reminder], today)
    return render(
        request,
        "monitoring/reminder_detail.html",
        {
            "reminder": reminder,
            "patient": reminder.patient,
            "history": reminder_history(reminder),
            "forms": forms_by_name,
            "today": today,
            "back_url": reverse("reminders:list"),
        },
        status=status,
    )


_FORM_NAMES: dict[type[forms.Form], str] = {
    AssignForm: "assign",
    SnoozeForm: "snooze",
    DoneForm: "done",
    DismissForm: "dismiss",
}


# --- actions on one reminder ------------------------------------------------------------------


def _act(
    request: HttpRequest,
    reminder: Reminder,
    form: forms.Form | None,
    service: Callable[[dict[str, Any]], str],
) -> HttpResponse:
    """Validate `form`, run `service(cleaned_data)` (which says what it did); answer htmx with
    the row, others with a redirect (or the reminder page with the error beside its field)."""
    error = done = ""
    if form is None or form.is_valid():
        try:
            done = service(form.cleaned_data if form is not None else {})
        except ValidationError as refusal:
            if form is not None:
                add_validation_error(form, refusal)
            error = " ".join(refusal.messages)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if request.htmx:  # type: ignore[attr-defined]  # django-htmx middleware
        return _render_row(request, reminder, flash=error or done, is_error=bool(error))
    if error:
        if form is None or not any(name in form.fields for name in form.errors):
            # Not about the input (the reminder was closed meanwhile…): say so where they were.
            messages.error(request, error)
            return redirect(_next_url(request, reverse("reminders:detail", args=[reminder.pk])))
        return _render_detail(request, reminder, bound=form, status=400)
    messages.success(request, done)
    return redirect(_next_url(request, reverse("reminders:detail", args=[reminder.pk])))


def _render_row(
    request: HttpRequest, reminder: Reminder, *, flash: str, is_error: bool
) -> HttpResponse:
    """The worklist row of one reminder, as htmx swaps it in after an action."""
    today = timezone.localdate()
    reminder = (
        Reminder.objects.select_related("patient__clinic", "assignee").filter(pk=reminder.pk).get()
    )
    decorate([reminder], today)
    staff = assignable_staff([reminder.patient.clinic_id])
    reminder.assignable = staff_choices(staff, show_clinic=False)  # type: ignore[attr-defined]
    return render(
        request,
        "monitoring/_reminder_row.html",
        {
            "r": reminder,
            "today": today,
            "flash": flash,
            "is_error": is_error,
            "here": _next_url(request, reverse("reminders:list")),
            "show_clinic": request.POST.get("show_clinic") == "1",
        },
    )


@require_POST
def reminder_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = reminder_for_user(request.user, pk)
    form = AssignForm(request.POST, staff=assignable_staff([reminder.patient.clinic_id]))

    def assign(data: dict[str, Any]) -> str:
        who = data["assignee"]
        reminder_assign(reminder=reminder, assignee=who, actor=request.user)
        return f"Assigned to {who.get_full_name() or who.get_username()}." if who else "Unassigned."

    return _act(request, reminder, form, assign)


@require_POST
def reminder_snooze_view(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = reminder_for_user(request.user, pk)

    def snooze(data: dict[str, Any]) -> str:
        reminder_snooze(
            reminder=reminder,
            until=data["until"],
            actor=request.user,
            today=timezone.localdate(),
        )
        return f"Snoozed until {data['until']:%Y-%m-%d}."

    return _act(request, reminder, SnoozeForm(request.POST), snooze)


@require_POST
def reminder_done_view(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = reminder_for_user(request.user, pk)

    def mark_done(data: dict[str, Any]) -> str:
        reminder_done(reminder=reminder, actor=request.user, note=data["note"], now=timezone.now())
        return "Marked done."

    return _act(request, reminder, DoneForm(request.POST), mark_done)


@require_POST
def reminder_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = reminder_for_user(request.user, pk)

    def dismiss(data: dict[str, Any]) -> str:
        reminder_dismiss(
            reminder=reminder, reason=data["reason"], actor=request.user, now=timezone.now()
        )
        return "Dismissed."

    return _act(request, reminder, DismissForm(request.POST), dismiss)


@require_POST
def reminder_reopen_view(request: HttpRequest, pk: int) -> HttpResponse:
    reminder = reminder_for_user(request.user, pk)

    def reopen(data: dict[str, Any]) -> str:
        reminder_reopen(reminder=reminder, actor=request.user)
        return "Reopened."

    return _act(request, reminder, None, reopen)


# --- bulk actions -----------------------------------------------------------------------------


@require_POST
def reminder_bulk(request: HttpRequest) -> HttpResponse:
    clinics = _admin_clinics(request)
    staff = assignable_staff(c.pk for c in clinics)
    form = BulkForm(request.POST, staff=staff, show_clinic=len(clinics) > 1)
    query = QueryDict(request.POST.get("query", ""))
    if form.is_valid():
        data = form.cleaned_data
        ids = data["ids"]
        reminders = list(
            reminders_in(clinics)
            .filter(pk__in=ids)
            .select_related("patient__clinic")
            .order_by("pk")
        )
        if len(reminders) != len(ids):
            form.add_error(
                None,
                "Some of the selected reminders are not in your clinics' worklist. "
                "Nothing was changed.",
            )
        else:
            action = BulkAction(data["action"])
            try:
                count = reminders_bulk_act(
                    reminders=reminders,
                    action=action,
                    actor=request.user,  # type: ignore[arg-type]
                    now=timezone.now(),
                    today=timezone.localdate(),
                    assignee=data["assignee"],
                    until=data["until"],
                    reason=data["reason"],
                )
            except ValidationError as refusal:
                add_validation_error(form, refusal)
            else:
                verb = BULK_VERBS[action]
                messages.success(request, f"{count} reminder{'s' * (count != 1)} {verb}.")
                url = reverse("reminders:list")
                return redirect(f"{url}?{query.urlencode()}" if query else url)
    return _render_list(request, query, bulk_form=form, status=400)
