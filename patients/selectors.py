"""Reads for the patient pages, each in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery

from monitoring.models import (
    ACTIVE_REMINDER_STATUSES,
    DxaScan,
    LabResult,
    Reassessment,
    Reminder,
)
from patients.models import (
    CardiovascularEvent,
    Fracture,
    GlucocorticoidExposure,
    Immunosuppressant,
    Patient,
    PatientStatus,
    RiskProfile,
)
from patients.pagination import Page, page_number, page_of, page_of_known_ids
from quality.models import FOLLOW_UP_REMINDER_KINDS, FlsEpisode
from therapy.engine import AlertCode, MonitoringCode, Severity
from therapy.models import Dose, TherapyCourse

_CHANGE_TYPES = {"+": "created", "~": "changed", "-": "deleted"}

#: A patient's courses with their doses in date order, as the therapy timeline lists them.
_COURSES = (
    "therapy_courses",
    Prefetch("therapy_courses__doses", queryset=Dose.objects.order_by("date")),
)
#: Every record the patient page lists (the risk profile comes with the patient itself).
_PAGE_RECORDS = (
    "cardiovascular_events",
    "immunosuppressants",
    "glucocorticoid_exposures",
    # A fracture's episode in the same query: the page offers "Start FLS episode" without one.
    Prefetch("fractures", queryset=Fracture.objects.select_related("fls_episode")),
    # The fracture-liaison section: episodes with their fracture, then their follow-ups.
    Prefetch(
        "fls_episodes",
        queryset=FlsEpisode.objects.select_related("fracture").prefetch_related("follow_ups"),
    ),
    *_COURSES,
    "dxa_scans",
    "lab_results",
    "reassessments",
)


@dataclass(frozen=True)
class Change:
    """One audited change of the patient's record, for the history panel."""

    when: dt.datetime
    who: str
    what: str  # "Fracture", "DXA scan"…
    object_label: str
    change_type: str  # created / changed / deleted
    fields: tuple[tuple[str, str, str], ...]  # (field label, old, new) for changes


#: The list's status filter: "" shows active patients only (the default), "all" everyone.
STATUS_ALL = "all"
#: The list's alert filter: a critical alert, or a routine item (dose, scan, lab, reassessment).
SEVERITY_CRITICAL = "critical"
SEVERITY_ROUTINE = "routine"
SORT_NAME = "name"
SORT_DUE = "due"


def _active_reminders() -> QuerySet[Reminder]:
    return Reminder.objects.filter(patient=OuterRef("pk"), status__in=ACTIVE_REMINDER_STATUSES)


def name_or_mrn(q: str, *, to_patient: str = "") -> Q:
    """Patients whose name contains `q`, or whose MRN is `q` or starts with it (`to_patient`:
    the path to the patient, "patient__" from a reminder). `name` holds the given and the
    family name (`Patient.sync_name`), so a part of either is found in it, by the trigram index
    on UPPER(name) (patients 0011); the MRN by its prefix index."""
    return (
        Q(**{f"{to_patient}name__icontains": q})
        | Q(**{f"{to_patient}mrn__iexact": q})
        | Q(**{f"{to_patient}mrn__istartswith": q})
    )


@dataclass(frozen=True)
class PatientFilters:
    """What the patient list shows (`PatientSearchForm.filters`): `q` a name or MRN; `sex`;
    `clinic` a clinic's slug; `status` "" for the active patients, "all" for every one, else
    one status; `severity` "critical" or "routine" among their active reminders, and `kind`
    one kind of them; `sort` by name ("") or by next due date ("due")."""

    q: str = ""
    sex: str = ""
    clinic: str = ""
    status: str = ""
    severity: str = ""
    kind: str = ""
    sort: str = ""

    @property
    def narrowed(self) -> bool:
        """Narrowed to a name, a kind of reminder or the patients who left: few of the active
        reminders read in due order would be theirs (`patient_list_page`)."""
        return bool(self.q or self.kind or self.status not in ("", STATUS_ALL))


NO_FILTERS = PatientFilters()


#: The patient list's order by name, and how it breaks ties on a next due date.
BY_NAME = ("family_name", "given_name", "pk")


def patient_search(
    queryset: QuerySet[Patient], filters: PatientFilters = NO_FILTERS
) -> QuerySet[Patient]:
    """The patient list: by name or MRN, sex, clinic, status (active unless asked), and by
    their active reminders (open or snoozed) — critical or routine, of one kind — as the
    scan stored them; nothing is evaluated here. Sorted by family then given name, or by the
    next due date of an active reminder (patients without one last). `next_due` is annotated
    on every row."""
    q, sex, clinic, status = filters.q, filters.sex, filters.clinic, filters.status
    severity, kind = filters.severity, filters.kind
    if q:
        queryset = queryset.filter(name_or_mrn(q))
    if sex:
        queryset = queryset.filter(sex=sex)
    if clinic:
        queryset = queryset.filter(clinic__slug=clinic)
    if status != STATUS_ALL:
        queryset = queryset.filter(status=status or PatientStatus.ACTIVE)
    if severity or kind:
        reminders = _active_reminders()
        if severity == SEVERITY_CRITICAL:
            reminders = reminders.filter(severity=Severity.CRITICAL.value)
        elif severity == SEVERITY_ROUTINE:
            reminders = reminders.exclude(severity=Severity.CRITICAL.value)
        if kind:
            reminders = reminders.filter(kind=kind)
        queryset = queryset.filter(Exists(reminders))
    queryset = queryset.annotate(
        next_due=Subquery(_active_reminders().order_by("due").values("due")[:1])
    )
    if filters.sort == SORT_DUE:
        return queryset.select_related("clinic").order_by(
            F("next_due").asc(nulls_last=True), *BY_NAME
        )
    return queryset.select_related("clinic").order_by(*BY_NAME)


#: A search reads the ids of up to this many matches, in the list's order, and pages from them.
FEW_MATCHES = 2000
#: The trigram index answers a substring search of at least three characters.
TRIGRAM_MIN = 3


def patient_list_page(
    queryset: QuerySet[Patient],
    number: object,
    *,
    per_page: int,
    filters: PatientFilters = NO_FILTERS,
) -> Page:
    """Page `number` of the patient list: `patient_search`'s rows for the same `filters`.

    A search is paged from the ids of its first matches, read first in the list's order. For a
    page of "jones" in name order PostgreSQL walks the name index and tests each patient until it
    has 26 matches, expecting them spread evenly; they are all under J, so it tests tens of
    thousands of rows first (77 ms at 100,000 patients; "kowal" 50 ms; a rare name late in the
    alphabet, most of the index). The trigram and MRN-prefix indexes find those 986 matches at
    once. So for a term the trigram index can answer (`TRIGRAM_MIN` characters or more) the ids
    of up to `FEW_MATCHES` + 1 matches are read first, sorted, and the page is read by its 25 ids
    (`page_of_known_ids`). Those ids serve every page of a search with at most `FEW_MATCHES`
    matches, and the first 80 pages of a common term; a page past them is read by the
    name-ordered walk, which finds a page of a common term at once.

    The ids were read unsorted before and the page then read as every match's id (`id IN`
    937 ids for "kowal": PostgreSQL fetched and sorted all of them again, and planning and
    sending the list cost as much): sorting them in the first query costs about 2 ms more, the
    page's own query then costs under 1 ms (issue 14). One query more than a list without a term
    (or a term too short for the trigram index).

    Sorted by next due date, a page up to `DUE_WALK_MAX` patients deep of a list of at least
    `DUE_WALK_MIN_PATIENTS` is paged from the ids `_first_by_next_due` finds in the active
    reminders' due order (194 -> 28 ms for the first page at 100,000 patients). A list narrowed
    to a name, a kind of reminder or the patients who left is sorted as it is: few of the
    reminders read in due order would be theirs (a kind: 97 ms walked, 61 ms sorted), as is a
    shorter list or a page further down."""
    if len(filters.q) >= TRIGRAM_MIN:
        ids = list(queryset.values_list("pk", flat=True)[: FEW_MATCHES + 1])
        page = page_of_known_ids(
            queryset, number, per_page=per_page, ids=ids, complete=len(ids) <= FEW_MATCHES
        )
        if page is not None:
            return page
    elif (
        filters.sort == SORT_DUE
        and not filters.narrowed
        and page_number(number) * per_page < DUE_WALK_MAX
        and _at_least(queryset, DUE_WALK_MIN_PATIENTS)
    ):
        ids, complete = _first_by_next_due(queryset, page_number(number) * per_page + 1)
        page = page_of_known_ids(queryset, number, per_page=per_page, ids=ids, complete=complete)
        if page is not None:
            return page
    return page_of(queryset, number, per_page=per_page)


#: The first walk of the reminders in due order reads this many rows per patient wanted, and at
#: least `FIRST_WALK_ROWS`: a day's active reminders in a clinic of 100,000 patients are a few
#: hundred, and the first page's patients are sorted by name among those tied on its first day.
WALK_ROWS_PER_PATIENT = 8
FIRST_WALK_ROWS = 500
#: Pages up to this many patients deep are read from the reminders in due order; a page further
#: down would walk thousands of them (page 40: 190-240 ms) and is sorted as the list sorts.
DUE_WALK_MAX = 500
#: A list of fewer patients is sorted as it is: working out a few thousand next due dates is
#: quick, while a walk of all the reminders in due order would pass over every other clinic's
#: (a clinician of one small clinic among many).
DUE_WALK_MIN_PATIENTS = 5000


def _at_least(queryset: QuerySet[Patient], count: int) -> bool:
    """Whether `queryset` has at least `count` rows, counting no further."""
    return queryset.order_by().values("pk")[:count].count() == count


def _first_by_next_due(queryset: QuerySet[Patient], wanted: int) -> tuple[list[int], bool]:
    """The ids of the first `wanted` patients of `queryset` (`patient_search` sorted by next
    due date), in its order, and whether they are all of its patients.

    Sorted as it is, the list works out every patient's next due date to show 26 (194 ms at
    100,000 patients). Here the active reminders of the list's patients are read in due order
    instead, from the (status, due) index, one walk per active status, a few rows each: a
    patient's first reminder in that order is their next due date, so once every reminder due
    before a day has been read, the patients whose next due date is before it are known, and
    only they are sorted as the list sorts them. When all the reminders have been read and
    there are still too few, the patients with no active reminder follow, by name, as they do
    in the list. A walk that falls short is read again twice as long. The snoozed reminders,
    fewer a day than the open ones, are read only up to where the open ones' walk stopped."""
    patients = queryset.order_by().values("pk")
    limit = max(WALK_ROWS_PER_PATIENT * wanted, FIRST_WALK_ROWS)
    while True:
        first_due: dict[int, dt.date] = {}
        horizon: dt.date | None = None  # every reminder due before it has been read
        for status in ACTIVE_REMINDER_STATUSES:
            walk = Reminder.objects.filter(status=status, patient__in=patients)
            if horizon is not None:  # what lies beyond the walks before is never known
                walk = walk.filter(due__lte=horizon)
            rows = list(walk.order_by("due").values_list("due", "patient_id")[:limit])
            for due, patient_id in rows:
                if due < first_due.get(patient_id, dt.date.max):
                    first_due[patient_id] = due
            if len(rows) == limit:
                horizon = rows[-1][0] if horizon is None else min(horizon, rows[-1][0])
        known = [pk for pk, due in first_due.items() if horizon is None or due < horizon]
        if len(known) >= wanted or horizon is None:
            break
        limit *= 2
    if len(known) > wanted:
        # The list sorts by next due date first, so its first `wanted` are all due by the
        # wanted-th earliest date among those known: only they are sorted (the list orders
        # those tied on a day by name), not every patient the walk passed.
        last = sorted([first_due[pk] for pk in known])[wanted - 1]
        known = [pk for pk in known if first_due[pk] <= last]
    # A known patient's next due date is the one the walk found (every active reminder due
    # before the horizon has been read), so the database sorts them by name only, as the list
    # breaks ties, and a stable sort by that date puts them in the list's order: the list's
    # own sort worked out each one's next due date again, one subquery per patient.
    by_name = queryset.filter(pk__in=known).order_by(*BY_NAME).values_list("pk", flat=True)
    ids = sorted(by_name, key=first_due.__getitem__)[:wanted]
    if horizon is not None:
        return ids, False
    if len(ids) < wanted:
        ids += (
            queryset.filter(next_due__isnull=True)
            .order_by(*BY_NAME)
            .values_list("pk", flat=True)[: wanted - len(ids)]
        )
    return ids, len(ids) < wanted


#: Every kind a reminder may have: the engine's codes and the fracture-liaison follow-ups.
REMINDER_KIND_CODES: tuple[str, ...] = (
    *(c.value for c in (*MonitoringCode, *AlertCode)),
    *FOLLOW_UP_REMINDER_KINDS.values(),
)


def reminder_kinds() -> list[str]:
    """The kind filter's choices on the patient list and the worklist: every kind a reminder
    may have, sorted, whatever is stored (no query).

    These were the kinds present among the clinic's reminders, found by one EXISTS probe per
    kind; at 500,000 reminders building and running that query was a third of the patient
    list's time (21 of 63 ms) on every view, for a list of about twenty names that barely
    changes. A kind nobody has yet filters to an empty list, which says so."""
    return sorted(REMINDER_KIND_CODES)


def patient_with_records(*, pk: int) -> Patient:
    """The patient with every record the patient page lists, in a fixed number of queries.
    (What the engine reads comes from `therapy.case_records`, not from these instances.)"""
    return (
        Patient.objects.select_related("risk_profile", "clinic")
        .prefetch_related(*_PAGE_RECORDS)
        .get(pk=pk)
    )


def patient_with_courses(*, pk: int) -> Patient:
    """The patient with their therapy courses and doses (the printable summary's timeline)."""
    return Patient.objects.prefetch_related(*_COURSES).get(pk=pk)


def _history_sources(
    patient: Patient,
) -> list[tuple[str, QuerySet[Any], Callable[[Any], str]]]:
    course_ids = TherapyCourse.history.filter(patient_id=patient.pk).values("id")
    by_patient = {"patient_id": patient.pk}
    # Labels read only the row itself (no related object), so the panel stays N+1 free.
    own = lambda r: str(r.instance)  # noqa: E731
    return [
        ("Demographics", Patient.history.filter(id=patient.pk), own),
        (
            "Risk factors",
            RiskProfile.history.filter(**by_patient),
            lambda r: "risk factors",
        ),
        ("Cardiovascular event", CardiovascularEvent.history.filter(**by_patient), own),
        ("Immunosuppressant", Immunosuppressant.history.filter(**by_patient), own),
        (
            "Glucocorticoid exposure",
            GlucocorticoidExposure.history.filter(**by_patient),
            own,
        ),
        ("Fracture", Fracture.history.filter(**by_patient), own),
        ("Therapy course", TherapyCourse.history.filter(**by_patient), own),
        (
            "Dose",
            Dose.history.filter(course_id__in=course_ids),
            lambda r: f"dose on {r.date:%Y-%m-%d}",
        ),
        ("DXA scan", DxaScan.history.filter(**by_patient), own),
        ("Lab result", LabResult.history.filter(**by_patient), own),
        ("Reassessment", Reassessment.history.filter(**by_patient), own),
    ]


def _field_label(record: Any, name: str) -> str:
    try:
        return str(record.instance_type._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 — a field removed since; show its name
        return name


def patient_changes(patient: Patient, *, limit: int = 100) -> list[Change]:
    """The audit trail of everything recorded about the patient, newest first (one query per
    record type, whatever the history's length)."""
    ignore = {"created_at", "updated_at"}
    changes: list[Change] = []
    for what, history, label in _history_sources(patient):
        key = history.model.instance_type._meta.pk.attname  # "id", or "patient_id"
        rows = list(
            history.select_related("history_user").order_by(key, "history_date", "history_id")
        )
        for _, versions in groupby(rows, key=lambda r, key=key: getattr(r, key)):
            previous = None
            for record in versions:
                fields: tuple[tuple[str, str, str], ...] = ()
                if previous is not None and record.history_type == "~":
                    delta = record.diff_against(previous, excluded_fields=ignore)
                    fields = tuple(
                        (
                            _field_label(record, c.field),
                            _show(c.old, _choices(record, c.field)),
                            _show(c.new, _choices(record, c.field)),
                        )
                        for c in delta.changes
                    )
                user = record.history_user
                changes.append(
                    Change(
                        when=record.history_date,
                        who=(user.get_full_name() or user.get_username()) if user else "system",
                        what=what,
                        object_label=label(record),
                        change_type=_CHANGE_TYPES.get(record.history_type, record.history_type),
                        fields=fields,
                    )
                )
                previous = record
    changes.sort(key=lambda ch: ch.when, reverse=True)
    return changes[:limit]


def _choices(record: Any, name: str) -> dict[Any, str]:
    """A field's stored values and their words ("patient_choice" → "Patient choice")."""
    try:
        field = record.instance_type._meta.get_field(name)
    except Exception:  # noqa: BLE001 — a field removed since: its values as stored
        return {}
    return {value: str(words) for value, words in getattr(field, "flatchoices", ())}


def _show(value: Any, choices: dict[Any, str] | None = None) -> str:
    if value is None or value == "":
        return "—"
    if choices and value in choices:
        return choices[value]
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
