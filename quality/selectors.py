"""Reads for the fracture-liaison indicators: a clinic's index fractures of a period, as the
plain facts `quality.kpis` computes on, in a fixed number of queries whatever the clinic's size.

The cohort is every `FlsEpisode` of the clinic whose index fracture is dated within the period
(both ends included). Each of the other reads (DXA scans, decisions, courses, follow-ups, MRNs)
selects its rows by a subquery on that cohort rather than by a list of ids, and reads tuples,
not model instances: a clinic of 100,000 patients has some 20,000 index fractures a year.
Patient-level events (scans, decisions, courses) are read from the period's first day on and
kept, per episode, from that episode's fracture date on: an event before the index fracture is
not a response to it (docs/quality/kpis.md, "Events before the fracture").
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from monitoring.models import DxaScan
from patients.models import Patient, PatientStatus
from quality.kpis import EpisodeFacts, FollowUpFacts, Period
from quality.models import FlsEpisode, FollowUpContact, FollowUpKind
from therapy.models import DecisionKind, RecommendationRecord, TherapyCourse

#: The decisions that chose an anti-osteoporosis drug: a recommendation of medication
#: (docs/quality/kpis.md, "Medication recommended").
DRUG_CHOSEN_KINDS = (DecisionKind.CONTINUE, DecisionKind.RANKED_OPTION, DecisionKind.OTHER_DRUG)

#: The columns of one episode's row, in `_facts`'s order.
_EPISODE_COLUMNS = (
    "pk",
    "patient_id",
    "fracture__date",
    "fracture__site",
    "identified_on",
    "identified_by",
    "assessed_on",
    "falls_assessment",
    "falls_assessed_on",
    "exercise_started_on",
    "dxa_not_needed_reason",
    "closed_on",
    "outcome",
    "patient__birth_date",
    "patient__sex",
    "patient__status",
    "patient__status_date",
)


def cohort(*, clinic_id: int, period: Period) -> QuerySet[FlsEpisode]:
    """The clinic's episodes whose index fracture is dated within the period (not evaluated:
    the other reads use it as a subquery)."""
    return FlsEpisode.objects.filter(
        patient__clinic_id=clinic_id,
        fracture__date__gte=period.start,
        fracture__date__lte=period.end,
    )


def _dates_by_patient(rows: Iterable[tuple[int, dt.date]]) -> dict[int, list[dt.date]]:
    """Each patient's dates, ascending and without repeats (the reads ask the database for
    no order: sorting here, per patient, is cheaper than sorting every row there)."""
    found: dict[int, set[dt.date]] = defaultdict(set)
    for patient_id, day in rows:
        found[patient_id].add(day)
    return {patient_id: sorted(days) for patient_id, days in found.items()}


def _from(days: Sequence[dt.date], first: dt.date) -> tuple[dt.date, ...]:
    """The dates of an ascending list on or after `first`."""
    return tuple(days[bisect_left(days, first) :])


def episode_facts(*, clinic_id: int, period: Period) -> list[EpisodeFacts]:
    """Every index fracture of the clinic dated within the period, with what the indicators
    read about it, ordered by fracture date; five queries, whatever the number of episodes."""
    episodes = cohort(clinic_id=clinic_id, period=period)
    patients = episodes.values("patient_id")
    rows = list(episodes.order_by("fracture__date", "pk").values_list(*_EPISODE_COLUMNS))
    if not rows:
        return []
    scans = _dates_by_patient(
        DxaScan.objects.filter(patient_id__in=patients, date__gte=period.start)
        .order_by()
        .values_list("patient_id", "date")
    )
    chosen: list[tuple[int, dt.date]] = []
    not_indicated: list[tuple[int, dt.date]] = []
    for patient_id, day, kind in (
        RecommendationRecord.objects.filter(
            patient_id__in=patients,
            as_of__gte=period.start,
            kind__in=[*DRUG_CHOSEN_KINDS, DecisionKind.NOT_INDICATED],
        )
        .order_by()
        .values_list("patient_id", "as_of", "kind")
    ):
        (not_indicated if kind == DecisionKind.NOT_INDICATED else chosen).append((patient_id, day))
    chosen += (
        TherapyCourse.objects.filter(patient_id__in=patients, start__gte=period.start)
        .order_by()
        .values_list("patient_id", "start")
    )
    medication = _dates_by_patient(chosen)
    not_needed = _dates_by_patient(not_indicated)
    follow_ups: dict[tuple[int, str], FollowUpFacts] = {
        (episode_id, kind): FollowUpFacts(
            date=day, is_on_treatment=is_on_treatment, adherence=adherence
        )
        for episode_id, kind, day, is_on_treatment, adherence in FollowUpContact.objects.filter(
            episode__in=episodes.values("pk")
        )
        .order_by()
        .values_list("episode_id", "kind", "date", "is_on_treatment", "adherence")
    }
    return [
        _facts(row, scans=scans, medication=medication, not_indicated=not_needed, fu=follow_ups)
        for row in rows
    ]


def _facts(
    row: tuple,
    *,
    scans: dict[int, list[dt.date]],
    medication: dict[int, list[dt.date]],
    not_indicated: dict[int, list[dt.date]],
    fu: dict[tuple[int, str], FollowUpFacts],
) -> EpisodeFacts:
    (
        episode_id,
        patient_id,
        fracture_date,
        site,
        identified_on,
        identified_by,
        assessed_on,
        falls_assessment,
        falls_assessed_on,
        exercise_started_on,
        dxa_not_needed_reason,
        closed_on,
        outcome,
        birth_date,
        sex,
        status,
        status_date,
    ) = row
    return EpisodeFacts(
        episode_id=episode_id,
        patient_id=patient_id,
        fracture_date=fracture_date,
        fracture_site=site,
        identified_on=identified_on,
        identified_by=identified_by,
        assessed_on=assessed_on,
        falls_assessment=falls_assessment,
        falls_assessed_on=falls_assessed_on,
        exercise_started_on=exercise_started_on,
        is_dxa_not_needed=bool(dxa_not_needed_reason),
        closed_on=closed_on,
        outcome=outcome,
        death_date=status_date if status == PatientStatus.DECEASED else None,
        birth_year=birth_date.year,
        sex=sex,
        dxa_dates=_from(scans.get(patient_id, ()), fracture_date),
        medication_dates=_from(medication.get(patient_id, ()), fracture_date),
        not_indicated_dates=_from(not_indicated.get(patient_id, ()), fracture_date),
        follow_up_16w=fu.get((episode_id, FollowUpKind.WEEK_16)),
        follow_up_52w=fu.get((episode_id, FollowUpKind.WEEK_52)),
    )


def cohort_mrns(*, clinic_id: int, period: Period) -> dict[int, str]:
    """patient id → MRN of the patients of the period's index fractures (one query), for the
    audit export's pseudonyms."""
    patients = cohort(clinic_id=clinic_id, period=period).values("patient_id")
    return dict(Patient.objects.filter(pk__in=patients).values_list("pk", "mrn"))


@dataclass(frozen=True, slots=True)
class EpisodePatient:
    """A row of a KPI's drill-down: whose index fracture this is."""

    episode_id: int
    patient_id: int
    name: str
    mrn: str
    fracture_date: dt.date
    fracture_site: str


def episode_patients(*, clinic_id: int, episode_ids: Iterable[int]) -> list[EpisodePatient]:
    """The patients of these episodes of the clinic (an id of another clinic's episode is
    left out), by family name then fracture date; one query."""
    ids = sorted(set(episode_ids))
    if not ids:
        return []
    rows = (
        FlsEpisode.objects.filter(patient__clinic_id=clinic_id, pk__in=ids)
        .order_by("patient__family_name", "patient__given_name", "fracture__date", "pk")
        .values_list(
            "pk", "patient_id", "patient__name", "patient__mrn", "fracture__date", "fracture__site"
        )
    )
    return [EpisodePatient(*row) for row in rows]
