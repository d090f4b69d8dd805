"""Writes to patients' records. Every write validates the whole row (`full_clean`) first, so a
form, an import and a script all meet the same rules, and runs in a transaction."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F

from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder, ReminderStatus
from monitoring.tasks import enqueue_patient_rescan
from patients.models import INACTIVE_CLOSE_REASONS, Clinic, Patient, PatientStatus, RiskProfile
from patients.validators import check_not_before_birth
from patients.versions import check_version
from therapy.models import Dose

M = TypeVar("M", bound=models.Model)


def _patient_id_of(instance: models.Model) -> int | None:
    """The patient a row belongs to (None for rows of no patient, such as a membership)."""
    if isinstance(instance, Patient):
        return instance.pk
    if isinstance(instance, Dose):
        return instance.course.patient_id
    return getattr(instance, "patient_id", None)


def patient_lock(patient_id: int) -> None:
    """Take the patient's write lock until the transaction ends, so that writes whose rules
    count or compare the patient's other rows (overlapping courses, the romosozumab dose limit)
    run one after the other and each validates what the one before left.

    PostgreSQL: `FOR NO KEY UPDATE` on the patient's row (as `decision_record` and the reminder
    scan take it). SQLite ignores `select_for_update`; an UPDATE that changes nothing takes the
    database's write lock instead, which serialises every writer until the commit."""
    rows = Patient.objects.filter(pk=patient_id)
    if connection.vendor == "postgresql":
        list(rows.select_for_update(no_key=True).values_list("pk").order_by())
    else:
        rows.update(updated_at=F("updated_at"))


def _row_lock(instance: models.Model) -> None:
    """Lock the row an edit form saves, so the version check and the save are one step."""
    rows = type(instance)._default_manager.filter(pk=instance.pk)
    list(rows.select_for_update(no_key=True).values_list("pk").order_by())


def _constraint_named(instance: models.Model, name: str) -> models.BaseConstraint | None:
    return next((c for c in instance._meta.constraints if c.name == name), None)


def _violated_constraint(
    instance: models.Model, error: IntegrityError
) -> models.BaseConstraint | None:
    """The model's constraint the database refused the row for (None if it is not one of them).
    PostgreSQL names it; SQLite names the unique constraint's columns."""
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
    if name:
        return _constraint_named(instance, name)
    text = str(error)
    if text.startswith("UNIQUE constraint failed: "):
        columns = {c.strip().rpartition(".")[2] for c in text.partition(": ")[2].split(",")}
        for constraint in instance._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
                fields = {instance._meta.get_field(f).column for f in constraint.fields}
                if fields == columns:
                    return constraint
    return None


def _unique_target(constraint: models.BaseConstraint) -> str | None:
    """The field a unique constraint's refusal is shown beside: the first the person typed."""
    from patients.validators import _OWNER_FIELDS

    fields = [f for f in getattr(constraint, "fields", ()) if f not in _OWNER_FIELDS]
    return fields[0] if fields else None


def _full_clean(instance: models.Model) -> None:
    """`full_clean`, with a unique constraint's refusal beside its field even when Django's
    own constraint check found the clash (a row committed between the model's `clean` and it,
    in a race) and put it above the form."""
    try:
        instance.full_clean()
    except ValidationError as error:
        on_top = error.error_dict.get(NON_FIELD_ERRORS, []) if hasattr(error, "error_dict") else []
        if not on_top:
            raise
        moved = {k: list(v) for k, v in error.error_dict.items() if k != NON_FIELD_ERRORS}
        for item in on_top:
            message = ValidationError(item).messages[0]
            target = next(
                (
                    _unique_target(c)
                    for c in instance._meta.constraints
                    if isinstance(c, models.UniqueConstraint)
                    and _unique_target(c)
                    and c.get_violation_error_message() == message
                ),
                NON_FIELD_ERRORS,
            )
            moved.setdefault(target, []).append(item)
        raise ValidationError(moved) from error  # type: ignore[arg-type]


def integrity_error_as_validation(instance: models.Model, error: IntegrityError) -> ValidationError:
    """A row refused by a database constraint — the same scan, lab value, dose or fracture
    posted twice at once, both past validation — as the refusal its validation would have given,
    beside the field the person typed. Re-raises what is not one of the model's constraints."""
    # Imported here: the validators module imports nothing of this one, but keep it one-way.
    from patients.validators import _OWNER_FIELDS

    constraint = _violated_constraint(instance, error)
    if constraint is None:
        raise error
    message = constraint.get_violation_error_message()
    fields = [f for f in getattr(constraint, "fields", ()) if f not in _OWNER_FIELDS]
    target = (
        fields[0]
        if fields
        else getattr(type(instance), "constraint_fields", {}).get(constraint.name)
    )
    if target:
        return ValidationError({target: message}, code="unique")
    return ValidationError(message, code="constraint")


def record_save(*, instance: M, actor: AbstractBaseUser | None) -> M:
    """Validate and save one clinical row; the audit trail records `actor` as its author.
    Once the save commits, the patient's reminders are rescanned (`enqueue_patient_rescan`:
    queued in the background, and a broker that is down never fails the save).

    Rows whose rules read the patient's other rows (`serialised_per_patient`: courses, doses)
    are validated and saved under the patient's lock (`patient_lock`). A row the database
    refuses by one of the model's constraints — a race past validation — raises the
    `ValidationError` its validation gives, never an `IntegrityError`. A row an edit form
    opened on an older version than the one stored is refused (`patients.versions`)."""
    if actor is not None:
        instance._history_user = actor  # type: ignore[attr-defined]  # read by simple-history
    patient_id = _patient_id_of(instance)
    try:
        with transaction.atomic():
            if patient_id is not None and getattr(instance, "serialised_per_patient", False):
                patient_lock(patient_id)
            if getattr(instance, "_expected_version", ""):
                _row_lock(instance)
                check_version(instance)
            _full_clean(instance)
            instance.save()
            if patient_id is not None:
                enqueue_patient_rescan(patient_id)
    except IntegrityError as error:
        raise integrity_error_as_validation(instance, error) from error
    return instance


def record_delete(*, instance: models.Model, actor: AbstractBaseUser | None) -> None:
    if actor is not None:
        instance._history_user = actor  # type: ignore[attr-defined]
    # A deleted patient takes its reminders with it; any other row changes what is due.
    patient_id = None if isinstance(instance, Patient) else _patient_id_of(instance)
    with transaction.atomic():
        instance.delete()
        if patient_id is not None:
            enqueue_patient_rescan(patient_id)


@transaction.atomic
def patient_create(
    *,
    clinic: Clinic,
    mrn: str,
    given_name: str,
    family_name: str,
    birth_date: dt.date,
    sex: str,
    actor: AbstractBaseUser | None,
) -> Patient:
    patient = record_save(
        instance=Patient(
            clinic=clinic,
            mrn=mrn,
            given_name=given_name,
            family_name=family_name,
            birth_date=birth_date,
            sex=sex,
        ),
        actor=actor,
    )
    record_save(instance=RiskProfile(patient=patient), actor=actor)
    return patient


@transaction.atomic
def patient_set_status(
    *,
    patient: Patient,
    status: str,
    status_date: dt.date | None,
    note: str = "",
    actor: AbstractBaseUser | None,
    now: dt.datetime,
) -> int:
    """Record that the patient died, was transferred or discharged (with the date), or is active
    again (the date cleared). Audited like any demographic change. A patient who is not active
    gets no reminders: their open and snoozed ones are resolved at once with the reason
    ("patient deceased"), and the scan skips them from now on. Returns how many reminders were
    resolved.

    The patient row is locked first, so two people changing the status at once are serialised
    and the second sees the first's change; a scan writing a reminder for the patient at the
    same moment is caught by the rescan this save queues, which skips a patient not active."""
    status = PatientStatus(status)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    if status is PatientStatus.ACTIVE:
        status_date = None
    elif status_date is None:
        word = "date of death" if status is PatientStatus.DECEASED else "date"
        raise ValidationError({"status_date": f"Give the {word}."}, code="required")
    check_not_before_birth(status_date, patient.birth_date, "status_date")
    patient.status = status
    patient.status_date = status_date
    patient.status_note = note.strip()
    record_save(instance=patient, actor=actor)
    if status is PatientStatus.ACTIVE:
        return 0
    return _reminders_resolve(
        patient=patient, reason=INACTIVE_CLOSE_REASONS[status], actor=actor, now=now
    )


def _reminders_resolve(
    *, patient: Patient, reason: str, actor: AbstractBaseUser | None, now: dt.datetime
) -> int:
    """Close every active reminder of the patient as resolved, each with its history row."""
    reminders = list(
        Reminder.objects.select_for_update().filter(
            patient=patient, status__in=ACTIVE_REMINDER_STATUSES
        )
    )
    for reminder in reminders:
        reminder.status = ReminderStatus.RESOLVED
        reminder.snoozed_until = None
        reminder.closed_at = now
        reminder.close_reason = reason
        if actor is not None:
            reminder._history_user = actor  # type: ignore[attr-defined]  # read by simple-history
        reminder.save(
            update_fields=["status", "snoozed_until", "closed_at", "close_reason", "updated_at"]
        )
    return len(reminders)
