"""A new patient's history in one save: the previous fractures and therapy courses a clinician
records at the first visit, each with the precision of its dates (`patients.approximate_dates`).

"First visit" is the day the patient was created in the clinic (`Patient.first_visit`): dates
known only to the month or the year are accepted for history that began before it, and the
models refuse them after it. How the engine reads such dates is written in
`therapy.case_records`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from patients.exceptions import IntakeRowError
from patients.models import Fracture, Patient
from patients.services import record_save
from therapy.models import TherapyCourse

R = TypeVar("R", Fracture, TherapyCourse)


@dataclass(frozen=True)
class IntakeSaved:
    fractures: list[Fracture]
    courses: list[TherapyCourse]

    def __len__(self) -> int:
        return len(self.fractures) + len(self.courses)


def patient_history_record(
    *,
    patient: Patient,
    fractures: Sequence[Fracture],
    courses: Sequence[TherapyCourse],
    actor: AbstractBaseUser | None,
) -> IntakeSaved:
    """Save `patient`'s previous fractures and courses (unsaved rows of that patient) as one
    change, all or nothing.

    Every row goes through `record_save`: validated whole (`full_clean`, so a row meets the
    rules a single-record form, an import and a script meet), written to the audit trail with
    `actor` as its author. The rows are saved in one transaction, courses after fractures and
    each in order, so a course that overlaps one saved just before it is refused like one saved
    long ago. A refused row raises `IntakeRowError` naming it, and nothing is kept. The rescan
    that `record_save` queues runs once, after the commit (`enqueue_patient_rescan` queues one
    per patient and transaction)."""
    for row in [*fractures, *courses]:
        if row.pk is not None or row.patient_id != patient.pk:
            raise ValueError("The intake only adds new rows of this patient.")
    with transaction.atomic():
        saved = IntakeSaved(
            fractures=_save_each("fractures", fractures, actor),
            courses=_save_each("courses", courses, actor),
        )
    return saved


def _save_each(kind: str, rows: Sequence[R], actor: AbstractBaseUser | None) -> list[R]:
    saved = []
    for index, row in enumerate(rows):
        try:
            saved.append(record_save(instance=row, actor=actor))
        except (ValidationError, IntegrityError) as error:
            raise IntakeRowError(kind, index, error) from error
    return saved
