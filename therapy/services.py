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
    assessment_from_json,
    assessment_to_json,
    case_to_json,
)
from therapy.engine.case import Case
from therapy.evaluation import case_evaluate, stored_case_evaluate
from therapy.exceptions import RecordNotEvaluable
from therapy.models import RecommendationRecord, TherapyCourse


@dataclass(frozen=True)
class Evaluation:
    case: Case
    assessment: Assessment


def patient_evaluate(patient: Patient, *, as_of: dt.date) -> Evaluation:
    """The engine's assessment of one patient's record on `as_of` (a fixed number of queries);
    `RecordNotEvaluable` when the record holds values outside the engine's limits."""
    case = case_for_patient(patient.pk, as_of=as_of)
    return Evaluation(case=case, assessment=case_evaluate(case))


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
    is not a ranked option needs a reason. A record the engine cannot evaluate
    (`RecordNotEvaluable`) takes no decision.
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


#: The parts of an assessment a clinician reads, as the decision page names them.
ANSWER_PARTS = {
    "refractory": "refractory status",
    "very_high_risk": "very high risk",
    "populations": "populations",
    "pathway": "pathway",
    "options": "ranked options",
    "recommendation": "recommendation",
    "avoid": "drugs to avoid",
    "alerts": "alerts",
    "monitoring": "monitoring",
    "supplementation": "supplementation",
    "lifestyle": "lifestyle advice",
}


@dataclass(frozen=True)
class DecisionReview:
    """A stored decision as the clinician saw it, beside what today's engine says of the same
    stored case."""

    #: The assessment stored with the decision; None if the stored JSON cannot be read.
    stored: Assessment | None
    #: Today's engine on the stored case; None if the stored case cannot be read any more.
    replayed: Assessment | None
    #: Why the stored assessment cannot be read, in words.
    unreadable: str = ""
    #: The parts (ANSWER_PARTS' words) where today's engine answers differently.
    changed: tuple[str, ...] = ()
    #: Why today's engine cannot replay the stored case (values outside today's limits).
    problems: tuple[str, ...] = ()


def decision_review(record: RecommendationRecord) -> DecisionReview:
    """The stored assessment, exactly as it was shown (whatever engine version wrote it), and
    the current engine's answer for the stored case, with the parts that now differ. Never
    raises on what is stored: a decision page must open for every decision ever recorded."""
    try:
        stored = assessment_from_json(record.assessment)
    except (KeyError, TypeError, ValueError) as error:
        stored, unreadable = None, f"the stored assessment cannot be read ({error!r})"
    else:
        unreadable = ""
    try:
        replayed = stored_case_evaluate(record.case)
    except RecordNotEvaluable as error:
        return DecisionReview(stored, None, unreadable, problems=tuple(error.problems))
    if stored is None:
        return DecisionReview(None, replayed, unreadable)
    now = assessment_to_json(replayed)
    changed = tuple(
        words for key, words in ANSWER_PARTS.items() if now.get(key) != record.assessment.get(key)
    )
    return DecisionReview(stored, replayed, "", changed)
