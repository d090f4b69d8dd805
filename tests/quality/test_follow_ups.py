"""The FLS follow-up schedule (`quality.follow_ups`): which 16- and 52-week calls the open
episodes of one patient ask for on a day, and the one query that reads the episodes."""

from __future__ import annotations

import datetime as dt

import pytest

from patients.models import Fracture
from quality.follow_ups import (
    FOLLOW_UP_16W,
    FOLLOW_UP_52W,
    FollowUpDue,
    OpenEpisode,
    follow_ups_due,
    open_episodes,
)
from quality.models import FlsEpisode, FollowUpContact
from tests import factories

FRACTURE = dt.date(2026, 3, 2)
DUE_16W = FRACTURE + dt.timedelta(days=112)  # 2026-06-22
DUE_52W = FRACTURE + dt.timedelta(days=364)  # 2027-03-01


def day(n: int) -> dt.date:
    """Day n after the fracture (the fracture is day 0)."""
    return FRACTURE + dt.timedelta(days=n)


def episode(fracture=FRACTURE, *, has_16w=False, has_52w=False, site="wrist", patient_id=1):
    return OpenEpisode(patient_id, fracture, site, has_16w, has_52w)


def due_on(as_of: dt.date, *episodes: OpenEpisode, lead_days: int = 30) -> dict[str, dt.date]:
    return {
        kind: item.due
        for kind, item in follow_ups_due(episodes, as_of=as_of, lead_days=lead_days).items()
    }


# --- the schedule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "lead_days", "expected"),
    [
        pytest.param(day(81), 30, {}, id="16w-due-minus-lead-minus-1"),
        pytest.param(day(82), 30, {FOLLOW_UP_16W: DUE_16W}, id="16w-due-minus-lead"),
        pytest.param(day(111), 0, {}, id="16w-lead-0-the-day-before"),
        pytest.param(day(112), 0, {FOLLOW_UP_16W: DUE_16W}, id="16w-lead-0-on-the-day"),
        pytest.param(day(200), 30, {FOLLOW_UP_16W: DUE_16W}, id="16w-overdue-still-asked"),
        pytest.param(day(333), 30, {FOLLOW_UP_16W: DUE_16W}, id="52w-due-minus-lead-minus-1"),
        pytest.param(
            day(334), 30, {FOLLOW_UP_16W: DUE_16W, FOLLOW_UP_52W: DUE_52W}, id="52w-due-minus-lead"
        ),
        pytest.param(
            day(363), 30, {FOLLOW_UP_16W: DUE_16W, FOLLOW_UP_52W: DUE_52W}, id="16w-last-day-363"
        ),
        pytest.param(day(364), 30, {FOLLOW_UP_52W: DUE_52W}, id="16w-gone-on-day-364"),
        pytest.param(day(800), 30, {FOLLOW_UP_52W: DUE_52W}, id="52w-overdue-still-asked"),
        pytest.param(day(0), 400, {FOLLOW_UP_16W: DUE_16W, FOLLOW_UP_52W: DUE_52W}, id="long-lead"),
    ],
)
def test_each_call_is_asked_for_from_due_minus_lead_and_the_16_week_one_only_until_day_364(
    as_of, lead_days, expected
):
    assert due_on(as_of, episode(), lead_days=lead_days) == expected


def test_a_recorded_contact_stops_its_own_call_and_not_the_other():
    assert due_on(day(340), episode(has_16w=True)) == {FOLLOW_UP_52W: DUE_52W}
    assert due_on(day(340), episode(has_52w=True)) == {FOLLOW_UP_16W: DUE_16W}
    assert due_on(day(340), episode(has_16w=True, has_52w=True)) == {}


def test_two_episodes_of_one_patient_give_one_call_per_kind_at_the_earlier_date():
    later = episode(FRACTURE + dt.timedelta(days=40))
    earlier = episode(FRACTURE)

    assert due_on(day(340), later, earlier) == {FOLLOW_UP_16W: DUE_16W, FOLLOW_UP_52W: DUE_52W}
    assert due_on(day(340), earlier, later) == due_on(day(340), later, earlier)


def test_a_16_week_call_recorded_for_the_first_episode_leaves_the_second_ones():
    second = FRACTURE + dt.timedelta(days=40)

    wanted = due_on(day(200), episode(has_16w=True), episode(second))

    assert wanted == {FOLLOW_UP_16W: second + dt.timedelta(days=112)}


def test_the_16_week_call_of_a_later_episode_is_asked_for_after_an_earlier_ones_day_364():
    second = FRACTURE + dt.timedelta(days=300)

    wanted = due_on(day(385), episode(), episode(second))

    assert wanted == {FOLLOW_UP_16W: second + dt.timedelta(days=112), FOLLOW_UP_52W: DUE_52W}


def test_a_wanted_call_names_the_index_fracture_it_is_for():
    wanted = follow_ups_due([episode(site="hip")], as_of=day(100), lead_days=30)

    assert wanted == {FOLLOW_UP_16W: FollowUpDue(FOLLOW_UP_16W, DUE_16W, FRACTURE, "hip")}


def test_no_episode_asks_for_nothing():
    assert follow_ups_due([], as_of=day(400), lead_days=30) == {}


# --- the reader ----------------------------------------------------------------------------------


def _episode(patient, fracture_date, site="wrist", **fields) -> FlsEpisode:
    fracture = Fracture.objects.create(patient=patient, date=fracture_date, site=site)
    return FlsEpisode.objects.create(
        patient=patient,
        fracture=fracture,
        identified_on=fracture_date,
        identified_by="clinical",
        **fields,
    )


def _contact(episode: FlsEpisode, kind: str, on: dt.date) -> FollowUpContact:
    return FollowUpContact.objects.create(
        patient=episode.patient, episode=episode, kind=kind, date=on, is_on_treatment=False
    )


@pytest.mark.django_db
def test_the_reader_reads_the_open_episodes_then_their_contacts_in_two_queries(
    clinic, django_assert_num_queries
):
    """One query for the open episodes, one for their contacts: the same whatever the number
    of patients and episodes (and only the first when there is no open episode, below)."""
    ann, bea, cy = (factories.PatientFactory(clinic=clinic) for _ in range(3))
    first = _episode(ann, FRACTURE, site="hip")
    _contact(first, "16w", day(110))
    second = _episode(ann, day(30), site="vertebral")
    _contact(second, "52w", day(365))
    _episode(bea, FRACTURE, closed_on=day(50), outcome="declined")
    _episode(cy, day(5))

    with django_assert_num_queries(2):
        read = open_episodes([ann.pk, bea.pk])

    assert set(read) == {ann.pk}
    assert sorted(read[ann.pk], key=lambda e: e.fracture_date) == [
        OpenEpisode(ann.pk, FRACTURE, "hip", True, False),
        OpenEpisode(ann.pk, day(30), "vertebral", False, True),
    ]


@pytest.mark.django_db
def test_without_an_open_episode_the_reader_asks_one_query(clinic, django_assert_num_queries):
    """A scan batch's patients nearly all have none: their contacts are not asked for."""
    ann, bea = (factories.PatientFactory(clinic=clinic) for _ in range(2))
    _episode(bea, FRACTURE, closed_on=day(50), outcome="declined")

    with django_assert_num_queries(1):
        assert open_episodes([ann.pk, bea.pk]) == {}


@pytest.mark.django_db
def test_the_reader_leaves_out_a_patient_between_those_asked_for(clinic):
    """A batch's ids are read as a range: a patient inside it who was not asked for (not
    evaluated, or created meanwhile) gets nothing."""
    ann, bea, cy = (factories.PatientFactory(clinic=clinic) for _ in range(3))
    for patient in (ann, bea, cy):
        _episode(patient, FRACTURE)

    read = open_episodes([cy.pk, ann.pk])

    assert set(read) == {ann.pk, cy.pk}


@pytest.mark.django_db
def test_the_reader_asks_nothing_for_no_patient(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert open_episodes([]) == {}
