"""Reminder pages: the worklist of every role that works reminders (with its CSV export), one
reminder with its contact log and history. The actions on reminders are in
`monitoring.reminder_action_views`; the clinic's reminder settings in `monitoring.settings_views`.

Every page is scoped through `patients.access` and the permission matrix (via
`monitoring.reminder_selectors`): a user sees the reminders of the kinds their role acts on in
their clinics; a reminder of another clinic answers 404, one of a kind their role does not act
on 403. After an action the page shows what was done with a button to undo it (`UNDO_KEY`).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder, ReminderStatus
from monitoring.reminder_forms import (
    AssignForm,
    BulkForm,
    ContactForm,
    DismissForm,
    DoneForm,
    SnoozeForm,
    WorklistFilterForm,
    staff_choices,
)
from monitoring.reminder_presenters import decorate, export_rows, reminder_history
from monitoring.reminder_selectors import (
    COUNT_CAP,
    PAGE_SIZE,
    SORT_LABELS,
    WorklistScope,
    assignable_staff,
    can_take,
    reminder_contacts,
    reminder_for_user,
    worklist,
    worklist_counts,
    worklist_kinds,
    worklist_rows_for_export,
    worklist_scope,
)
from patients.access_log import access_log_write
from patients.models import Membership, Patient
from patients.pagination import page_of

logger = logging.getLogger(__name__)

#: The session's slot for the last action's undo: what it was, and the audit row (or contact
#: log entry) to take back. One at a time; the page that shows it clears it.
UNDO_KEY = "reminder_undo"


def next_url(request: HttpRequest, fallback: str) -> str:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return fallback


def offered_assignees(staff: list[Membership], reminder: Reminder) -> list[Membership]:
    return [m for m in staff if can_take(m, reminder)]


def _pending_undo(request: HttpRequest) -> dict[str, Any] | None:
    return request.session.pop(UNDO_KEY, None)


# --- the worklist -----------------------------------------------------------------------------


@require_GET
def reminder_list(request: HttpRequest) -> HttpResponse:
    return render_list(request, request.GET)


def filter_form(
    query: QueryDict, scope: WorklistScope, reminders: Any, staff: list[Membership]
) -> WorklistFilterForm:
    form = WorklistFilterForm(
        query if any(k != "page" for k in query) else None,
        clinics=scope.clinics,
        kinds=worklist_kinds(),
        staff=staff,
    )
    form.is_valid()
    return form


def render_list(
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
    form = filter_form(query, scope, reminders, staff)
    filters = form.filters(me=request.user.pk)
    page = page_of(
        worklist(reminders, filters=filters, today=today), query.get("page"), per_page=PAGE_SIZE
    )
    rows = decorate(page.object_list, today)
    offers: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for r in rows:
        key = (r.patient.clinic_id, r.kind)
        if key not in offers:
            offers[key] = staff_choices(offered_assignees(staff, r), show_clinic=False)
        r.assignable = offers[key]  # type: ignore[attr-defined]
    counts = worklist_counts(reminders, filters=filters, today=today)
    without_page = query.copy()
    without_page.pop("page", None)
    without_status = without_page.copy()
    without_status.pop("status", None)
    status_links = _status_links(counts, without_status, filters.status)
    bulk_form = bulk_form or BulkForm(staff=staff, show_clinic=show_clinic)
    return render(
        request,
        "monitoring/reminder_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "counts": counts,
            "overdue": _shown(counts["overdue"]),
            "status_links": status_links,
            # "Select all N matching": the current status tab's count (capped), no query more.
            "matching": next((link for link in status_links if link["current"]), None),
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


def _shown(count: int, *, more: bool = False) -> str:
    """A capped count as people read it: "1,000+" past `COUNT_CAP` (see `worklist_counts`)."""
    return f"{COUNT_CAP:,}+" if more or count > COUNT_CAP else f"{count:,}"


def _status_links(counts: dict[str, int], query: QueryDict, current: str) -> list[dict[str, Any]]:
    """One link per status with its count, keeping the other filters."""
    links = []

    def total(statuses: list[str]) -> tuple[int, bool]:
        return sum(counts[s] for s in statuses), any(counts[s] > COUNT_CAP for s in statuses)

    for value, label, (count, more) in [
        ("", "Active", total([str(s) for s in ACTIVE_REMINDER_STATUSES])),
        *[(s.value, s.label, total([s.value])) for s in ReminderStatus],
        ("all", "All", total([s.value for s in ReminderStatus])),
    ]:
        q = query.copy()
        if value:
            q["status"] = value
        links.append(
            {
                "label": label,
                "count": _shown(count, more=more),
                "number": count,
                "query": q.urlencode(),
                "current": value == current,
            }
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
    form = filter_form(request.GET, scope, reminders, staff)
    filters = form.filters(me=request.user.pk)
    rows = worklist_rows_for_export(reminders, filters=filters, today=today)
    user = request.user.get_username()
    exported: dict[int, Patient] = {}  # the access log's patients (issue 11: one INSERT)

    def noted(reminders: Iterator[Reminder]) -> Iterator[Reminder]:
        for reminder in reminders:
            exported.setdefault(reminder.patient_id, reminder.patient)
            yield reminder

    def lines() -> Iterator[str]:
        buffer = _Echo()
        writer = csv.writer(buffer)
        count = -1  # the header is not a reminder
        for count, row in enumerate(export_rows(noted(rows))):  # noqa: B007  # logged after
            yield writer.writerow(row)
        access_log_write(
            user=request.user,  # type: ignore[arg-type]
            patients=exported.values(),
            route="reminders:export",
        )
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
    return render_detail(request, reminder)


def render_detail(
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
            offered=offered_assignees(staff, reminder),
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
