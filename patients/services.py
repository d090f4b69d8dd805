"""Writes to patients' records. Every write validates the whole row (`full_clean`) first, so a
form, an import and a script all meet the same rules, and runs in a transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from monitoring.models import DxaScan, LabResult, Reassessment
from monitoring.tasks import enqueue_patient_rescan
from patients.exceptions import CaseImportError, ImportProblem
from patients.models import (
    CardiovascularEvent,
    Clinic,
    Fracture,
    GlucocorticoidExposure,
    Immunosuppressant,
    Patient,
    RiskProfile,
)
from therapy.engine import case as c
from therapy.models import Dose, TherapyCourse

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


def _problems(path: str, error: ValidationError) -> list[ImportProblem]:
    if hasattr(error, "error_dict"):
        return [
            ImportProblem(f"{path}.{field}" if field != "__all__" else path, message)
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return [ImportProblem(path, message) for message in error.messages]


class _Importer:
    """Writes one parsed case; collects every problem with the JSON path it comes from."""

    def __init__(self, actor: AbstractBaseUser | None) -> None:
        self.actor = actor
        self.problems: list[ImportProblem] = []

    def save(self, path: str, instance: M) -> M | None:
        try:
            with transaction.atomic():
                return record_save(instance=instance, actor=self.actor)
        except ValidationError as error:
            self.problems.extend(_problems(path, error))
        except IntegrityError as error:
            self.problems.append(ImportProblem(path, f"conflicts with another row ({error})"))
        return None


@transaction.atomic
def patient_import_case(
    *,
    clinic: Clinic,
    case: c.Case,
    mrn: str | None = None,
    actor: AbstractBaseUser | None = None,
) -> Patient:
    """Create one patient with the whole history of `case`. All or nothing: on any problem
    nothing is written and `CaseImportError` lists every problem with its JSON path."""
    importer = _Importer(actor)
    p = case.patient
    mrn = mrn or p.mrn
    head: list[ImportProblem] = []
    if not mrn:
        head.append(ImportProblem("patient.mrn", "required to import (or pass --mrn)"))
    if p.sex is None:
        head.append(ImportProblem("patient.sex", "required to import"))
    if p.birth_date is None:
        head.append(ImportProblem("patient.birth_date", "required to import"))
    if mrn and Patient.objects.filter(clinic=clinic, mrn=mrn).exists():
        head.append(ImportProblem("patient.mrn", f"{mrn} already exists in clinic {clinic.slug}"))
    if head or not (mrn and p.sex and p.birth_date):
        raise CaseImportError(head)

    patient = importer.save(
        "patient",
        Patient(
            clinic=clinic,
            mrn=mrn,
            name=p.name or f"Patient {mrn}",
            birth_date=p.birth_date,
            sex=p.sex,
        ),
    )
    if patient is None:
        raise CaseImportError(importer.problems)

    rf = case.risk_factors
    importer.save(
        "risk_factors",
        RiskProfile(
            patient=patient,
            has_oral_bisphosphonate_intolerance=rf.oral_bisphosphonate_intolerance,
            has_oral_bisphosphonate_contraindication=rf.oral_bisphosphonate_contraindication,
            creatinine_clearance_ml_min=rf.creatinine_clearance_ml_min,
            is_organ_transplant_recipient=rf.organ_transplant,
            has_cancer_treatment_bone_loss=rf.cancer_treatment_bone_loss,
            had_skeletal_radiation=rf.skeletal_radiation,
            has_bone_metastases=rf.bone_metastases,
            has_pagets_disease=rf.pagets_disease,
            has_unexplained_elevated_alp=rf.unexplained_elevated_alp,
            has_open_epiphyses=rf.open_epiphyses,
            has_hypercalcemia=rf.hypercalcemia,
            has_hypocalcemia=rf.hypocalcemia,
            has_high_fall_risk=rf.high_fall_risk,
            frax_major_osteoporotic_pct=rf.frax_major_osteoporotic_pct,
            frax_hip_pct=rf.frax_hip_pct,
            is_current_smoker=rf.current_smoker,
            alcohol_drinks_per_day=rf.alcohol_drinks_per_day,
        ),
    )
    for i, event in enumerate(rf.cardiovascular_events):
        importer.save(
            f"risk_factors.cardiovascular_events[{i}]",
            CardiovascularEvent(patient=patient, kind=event.kind, date=event.date),
        )
    for i, agent in enumerate(rf.immunosuppressants):
        importer.save(
            f"risk_factors.immunosuppressants[{i}]",
            Immunosuppressant(patient=patient, name=agent),
        )
    for i, gc in enumerate(rf.glucocorticoids):
        importer.save(
            f"risk_factors.glucocorticoids[{i}]",
            GlucocorticoidExposure(
                patient=patient,
                prednisone_mg_per_day=gc.prednisone_mg_per_day,
                start=gc.start,
                end=gc.end,
            ),
        )
    for i, fracture in enumerate(case.fractures):
        importer.save(
            f"fractures[{i}]",
            Fracture(
                patient=patient,
                date=fracture.date,
                site=fracture.site,
                is_fragility=fracture.fragility,
            ),
        )
    for i, therapy in enumerate(case.therapies):
        course = importer.save(
            f"therapies[{i}]",
            TherapyCourse(
                patient=patient,
                drug=therapy.drug,
                start=therapy.start,
                end=therapy.end,
                stop_reason=therapy.stop_reason or "",
            ),
        )
        if course is not None:
            for j, dose_date in enumerate(therapy.doses):
                importer.save(f"therapies[{i}].doses[{j}]", Dose(course=course, date=dose_date))
    for i, scan in enumerate(case.dxa):
        fields: dict[str, Any] = {}
        for site, reading in scan.sites:
            fields[f"{site}_bmd_g_cm2"] = reading.bmd_g_cm2
            fields[f"{site}_t_score"] = reading.t_score
            fields[f"{site}_lsc_pct"] = reading.lsc_pct
        importer.save(
            f"dxa[{i}]",
            DxaScan(patient=patient, date=scan.date, scanner=scan.scanner or "", **fields),
        )
    for i, lab in enumerate(case.labs):
        importer.save(
            f"labs[{i}]",
            LabResult(
                patient=patient,
                date=lab.date,
                test=lab.test,
                value=lab.value,
                unit=lab.unit or "",
            ),
        )
    for i, when in enumerate(case.reassessments):
        importer.save(f"reassessments[{i}]", Reassessment(patient=patient, date=when))

    if importer.problems:
        raise CaseImportError(importer.problems)
    return patient
