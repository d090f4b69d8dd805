"""Writes to patients' records. Every write validates the whole row (`full_clean`) first, so a
form, an import and a script all meet the same rules, and runs in a transaction."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction

from monitoring.tasks import enqueue_patient_rescan
from patients.models import Clinic, Patient, RiskProfile
from therapy.models import Dose

M = TypeVar("M", bound=models.Model)


def _patient_id_of(instance: models.Model) -> int | None:
    """The patient a row belongs to (None for rows of no patient, such as a membership)."""
    if isinstance(instance, Patient):
        return instance.pk
    if isinstance(instance, Dose):
        return instance.course.patient_id
    return getattr(instance, "patient_id", None)


def record_save(*, instance: M, actor: AbstractBaseUser | None) -> M:
    """Validate and save one clinical row; the audit trail records `actor` as its author.
    Once the save commits, the patient's reminders are rescanned (`enqueue_patient_rescan`:
    queued in the background, and a broker that is down never fails the save)."""
    instance.full_clean()
    if actor is not None:
        instance._history_user = actor  # type: ignore[attr-defined]  # read by simple-history
    with transaction.atomic():
        instance.save()
        patient_id = _patient_id_of(instance)
        if patient_id is not None:
            enqueue_patient_rescan(patient_id)
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
    name: str,
    birth_date: dt.date,
    sex: str,
    actor: AbstractBaseUser | None,
) -> Patient:
    patient = record_save(
        instance=Patient(clinic=clinic, mrn=mrn, name=name, birth_date=birth_date, sex=sex),
        actor=actor,
    )
    record_save(instance=RiskProfile(patient=patient), actor=actor)
    return patient
