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
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
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
from monitoring.reminder_presenters import (
    count_text,
    decorate,
    export_rows,
    reminder_history,
    worklist_rows,
)
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
    worklist_count,
    worklist_counts,
    worklist_kinds,
    worklist_page_rows,
    worklist_rows_for_export,
    worklist_scope,
)
from patients.access import memberships_of
from patients.access_log import access_log_write
from patients.models import Membership, Patient
from patients.pagination import page_of

logger = logging.getLogger(__name__)

#: The session's slot for the last action's undo: what it was, and the audit row (or contact
#: log entry) to take back. One at a time; the page that shows it clears it.
UNDO_KEY = "reminder_undo"


def next_url(request: HttpRequest, fallback: str, *, data: QueryDict | None = None) -> str:
    """The page to go back to: `next` of the form posted (or of `data`), if it is this site's."""
    url = (request.POST if data is None else data).get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return fallback


def offered_assignees(staff: list[Membership], reminder: Reminder) -> list[Membership]:
    return [m for m in staff if can_take(m, reminder)]


def offer_assignees(rows: list[dict[str, Any]], staff: list[Membership]) -> None:
    """Give each worklist row `assign_options` (for its "Act" forms, `reminder_actions`): the
    <option>s of the people who may take it, its assignee's selected. Rendered once per clinic,
    kind and assignee rather than by the template per row and person (issue 14)."""
    offers: dict[tuple[int, str], list[tuple[str, str]]] = {}
    rendered: dict[tuple[int, str, int | None], SafeString] = {}
    for row in rows:
        r = row["reminder"]
        key = (r.patient.clinic_id, r.kind)
        if key not in offers:
            offers[key] = staff_choices(offered_assignees(staff, r), show_clinic=False)
        if (*key, r.assignee_id) not in rendered:
            rendered[(*key, r.assignee_id)] = _options(offers[key], chosen=str(r.assignee_id))
        row["assign_options"] = rendered[(*key, r.assignee_id)]


def _options(choices: list[tuple[str, str]], *, chosen: str) -> SafeString:
    def option(value: str, name: str) -> SafeString:
        if value == chosen:
            return format_html('<option value="{}" selected>{}</option>', value, name)
        return format_html('<option value="{}">{}</option>', value, name)

    return format_html_join("", "{}", ((option(value, name),) for value, name in choices))


#: Rows that show their clinic (several clinics on the page) say so to the row an action returns.
_SHOW_CLINIC_FIELD = SafeString('<input type="hidden" name="show_clinic" value="1">')


def act_fields(request: HttpRequest, *, here: str, show_clinic: bool) -> SafeString:
    """The hidden fields of every action form in a worklist row: the CSRF token, the page to go
    back to (`next`) and whether rows show their clinic. Rendered once per page rather than by
    each of the 150 forms of 50 rows (issue 14)."""
    return format_html(
        '{}<input type="hidden" name="next" value="{}">{}',
        csrf_input(request),
        here,
        _SHOW_CLINIC_FIELD if show_clinic else "",
    )


def actions_query(*, here: str, show_clinic: bool) -> str:
    """The query of a row's "Act" request (`reminder_actions`): the page its forms go back to
    and whether rows show their clinic, as `act_fields` puts them in the forms."""
    query = QueryDict(mutable=True)
    query["next"] = here
    if show_clinic:
        query["show_clinic"] = "1"
    return query.urlencode()


def _pending_undo(request: HttpRequest) -> dict[str, Any] | None:
    return request.session.pop(UNDO_KEY, None)


# --- the worklist -----------------------------------------------------------------------------


@require_GET
def reminder_list(request: HttpRequest) -> HttpResponse:
    return render_list(request, request.GET)


def filter_form(
    query: QueryDict, scope: WorklistScope, staff: list[Membership]
) -> WorklistFilterForm:
    form = WorklistFilterForm(
        query if any(k != "page" for k in query) else None,
        clinics=scope.clinics,
        kinds=worklist_kinds(),
        staff=staff,
    )
    form.is_valid()
    return form


#: `?counts=all`: count every status tab and the overdue reminders, not only the current tab.
#: The page asks for them once it is shown (htmx answers with `_reminder_counts.html` alone);
#: without JavaScript a link asks for the whole page with them.
COUNTS_PARAM, COUNTS_ALL = "counts", "all"


def render_list(
    request: HttpRequest,
    query: QueryDict,
    *,
    bulk_form: BulkForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The worklist. Its status tabs are counted apart from the page (issue 14): the page counts
    only the current tab (its number is the "Select all N matching" box's), and the page's
    htmx asks for the other tabs' counts and the overdue ones after it is shown — six capped
    counts of up to 1,001 rows each were most of the page's database time at 500,000
    reminders."""
    scope = worklist_scope(request.user, memberships_of(request))
    today = timezone.localdate()
    reminders = scope.reminders()
    staff = assignable_staff(c.pk for c in scope.clinics)
    show_clinic = len(scope.clinics) > 1
    form = filter_form(query, scope, staff)
    filters = form.filters(me=request.user.pk)
    links_query = query.copy()
    links_query.pop("page", None)
    links_query.pop(COUNTS_PARAM, None)
    without_status = links_query.copy()
    without_status.pop("status", None)
    counted = query.get(COUNTS_PARAM) == COUNTS_ALL
    counts_query = links_query.copy()
    counts_query[COUNTS_PARAM] = COUNTS_ALL
    counts = worklist_counts(reminders, filters=filters, today=today) if counted else None
    if counts is not None:
        status_links = _status_links(counts, without_status, filters.status)
    else:
        current = worklist_count(reminders, filters=filters, today=today)
        status_links = _status_links_of_current(current, without_status, filters.status)
    counts_context = {
        "counts": counts,
        "overdue": count_text(counts["overdue"]) if counts is not None else "",
        "status_links": status_links,
        # The list's own URL: a refused bulk action shows this page at the bulk form's URL.
        "counts_url": f"{reverse('reminders:list')}?{counts_query.urlencode()}",
        "is_filtered": form.is_narrowed(),
    }
    if counted and request.htmx:  # type: ignore[attr-defined]  # django-htmx middleware
        response = render(request, "monitoring/_reminder_counts.html", counts_context)
        patch_vary_headers(response, ["HX-Request"])
        return response
    page = page_of(
        worklist_page_rows(worklist(reminders, filters=filters, today=today)),
        query.get("page"),
        per_page=PAGE_SIZE,
    )
    rows = worklist_rows(page.object_list, today)
    bulk_form = bulk_form or BulkForm(staff=staff, show_clinic=show_clinic)
    selected = bulk_form.selected_ids() if bulk_form.is_bound else set()
    for r in rows:
        r["is_selected"] = r["key"] in selected
    here = request.path + (f"?{query.urlencode()}" if query else "")
    response = render(
        request,
        "monitoring/reminder_list.html",
        {
            **counts_context,
            "form": form,
            "page": page,
            "rows": rows,
            # "Select all N matching": the current status tab's count (capped), no query more.
            "matching": next((link for link in status_links if link["current"]), None),
            "sort_links": _sort_links(links_query, filters.sort),
            "query": links_query.urlencode(),
            "here": here,
            "actions_query": actions_query(here=here, show_clinic=show_clinic),
            "bulk_form": bulk_form,
            "show_clinic": show_clinic,
            "clinics": scope.clinics,
            "managed_clinics": scope.managed_clinics,
            "today": today,
            "undo": _pending_undo(request),
        },
        status=status,
    )
    if counted:
        patch_vary_headers(response, ["HX-Request"])
    return response


#: The status tabs: (`?status=` value, label, the statuses each counts).
_STATUS_TABS: list[tuple[str, str, list[str]]] = [
    ("", "Active", [str(s) for s in ACTIVE_REMINDER_STATUSES]),
    *[(s.value, str(s.label), [s.value]) for s in ReminderStatus],
    ("all", "All", [s.value for s in ReminderStatus]),
]


def _status_link(query: QueryDict, value: str, label: str, current: str) -> dict[str, Any]:
    q = query.copy()
    if value:
        q["status"] = value
    return {"label": label, "query": q.urlencode(), "current": value == current}


def _status_links(counts: dict[str, int], query: QueryDict, current: str) -> list[dict[str, Any]]:
    """One link per status with its count, keeping the other filters."""
    links = []
    for value, label, statuses in _STATUS_TABS:
        count = sum(counts[s] for s in statuses)
        more = any(counts[s] > COUNT_CAP for s in statuses)
        link = _status_link(query, value, label, current)
        links.append({**link, "count": count_text(count, more=more), "number": count})
    return links


def _status_links_of_current(count: int, query: QueryDict, current: str) -> list[dict[str, Any]]:
    """One link per status, keeping the other filters; only the current one has its count
    (`count`, capped as `worklist_count` says), the others have None."""
    links = []
    for value, label, _ in _STATUS_TABS:
        link = _status_link(query, value, label, current)
        here = link["current"]
        links.append(
            {
                **link,
                "count": count_text(count) if here else None,
                "number": count if here else None,
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
    scope = worklist_scope(request.user, memberships_of(request))
    today = timezone.localdate()
    reminders = scope.reminders()
    staff = assignable_staff(c.pk for c in scope.clinics)
    form = filter_form(request.GET, scope, staff)
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


@require_GET
def reminder_actions(request: HttpRequest, pk: int) -> HttpResponse:
    """A worklist row's assign, snooze and done forms, which htmx loads into the row when its
    "Act" is first opened: rendered for every row of the page they were half its HTML and a
    fifth of its template time at 50 rows (issue 14). Without JavaScript the row's "Act" links
    to the reminder's page instead, which has every form."""
    reminder = reminder_for_user(request.user, pk)
    row = worklist_rows([reminder], timezone.localdate())[0]
    offer_assignees([row], assignable_staff([reminder.patient.clinic_id]))
    here = next_url(request, reverse("reminders:list"), data=request.GET)
    show_clinic = request.GET.get("show_clinic") == "1"
    return render(
        request,
        "monitoring/_reminder_actions.html",
        {"r": row, "act_fields": act_fields(request, here=here, show_clinic=show_clinic)},
    )


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
