"""`quality.selectors`: a clinic's index fractures of a period as the KPIs' facts, in a fixed
number of queries."""

from __future__ import annotations

import datetime as dt

import pytest

from quality.kpis import FollowUpFacts, Period
from quality.selectors import episode_facts, episode_patients
from tests.quality.conftest import (
    course,
    decision,
    died,
    dxa_scan,
    fls_episode,
    fls_patient,
    follow_up,
)

pytestmark = pytest.mark.django_db

YEAR_2025 = Period(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
FRACTURE = dt.date(2025, 3, 10)


def only(facts):
    assert len(facts) == 1
    return facts[0]


def test_an_episode_reads_as_its_facts(clinic):
    patient = fls_patient(clinic, birth_date=dt.date(1951, 6, 30), sex="male")
    episode = fls_episode(
        patient,
        fracture_date=FRACTURE,
        site="vertebral",
        identified_on=dt.date(2025, 3, 20),
        identified_by="radiological",
        assessed_on=dt.date(2025, 4, 1),
        falls_assessment="referred",
        falls_assessed_on=dt.date(2025, 4, 2),
        exercise_started_on=dt.date(2025, 5, 1),
        dxa_not_needed_reason="Scanned last month elsewhere",
        closed_on=dt.date(2025, 9, 1),
        outcome="completed",
    )

    facts = only(episode_facts(clinic_id=clinic.pk, period=YEAR_2025))

    assert (facts.episode_id, facts.patient_id) == (episode.pk, patient.pk)
    assert (facts.fracture_date, facts.fracture_site) == (FRACTURE, "vertebral")
    assert (facts.identified_on, facts.identified_by) == (dt.date(2025, 3, 20), "radiological")
    assert facts.assessed_on == dt.date(2025, 4, 1)
    assert (facts.falls_assessment, facts.falls_assessed_on) == ("referred", dt.date(2025, 4, 2))
    assert facts.exercise_started_on == dt.date(2025, 5, 1)
    assert facts.is_dxa_not_needed is True
    assert (facts.closed_on, facts.outcome) == (dt.date(2025, 9, 1), "completed")
    assert (facts.birth_year, facts.sex, facts.death_date) == (1951, "male", None)
    assert facts.dxa_dates == facts.medication_dates == facts.not_indicated_dates == ()
    assert facts.follow_up_16w is None and facts.follow_up_52w is None


def test_an_open_episode_with_nothing_recorded_has_empty_facts(clinic):
    fls_episode(fls_patient(clinic), fracture_date=FRACTURE)

    facts = only(episode_facts(clinic_id=clinic.pk, period=YEAR_2025))

    assert facts.identified_on == FRACTURE
    assert (facts.assessed_on, facts.falls_assessment, facts.falls_assessed_on) == (None, "", None)
    assert (facts.exercise_started_on, facts.closed_on, facts.outcome) == (None, None, "")
    assert facts.is_dxa_not_needed is False


def test_a_deceased_patient_has_the_date_of_death_and_a_transferred_one_none(clinic):
    dead, moved = fls_patient(clinic), fls_patient(clinic)
    fls_episode(dead, fracture_date=FRACTURE)
    fls_episode(moved, fracture_date=FRACTURE)
    died(dead, dt.date(2025, 5, 5))
    moved.status, moved.status_date = "transferred", dt.date(2025, 6, 1)
    moved.save()

    facts = {f.patient_id: f for f in episode_facts(clinic_id=clinic.pk, period=YEAR_2025)}

    assert facts[dead.pk].death_date == dt.date(2025, 5, 5)
    assert facts[moved.pk].death_date is None


def test_only_scans_on_or_after_the_fracture_count_in_date_order(clinic):
    patient = fls_patient(clinic)
    fls_episode(patient, fracture_date=FRACTURE)
    for day in (dt.date(2025, 6, 1), dt.date(2024, 12, 1), FRACTURE, dt.date(2025, 3, 9)):
        dxa_scan(patient, day)

    facts = only(episode_facts(clinic_id=clinic.pk, period=YEAR_2025))

    assert facts.dxa_dates == (FRACTURE, dt.date(2025, 6, 1))


def test_decisions_that_chose_a_drug_and_started_courses_are_medication_dates(clinic):
    patient = fls_patient(clinic)
    fls_episode(patient, fracture_date=FRACTURE)
    decision(patient, dt.date(2025, 3, 9), "continue")  # the day before: not a response
    decision(patient, dt.date(2025, 4, 1), "continue")
    decision(patient, dt.date(2025, 5, 1), "ranked_option")
    decision(patient, dt.date(2025, 6, 1), "other_drug")
    decision(patient, dt.date(2025, 7, 1), "no_treatment")  # neither kind
    decision(patient, dt.date(2025, 8, 1), "not_indicated")
    decision(patient, dt.date(2025, 2, 1), "not_indicated")  # before the fracture
    course(patient, dt.date(2025, 1, 5), drug="alendronate")  # before the fracture
    course(patient, dt.date(2025, 5, 1), drug="denosumab")  # the same day as a decision
    course(patient, dt.date(2025, 9, 1), drug="zoledronic_acid")

    facts = only(episode_facts(clinic_id=clinic.pk, period=YEAR_2025))

    assert facts.medication_dates == (
        dt.date(2025, 4, 1),
        dt.date(2025, 5, 1),
        dt.date(2025, 6, 1),
        dt.date(2025, 9, 1),
    )
    assert facts.not_indicated_dates == (dt.date(2025, 8, 1),)


def test_each_episode_reads_the_follow_ups_of_its_own(clinic):
    patient = fls_patient(clinic)
    first = fls_episode(patient, fracture_date=FRACTURE)
    second = fls_episode(patient, fracture_date=dt.date(2025, 10, 1), site="hip")
    follow_up(first, kind="16w", date=dt.date(2025, 6, 20))
    follow_up(
        first, kind="52w", date=dt.date(2026, 3, 1), is_on_treatment=True, adherence="stopped"
    )
    follow_up(second, kind="16w", date=dt.date(2026, 1, 10), is_on_treatment=False)

    facts = {f.episode_id: f for f in episode_facts(clinic_id=clinic.pk, period=YEAR_2025)}

    assert facts[first.pk].follow_up_16w == FollowUpFacts(
        date=dt.date(2025, 6, 20), is_on_treatment=True, adherence="as_prescribed"
    )
    assert facts[first.pk].follow_up_52w == FollowUpFacts(
        date=dt.date(2026, 3, 1), is_on_treatment=True, adherence="stopped"
    )
    assert facts[second.pk].follow_up_16w == FollowUpFacts(
        date=dt.date(2026, 1, 10), is_on_treatment=False, adherence=""
    )
    assert facts[second.pk].follow_up_52w is None


def test_two_episodes_of_a_patient_each_keep_the_events_after_their_own_fracture(clinic):
    patient = fls_patient(clinic)
    fls_episode(patient, fracture_date=FRACTURE)
    fls_episode(patient, fracture_date=dt.date(2025, 10, 1), site="hip")
    dxa_scan(patient, dt.date(2025, 4, 1))
    dxa_scan(patient, dt.date(2025, 11, 1))
    decision(patient, dt.date(2025, 4, 2), "not_indicated")

    first, second = episode_facts(clinic_id=clinic.pk, period=YEAR_2025)

    assert first.dxa_dates == (dt.date(2025, 4, 1), dt.date(2025, 11, 1))
    assert second.dxa_dates == (dt.date(2025, 11, 1),)
    assert first.not_indicated_dates == (dt.date(2025, 4, 2),)
    assert second.not_indicated_dates == ()


def test_the_period_holds_fractures_dated_from_its_first_to_its_last_day(clinic):
    patient = fls_patient(clinic)
    for day in (
        dt.date(2024, 12, 31),
        dt.date(2025, 1, 1),
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 1),
    ):
        fls_episode(patient, fracture_date=day, identified_on=dt.date(2026, 1, 2))
    patient.fractures.create(date=dt.date(2025, 6, 1), site="hip")  # no episode: not an index

    facts = episode_facts(clinic_id=clinic.pk, period=YEAR_2025)

    assert [f.fracture_date for f in facts] == [dt.date(2025, 1, 1), dt.date(2025, 12, 31)]


def test_another_clinics_episodes_and_records_are_never_included(clinic, other_clinic):
    ours = fls_patient(clinic, mrn="SAME-1")
    theirs = fls_patient(other_clinic, mrn="SAME-1")
    fls_episode(ours, fracture_date=FRACTURE)
    theirs_episode = fls_episode(theirs, fracture_date=FRACTURE)
    dxa_scan(theirs, dt.date(2025, 4, 1))
    decision(theirs, dt.date(2025, 4, 1), "continue")
    follow_up(theirs_episode, date=dt.date(2025, 6, 1))

    facts = only(episode_facts(clinic_id=clinic.pk, period=YEAR_2025))
    other = only(episode_facts(clinic_id=other_clinic.pk, period=YEAR_2025))

    assert facts.patient_id == ours.pk
    assert facts.dxa_dates == facts.medication_dates == ()
    assert facts.follow_up_16w is None
    assert other.episode_id == theirs_episode.pk
    assert other.dxa_dates == (dt.date(2025, 4, 1),)


def test_a_clinic_without_episodes_reads_nothing_more_than_its_cohort(
    clinic, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert episode_facts(clinic_id=clinic.pk, period=YEAR_2025) == []


def _world(clinic, episodes: int) -> None:
    """`episodes` index fractures with a full history each (scans, decisions, a course, both
    follow-ups), some patients dead."""
    for n in range(episodes):
        patient = fls_patient(clinic)
        day = dt.date(2025, 1 + n % 12, 1 + n % 28)
        episode = fls_episode(patient, fracture_date=day, assessed_on=day)
        dxa_scan(patient, day + dt.timedelta(days=10))
        dxa_scan(patient, day - dt.timedelta(days=400))
        decision(patient, day + dt.timedelta(days=20), "ranked_option")
        decision(patient, day + dt.timedelta(days=30), "not_indicated")
        course(patient, day + dt.timedelta(days=21))
        follow_up(episode, kind="16w", date=day + dt.timedelta(days=110))
        follow_up(episode, kind="52w", date=day + dt.timedelta(days=360))
        if n % 5 == 0:
            died(patient, day + dt.timedelta(days=200))


@pytest.mark.parametrize("episodes", [2, 20])
def test_the_facts_take_five_queries_whatever_the_number_of_episodes(
    clinic, episodes, django_assert_num_queries
):
    _world(clinic, episodes)

    with django_assert_num_queries(5):
        facts = episode_facts(clinic_id=clinic.pk, period=YEAR_2025)

    assert len(facts) == episodes
    assert all(len(f.dxa_dates) == 1 and len(f.medication_dates) == 2 for f in facts)
    assert all(f.follow_up_16w and f.follow_up_52w for f in facts)
    assert sum(f.death_date is not None for f in facts) == len(range(0, episodes, 5))


def test_the_drill_down_names_the_patients_of_the_clinics_episodes_in_one_query(
    clinic, other_clinic, django_assert_num_queries
):
    smith = fls_patient(clinic, given_name="Ann", family_name="Smith", name="", mrn="M-2")
    brown = fls_patient(clinic, given_name="Bea", family_name="Brown", name="", mrn="M-1")
    stranger = fls_patient(other_clinic)
    a = fls_episode(smith, fracture_date=FRACTURE, site="hip")
    b = fls_episode(brown, fracture_date=dt.date(2025, 5, 1))
    c = fls_episode(stranger, fracture_date=FRACTURE)

    with django_assert_num_queries(1):
        rows = episode_patients(clinic_id=clinic.pk, episode_ids=[a.pk, b.pk, c.pk])

    assert [(r.episode_id, r.patient_id, r.name, r.mrn) for r in rows] == [
        (b.pk, brown.pk, "Bea Brown", "M-1"),
        (a.pk, smith.pk, "Ann Smith", "M-2"),
    ]
    assert (rows[1].fracture_date, rows[1].fracture_site) == (FRACTURE, "hip")
