"""Reminder pages: the worklist of every role that works reminders, one reminder with its
contact log and history, the actions (single, by htmx or plain POST, and bulk), undo, the CSV
export, and the clinic's reminder settings (clinic admins).

Every page is scoped through `patients.access` and the permission matrix (via
`monitoring.reminder_selectors`): a user sees the reminders of the kinds their role acts on in
their clinics; a reminder of another clinic answers 404, one of a kind their role does not act
on 403. Views are thin: access → form → one service → redirect; a refusal from a service is
shown beside its field or above the form. After an action the page (or, with htmx, the row)
offers to undo it.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder, ReminderStatus
from monitoring.reminder_forms import (
    AssignForm,
    BulkForm,
    ClinicReminderSettingsForm,
    ContactForm,
    DismissForm,
    DoneForm,
    ScanTimeForm,
    SnoozeForm,
    WorklistFilterForm,
    staff_choices,
)
from monitoring.reminder_presenters import decorate, export_rows, kind_label, reminder_history
from monitoring.reminder_selectors import (
    PAGE_SIZE,
    SORT_LABELS,
    WorklistFilters,
    WorklistScope,
    assignable_staff,
    can_take,
    latest_change_ids,
    reminder_contacts,
    reminder_for_user,
    reminder_latest_change_id,
    worklist,
    worklist_counts,
    worklist_kinds,
    worklist_rows_for_export,
    worklist_scope,
)
from monitoring.reminder_services import (
    BULK_VERBS,
    BulkAction,
    reminder_assign,
    reminder_contact_record,
    reminder_contact_undo,
    reminder_dismiss,
    reminder_done,
    reminder_reopen,
    reminder_snooze,
    reminder_undo,
    reminders_bulk_act,
    reminders_bulk_undo,
)
from monitoring.reminder_settings import (
    can_change_scan_time,
    clinic_reminder_settings_update,
    nightly_scan_task,
    reminder_scan_schedule_update,
    scan_time,
)
from patients.access import clinic_for_user
from patients.models import Membership
from patients.permissions import Action
from patients.records import add_validation_error

logger = logging.getLogger(__name__)

#: The session's slot for the last action's undo: what it was, and the audit row (or contact
#: log entry) to take back. One at a time; the page that shows it clears it.
UNDO_KEY = "reminder_undo"


def _next_url(request: HttpRequest, fallback: str) -> str:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return fallback


def _offered(staff: list[Membership], reminder: Reminder) -> list[Membership]:
    return [m for m in staff if can_take(m, reminder)]


def _pending_undo(request: HttpRequest) -> dict[str, Any] | None:
    return request.session.pop(UNDO_KEY, None)


def _offer_undo(
    request: HttpRequest,
    reminder: Reminder,
    text: str,
    *,
    change: int | None = None,
    contact: int | None = None,
) -> None:
    request.session[UNDO_KEY] = {
        "reminder": reminder.pk,
        "text": text,
        "change": change,
        "contact": contact,
    }


# --- the worklist -----------------------------------------------------------------------------


@require_GET
def reminder_list(request: HttpRequest) -> HttpResponse:
    return _render_list(request, request.GET)


def _filter_form(
    query: QueryDict, scope: WorklistScope, reminders: Any, staff: list[Membership]
) -> WorklistFilterForm:
    form = WorklistFilterForm(
        query if any(k != "page" for k in query) else None,
        clinics=scope.clinics,
        kinds=worklist_kinds(reminders),
        staff=staff,
    )
    form.is_valid()
    return form


def _render_list(
    request: HttpRequest,
    query: QueryDict,
    *,
    bulk_form: BulkForm | None = None,
    status: int = 200,
) -> HttpResponse:
    scope = worklist_scope(request.user)
    today = timezone.localdate()
    reminders = scope.reminders()
    staff = assignable_staff(c.pk for c in scope.clinics)
    show_clinic = len(scope.clinics) > 1
    form = _filter_form(query, scope, reminders, staff)
    filters = form.filters(me=request.user.pk)
    page = Paginator(worklist(reminders, filters=filters, today=today), PAGE_SIZE).get_page(
        query.get("page")
    )
    rows = decorate(page.object_list, today)
    offers: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for r in rows:
        key = (r.patient.clinic_id, r.kind)
        if key not in offers:
            offers[key] = staff_choices(_offered(staff, r), show_clinic=False)
        r.assignable = offers[key]  # type: ignore[attr-defined]
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
            "sort_links": _sort_links(without_page, filters.sort),
            "query": without_page.urlencode(),
            "here": request.path + (f"?{query.urlencode()}" if query else ""),
            "bulk_form": bulk_form,
            "selected": bulk_form.selected_ids() if bulk_form.is_bound else set(),
            "show_clinic": show_clinic,
            "clinics": scope.clinics,
            "managed_clinics": scope.managed_clinics,
            "today": today,
            "is_filtered": form.is_narrowed(),
            "undo": _pending_undo(request),
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


def _sort_links(query: QueryDict, current: str) -> dict[str, dict[str, str]]:
    """Per column: the link that sorts by it (ascending, or descending when it is the ascending
    order already) and its `aria-sort`."""
    links = {}
    for key, words in SORT_LABELS.items():
        q = query.copy()
        q["sort"] = f"-{key}" if current == key else key
        state = "ascending" if current == key else "descending" if current == f"-{key}" else "none"
        arrow = {"ascending": "▲", "descending": "▼"}.get(state, "")
        links[key] = {"query": q.urlencode(), "aria_sort": state, "label": words, "arrow": arrow}
    return links


@require_GET
def reminder_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered worklist (every page of it) as CSV, in words, every cell inert."""
    scope = worklist_scope(request.user)
    today = timezone.localdate()
    reminders = scope.reminders()
    staff = assignable_staff(c.pk for c in scope.clinics)
    form = _filter_form(request.GET, scope, reminders, staff)
    filters = form.filters(me=request.user.pk)
    rows = worklist_rows_for_export(reminders, filters=filters, today=today)
    user = request.user.get_username()

    def lines() -> Iterator[str]:
        buffer = _Echo()
        writer = csv.writer(buffer)
        count = -1  # the header is not a reminder
        for count, row in enumerate(export_rows(rows)):  # noqa: B007  # logged after the loop
            yield writer.writerow(row)
        logger.info("reminder worklist exported by %s: %d reminders", user, max(count, 0))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reminders-{today:%Y-%m-%d}.csv"'
    return response


class _Echo:
    """A file-like object whose `write` returns the line, for streaming csv.writer's output."""

    def write(self, value: str) -> str:
        return value


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
        "assign": AssignForm(
            staff=staff,
            offered=_offered(staff, reminder),
            initial={"assignee": reminder.assignee_id or ""},
        ),
        "snooze": SnoozeForm(initial={"until": reminder.snoozed_until}),
        "done": DoneForm(),
        "dismiss": DismissForm(),
        "contact": ContactForm(initial={"date": today}),
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
            "contacts": reminder_contacts(reminder),
            "forms": forms_by_name,
            "today": today,
            "back_url": reverse("reminders:list"),
            "undo": _pending_undo(request),
        },
        status=status,
    )


_FORM_NAMES: dict[type[forms.Form], str] = {
    AssignForm: "assign",
    SnoozeForm: "snooze",
    DoneForm: "done",
    DismissForm: "dismiss",
    ContactForm: "contact",
}


# --- actions on one reminder ------------------------------------------------------------------

#: Whatever its status and assignee: the one row an action re-renders.
_ANY_ROW = WorklistFilters(status="all", assignee="anyone")


def _act(
    request: HttpRequest,
    reminder: Reminder,
    form: forms.Form | None,
    service: Callable[[dict[str, Any]], str],
    *,
    undoable: bool = True,
) -> HttpResponse:
    """Validate `form`, run `service(cleaned_data)` (which says what it did); answer htmx with
    the row, others with a redirect (or the reminder page with the error beside its field).
    After a change, `undoable` offers to take it back."""
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
    change = reminder_latest_change_id(reminder) if done and undoable else None
    if request.htmx:  # type: ignore[attr-defined]  # django-htmx middleware
        return _render_row(
            request, reminder, flash=error or done, is_error=bool(error), undo_change=change
        )
    if error:
        if form is None or not any(name in form.fields for name in form.errors):
            # Not about the input (the reminder was closed meanwhile…): say so where they were.
            messages.error(request, error)
            return redirect(_next_url(request, reverse("reminders:detail", args=[reminder.pk])))
        return _render_detail(request, reminder, bound=form, status=400)
    if change is not None:
        _offer_undo(request, reminder, _about(reminder, done), change=change)
    else:
        messages.success(request, done)
    return redirect(_next_url(request, reverse("reminders:detail", args=[reminder.pk])))


def _about(reminder: Reminder, done: str) -> str:
    """`Marked done: Next dose — Denosumab, Ada Lovelace.`"""
    what = kind_label(reminder.kind, reminder.drug)
    return f"{done.rstrip('.')}: {what}, {reminder.patient.name}."


def _render_row(
    request: HttpRequest,
    reminder: Reminder,
    *,
    flash: str,
    is_error: bool,
    undo_change: int | None = None,
) -> HttpResponse:
    """The worklist row of one reminder, as htmx swaps it in after an action."""
    today = timezone.localdate()
    scope_rows = worklist(
        Reminder.objects.filter(pk=reminder.pk),
        filters=_ANY_ROW,
        today=today,
    )
    reminder = decorate(scope_rows, today)[0]
    staff = assignable_staff([reminder.patient.clinic_id])
    reminder.assignable = staff_choices(  # type: ignore[attr-defined]
        _offered(staff, reminder), show_clinic=False
    )
    return render(
        request,
        "monitoring/_reminder_row.html",
        {
            "r": reminder,
            "today": today,
            "flash": flash,
            "is_error": is_error,
            "undo_change": undo_change,
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


@require_POST
def reminder_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Take back the user's latest change of this reminder (`change`: its audit row) or a
    contact log entry of theirs (`contact`)."""
    reminder = reminder_for_user(request.user, pk)
    contact_id, change_id = request.POST.get("contact", ""), request.POST.get("change", "")
    if contact_id:
        contact = reminder.contacts.filter(pk=contact_id if contact_id.isdigit() else 0).first()
        if contact is None:
            raise Http404("No such contact log entry.")

        def undo(data: dict[str, Any]) -> str:
            reminder_contact_undo(contact=contact, actor=request.user)  # type: ignore[arg-type]
            return "Contact log entry taken back."

    elif change_id.isdigit():

        def undo(data: dict[str, Any]) -> str:
            reminder_undo(
                reminder=reminder,
                change_id=int(change_id),
                actor=request.user,  # type: ignore[arg-type]
            )
            return "Undone."

    else:
        return HttpResponse("Say what to undo.", status=400)
    return _act(request, reminder, None, undo, undoable=False)


@require_POST
def reminder_contact_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Log an attempt to reach the patient about this reminder."""
    reminder = reminder_for_user(request.user, pk)
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            contact = reminder_contact_record(
                reminder=reminder,
                actor=request.user,  # type: ignore[arg-type]
                today=timezone.localdate(),
                **form.cleaned_data,
            )
        except ValidationError as refusal:
            add_validation_error(form, refusal)
        else:
            text = f"Contact logged: {contact.get_kind_display()} on {contact.date:%Y-%m-%d}."
            _offer_undo(request, reminder, text, contact=contact.pk)
            return redirect(reverse("reminders:detail", args=[reminder.pk]) + "#contacts")
    return _render_detail(request, reminder, bound=form, status=400)


# --- bulk actions -----------------------------------------------------------------------------


@require_POST
def reminder_bulk(request: HttpRequest) -> HttpResponse:
    scope = worklist_scope(request.user)
    staff = assignable_staff(c.pk for c in scope.clinics)
    form = BulkForm(request.POST, staff=staff, show_clinic=len(scope.clinics) > 1)
    query = QueryDict(request.POST.get("query", ""))
    if form.is_valid():
        data = form.cleaned_data
        today = timezone.localdate()
        mine = scope.reminders()
        if data["all_matching"]:
            filters = _filter_form(query, scope, mine, staff).filters(me=request.user.pk)
            reminders = list(worklist(mine, filters=filters, today=today))
        else:
            ids = data["ids"]
            reminders = list(
                mine.filter(pk__in=ids).select_related("patient__clinic").order_by("pk")
            )
            if len(reminders) != len(ids):
                form.add_error(
                    None,
                    "Some of the selected reminders are not in your worklist. Nothing was changed.",
                )
        if not form.errors:
            action = BulkAction(data["action"])
            try:
                count = reminders_bulk_act(
                    reminders=reminders,
                    action=action,
                    actor=request.user,  # type: ignore[arg-type]
                    now=timezone.now(),
                    today=today,
                    assignee=data["assignee"],
                    until=data["until"],
                    reason=data["reason"],
                    note=data["note"],
                )
            except ValidationError as refusal:
                add_validation_error(form, refusal)
            else:
                verb = BULK_VERBS[action]
                text = f"{count} reminder{'s' * (count != 1)} {verb}."
                changes = latest_change_ids(r.pk for r in reminders)
                if changes:
                    request.session[UNDO_KEY] = {
                        "text": text,
                        "bulk": ",".join(f"{pk}:{change}" for pk, change in changes.items()),
                        "query": query.urlencode(),
                    }
                else:
                    messages.success(request, text)
                return redirect(_list_url(query))
    return _render_list(request, query, bulk_form=form, status=400)


def _list_url(query: QueryDict) -> str:
    url = reverse("reminders:list")
    return f"{url}?{query.urlencode()}" if query else url


@require_POST
def reminder_bulk_undo(request: HttpRequest) -> HttpResponse:
    """Take back a bulk action: `changes` lists "reminder id:audit row id" pairs."""
    scope = worklist_scope(request.user)
    query = QueryDict(request.POST.get("query", ""))
    try:
        changes = {
            int(pk): int(change)
            for pk, change in (pair.split(":") for pair in request.POST["changes"].split(","))
        }
    except (KeyError, ValueError):
        return HttpResponse("Say what to undo.", status=400)
    reminders = list(
        scope.reminders().filter(pk__in=changes).select_related("patient").order_by("pk")
    )
    if len(reminders) != len(changes):
        messages.error(
            request, "Some of these reminders are not in your worklist. Nothing was undone."
        )
        return redirect(_list_url(query))
    try:
        count = reminders_bulk_undo(
            reminders=reminders,
            changes=changes,
            actor=request.user,  # type: ignore[arg-type]
        )
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    else:
        messages.success(request, f"Undone for {count} reminder{'s' * (count != 1)}.")
    return redirect(_list_url(query))


# --- the clinic's reminder settings -----------------------------------------------------------


def reminder_settings(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = clinic_for_user(request.user, slug, Action.MANAGE_REMINDERS)
    task = nightly_scan_task()
    may_change_time = can_change_scan_time(request.user)
    posted = request.POST if request.method == "POST" else None
    settings_form = ClinicReminderSettingsForm(
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
                    actor=request.user,  # type: ignore[arg-type]
                )
            except ValidationError as refusal:
                add_validation_error(settings_form, refusal)
            else:
                messages.success(request, f"Reminder settings of {clinic.name} were saved.")
                return redirect("reminders:settings", slug)
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
        },
        status=400 if request.method == "POST" else 200,
    )
