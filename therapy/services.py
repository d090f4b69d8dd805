"""The shell around the engine: evaluate a patient from the database, record a decision."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from patients.models import Patient
from patients.services import record_save
from therapy.case_records import case_for_patient
from therapy.engine import (
    Assessment,
    AvoidSeverity,
    assessment_to_json,
    case_to_json,
    evaluate,
    parse_case,
)
from therapy.engine.case import Case
from therapy.models import RecommendationRecord, TherapyCourse


@dataclass(frozen=True)
class Evaluation:
    case: Case
    assessment: Assessment


def patient_evaluate(patient: Patient, *, as_of: dt.date) -> Evaluation:
    """The engine's assessment of one patient's record on `as_of` (a fixed number of queries)."""
    case = case_for_patient(patient.pk, as_of=as_of)
    return Evaluation(case=case, assessment=evaluate(case))


@transaction.atomic
def decision_record(
    *,
    patient: Patient,
    actor: AbstractBaseUser,
    as_of: dt.date,
    chosen_drug: str,
    reason: str = "",
    start_course: bool = False,
    start_date: dt.date | None = None,
) -> RecommendationRecord:
    """Store what the engine said and what the clinician chose; optionally start the course.

    The assessment is computed again here, from the record as it is now, so what is stored is
    exactly what the decision was taken on. A contraindicated drug cannot be chosen; a drug that
    is not a ranked option needs a reason.
    """
    evaluation = patient_evaluate(patient, as_of=as_of)
    assessment = evaluation.assessment
    reason = reason.strip()
    ranks = {option.drug.value: option.rank for option in assessment.options}
    contraindicated = [
        entry
        for entry in assessment.avoid
        if entry.drug.value == chosen_drug and entry.severity is AvoidSeverity.CONTRAINDICATED
    ]
    if contraindicated:
        reasons = ", ".join(
            entry.reason.value.replace("_", " ").lower() for entry in contraindicated
        )
        raise ValidationError(
            {"chosen_drug": f"This drug is contraindicated for this patient ({reasons})."}
        )
    if chosen_drug not in ranks and not reason:
        raise ValidationError(
            {"reason": "Say why you choose a drug that is not one of the ranked options."}
        )
    course = None
    if start_course:
        course = record_save(
            instance=TherapyCourse(patient=patient, drug=chosen_drug, start=start_date or as_of),
            actor=actor,
        )
    record = RecommendationRecord(
        patient=patient,
        decided_by=actor,
        as_of=as_of,
        engine_version=assessment.engine_version,
        case=case_to_json(evaluation.case),
        assessment=assessment_to_json(assessment),
        fired_rules=[rule.value for rule in assessment.fired_rules],
        chosen_drug=chosen_drug,
        chosen_rank=ranks.get(chosen_drug),
        reason=reason,
        started_course=course,
    )
    record.full_clean()
    record.save()
    return record


def decision_replay(record: RecommendationRecord) -> Assessment:
    """The assessment the engine gives today for the case stored with the decision."""
    return evaluate(parse_case(record.case))
