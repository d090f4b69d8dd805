"""Builders of a small fracture-liaison world: an index fracture with its FLS episode, the
patient's DXA scans, decisions, courses, follow-up contacts and death. Plain functions (import
them from `tests.quality.conftest`), each writing the rows the way the app stores them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from monitoring.models import DxaScan
from patients.models import Clinic, Patient, PatientStatus
from quality.models import FlsEpisode, FollowUpContact
from tests import factories
from therapy.models import RecommendationRecord, TherapyCourse

#: The drug each kind of decision records when none is given (a decision with no drug has "").
_DEFAULT_DRUG = {
    "continue": "denosumab",
    "ranked_option": "zoledronic_acid",
    "other_drug": "raloxifene",
}


def fls_patient(clinic: Clinic, **fields: Any) -> Patient:
    """A patient of the clinic (factory defaults: born 1948-04-02, female)."""
    return factories.PatientFactory(clinic=clinic, **fields)


def fls_episode(
    patient: Patient,
    *,
    fracture_date: dt.date,
    site: str = "wrist",
    identified_on: dt.date | None = None,
    identified_by: str = "clinical",
    **fields: Any,
) -> FlsEpisode:
    """An index fracture of the patient and its FLS episode (identified on the fracture day
    unless told otherwise); `fields` are the episode's (assessed_on, falls_assessment and
    falls_assessed_on, exercise_started_on, dxa_not_needed_reason, closed_on and outcome)."""
    fracture = patient.fractures.create(date=fracture_date, site=site)
    return FlsEpisode.objects.create(
        patient=patient,
        fracture=fracture,
        identified_on=identified_on or fracture_date,
        identified_by=identified_by,
        **fields,
    )


def follow_up(
    episode: FlsEpisode,
    *,
    kind: str = "16w",
    date: dt.date,
    is_on_treatment: bool = True,
    adherence: str | None = None,
) -> FollowUpContact:
    """A 16w or 52w follow-up contact; a treated patient takes it as prescribed unless told."""
    if adherence is None:
        adherence = "as_prescribed" if is_on_treatment else ""
    return FollowUpContact.objects.create(
        patient_id=episode.patient_id,
        episode=episode,
        kind=kind,
        date=date,
        is_on_treatment=is_on_treatment,
        adherence=adherence,
    )


def dxa_scan(patient: Patient, date: dt.date) -> DxaScan:
    return DxaScan.objects.create(
        patient=patient, date=date, lumbar_spine_bmd_g_cm2=0.81, lumbar_spine_t_score=-2.6
    )


def decision(
    patient: Patient, as_of: dt.date, kind: str, *, drug: str | None = None
) -> RecommendationRecord:
    """A recorded decision: "continue", "ranked_option", "other_drug", "no_treatment" or
    "not_indicated" (a reason is written where one is needed)."""
    if drug is None:
        drug = _DEFAULT_DRUG.get(kind, "")
    return RecommendationRecord.objects.create(
        patient=patient,
        decided_by=factories.UserFactory(username="fls-decider"),
        as_of=as_of,
        engine_version="test",
        case={},
        assessment={},
        kind=kind,
        chosen_drug=drug,
        chosen_rank=1 if kind == "ranked_option" else None,
        reason="" if kind in ("continue", "ranked_option") else "Discussed in clinic",
    )


def course(patient: Patient, start: dt.date, *, drug: str = "alendronate") -> TherapyCourse:
    return TherapyCourse.objects.create(patient=patient, drug=drug, start=start)


def died(patient: Patient, on: dt.date) -> Patient:
    patient.status = PatientStatus.DECEASED
    patient.status_date = on
    patient.save(update_fields=["status", "status_date"])
    return patient
