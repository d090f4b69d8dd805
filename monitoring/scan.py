"""The reminder scan: the engine's monitoring items and critical alerts, as `Reminder` rows.

`reminders_scan` walks the patients in primary-key order, a batch at a time (memory stays bounded
by the batch, whatever the clinic's size), asks the engine what each patient needs on `as_of`,
and reconciles that *wanted* set with the batch's reminders in a fixed number of queries: the
batch's histories (`therapy.case_records.cases_for_patients`, eleven SELECTs of plain tuples),
one SELECT of the evaluated patients' open FLS episodes (`quality.follow_ups.open_episodes`),
one SELECT of its reminders, then — only when something changed — one locked re-read of the
changed rows, two bulk UPDATEs and one bulk INSERT (each with its audit rows); a patient who is
not active costs no history read. Every batch is its own transaction, so a worker killed
half-way leaves whole batches behind, and a rerun finishes the job: the scan is idempotent, and
a second run in a row changes nothing.

What is wanted, per patient
    every monitoring item due on or before `as_of` + the clinic's lead time (`kind` = the item's
    code, `drug` = its drug or ""), and every critical alert (`kind` = the alert's code, `due` =
    the alert's due date or, when it has none, `as_of`; `severity` = "critical").

    And the fracture-liaison follow-up calls (`quality.follow_ups`, the FLS's schedule, not the
    engine's): `FOLLOW_UP_16W` due 112 days after the index fracture of an open episode,
    `FOLLOW_UP_52W` due 364 days after it, each while its contact is not recorded and once due
    within the lead time (the 16-week call only before day 364); drug "", never floating, and
    one per kind at the earlier date when a patient has two open episodes. They are reconciled,
    held done, snoozed, dismissed and closed for a patient who left exactly as the engine's
    items below; a patient the engine cannot evaluate gets none (their reminders are not read).
    A rule-book edition never resolves them (`EDITION_REASON` is the engine's).

How a wanted item meets the reminders of its (patient, kind, drug)
    - no reminder is active → one is created, open, with the item's due date;
    - the active one has the item's due date → unchanged;
    - the engine's date changed → the active reminder's due date moves with it;
    - no longer wanted (dose given, scan, lab or reassessment recorded, follow-on started,
      beyond the lead time again) → the active reminder is resolved (status `resolved`, closed
      now): the record shows the action, so nobody has to mark it done;
    - a snoozed reminder whose snooze has ended (`snoozed_until` ≤ as_of) is open again;
    - a reminder resolved for that very due date (the record that resolved it was corrected
      away) is reopened instead of duplicated (the database refuses two rows per (patient,
      kind, drug, due));
    - a dismissed reminder for that due date blocks it: the scan does not re-create it.

Done means done
    A reminder a person marked done for a due date that the engine still lists for that same
    date stays done: the scan writes why in `still_due`, in words built from the patient's
    record (`monitoring.still_due`: "no denosumab dose recorded since 2025-11-17"), and
    changes it only when those words change. It returns to the open list only
    - when the engine's date moves: the new date is a new open reminder (or moves the active
      one), and the done one's `still_due` is cleared (it no longer speaks for the item); or
    - when the clinic's hold has run out (`closed_at` + `Clinic.done_hold_days` ≤ as_of): the
      done reminder is reopened, `still_due` cleared; its close reason stays in its history.
    Critical alerts follow the same rule. A floating item (below) has no date of its own: its
    latest done reminder holds it the same way, and reopens with its old (overdue) date. A done
    reminder whose item is no longer listed loses its `still_due` words.

Patients who left
    A patient whose status is not active (deceased, transferred, discharged) is locked with
    the batch but not evaluated: their active reminders are resolved with the reason "patient
    deceased" (…"transferred", …"discharged"), so a status changed outside the status service
    is cleaned up by the next scan; closed reminders are left as they are. The summary counts
    them apart (`inactive_patients`, `inactive_resolved`).

A new edition of the rule book
    Each reminder records the engine version whose scan last wanted it. The first scan under a
    new engine version brings every patient's reminders to it: those still wanted are stamped
    with the new version; those the new rule book no longer asks for are resolved with the
    reason "rule book edition N" (`EDITION_REASON`), so the worklist says why they went.

"Now" items, and how long a dismissal lasts
    Some items have no date of their own: an undated critical alert (ALR-5, ALR-7, ALR-8, ALR-10,
    ALR-14), and the monitoring items the engine dates "as_of" because there is nothing to count
    from (MON-1 without any reassessment, MON-4 without any scan). Their date would be today on
    every run, so they are *floating*: an active reminder already due keeps its date (it does
    not creep forward night after night and stays overdue), and a dismissal cannot be tied to a
    date either. A dismissal of such an item holds until its condition has cleared once.

    The scan remembers that in the dismissed row's `snoozed_until`, read as "dismissed until":
    empty while the dismissal holds; the first scan that sees the engine no longer list the item
    at that reminder's date (the item is gone, or now due on another date) writes that day
    there. A floating item is blocked while any dismissal of its (patient, kind, drug) holds;
    when it comes back after clearing, a new reminder is created (due that day). Dismissing
    again (the worklist clears `snoozed_until`) starts a new hold. A dated item is blocked by a
    dismissal of the same due date whether or not it has lapsed, as the issue asks. No schema
    change is needed: `snoozed_until` is only read as a snooze while the status is `snoozed`.

Concurrency
    Each batch locks its patient rows (`FOR NO KEY UPDATE`, which does not block inserting their
    scans, labs or doses), so the nightly scan and a per-patient rescan never interleave on one
    patient; the changed reminders are re-read under a row lock and, if a person changed one
    since it was read (the worklist locks the same rows), the batch is recomputed. So a person
    who marks a reminder done while its batch runs wins: the recomputed batch sees it done and
    holds it (tests/monitoring/test_scan_done.py races the two on two connections). A person who
    marks one done after the batch wrote simply closes it; the next scan holds it.

Speed
    The engine's input is read as plain tuples (`therapy.case_records`, the one reader the
    patient pages use too): model instances would cost three times the engine itself on long
    histories. A batch runs with Python's cyclic garbage collector paused (`_collector_paused`):
    reading and evaluating 500 histories allocates about a million short-lived objects, which
    set off a collection every 700 allocations, each walking every tracked object of the
    process; that was a third of the batch's time, for no garbage (the batch's objects are freed
    by reference counting as it ends). The nightly task sends one Celery task per batch, so every
    worker process on every host shares the night (`scan_run_start`, `scan_run_batch`).
    `bench/scan.py` measures it all against a raw read of the same rows.

E-mail
    The batches collect the critical reminders they created or reopened; once the whole run is
    over (and its transaction, if any, committed) `monitoring.notifications` sends them at once
    to clinics that opt in, one message per recipient for the run, however many batches. The
    daily digest (a beat task) lists them too, and every newly overdue reminder.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Now
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder, ReminderStatus, ScanRun
from monitoring.notifications import reminders_notify_new_critical
from monitoring.still_due import still_due_text
from patients.bulk import create_with_history
from patients.models import INACTIVE_CLOSE_REASONS, Clinic, Patient, PatientStatus
from quality.follow_ups import FOLLOW_UP_OF_KIND, FollowUpDue, follow_ups_due, open_episodes
from therapy.case_records import cases_for_patients, rows_of_patients
from therapy.engine import ENGINE_VERSION, Assessment, Schedule, Severity, schedule
from therapy.engine.case import Case
from therapy.evaluation import case_evaluate
from therapy.exceptions import RecordNotEvaluable

logger = logging.getLogger(__name__)

#: The audit trail's reason for every row the scan writes (history_change_reason, ≤ 100 chars).
CHANGE_REASON = "reminder scan"
#: Why a reminder wanted by an older engine version, and not by this one, was resolved.
EDITION_REASON = f"rule book edition {ENGINE_VERSION}"
#: How often a batch is recomputed when someone changes one of its reminders meanwhile.
BATCH_ATTEMPTS = 3
DEFAULT_LEAD_DAYS: int = Clinic._meta.get_field("reminder_lead_days").default
DEFAULT_HOLD_DAYS: int = Clinic._meta.get_field("done_hold_days").default
#: A run still "running" this long after it started lost its worker or one of its batch tasks
#: (each task's hard time limit is 30 minutes); the next full run records it as failed.
INTERRUPTED_AFTER = dt.timedelta(hours=1)
INTERRUPTED = "Interrupted: the scan stopped before it finished (its worker was stopped)."

Key = tuple[int, str, str]  # (patient id, kind, drug)


@dataclass(frozen=True, slots=True)
class Wanted:
    """One reminder the engine asks for."""

    due: dt.date
    severity: str
    #: The engine's "now" (an undated alert, or an item dated as_of for want of a date).
    floating: bool


@dataclass(slots=True)
class _Row:
    """The columns of an existing reminder the reconciliation reads."""

    pk: int
    patient_id: int
    kind: str
    drug: str
    due: dt.date
    status: str
    snoozed_until: dt.date | None
    engine_version: str
    closed_at: dt.datetime | None
    still_due: str

    @property
    def key(self) -> Key:
        return (self.patient_id, self.kind, self.drug)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_REMINDER_STATUSES

    @property
    def is_holding_dismissal(self) -> bool:
        return self.status == ReminderStatus.DISMISSED and self.snoozed_until is None


_ROW_FIELDS = (
    "pk",
    "patient_id",
    "kind",
    "drug",
    "due",
    "status",
    "snoozed_until",
    "engine_version",
    "closed_at",
    "still_due",
)


def _entry(key: Key, due: dt.date, **extra: Any) -> dict[str, Any]:
    patient_id, kind, drug = key
    return {"patient": patient_id, "kind": kind, "drug": drug, "due": due.isoformat(), **extra}


@dataclass
class ScanSummary:
    """What a scan did; `as_json()` is what `manage.py scan_reminders` prints.

    The lists hold one entry per reminder (`{"patient", "kind", "drug", "due"}`, moves also
    `"from"`, held ones also `"still_due"`) when the scan was asked for details; the counts are
    always kept."""

    as_of: dt.date
    patients: int = 0
    created: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    #: Snoozes that ended: the reminder is open again (its item unchanged).
    snooze_ended: list[dict[str, Any]] = field(default_factory=list)
    #: Reminders marked done that the engine still lists for the same date: kept done, with
    #: why they are still due (`Reminder.still_due`) written or changed.
    held: list[dict[str, Any]] = field(default_factory=list)
    #: Active reminders of patients who are no longer active (deceased, transferred,
    #: discharged), resolved with that reason.
    inactive_resolved: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    #: Patients whose record the engine could not evaluate (their reminders left as they were).
    skipped: list[int] = field(default_factory=list)
    #: Patients not evaluated because they are not active.
    inactive_patients: int = 0
    #: The critical reminders this scan created or reopened (pks, for the immediate e-mail).
    new_critical: list[int] = field(default_factory=list)
    created_count: int = 0
    moved_count: int = 0
    resolved_count: int = 0
    snooze_ended_count: int = 0
    held_count: int = 0
    inactive_resolved_count: int = 0

    def merge(self, other: ScanSummary, *, details: bool) -> None:
        self.patients += other.patients
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.inactive_patients += other.inactive_patients
        self.new_critical += other.new_critical
        self.created_count += len(other.created)
        self.moved_count += len(other.moved)
        self.resolved_count += len(other.resolved)
        self.snooze_ended_count += len(other.snooze_ended)
        self.held_count += len(other.held)
        self.inactive_resolved_count += len(other.inactive_resolved)
        if details:
            self.created += other.created
            self.moved += other.moved
            self.resolved += other.resolved
            self.snooze_ended += other.snooze_ended
            self.held += other.held
            self.inactive_resolved += other.inactive_resolved

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "patients": self.patients,
            "created": self.created,
            "moved": self.moved,
            "resolved": self.resolved,
            "snooze_ended": self.snooze_ended,
            "held": self.held,
            "inactive_resolved": self.inactive_resolved,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "inactive_patients": self.inactive_patients,
        }

    def counts(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "patients": self.patients,
            "created": self.created_count,
            "moved": self.moved_count,
            "resolved": self.resolved_count,
            "snooze_ended": self.snooze_ended_count,
            "held": self.held_count,
            "inactive_resolved": self.inactive_resolved_count,
            "unchanged": self.unchanged,
            "skipped": len(self.skipped),
            "inactive_patients": self.inactive_patients,
        }


def _after_batch(number: int) -> None:
    """Called after each batch has committed; tests replace it to kill a scan half-way."""


# --- what the engine wants ----------------------------------------------------------------------


def wanted_reminders(
    assessment: Assessment | Schedule, *, as_of: dt.date, lead_days: int
) -> dict[tuple[str, str], Wanted]:
    """The reminders one assessment asks for, by (kind, drug), from its monitoring items and
    alerts (the scan passes the engine's `schedule`, those two parts alone). Two items of one
    kind and drug (two open courses of one drug) give one reminder, at the earlier date."""
    horizon = as_of + dt.timedelta(days=lead_days)
    wanted: dict[tuple[str, str], Wanted] = {}

    def want(kind: str, drug: str, item: Wanted) -> None:
        known = wanted.get((kind, drug))
        if known is None or item.due < known.due:
            wanted[(kind, drug)] = item

    for item in assessment.monitoring:
        if item.due <= horizon:
            drug = item.drug.value if item.drug is not None else ""
            want(item.code.value, drug, Wanted(item.due, "", floating=item.due == as_of))
    for alert in assessment.alerts:
        if alert.severity is Severity.CRITICAL:
            due = alert.due or as_of
            want(
                alert.code.value,
                "",
                Wanted(due, Severity.CRITICAL.value, floating=alert.due is None),
            )
    return wanted


# --- reconciling one batch ----------------------------------------------------------------------


class _StaleBatch(Exception):
    """A reminder of the batch changed between reading and writing it."""


@dataclass
class _Plan:
    """The writes one batch needs."""

    #: pk → the fields to set, for rows leaving the active statuses or staying closed.
    close: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: pk → the fields to set, for rows that are (or become) open or snoozed.
    open: dict[int, dict[str, Any]] = field(default_factory=dict)
    create: list[Reminder] = field(default_factory=list)
    #: pk → the reminder as read, to check it is unchanged when it is written.
    snapshot: dict[int, _Row] = field(default_factory=dict)
    #: Critical reminders reopened (their pks; the created ones get theirs when written).
    new_critical: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Context:
    """What the plan of one batch needs besides the rows: the rules of each patient's clinic,
    the patients who are not active, and the words for a reminder kept done though due."""

    as_of: dt.date
    now: dt.datetime
    #: patient id → the clinic's `done_hold_days`.
    hold_days: dict[int, int]
    #: patient id → why their reminders close ("patient deceased"), for patients not active.
    inactive: dict[int, str]
    #: (patient id, kind, drug) → "no denosumab dose recorded since 2025-11-17".
    still_due: Callable[[Key], str]

    def hold_over(self, row: _Row) -> bool:
        """The clinic's hold on a done reminder has run out (`closed_at` + hold days ≤ as_of)."""
        if row.closed_at is None:
            return True
        days = self.hold_days.get(row.patient_id, DEFAULT_HOLD_DAYS)
        return timezone.localdate(row.closed_at) + dt.timedelta(days=days) <= self.as_of


def _reminder_builder() -> Callable[..., Reminder]:
    """`Reminder(**values)` for the new reminders of a batch, built as Django builds a row it
    reads (every concrete field's value in order, which `Model.__init__` sets without looking
    each field up among the keywords): the keyword path was 0.3 s of the first night's 21,623
    new reminders. Defaults are taken once per batch, except a callable one (taken per
    reminder, as `Reminder()` would); `test_scan` holds the two equal."""
    fields = Reminder._meta.concrete_fields
    template = [model_field.get_default() for model_field in fields]
    position = {model_field.attname: index for index, model_field in enumerate(fields)}
    fresh = [
        (index, model_field)
        for index, model_field in enumerate(fields)
        if model_field.has_default() and callable(model_field.default)
    ]

    def build(**values: Any) -> Reminder:
        row = template.copy()
        for index, model_field in fresh:
            row[index] = model_field.get_default()
        for name, value in values.items():
            row[position[name]] = value
        return Reminder(*row)

    return build


def _plan_batch(
    wanted: dict[Key, Wanted],
    rows: Iterable[_Row],
    *,
    context: _Context,
    summary: ScanSummary,
) -> _Plan:
    as_of, now = context.as_of, context.now
    plan = _Plan()
    new_reminder = _reminder_builder()
    by_key: dict[Key, list[_Row]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
        plan.snapshot[row.pk] = row

    def resolve(row: _Row, *, unwanted: bool = False, reason: str = "") -> None:
        plan.close[row.pk] = {
            "status": ReminderStatus.RESOLVED,
            "closed_at": now,
            "snoozed_until": None,
        }
        if (
            unwanted
            and row.engine_version != ENGINE_VERSION
            and row.kind not in FOLLOW_UP_OF_KIND  # the FLS's schedule, not the rule book's
        ):
            reason = EDITION_REASON
        if reason:
            plan.close[row.pk]["close_reason"] = reason
        (
            summary.inactive_resolved if row.patient_id in context.inactive else summary.resolved
        ).append(_entry(row.key, row.due))

    def lapse(row: _Row) -> None:
        plan.close[row.pk] = {"snoozed_until": as_of}

    def set_still_due(row: _Row, text: str) -> None:
        if row.still_due != text:
            plan.close.setdefault(row.pk, {})["still_due"] = text

    def reopen(row: _Row, item: Wanted) -> None:
        plan.open[row.pk] = {
            "status": ReminderStatus.OPEN,
            "severity": item.severity,
            "snoozed_until": None,
            "closed_at": None,
            "close_reason": "",
            "still_due": "",
            "engine_version": ENGINE_VERSION,
        }

    def keep(row: _Row) -> None:
        if row.engine_version != ENGINE_VERSION:
            plan.open.setdefault(row.pk, {})["engine_version"] = ENGINE_VERSION
        if row.status == ReminderStatus.SNOOZED and row.snoozed_until <= as_of:  # type: ignore[operator]
            plan.open.setdefault(row.pk, {}).update(status=ReminderStatus.OPEN, snoozed_until=None)
            summary.snooze_ended.append(_entry(row.key, row.due))

    for key in sorted(wanted.keys() | by_key.keys()):
        existing = by_key.get(key, [])
        active = next((r for r in existing if r.is_active), None)
        item = wanted.get(key)

        reason = context.inactive.get(key[0])
        if reason is not None:  # not evaluated: only its active reminder is closed
            if active is not None:
                resolve(active, reason=reason)
            continue

        # A done reminder says why it is still due only while the engine lists it for its date.
        for row in existing:
            if (
                row.status == ReminderStatus.DONE
                and row.still_due
                and (item is None or (row.due != item.due and not item.floating))
            ):
                set_still_due(row, "")

        if item is None:
            if active is not None:
                resolve(active, unwanted=True)
            for row in existing:
                if row.is_holding_dismissal:
                    lapse(row)
            continue

        if item.floating and active is not None and active.due <= as_of:
            keep(active)
            summary.unchanged += 1
            continue
        if active is not None and active.due == item.due:
            keep(active)
            summary.unchanged += 1
            continue

        at_due = next((r for r in existing if r.due == item.due), None)
        if not item.floating:
            for row in existing:
                if row.is_holding_dismissal and row.due != item.due:
                    lapse(row)
        blocked = (
            any(r.is_holding_dismissal for r in existing)
            if item.floating
            else at_due is not None and at_due.status == ReminderStatus.DISMISSED
        )
        if blocked:
            if active is not None:
                resolve(active)
            else:
                summary.unchanged += 1
            continue

        # Done means done: a reminder marked done for this date stays done, saying why the
        # engine still lists it, until the clinic's hold runs out. A floating item has no date
        # of its own, so its latest done reminder holds it.
        done = (
            max(
                (r for r in existing if r.status == ReminderStatus.DONE and r.due <= as_of),
                key=lambda r: (r.closed_at is not None, r.closed_at, r.pk),
                default=None,
            )
            if item.floating
            else (at_due if at_due is not None and at_due.status == ReminderStatus.DONE else None)
        )
        if done is not None and not context.hold_over(done):
            if active is not None:
                resolve(active)
            for row in existing:
                if row is not done and row.status == ReminderStatus.DONE and row.still_due:
                    set_still_due(row, "")
            text = context.still_due(key)
            if done.still_due != text:
                set_still_due(done, text)
                summary.held.append(_entry(key, done.due, still_due=text))
            else:
                summary.unchanged += 1
            continue
        if done is not None and item.floating:
            at_due = done  # the hold ran out: that done reminder opens again, with its date

        if at_due is not None:  # done (hold over), resolved, or a lapsed dismissal: reopen it
            if active is not None:
                plan.close[active.pk] = {
                    "status": ReminderStatus.RESOLVED,
                    "closed_at": now,
                    "snoozed_until": None,
                }
                summary.moved.append(_entry(key, item.due, **{"from": active.due.isoformat()}))
            else:
                summary.created.append(_entry(key, at_due.due))
            reopen(at_due, item)
            if item.severity:
                plan.new_critical.append(at_due.pk)
        elif active is not None:
            plan.open.setdefault(active.pk, {})["due"] = item.due
            keep(active)
            summary.moved.append(_entry(key, item.due, **{"from": active.due.isoformat()}))
        else:
            patient_id, kind, drug = key
            plan.create.append(
                new_reminder(
                    patient_id=patient_id,
                    kind=kind,
                    drug=drug,
                    due=item.due,
                    severity=item.severity,
                    status=ReminderStatus.OPEN,
                    engine_version=ENGINE_VERSION,
                )
            )
            summary.created.append(_entry(key, item.due))
    return plan


def _write(plan: _Plan, *, now: dt.datetime) -> None:
    """Apply the plan: closings first, then openings and moves, then new rows, so that the
    one-active-per-item constraint holds after every statement."""
    changed = plan.close.keys() | plan.open.keys()
    if changed:
        current = Reminder.objects.select_for_update().order_by("pk").in_bulk(changed)
        for pk in changed:
            row, seen = current.get(pk), plan.snapshot[pk]
            if row is None or (row.status, row.due, row.snoozed_until) != (
                seen.status,
                seen.due,
                seen.snoozed_until,
            ):
                raise _StaleBatch(pk)
        for changes in (plan.close, plan.open):
            if not changes:
                continue
            fields = {"updated_at"}
            objs = []
            for pk, values in changes.items():
                obj = current[pk]
                for name, value in values.items():
                    setattr(obj, name, value)
                obj.updated_at = now
                fields.update(values)
                objs.append(obj)
            bulk_update_with_history(
                objs,
                Reminder,
                sorted(fields),
                default_change_reason=CHANGE_REASON,
                default_date=now,
            )
    if plan.create:
        create_with_history(plan.create, Reminder, change_reason=CHANGE_REASON, date=now)
        plan.new_critical += [r.pk for r in plan.create if r.severity and r.pk is not None]


@dataclass(frozen=True, slots=True)
class _Batch:
    """The patients of one batch: those with `after_pk` < pk ≤ `upto_pk` (no upper end when
    None) in a full scan, or the listed `ids` in a scan of some patients."""

    after_pk: int = 0
    upto_pk: int | None = None
    ids: tuple[int, ...] | None = None

    def patients(self) -> QuerySet[Patient]:
        if self.ids is not None:
            return Patient.objects.filter(pk__in=self.ids)
        patients = Patient.objects.filter(pk__gt=self.after_pk)
        return patients if self.upto_pk is None else patients.filter(pk__lte=self.upto_pk)


def _batches(patient_ids: list[int] | None, batch_size: int) -> Iterator[_Batch]:
    """Consecutive batches of `batch_size` patients in pk order: of the listed patients, or
    of everyone (`_batch_bounds`)."""
    if patient_ids is not None:
        for start in range(0, len(patient_ids), batch_size):
            yield _Batch(ids=tuple(patient_ids[start : start + batch_size]))
        return
    yield from _batch_bounds(batch_size)


def _batch_bounds(batch_size: int) -> list[_Batch]:
    """The bounds of a full scan's batches: ceil(patients / batch_size) of them, the last one
    open-ended (a patient added meanwhile is scanned too). A query per batch reads only its
    last pk, so no list of every patient is ever held; the bounds are a few hundred numbers."""
    planned: list[_Batch] = []
    after_pk = 0
    while True:
        # The batch's last patient and the one after it: is this the last batch?
        ends = list(
            Patient.objects.filter(pk__gt=after_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[batch_size - 1 : batch_size + 1]
        )
        if len(ends) == 2:
            planned.append(_Batch(after_pk=after_pk, upto_pk=ends[0]))
            after_pk = ends[0]
            continue
        if ends or Patient.objects.filter(pk__gt=after_pk).exists():
            planned.append(_Batch(after_pk=after_pk))
        return planned


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for one batch, on again after it, whatever
    happens (left off if it was off already). Memory stays bounded: objects are still freed by
    reference counting, and the few reference cycles a batch leaves wait only for the next
    collection after it."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _scan_batch(
    batch: _Batch,
    *,
    as_of: dt.date,
    now: dt.datetime,
    clinics: dict[int, tuple[int, int]],
    dry_run: bool = False,
) -> ScanSummary:
    """One transaction: lock the batch's patients, evaluate the active ones, reconcile their
    reminders and close those of patients who left (with `dry_run`, only say what would
    change: nothing is written, nothing is sent). `clinics`: clinic id → (lead days, hold
    days)."""
    with transaction.atomic():
        patients = list(
            batch.patients()
            .order_by("pk")
            .select_for_update(no_key=True)
            .values_list("pk", "clinic_id", "status")
        )
        if not patients:
            return ScanSummary(as_of=as_of)
        ids = [pk for pk, _, _ in patients]
        inactive = {
            pk: INACTIVE_CLOSE_REASONS.get(status, f"patient {status}")
            for pk, _, status in patients
            if status != PatientStatus.ACTIVE
        }
        hold_days = {
            pk: clinics.get(clinic_id, (DEFAULT_LEAD_DAYS, DEFAULT_HOLD_DAYS))[1]
            for pk, clinic_id, _ in patients
        }

        wanted: dict[Key, Wanted] = {}
        skipped: set[int] = set()
        cases: dict[int, Case] = {}
        lead_days: dict[int, int] = {}
        active_ids = [pk for pk in ids if pk not in inactive]
        for patient_id, clinic_id, case in cases_for_patients(active_ids, as_of=as_of):
            assessment = _assessment_or_none(patient_id, case)
            if assessment is None:
                skipped.add(patient_id)
                continue
            cases[patient_id] = case
            lead = lead_days[patient_id] = clinics.get(
                clinic_id, (DEFAULT_LEAD_DAYS, DEFAULT_HOLD_DAYS)
            )[0]
            for (kind, drug), item in wanted_reminders(
                assessment, as_of=as_of, lead_days=lead
            ).items():
                wanted[(patient_id, kind, drug)] = item
        # The FLS follow-up calls, of the evaluated patients only: a skipped patient's
        # reminders are not read below, so one created for them would clash with theirs.
        follow_ups: dict[tuple[int, str], FollowUpDue] = {}
        for patient_id, episodes in open_episodes(sorted(cases)).items():
            for kind, due in follow_ups_due(
                episodes, as_of=as_of, lead_days=lead_days[patient_id]
            ).items():
                follow_ups[(patient_id, kind)] = due
                wanted[(patient_id, kind, "")] = Wanted(due.due, "", floating=False)

        # A patient the engine cannot evaluate keeps the reminders it has: none is resolved
        # because of a record that needs correcting.
        in_batch = set(ids) - skipped
        rows = [
            _Row(*values)
            for values in rows_of_patients(
                "scan reminders",
                Reminder,
                ids,
                lambda of_batch: (
                    Reminder.objects.filter(of_batch).order_by().values_list(*_ROW_FIELDS)
                ),
            )
            if values[1] in in_batch
        ]
        summary = ScanSummary(
            as_of=as_of,
            patients=len(ids),
            skipped=sorted(skipped),
            inactive_patients=len(inactive),
        )
        context = _Context(
            as_of=as_of,
            now=now,
            hold_days=hold_days,
            inactive=inactive,
            still_due=lambda key: still_due_text(
                cases[key[0]], kind=key[1], drug=key[2], follow_up=follow_ups.get(key[:2])
            ),
        )
        plan = _plan_batch(wanted, rows, context=context, summary=summary)
        if dry_run:
            return summary
        _write(plan, now=now)
        summary.new_critical = plan.new_critical
    return summary


def _assessment_or_none(patient_id: int, case: Case) -> Schedule | None:
    """The engine's alerts and monitoring items (`schedule`: the assessment without the
    recommendation and advice, which no reminder reads, 13 % of the engine's time), or None
    (logged with what to correct) for a record it cannot evaluate: one patient's impossible
    value must not stop the reminders of the whole batch. The check runs only when the engine
    fails, so a healthy night costs nothing more."""
    try:
        return schedule(case)
    except (ArithmeticError, ValueError):
        try:
            case_evaluate(case)
        except RecordNotEvaluable as error:
            problems = "; ".join(error.problems)
        else:
            problems = "the engine failed on this record"
        logger.exception("reminder scan: patient %s skipped: %s", patient_id, problems)
        return None


def _scan_batch_retrying(batch: _Batch, **kwargs: Any) -> ScanSummary:
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            # Paused around the call, not inside it: once the batch's frame is gone, the first
            # collection after it has its million objects to walk no more (5 % of the night).
            with _collector_paused():
                return _scan_batch(batch, **kwargs)
        except (_StaleBatch, IntegrityError) as error:
            if attempt == BATCH_ATTEMPTS:
                raise
            logger.info("reminder scan: %s changed meanwhile (%r); again", batch, error)
    raise AssertionError("unreachable")


def reminders_scan(
    *,
    as_of: dt.date,
    now: dt.datetime,
    batch_size: int = 500,
    patient_ids: Iterable[int] | None = None,
    details: bool = True,
    progress: Callable[[ScanSummary], None] | None = None,
    dry_run: bool = False,
) -> ScanSummary:
    """Bring every patient's reminders (or only those of `patient_ids`) in line with the engine
    on `as_of`, in this process, a batch after the other (`manage.py scan_reminders`, the
    per-patient rescan; the nightly task sends the batches to the workers instead:
    `scan_run_start` and `scan_run_batch`, the same `_scan_batch_retrying` per batch). A full
    scan is recorded as a `ScanRun` (running → succeeded or failed); a per-patient rescan is
    not, so the admin dashboard's "last scan" is the last full one.

    `details=False` keeps only the counts (memory stays bounded however many reminders
    change); `progress` is called with the running totals after each batch. `dry_run` computes
    the same summary and writes nothing (no reminder, no `ScanRun`) and sends nothing."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    ids = sorted(set(patient_ids)) if patient_ids is not None else None
    batches = list(_batches(ids, batch_size))
    run = (
        _start_run(as_of=as_of, now=now, batches=len(batches))
        if ids is None and not dry_run
        else None
    )
    clinics = _clinics()
    total = ScanSummary(as_of=as_of)
    number = 0
    scanning: _Batch | None = None
    try:
        for scanning in batches:
            batch = _scan_batch_retrying(
                scanning, as_of=as_of, now=now, clinics=clinics, dry_run=dry_run
            )
            scanning = None
            if not batch.patients:
                continue
            total.merge(batch, details=details)
            number += 1
            if progress is not None:
                progress(total)
            _after_batch(number)
    except BaseException as error:
        if run is not None:
            _finish(
                run,
                total,
                status=ScanRun.Status.FAILED,
                error=repr(error)[:2000],
                done=number,
                failed=[] if scanning is None else [_failure(scanning, error)],
            )
        _notify(total.new_critical, now=now)  # what the finished batches raised
        raise
    if run is not None:
        _finish(run, total, status=ScanRun.Status.SUCCEEDED, done=number)
    _notify(total.new_critical, now=now)
    return total


def _clinics() -> dict[int, tuple[int, int]]:
    """Clinic id → (lead days, hold days), read once per run (or per batch task)."""
    return {
        pk: (lead, hold)
        for pk, lead, hold in Clinic.objects.values_list(
            "pk", "reminder_lead_days", "done_hold_days"
        )
    }


def _start_run(*, as_of: dt.date, now: dt.datetime, batches: int) -> ScanRun:
    """Record a full run as running; a run still running since long before is recorded as
    interrupted (its worker, or one of its batches' messages, was lost)."""
    ScanRun.objects.filter(
        status=ScanRun.Status.RUNNING, started_at__lt=now - INTERRUPTED_AFTER
    ).update(status=ScanRun.Status.FAILED, error=INTERRUPTED)
    return ScanRun.objects.create(as_of=as_of, batches=batches)


def _failure(batch: _Batch, error: BaseException) -> dict[str, Any]:
    return {"after_pk": batch.after_pk, "upto_pk": batch.upto_pk, "error": repr(error)[:300]}


# --- the nightly run, one Celery task per batch --------------------------------------------------
#
# There is no result backend (CELERY_TASK_IGNORE_RESULT; the file broker of `make run` has
# none), so no chord: each batch task counts itself on its `ScanRun` row, in the transaction of
# its own writes (row-locked: the batches' tails queue on that one row for a few milliseconds),
# and the batch that brings done + failed up to `batches` finishes the run and sends the
# immediate e-mail once. A batch delivered again after it committed finds itself counted and
# does nothing. A run whose batches never all report stays running and is recorded as
# interrupted by the next run (`INTERRUPTED_AFTER`).


def scan_run_start(
    *, as_of: dt.date, now: dt.datetime, batch_size: int = 500
) -> tuple[ScanRun, list[_Batch]]:
    """Plan a full run: its `ScanRun` (running, with its number of batches) and the batches'
    bounds, for the caller to send one task each. A run of no patient is finished at once."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    batches = _batch_bounds(batch_size)
    run = _start_run(as_of=as_of, now=now, batches=len(batches))
    if not batches:
        _finish(run, ScanSummary(as_of=as_of), status=ScanRun.Status.SUCCEEDED)
    return run, batches


def scan_run_batch(
    run_id: int, batch: _Batch, *, as_of: dt.date, now: dt.datetime
) -> ScanSummary | None:
    """Scan one batch of a run and count it on the run, in one transaction (None when the run
    is over or already counts this batch: nothing is done). Raises what the batch raised after
    its own attempts (`_scan_batch_retrying`): the task retries it, then `scan_run_batch_failed`."""
    if not _counts_batch(run_id, batch):
        return None
    clinics = _clinics()
    with transaction.atomic():
        summary = _scan_batch_retrying(batch, as_of=as_of, now=now, clinics=clinics)
        _count(run_id, batch, now=now, summary=summary)
    return summary


def scan_run_batch_failed(
    run_id: int, batch: _Batch, error: BaseException, *, now: dt.datetime
) -> None:
    """Count a batch that failed for good on its run (with its bounds and error)."""
    with transaction.atomic():
        _count(run_id, batch, now=now, failure=_failure(batch, error))


def _counts_batch(run_id: int, batch: _Batch) -> bool:
    counted = (
        ScanRun.objects.filter(pk=run_id, status=ScanRun.Status.RUNNING)
        .values_list("counted_batches", flat=True)
        .first()
    )
    if counted is None:
        logger.warning("reminder scan run %s is over; %s not scanned", run_id, batch)
        return False
    return batch.after_pk not in counted


def _count(
    run_id: int,
    batch: _Batch,
    *,
    now: dt.datetime,
    summary: ScanSummary | None = None,
    failure: dict[str, Any] | None = None,
) -> None:
    run = ScanRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.status != ScanRun.Status.RUNNING:
        return
    if batch.after_pk in run.counted_batches:
        return
    values: dict[str, Any] = {"counted_batches": [*run.counted_batches, batch.after_pk]}
    done, failed = run.batches_done, run.batches_failed
    new_critical = run.new_critical
    if summary is not None:
        done += 1
        values.update(
            batches_done=done,
            patients=run.patients + summary.patients,
            created=run.created + len(summary.created),
            moved=run.moved + len(summary.moved),
            resolved=run.resolved + len(summary.resolved) + len(summary.inactive_resolved),
            unchanged=run.unchanged + summary.unchanged,
        )
        new_critical = [*new_critical, *summary.new_critical]
    if failure is not None:
        failed += 1
        values.update(batches_failed=failed, failed_batches=[*run.failed_batches, failure])
    values["new_critical"] = new_critical
    if done + failed >= run.batches:
        values.update(
            status=ScanRun.Status.FAILED if failed else ScanRun.Status.SUCCEEDED,
            finished_at=Now(),
            new_critical=[],
            error=(
                f"{failed} of {run.batches} batches failed: "
                + "; ".join(
                    f"patients {f['after_pk']}<pk≤{f['upto_pk'] or 'end'}: {f['error']}"
                    for f in values.get("failed_batches", run.failed_batches)
                )
            )[:2000]
            if failed
            else "",
        )
        _notify(new_critical, now=now)
    ScanRun.objects.filter(pk=run_id).update(**values)


def _notify(reminder_ids: list[int], *, now: dt.datetime) -> None:
    """The immediate e-mail of this scan's new critical reminders: one message per recipient,
    once the scan's transaction (if it runs inside one) has committed."""
    if reminder_ids:
        transaction.on_commit(
            partial(reminders_notify_new_critical, reminder_ids=reminder_ids, now=now),
            robust=True,
        )


def _finish(
    run: ScanRun,
    total: ScanSummary,
    *,
    status: str,
    error: str = "",
    done: int = 0,
    failed: list[dict[str, Any]] | None = None,
) -> None:
    # The database's clock, as for `started_at`: below the task, the scan does not read one.
    ScanRun.objects.filter(pk=run.pk).update(
        status=status,
        finished_at=Now(),
        patients=total.patients,
        created=total.created_count,
        moved=total.moved_count,
        resolved=total.resolved_count + total.inactive_resolved_count,
        unchanged=total.unchanged,
        error=error,
        batches_done=done,
        batches_failed=len(failed or []),
        failed_batches=failed or [],
    )
