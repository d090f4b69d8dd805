"""Actions on reminders, from the worklist's rows (htmx or plain POST), the reminder's page and
the bulk form: assign, snooze, mark done with a note, dismiss, reopen, log a contact — and undo
each of them (`monitoring.reminder_services` says what an undo guarantees).

Access as in `monitoring.reminder_views`: a reminder of another clinic answers 404, one of a kind
the user's role does not act on 403. Views are thin: access → form → one service → redirect (or,
with htmx, the row); a refusal is shown beside its field, in the row, or as a message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from monitoring.models import Reminder
from monitoring.reminder_forms import (
    AssignForm,
    BulkForm,
    ContactForm,
    DismissForm,
    DoneForm,
    SnoozeForm,
)
from monitoring.reminder_presenters import kind_label, worklist_rows
from monitoring.reminder_selectors import (
    WorklistFilters,
    assignable_staff,
    latest_change_ids,
    reminder_for_user,
    reminder_latest_change_id,
    worklist,
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
from monitoring.reminder_views import (
    UNDO_KEY,
    act_fields,
    actions_query,
    filter_form,
    next_url,
    render_detail,
    render_list,
)
from patients.access import memberships_of
from patients.records import add_validation_error


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
            return redirect(next_url(request, reverse("reminders:detail", args=[reminder.pk])))
        return render_detail(request, reminder, bound=form, status=400)
    if change is not None:
        _offer_undo(request, reminder, _about(reminder, done), change=change)
    else:
        messages.success(request, done)
    return redirect(next_url(request, reverse("reminders:detail", args=[reminder.pk])))


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
    row = worklist_rows(scope_rows, today)[0]
    here = next_url(request, reverse("reminders:list"))
    show_clinic = request.POST.get("show_clinic") == "1"
    return render(
        request,
        "monitoring/_reminder_row.html",
        {
            "r": row,
            "today": today,
            "flash": flash,
            "is_error": is_error,
            "undo_change": undo_change,
            "here": here,
            "show_clinic": show_clinic,
            "act_fields": act_fields(request, here=here, show_clinic=show_clinic),
            "actions_query": actions_query(here=here, show_clinic=show_clinic),
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
    return render_detail(request, reminder, bound=form, status=400)


# --- bulk actions -----------------------------------------------------------------------------


@require_POST
def reminder_bulk(request: HttpRequest) -> HttpResponse:
    scope = worklist_scope(request.user, memberships_of(request))
    staff = assignable_staff(c.pk for c in scope.clinics)
    form = BulkForm(request.POST, staff=staff, show_clinic=len(scope.clinics) > 1)
    query = QueryDict(request.POST.get("query", ""))
    if form.is_valid():
        data = form.cleaned_data
        today = timezone.localdate()
        mine = scope.reminders()
        if data["all_matching"]:
            filters = filter_form(query, scope, staff).filters(me=request.user.pk)
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
    return render_list(request, query, bulk_form=form, status=400)


def _list_url(query: QueryDict) -> str:
    url = reverse("reminders:list")
    return f"{url}?{query.urlencode()}" if query else url


@require_POST
def reminder_bulk_undo(request: HttpRequest) -> HttpResponse:
    """Take back a bulk action: `changes` lists "reminder id:audit row id" pairs."""
    scope = worklist_scope(request.user, memberships_of(request))
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
