"""Reads of reminders: who may see which, the worklist's rows, counts, sorting and export, a
reminder's contact log, and when a reminder needs attention.

Reminders are created, moved and resolved by the scan (`monitoring/scan.py`); people act on them
through `monitoring.reminder_services`. Every read here is scoped by `patients.access` and the
permission matrix (`patients.permissions`): a user sees the reminders of the clinics where their
role works reminders, of the kinds that role acts on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    CharField,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from monitoring.models import (
    ACTIVE_REMINDER_STATUSES,
    Reminder,
    ReminderContact,
    ReminderStatus,
)
from patients.access import patient_for_user, patients_for_user
from patients.models import Clinic, Membership, Role
from patients.permissions import (
    REMINDER_KINDS,
    Action,
    role_allows,
    role_works_on_reminder,
    roles_allowed,
)
from patients.selectors import REMINDER_KIND_CODES, name_or_mrn, reminder_kinds
from therapy.engine import Severity
from therapy.presenters import label

AnyUser = AbstractBaseUser | AnonymousUser

#: Rows per page of the worklist.
PAGE_SIZE = 50


def action_date() -> Case:
    """The day a reminder needs attention: the snooze's end while snoozed, else its due date.

    A snoozed reminder leaves the top of the list until its snooze ends, then counts as overdue
    like any other."""
    return Case(
        When(status=ReminderStatus.SNOOZED, then=Coalesce(F("snoozed_until"), F("due"))),
        default=F("due"),
    )


def reminder_action_on(reminder: Reminder) -> dt.date:
    """`action_date()` for one reminder in memory."""
    if reminder.status == ReminderStatus.SNOOZED and reminder.snoozed_until:
        return reminder.snoozed_until
    return reminder.due


# --- who sees which reminders ---------------------------------------------------------------------


@dataclass(frozen=True)
class WorklistScope:
    """The clinics where a user works reminders, with their role in each (from one query)."""

    memberships: tuple[Membership, ...]

    @property
    def clinics(self) -> list[Clinic]:
        return [m.clinic for m in self.memberships]

    @property
    def managed_clinics(self) -> list[Clinic]:
        """The clinics whose reminder settings the user manages."""
        return [m.clinic for m in self.memberships if role_allows(m.role, Action.MANAGE_REMINDERS)]

    def role_in(self, clinic_id: int) -> Role | None:
        return next((Role(m.role) for m in self.memberships if m.clinic_id == clinic_id), None)

    def reminders(self) -> QuerySet[Reminder]:
        """Every reminder the user may see: of their clinics, of the kinds their role acts on."""
        if not self.memberships:
            return Reminder.objects.none()
        allowed = Q(pk__in=[])
        for m in self.memberships:
            kinds = REMINDER_KINDS.get(Role(m.role))
            here = Q(patient__clinic_id=m.clinic_id)
            allowed |= here if kinds is None else here & Q(kind__in=sorted(kinds))
        return Reminder.objects.filter(allowed)


def worklist_scope(user: AnyUser, memberships: Iterable[Membership]) -> WorklistScope:
    """The user's worklist scope from their `memberships` (`patients.access.memberships_of`, by
    clinic name); 403 when no clinic of theirs lets their role work reminders."""
    if not user.is_authenticated:
        raise PermissionDenied
    allowed = roles_allowed(Action.WORK_REMINDERS)
    scope = tuple(m for m in memberships if m.user_id == user.pk and m.role in allowed)
    if not scope:
        raise PermissionDenied
    return WorklistScope(scope)


def reminders_in(clinics: Iterable[Clinic]) -> QuerySet[Reminder]:
    """Every reminder of these clinics, whatever its kind (for callers already scoped)."""
    return Reminder.objects.filter(patient__clinic_id__in=[c.pk for c in clinics])


def reminder_for_user(user: AnyUser, pk: int) -> Reminder:
    """Reminder `pk` for someone who works on it: 404 outside the user's clinics (as if it did not
    exist), 403 for a member of the clinic whose role does not act on reminders of its kind (a
    nurse opening a reassessment: she sees the patient, the item is the clinician's)."""
    reminder = (
        Reminder.objects.filter(pk=pk, patient__in=patients_for_user(user))
        .select_related("assignee")
        .first()
    )
    if reminder is None:
        raise Http404("No such reminder.")
    access = patient_for_user(user, reminder.patient_id, Action.WORK_REMINDERS)
    if not role_works_on_reminder(access.role, reminder.kind):
        raise PermissionDenied
    reminder.patient = access.patient
    return reminder


def assignable_staff(clinic_ids: Iterable[int]) -> list[Membership]:
    """The members of these clinics who work reminders; who may take which reminder is
    `can_take`."""
    return list(
        Membership.objects.filter(
            clinic_id__in=list(clinic_ids), role__in=roles_allowed(Action.WORK_REMINDERS)
        )
        .select_related("user", "clinic")
        .order_by("clinic__name", "user__last_name", "user__first_name", "user__username")
    )


def can_take(membership: Membership, reminder: Reminder) -> bool:
    """Whether this member may be assigned this reminder: a member of its clinic whose role acts
    on its kind (the permission matrix decides)."""
    return membership.clinic_id == reminder.patient.clinic_id and role_works_on_reminder(
        membership.role, reminder.kind
    )


# --- the worklist's filters and order -------------------------------------------------------------

#: `assignee` values besides a user id: the default (empty) is "assigned to me, or unassigned".
ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"
ASSIGNEE_ANYONE = "anyone"


@dataclass(frozen=True)
class WorklistFilters:
    """What the worklist shows. `status` "" means the active ones (open or snoozed), "all" any;
    `assignee` "" means assigned to `me` or to nobody, "me" to `me`, "none" to nobody,
    "anyone" anyone, else a user id; `severity` "critical" or "routine" (monitoring items);
    `q` a patient's name or MRN; `sort` a key of `SORTS`, "-" first for descending."""

    clinic: str = ""
    kind: str = ""
    status: str = ""
    assignee: str = ""
    severity: str = ""
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    q: str = ""
    sort: str = ""
    me: int | None = None


def _kind_words() -> Case:
    return Case(
        *[When(kind=code, then=Value(label(code))) for code in REMINDER_KIND_CODES],
        default=F("kind"),
        output_field=CharField(),
    )


def _status_rank() -> Case:
    return Case(
        *[When(status=s.value, then=Value(n)) for n, s in enumerate(ReminderStatus)],
        output_field=IntegerField(),
    )


#: The worklist's sort keys (the whitelist of `?sort=`): each column's ordering, ascending.
SORTS: dict[str, tuple[str, ...]] = {
    "due": ("action_on", "due"),
    "patient": ("patient__family_name", "patient__given_name", "patient__name"),
    "kind": ("kind_words", "drug"),
    "severity": ("severity_rank",),
    "assignee": ("assignee__last_name", "assignee__first_name", "assignee__username"),
    "status": ("status_rank",),
}
SORT_LABELS = {
    "due": "Due",
    "patient": "Patient",
    "kind": "Kind",
    "severity": "Severity",
    "assignee": "Assignee",
    "status": "Status",
}


#: The sort keys whose columns can be empty (a reminder nobody is assigned to): "nulls last"
#: either way. Every other column always has a value, and asking for "nulls last" on it, which a
#: descending index does not give, kept PostgreSQL from reading the worklist's indexes
#: backwards: by due date, last first, it sorted the whole tab (135-177 ms at 500,000
#: reminders; 23-29 ms read backwards).
_MAY_BE_EMPTY = frozenset({"assignee"})


def _ordering(sort: str) -> list[F | str]:
    """`sort` as an order_by: its column (empty values last either way), then overdue-first,
    then pk."""
    key = sort.removeprefix("-")
    descending = sort.startswith("-")
    nulls_last = True if key in _MAY_BE_EMPTY else None
    order: list[F | str] = [
        F(c).desc(nulls_last=nulls_last) if descending else F(c).asc(nulls_last=nulls_last)
        for c in SORTS.get(key, ())
    ]
    return [*order, "action_on", "due", "pk"]


def _filtered(queryset: QuerySet[Reminder], filters: WorklistFilters) -> QuerySet[Reminder]:
    """`queryset` filtered by everything but the status; it must carry `action_on`."""
    if filters.clinic:
        queryset = queryset.filter(patient__clinic__slug=filters.clinic)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.assignee == ASSIGNEE_NONE:
        queryset = queryset.filter(assignee__isnull=True)
    elif filters.assignee == ASSIGNEE_ME:
        queryset = queryset.filter(assignee_id=filters.me)
    elif filters.assignee == "":
        queryset = queryset.filter(Q(assignee__isnull=True) | Q(assignee_id=filters.me))
    elif filters.assignee != ASSIGNEE_ANYONE:
        queryset = queryset.filter(assignee_id=filters.assignee)
    if filters.severity == "critical":
        queryset = queryset.filter(severity=Severity.CRITICAL)
    elif filters.severity == "routine":
        queryset = queryset.exclude(severity=Severity.CRITICAL)
    if filters.due_from:
        queryset = queryset.filter(action_on__gte=filters.due_from)
    if filters.due_to:
        queryset = queryset.filter(action_on__lte=filters.due_to)
    if filters.q:
        # The patient list's search: the name holds both parts of it, and only a condition on
        # the name lets the trigram index answer (with the parts ORed in, PostgreSQL read every
        # patient: 157 ms for "kowal" at 100,000 patients; issue 14).
        queryset = queryset.filter(name_or_mrn(filters.q.strip(), to_patient="patient__"))
    return queryset


def _with_status(queryset: QuerySet[Reminder], status: str) -> QuerySet[Reminder]:
    if status == "all":
        return queryset
    if status:
        return queryset.filter(status=status)
    return queryset.filter(status__in=ACTIVE_REMINDER_STATUSES)


def _last_contact(field: str) -> Subquery:
    return Subquery(
        ReminderContact.objects.filter(reminder=OuterRef("pk"))
        .order_by("-date", "-pk")
        .values(field)[:1]
    )


def worklist(
    queryset: QuerySet[Reminder], *, filters: WorklistFilters, today: dt.date
) -> QuerySet[Reminder]:
    """The rows of the worklist, with their last contact (`last_contact_on`,
    `last_contact_kind`): by default overdue first (most overdue first), then by the day they
    need attention (`action_on`); else by `filters.sort`."""
    rows = _filtered(queryset.annotate(action_on=action_date()), filters)
    key = filters.sort.removeprefix("-")
    if key == "kind":
        rows = rows.annotate(kind_words=_kind_words())
    elif key == "severity":
        rows = rows.annotate(
            severity_rank=Case(
                When(severity=Severity.CRITICAL, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
    elif key == "status":
        rows = rows.annotate(status_rank=_status_rank())
    return (
        _with_status(rows, filters.status)
        .annotate(last_contact_on=_last_contact("date"), last_contact_kind=_last_contact("kind"))
        .select_related("patient__clinic", "assignee")
        .order_by(*_ordering(filters.sort))
    )


#: What a worklist row shows of the reminder's patient, clinic and assignee
#: (`reminder_presenters.worklist_rows`, `_reminder_row.html`).
_ROW_RELATED_FIELDS = (
    "patient__name",
    "patient__mrn",
    "patient__clinic_id",
    "patient__clinic__name",
    "assignee__first_name",
    "assignee__last_name",
    "assignee__username",
)


def worklist_page_rows(rows: QuerySet[Reminder]) -> QuerySet[Reminder]:
    """`worklist` rows for the page: every column of the reminder, and of its patient, clinic
    and assignee only what a row shows. Their other columns (a patient's contact details and
    GP, a clinic's settings, a user's password hash…) were a third of the time the page's 51
    rows took to load (7.1 -> 5.4 ms at 500,000 reminders; issue 14). Not for rows that an
    action saves or the export writes: they read the whole rows (`worklist`)."""
    return rows.only(*(f.name for f in Reminder._meta.concrete_fields), *_ROW_RELATED_FIELDS)


#: The status tabs count up to this many reminders each; past it they say "1,000+". Nobody works
#: a tab of 5,000 by its number, and counting 500,000 rows on every view would cost every page.
COUNT_CAP = 1000


class CappedCount(Subquery):
    """How many rows `queryset` has, counted up to `COUNT_CAP` + 1 (a LIMIT under the count):
    a value above `COUNT_CAP` means "more than that". The worklist's tabs and the clinic
    admin's dashboard count with it."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"
    output_field = IntegerField()

    def __init__(self, queryset: QuerySet[Any], **extra: Any) -> None:
        super().__init__(queryset.order_by().values("pk")[: COUNT_CAP + 1], **extra)


def worklist_counts(
    queryset: QuerySet[Reminder], *, filters: WorklistFilters, today: dt.date
) -> dict[str, int]:
    """Reminders per status (and active ones overdue) for the filters without their status, in
    one query of capped counts (`CappedCount`). The counts are not correlated with the row they
    are read on: any one clinic row carries them (a reminder implies its patient's clinic)."""
    rows = _filtered(queryset.alias(action_on=action_date()), filters)
    parts = {status.value: rows.filter(status=status.value) for status in ReminderStatus}
    parts["overdue"] = rows.filter(status__in=ACTIVE_REMINDER_STATUSES, action_on__lt=today)
    names = {key: f"count_{key}" for key in parts}
    values = (
        Clinic.objects.order_by()
        .annotate(**{names[key]: CappedCount(part) for key, part in parts.items()})
        .values_list(*names.values())
        .first()
    )
    return dict(zip(parts, values or [0] * len(parts), strict=True))


def worklist_count(
    queryset: QuerySet[Reminder], *, filters: WorklistFilters, today: dt.date
) -> int:
    """How many reminders the filters match, their status included (the current status tab), in
    one query, counted up to `COUNT_CAP` + 1 as `worklist_counts` counts."""
    rows = _filtered(queryset.alias(action_on=action_date()), filters)
    return _with_status(rows, filters.status).order_by().values("pk")[: COUNT_CAP + 1].count()


def worklist_kinds() -> list[str]:
    """The kind filter's choices: every kind a reminder may have (`reminder_kinds`)."""
    return reminder_kinds()


def worklist_rows_for_export(
    queryset: QuerySet[Reminder], *, filters: WorklistFilters, today: dt.date
) -> Iterator[Reminder]:
    """Every row of the filtered worklist (not a page), streamed from the database in chunks."""
    return worklist(queryset, filters=filters, today=today).iterator(chunk_size=500)


# --- one reminder ---------------------------------------------------------------------------------


def reminder_contacts(reminder: Reminder) -> list[ReminderContact]:
    """The reminder's contact log, newest first, with who logged each entry (one query)."""
    return list(reminder.contacts.select_related("user").order_by("-date", "-pk"))


def latest_change_ids(reminder_ids: Iterable[int]) -> dict[int, int]:
    """Reminder id → the id of its latest audit row, for many reminders in one query."""
    history = Reminder.history.model
    return dict(
        history.objects.filter(id__in=list(reminder_ids))
        .values("id")
        .annotate(latest=Max("history_id"))
        .values_list("id", "latest")
    )


def reminder_latest_change_id(reminder: Reminder) -> int | None:
    """The id of the reminder's latest audit row: what an undo must find unchanged."""
    return reminder.history.order_by("-history_id").values_list("history_id", flat=True).first()
