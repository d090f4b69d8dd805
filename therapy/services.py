"""The shell around the engine: evaluate a patient from the database, record a decision and
what it does to the therapy courses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q

from patients.models import Patient
from patients.services import record_save
from therapy import catalogue
from therapy.case_records import case_for_patient
from therapy.engine import (
    Assessment,
    AvoidSeverity,
    assessment_from_json,
    assessment_to_json,
    case_to_json,
)
from therapy.engine.case import Case, Drug, StopReason
from therapy.engine.text import AVOID_REASON_WORDS
from therapy.evaluation import case_evaluate, stored_case_evaluate
from therapy.exceptions import CoursesWouldOverlap, RecordNotEvaluable
from therapy.models import (
    DECISIONS_NEEDING_A_REASON,
    DECISIONS_WITHOUT_A_DRUG,
    DecisionKind,
    Dose,
    RecommendationRecord,
    TherapyCourse,
)


@dataclass(frozen=True)
class Evaluation:
    case: Case
    assessment: Assessment


def patient_evaluate(patient: Patient, *, as_of: dt.date) -> Evaluation:
    """The engine's assessment of one patient's record on `as_of` (a fixed number of queries);
    `RecordNotEvaluable` when the record holds values outside the engine's limits."""
    case = case_for_patient(patient.pk, as_of=as_of)
    return Evaluation(case=case, assessment=case_evaluate(case))


def decision_open_courses(patient: Patient, *, as_of: dt.date) -> list[TherapyCourse]:
    """The patient's courses open on `as_of` (started, not yet ended), in "started last" order
    (RULES.md conventions): the last one is the current therapy. Each carries `last_dose`, its
    latest dose's date or None. One query."""
    courses = list(
        TherapyCourse.objects.filter(patient=patient, start__lte=as_of)
        .filter(Q(end__isnull=True) | Q(end__gte=as_of))
        .annotate(last_dose=Max("doses__date"))
    )
    courses.sort(key=lambda c: (c.start, c.end is None, c.end or c.start, c.pk))
    return courses


def _contraindication(assessment: Assessment, drug: str) -> str:
    """Why `drug` is contraindicated for this patient, in words; "" when it is not."""
    reasons = [
        AVOID_REASON_WORDS[entry.reason]  # in sentence case already: "PTH-analogue" stays so
        for entry in assessment.avoid
        if entry.drug.value == drug and entry.severity is AvoidSeverity.CONTRAINDICATED
    ]
    return ", ".join(reasons)


def _capitalized(drug: str) -> str:
    return catalogue.name(drug).capitalize()


def _course_words(course: TherapyCourse) -> str:
    """ "Denosumab since 2024-06-12", "Raloxifene 2025-01-01 to 2027-01-01", "Alendronate
    since ≈ 2016" (dates as precisely as they are known)."""
    if course.end is None:
        return f"{_capitalized(course.drug)} since {course.start_shown}"
    return f"{_capitalized(course.drug)} {course.start_shown} to {course.end_shown}"


def _beside(
    error: ValidationError, fields: dict[str, str], default: str, prefix: str = ""
) -> ValidationError:
    """A model's refusal, re-keyed to the decision's own argument names (`fields` maps the
    model's field names; anything else goes beside `default`), each message after `prefix`."""
    moved: dict[str, list[str]] = {}
    items = error.error_dict.items() if hasattr(error, "error_dict") else [("", error.error_list)]
    for name, errors in items:
        for message in ValidationError(errors).messages:
            moved.setdefault(fields.get(name, default), []).append(f"{prefix}{message}")
    return ValidationError(moved)  # type: ignore[arg-type]


@transaction.atomic
def decision_record(
    *,
    patient: Patient,
    actor: AbstractBaseUser,
    as_of: dt.date,
    kind: DecisionKind,
    chosen_drug: str = "",
    reason: str = "",
    start_date: dt.date | None = None,
    first_dose_given: bool | None = None,
    stop_courses: Collection[int] = (),
    stop_date: dt.date | None = None,
    stop_reason: str = "",
    allow_overlap: bool = False,
) -> RecommendationRecord:
    """Record a clinician's decision on the engine's recommendation, and do what it says, in one
    transaction: the decision (with the case, the assessment, the engine version and the rules
    that fired, computed here from the record as it is now, so what is stored is exactly what
    the decision was taken on), the courses it stops, the course it starts and that course's
    first dose. Any refusal rolls all of it back.

    - `kind` CONTINUE keeps the current course (the open course that started last); a ranked
      option (RANKED_OPTION) or another drug (OTHER_DRUG, with a `reason`) is `chosen_drug`,
      started on `start_date` if one is given (None records the decision only);
      NO_TREATMENT ("no treatment now") and NOT_INDICATED ("no anti-osteoporosis medication
      indicated", an explicit judgement the FLS indicators count) need a `reason`, choose no
      drug and start nothing; they stop courses as `stop_courses` asks. A drug given as another
      drug that is in fact a ranked option is recorded as that option.
    - Starting denosumab, zoledronic acid or romosozumab needs `first_dose_given` answered
      (True records a Dose on the start date).
    - `stop_courses` (ids of the patient's open courses) end on `stop_date` (default: the day
      before `start_date`, or `as_of` without a drug) with `stop_reason`; courses are stopped
      only beside a start, with no treatment now or with no medication indicated.
    - A contraindicated drug is refused, to continue or to start. A start that would leave a
      course of another drug open past the new start raises `CoursesWouldOverlap` (nothing is
      written) unless `allow_overlap`; ending on the start day itself is a clean switch
      (RULES.md, supersession).

    Refusals are `ValidationError`s keyed by these argument names (`kind`, `chosen_drug`,
    `reason`, `start_date`, `first_dose_given`, `stop_courses`, `stop_date`, `stop_reason`);
    `RecordNotEvaluable` when the engine refuses the record. Every row written carries `actor`
    in the audit trail; the patient's rescan is queued once, after the commit.

    Concurrency: the patient's row is locked first (`FOR NO KEY UPDATE`, as the reminder scan
    locks it), so two decisions for one patient — a double click — run one after the other, and
    the second is judged on the record the first left.
    """
    list(
        Patient.objects.select_for_update(no_key=True)
        .filter(pk=patient.pk)
        .values_list("pk")
        .order_by()
    )
    evaluation = patient_evaluate(patient, as_of=as_of)
    assessment = evaluation.assessment
    reason = reason.strip()
    ranks = {option.drug.value: option.rank for option in assessment.options}
    errors: dict[str, str] = {}
    open_courses = decision_open_courses(patient, as_of=as_of)

    drug = ""
    if kind == DecisionKind.CONTINUE:
        if not open_courses:
            errors["kind"] = "No course is open to continue."
        else:
            drug = open_courses[-1].drug
            why = _contraindication(assessment, drug)
            if why:
                errors["kind"] = (
                    f"{_capitalized(drug)} is contraindicated for this patient ({why})."
                )
    elif kind in (DecisionKind.RANKED_OPTION, DecisionKind.OTHER_DRUG):
        drug = chosen_drug
        why = _contraindication(assessment, drug)
        if drug not in {d.value for d in Drug}:
            errors["chosen_drug"] = "Choose the drug."
        elif why:
            errors["chosen_drug"] = f"This drug is contraindicated for this patient ({why})."
        elif kind == DecisionKind.RANKED_OPTION and drug not in ranks:
            errors["chosen_drug"] = (
                f"{_capitalized(drug)} is no longer a ranked option: the record changed since this "
                "page was opened. Choose again."
            )
        if drug in ranks:
            kind = DecisionKind.RANKED_OPTION
    if kind in DECISIONS_NEEDING_A_REASON and not reason:
        errors["reason"] = {
            DecisionKind.NO_TREATMENT: "Say why no treatment is started now.",
            DecisionKind.NOT_INDICATED: "Say why no anti-osteoporosis medication is indicated.",
        }.get(kind, "Say why you choose a drug that is not one of the ranked options.")

    is_drug = kind in (DecisionKind.RANKED_OPTION, DecisionKind.OTHER_DRUG)
    new_start = start_date if is_drug else None
    if start_date is not None and new_start is None:
        errors["start_date"] = "Only a drug chosen here can be started."
    injected = new_start is not None and catalogue.is_injected(drug)
    if injected and first_dose_given is None:
        errors["first_dose_given"] = (
            f"Say whether the first {catalogue.name(drug)} dose was given on the start date."
        )
    elif first_dose_given and not injected:
        errors["first_dose_given"] = (
            "A first dose is recorded here only when a course of denosumab, zoledronic acid "
            "or romosozumab starts."
        )

    if stop_date is None:
        stop_date = as_of if new_start is None else new_start - dt.timedelta(days=1)
    to_stop = [course for course in open_courses if course.pk in set(stop_courses)]
    if stop_courses:
        if len(to_stop) != len(set(stop_courses)):
            errors["stop_courses"] = "Only a course open today can be stopped here."
        elif new_start is None and kind not in DECISIONS_WITHOUT_A_DRUG:
            errors["stop_courses"] = (
                "A course is stopped here only when the new course starts, or with "
                "“No treatment now” or “No anti-osteoporosis medication indicated”."
            )
        if stop_reason not in {r.value for r in StopReason}:
            errors["stop_reason"] = "Say why the course stops."
        ends_sooner = [c for c in to_stop if c.end is not None and c.end < stop_date]
        for course in ends_sooner[:1]:
            errors["stop_date"] = (
                f"{_capitalized(course.drug)} already ends on {course.end:%Y-%m-%d}: "
                "stopping it cannot make it longer."
            )
    if errors:
        raise ValidationError(errors)  # type: ignore[arg-type]

    for course in to_stop:
        course.end, course.stop_reason = stop_date, stop_reason
        try:
            record_save(instance=course, actor=actor)
        except ValidationError as error:
            raise _beside(
                error,
                {"end": "stop_date", "stop_reason": "stop_reason"},
                "stop_date",
                prefix=f"{_capitalized(course.drug)} since {course.start_shown}: ",
            ) from error

    course = dose = None
    if new_start is not None:
        try:
            course = record_save(
                instance=TherapyCourse(patient=patient, drug=drug, start=new_start),
                actor=actor,
            )
        except ValidationError as error:
            raise _beside(
                error, {"start": "start_date", "drug": "chosen_drug"}, "start_date"
            ) from error
        if first_dose_given:
            try:
                dose = record_save(instance=Dose(course=course, date=new_start), actor=actor)
            except ValidationError as error:
                raise _beside(error, {}, "first_dose_given") from error
        overlapping = (
            TherapyCourse.objects.filter(patient=patient)
            .exclude(pk=course.pk)
            .exclude(drug=drug)
            .filter(Q(end__isnull=True) | Q(end__gt=new_start))
        )
        if not allow_overlap and overlapping:
            raise CoursesWouldOverlap([_course_words(other) for other in overlapping])

    record = record_save(
        instance=RecommendationRecord(
            patient=patient,
            decided_by=actor,
            as_of=as_of,
            engine_version=assessment.engine_version,
            case=case_to_json(evaluation.case),
            assessment=assessment_to_json(assessment),
            fired_rules=[rule.value for rule in assessment.fired_rules],
            kind=kind,
            chosen_drug=drug,
            chosen_rank=ranks.get(drug) if kind == DecisionKind.RANKED_OPTION else None,
            reason=reason,
            started_course=course,
            first_dose=dose,
        ),
        actor=actor,
    )
    record.stopped_courses.set(to_stop)
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
