"""The fracture-liaison KPIs (quality/kpis.py): pure functions of `EpisodeFacts`, no database.

Days are counted from the fracture (day 0); the windows end on day 84, 90, 112 and 364
included (docs/quality/kpis.md).
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import quality.kpis
from quality.kpis import (
    KPI_BY_KEY,
    KPIS,
    ONE_LEVEL_50,
    SPINE,
    STANDARD,
    EpisodeFacts,
    FollowUpFacts,
    KpiContext,
    KpiValue,
    Level,
    Period,
    Thresholds,
    alive_at,
    completeness,
    days_after_fracture,
    kpi_values,
    run_chart,
    window_closed,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "quality" / "kpis.md"

FRACTURE = dt.date(2025, 1, 1)
YEAR_2025 = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
#: Every window of a 2025 fracture has closed.
LONG_AFTER = dt.date(2026, 6, 1)


def on(day: int, fracture: dt.date = FRACTURE) -> dt.date:
    return fracture + dt.timedelta(days=day)


def episode(episode_id: int = 1, **overrides: object) -> EpisodeFacts:
    fields: dict[str, object] = {
        "episode_id": episode_id,
        "patient_id": episode_id,
        "fracture_date": FRACTURE,
        "fracture_site": "wrist",
        "identified_on": FRACTURE,
        "identified_by": "clinical",
        "assessed_on": None,
        "falls_assessment": "",
        "falls_assessed_on": None,
        "exercise_started_on": None,
        "is_dxa_not_needed": False,
        "closed_on": None,
        "outcome": "",
        "death_date": None,
        "birth_year": 1950,
        "sex": "F",
    }
    fields.update(overrides)
    return EpisodeFacts(**fields)  # type: ignore[arg-type]


def context(
    as_of: dt.date = LONG_AFTER, period: Period = YEAR_2025, caseload: int | None = None
) -> KpiContext:
    return KpiContext(period=period, as_of=as_of, expected_yearly_caseload=caseload)


def value(key: str, episodes: list[EpisodeFacts], ctx: KpiContext | None = None):
    return KPI_BY_KEY[key].compute(episodes, ctx or context())


def on_treatment(day: int, adherence: str = "as_prescribed") -> FollowUpFacts:
    return FollowUpFacts(date=on(day), is_on_treatment=True, adherence=adherence)


# What puts an episode in each KPI's numerator on a given day (medication chosen on day 10
# where the denominator needs it).
EVENT_ON_DAY = {
    "iof-3": lambda day: {"assessed_on": on(day)},
    "flsdb-4": lambda day: {"assessed_on": on(day)},
    "iof-4": lambda day: {"dxa_dates": (on(day),)},
    "flsdb-5": lambda day: {"dxa_dates": (on(day),)},
    "iof-7": lambda day: {"follow_up_16w": on_treatment(day)},
    "flsdb-9": lambda day: {"follow_up_16w": on_treatment(day)},
    "iof-8": lambda day: {"follow_up_16w": on_treatment(day), "medication_dates": (on(10),)},
    "flsdb-10": lambda day: {"follow_up_16w": on_treatment(day), "medication_dates": (on(10),)},
    "iof-9": lambda day: {"exercise_started_on": on(day)},
    "flsdb-8": lambda day: {"exercise_started_on": on(day)},
    "iof-10": lambda day: {"follow_up_52w": on_treatment(day), "medication_dates": (on(10),)},
    "flsdb-11": lambda day: {"follow_up_52w": on_treatment(day), "medication_dates": (on(10),)},
    "iof-5": lambda day: {"falls_assessment": "done", "falls_assessed_on": on(day)},
    "iof-6": lambda day: {"medication_dates": (on(day),)},
}
WINDOW = {
    "iof-3": 84,
    "iof-4": 84,
    "flsdb-4": 90,
    "flsdb-5": 90,
    "iof-7": 112,
    "flsdb-9": 112,
    "iof-8": 112,
    "flsdb-10": 112,
    "iof-9": 112,
    "flsdb-8": 112,
    "iof-10": 364,
    "flsdb-11": 364,
}


# --- Helpers -------------------------------------------------------------------------------------


def test_the_fracture_day_is_day_0_and_the_next_day_day_1() -> None:
    facts = episode()
    assert days_after_fracture(facts, FRACTURE) == 0
    assert days_after_fracture(facts, on(85)) == 85


@pytest.mark.parametrize(
    ("death_day", "days", "expected"),
    [(None, 84, True), (84, 84, False), (85, 84, True), (364, 364, False), (365, 364, True)],
)
def test_alive_at_a_day_means_no_death_or_a_death_after_it(
    death_day: int | None, days: int, expected: bool
) -> None:
    facts = episode(death_date=None if death_day is None else on(death_day))
    assert alive_at(facts, days) is expected


@pytest.mark.parametrize(
    ("as_of_day", "days", "expected"),
    [(84, 84, False), (85, 84, True), (364, 364, False), (365, 364, True)],
)
def test_a_window_closes_only_once_the_report_day_is_after_its_last_day(
    as_of_day: int, days: int, expected: bool
) -> None:
    assert window_closed(episode(), days, on(as_of_day)) is expected


# --- Numerator windows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "day", "is_counted"),
    [(key, day, day <= window) for key, window in WINDOW.items() for day in (window, window + 1)],
    ids=lambda v: str(v),
)
def test_an_event_on_the_windows_last_day_counts_and_the_day_after_does_not(
    key: str, day: int, is_counted: bool
) -> None:
    result = value(key, [episode(**EVENT_ON_DAY[key](day))])
    assert result.denominator == {1}
    assert (1 in result.numerator) is is_counted


@pytest.mark.parametrize(
    ("key", "overrides"),
    [
        ("iof-3", {"assessed_on": on(-1)}),
        ("iof-4", {"dxa_dates": (on(-1),)}),
        ("iof-6", {"medication_dates": (on(-1),)}),
        ("iof-7", {"follow_up_16w": on_treatment(-1)}),
        ("iof-9", {"exercise_started_on": on(-1)}),
        ("iof-5", {"falls_assessment": "done", "falls_assessed_on": on(-1)}),
    ],
)
def test_an_event_dated_before_the_fracture_is_not_counted(key: str, overrides: dict) -> None:
    result = value(key, [episode(**overrides)])
    assert result.denominator == {1}
    assert result.numerator == frozenset()


@pytest.mark.parametrize("key", ["iof-5", "iof-6"])
def test_falls_assessment_and_recommendation_count_at_any_date_up_to_the_report(key: str) -> None:
    result = value(key, [episode(**EVENT_ON_DAY[key](300))])
    assert result.numerator == {1}


def test_a_falls_assessment_done_without_a_date_counts() -> None:
    assert value("iof-5", [episode(falls_assessment="done")]).numerator == {1}


def test_an_event_dated_after_the_report_day_is_not_counted() -> None:
    result = value("iof-3", [episode(assessed_on=on(60))], context(as_of=on(50)))
    assert result.numerator == frozenset()
    assert result.pending == {1}


# --- Deaths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "death_day", "is_in_denominator"),
    [
        (key, day, day > window)
        for key, window in [("iof-3", 84), ("flsdb-4", 90), ("iof-7", 112), ("iof-9", 112)]
        for day in (window, window + 1)
    ]
    + [("iof-5", 84, False), ("iof-5", 85, True), ("iof-6", 84, False), ("iof-6", 85, True)],
    ids=lambda v: str(v),
)
def test_a_death_on_the_windows_last_day_leaves_the_episode_out_and_the_day_after_keeps_it(
    key: str, death_day: int, is_in_denominator: bool
) -> None:
    result = value(key, [episode(death_date=on(death_day))])
    assert (1 in result.denominator) is is_in_denominator


@pytest.mark.parametrize(("key", "window"), [("iof-10", 364), ("flsdb-11", 364)])
def test_a_death_on_day_364_leaves_the_52_week_indicators_and_on_day_365_does_not(
    key: str, window: int
) -> None:
    overrides = {"medication_dates": (on(10),)}
    assert value(key, [episode(death_date=on(window), **overrides)]).denominator == frozenset()
    assert value(key, [episode(death_date=on(window + 1), **overrides)]).denominator == {1}


def test_a_patient_who_died_within_the_window_is_out_even_after_the_event() -> None:
    result = value("iof-3", [episode(assessed_on=on(10), death_date=on(84))])
    assert result.numerator == frozenset()
    assert result.denominator == frozenset()


# --- Pending -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of_day", "overrides", "numerator", "denominator", "pending"),
    [
        (84, {}, set(), set(), {1}),
        (85, {}, set(), {1}, set()),
        (84, {"assessed_on": on(10)}, {1}, {1}, set()),
        (30, {"assessed_on": on(10)}, {1}, {1}, set()),
    ],
    ids=["open on day 84", "closed on day 85", "already met", "met early"],
)
def test_an_open_window_leaves_the_episode_pending_unless_already_met(
    as_of_day: int, overrides: dict, numerator: set, denominator: set, pending: set
) -> None:
    result = value("iof-3", [episode(**overrides)], context(as_of=on(as_of_day)))
    assert (result.numerator, result.denominator, result.pending) == (
        numerator,
        denominator,
        pending,
    )


def test_falls_assessment_is_pending_until_day_84_then_a_failure() -> None:
    assert value("iof-5", [episode()], context(as_of=on(84))).pending == {1}
    assert value("iof-5", [episode()], context(as_of=on(85))).denominator == {1}


def test_a_fracture_dated_after_the_report_day_is_pending() -> None:
    result = value("iof-3", [episode(fracture_date=dt.date(2025, 6, 1))], context(on(10)))
    assert result.pending == {1}
    assert result.percent is None


# --- Exclusions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["iof-4", "flsdb-5"])
def test_dxa_not_needed_leaves_the_dxa_denominator_even_with_a_scan(key: str) -> None:
    facts = episode(is_dxa_not_needed=True, dxa_dates=(on(10),))
    assert value(key, [facts]).denominator == frozenset()


@pytest.mark.parametrize("key", ["iof-5", "flsdb-6"])
def test_falls_assessment_not_needed_leaves_the_falls_denominator(key: str) -> None:
    assert value(key, [episode(falls_assessment="not_needed")]).denominator == frozenset()


@pytest.mark.parametrize("key", ["iof-5", "flsdb-6"])
def test_a_referral_counts_as_falls_assessment(key: str) -> None:
    assert value(key, [episode(falls_assessment="referred")]).numerator == {1}


@pytest.mark.parametrize(
    ("site", "is_in_denominator"),
    [("hip", False), ("vertebral", True), ("wrist", True), ("humerus", True), ("pelvis", True)],
)
@pytest.mark.parametrize("key", ["iof-9", "flsdb-8"])
def test_strength_and_balance_counts_non_hip_fractures_only(
    key: str, site: str, is_in_denominator: bool
) -> None:
    result = value(key, [episode(fracture_site=site)])
    assert (1 in result.denominator) is is_in_denominator


# --- Medication recommended ----------------------------------------------------------------------


def test_a_decision_that_chose_a_drug_after_the_fracture_is_a_recommendation() -> None:
    assert value("iof-6", [episode(medication_dates=(on(30),))]).numerator == {1}


def test_no_medication_indicated_is_not_a_recommendation() -> None:
    result = value("flsdb-7", [episode(not_indicated_dates=(on(30),))])
    assert result.numerator == frozenset()
    assert result.denominator == {1}


@pytest.mark.parametrize(
    ("key", "overrides"),
    [
        ("iof-8", {"follow_up_16w": on_treatment(100)}),
        ("flsdb-10", {"follow_up_16w": on_treatment(100), "not_indicated_dates": (on(10),)}),
        ("iof-10", {"follow_up_52w": on_treatment(300)}),
        ("flsdb-11", {"follow_up_52w": on_treatment(300), "medication_dates": (on(-5),)}),
    ],
)
def test_on_treatment_without_a_recommendation_is_in_no_treatment_denominator(
    key: str, overrides: dict
) -> None:
    result = value(key, [episode(**overrides)])
    assert result.denominator == frozenset()
    assert result.numerator == frozenset()


@pytest.mark.parametrize(
    ("key", "recommended_day", "is_in_denominator"),
    [
        ("iof-8", 112, True),
        ("iof-8", 113, False),
        ("flsdb-10", 113, False),
        ("iof-10", 364, True),
        ("iof-10", 365, False),
        ("flsdb-11", 365, False),
    ],
)
def test_the_treatment_denominators_need_a_recommendation_by_the_windows_last_day(
    key: str, recommended_day: int, is_in_denominator: bool
) -> None:
    result = value(key, [episode(medication_dates=(on(recommended_day),))])
    assert (1 in result.denominator) is is_in_denominator


def test_a_recommended_patient_not_yet_followed_up_in_an_open_window_is_pending() -> None:
    facts = episode(medication_dates=(on(10),))
    assert value("iof-8", [facts], context(as_of=on(100))).pending == {1}


@pytest.mark.parametrize(
    ("key", "adherence", "is_counted"),
    [
        ("iof-10", "stopped", True),
        ("flsdb-11", "stopped", False),
        ("flsdb-11", "missed_doses", True),
        ("flsdb-11", "as_prescribed", True),
    ],
)
def test_stopped_fails_adherence_but_not_on_medication_when_on_treatment_is_answered_yes(
    key: str, adherence: str, is_counted: bool
) -> None:
    facts = episode(medication_dates=(on(10),), follow_up_52w=on_treatment(300, adherence))
    result = value(key, [facts])
    assert result.denominator == {1}
    assert (1 in result.numerator) is is_counted


def test_a_follow_up_that_found_the_patient_off_treatment_is_not_counted() -> None:
    contact = FollowUpFacts(date=on(100), is_on_treatment=False, adherence="")
    facts = episode(medication_dates=(on(10),), follow_up_16w=contact)
    assert value("iof-8", [facts]).numerator == frozenset()
    assert value("iof-7", [facts]).numerator == {1}


# --- Identification ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["iof-1", "flsdb-2"])
def test_identification_has_no_value_when_the_caseload_is_not_set(key: str) -> None:
    result = value(key, [episode()], context(caseload=None))
    assert result.percent is None
    assert KPI_BY_KEY[key].level(result) is None


def test_identification_over_a_year_expects_the_whole_caseload() -> None:
    result = value("flsdb-2", [episode()], context(caseload=100))
    assert result.denominator_count == 100
    assert result.percent == 1.0


def test_identification_over_a_31_day_month_prorates_the_caseload() -> None:
    january = Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    result = value("flsdb-2", [episode()], context(period=january, caseload=100))
    assert result.denominator_count == round(100 * 31 / 365) == 8


def test_non_spine_identification_counts_non_vertebral_fractures_only() -> None:
    episodes = [episode(1, fracture_site="vertebral"), episode(2), episode(3, fracture_site="hip")]
    assert value("iof-1", episodes, context(caseload=365)).numerator == {2, 3}


def test_identification_may_exceed_100_percent() -> None:
    episodes = [episode(n) for n in range(1, 4)]
    assert value("flsdb-2", episodes, context(caseload=1)).percent == 300.0


@pytest.mark.parametrize("key", ["iof-2", "flsdb-3"])
def test_spine_share_counts_clinical_and_radiological_vertebral_fractures(key: str) -> None:
    episodes = [
        episode(1, fracture_site="vertebral", identified_by="clinical"),
        episode(2, fracture_site="vertebral", identified_by="radiological"),
        episode(3),
        episode(4, fracture_site="hip"),
    ]
    result = value(key, episodes)
    assert (result.numerator, result.denominator) == ({1, 2}, {1, 2, 3, 4})


def test_a_fracture_dated_outside_the_period_is_in_no_indicator() -> None:
    outside = episode(assessed_on=on(10), fracture_date=dt.date(2024, 12, 31))
    for kpi, result in kpi_values([outside], context(caseload=100)):
        assert result.numerator_count == 0, kpi.key


# --- Levels --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("thresholds", "percent", "level"),
    [
        (STANDARD, 49.99, Level.RED),
        (STANDARD, 50.0, Level.AMBER),
        (STANDARD, 80.0, Level.AMBER),
        (STANDARD, 80.01, Level.GREEN),
        (ONE_LEVEL_50, 49.99, Level.RED),
        (ONE_LEVEL_50, 50.0, Level.GREEN),
        (SPINE, 9.99, Level.RED),
        (SPINE, 10.0, Level.AMBER),
        (SPINE, 20.0, Level.AMBER),
        (SPINE, 20.01, Level.GREEN),
    ],
)
def test_levels_change_just_past_the_published_limits(
    thresholds: Thresholds, percent: float, level: Level
) -> None:
    assert thresholds.level(percent) is level


@pytest.mark.parametrize(
    ("key", "met", "of", "level"),
    [
        ("iof-3", 1, 2, Level.AMBER),
        ("iof-3", 4, 5, Level.AMBER),
        ("iof-3", 5, 5, Level.GREEN),
        ("iof-6", 1, 2, Level.GREEN),
        ("flsdb-7", 1, 2, Level.GREEN),
        ("iof-2", 1, 10, Level.AMBER),
        ("flsdb-3", 2, 10, Level.AMBER),
    ],
)
def test_each_kpi_reads_its_own_bands_at_exactly_50_80_10_and_20_percent(
    key: str, met: int, of: int, level: Level
) -> None:
    overrides = {"assessed_on": on(10), "medication_dates": (on(10),), "fracture_site": "vertebral"}
    episodes = [episode(n, **(overrides if n <= met else {})) for n in range(1, of + 1)]
    result = value(key, episodes)
    assert result.numerator_count == met
    assert KPI_BY_KEY[key].level(result) is level


# --- Completeness --------------------------------------------------------------------------------

#: An episode with the four items expected from the start recorded.
STARTED = {
    "assessed_on": on(10),
    "dxa_dates": (on(20),),
    "falls_assessment": "done",
    "medication_dates": (on(30),),
}
ALL_RECORDED = STARTED | {
    "follow_up_16w": on_treatment(100),
    "exercise_started_on": on(50),
    "follow_up_52w": on_treatment(350),
}


def items_by_key(episodes: list[EpisodeFacts], ctx: KpiContext) -> dict:
    return {item.key: item for item in completeness(episodes, ctx)}


@pytest.mark.parametrize(
    ("item", "as_of_day", "overrides", "is_expected"),
    [
        ("fls_assessment", 0, {}, True),
        ("medication_decision", 0, {}, True),
        ("follow_up_16w", 112, {}, False),
        ("follow_up_16w", 113, {}, True),
        ("follow_up_16w", 200, {"death_date": on(112)}, False),
        ("follow_up_16w", 200, {"death_date": on(113)}, True),
        ("exercise", 113, {}, True),
        ("exercise", 112, {}, False),
        ("exercise", 200, {"fracture_site": "hip"}, False),
        ("follow_up_52w", 364, {}, False),
        ("follow_up_52w", 365, {}, True),
        ("follow_up_52w", 400, {"death_date": on(364)}, False),
    ],
)
def test_an_item_is_expected_only_once_it_can_be_known(
    item: str, as_of_day: int, overrides: dict, is_expected: bool
) -> None:
    found = items_by_key([episode(**overrides)], context(as_of=on(as_of_day)))[item]
    assert found.expected == int(is_expected)
    assert found.missing == ({1} if is_expected else frozenset())


@pytest.mark.parametrize(
    ("item", "overrides"),
    [
        ("dxa", {"is_dxa_not_needed": True}),
        ("falls", {"falls_assessment": "not_needed"}),
        ("falls", {"falls_assessment": "referred"}),
        ("medication_decision", {"not_indicated_dates": (on(5),)}),
        ("follow_up_16w", {"follow_up_16w": FollowUpFacts(on(200), False, "")}),
    ],
)
def test_a_not_needed_answer_or_a_late_contact_records_the_item(item: str, overrides: dict) -> None:
    found = items_by_key([episode(**overrides)], context())[item]
    assert (found.recorded, found.expected, found.missing) == (1, 1, frozenset())


def test_a_scan_before_the_fracture_does_not_record_the_dxa_item() -> None:
    found = items_by_key([episode(dxa_dates=(on(-30),))], context())["dxa"]
    assert found.missing == {1}


def test_completeness_names_the_episodes_missing_an_item() -> None:
    episodes = [episode(1, assessed_on=on(3)), episode(2), episode(3)]
    found = items_by_key(episodes, context())["fls_assessment"]
    assert (found.recorded, found.expected, found.missing) == (1, 3, {2, 3})


@pytest.mark.parametrize(
    ("as_of_day", "overrides", "is_complete"),
    [
        (30, STARTED, True),
        (113, STARTED, False),
        (113, STARTED | {"follow_up_16w": on_treatment(100), "exercise_started_on": on(5)}, True),
        (400, ALL_RECORDED, True),
        (400, STARTED | {"fracture_site": "hip"}, False),
    ],
)
def test_data_complete_means_every_item_expected_so_far_is_recorded(
    as_of_day: int, overrides: dict, is_complete: bool
) -> None:
    result = value("iof-11", [episode(**overrides)], context(as_of=on(as_of_day)))
    assert result.denominator == {1}
    assert (result.numerator == {1}) is is_complete


@pytest.mark.parametrize(
    ("recorded", "level"),
    [
        ({"assessed_on": on(10), "dxa_dates": (on(20),), "falls_assessment": "done"}, Level.GREEN),
        ({"assessed_on": on(10), "dxa_dates": (on(20),)}, Level.RED),
    ],
    ids=["4 items over 20 % missing", "5 items over 20 % missing"],
)
def test_data_completeness_is_green_with_fewer_than_five_items_over_20_percent_missing(
    recorded: dict, level: Level
) -> None:
    result = value("flsdb-1", [episode(**recorded)])
    assert result.denominator_count == 7
    assert result.unit == "fields"
    assert KPI_BY_KEY["flsdb-1"].level(result) is level


@pytest.mark.parametrize("good_items", range(8))
def test_the_bands_shown_for_data_completeness_agree_with_its_item_count_rule(
    good_items: int,
) -> None:
    kpi = KPI_BY_KEY["flsdb-1"]
    result = KpiValue("flsdb-1", expected=7, numerator_count_override=good_items, unit="fields")
    assert kpi.level(result) is kpi.thresholds.level(result.percent or 0.0)
    assert (kpi.level(result) is Level.GREEN) is (7 - good_items < 5)


def test_an_item_exactly_20_percent_missing_is_not_over_the_limit() -> None:
    episodes = [episode(n, **ALL_RECORDED) for n in range(1, 5)] + [
        episode(5, **(ALL_RECORDED | {"assessed_on": None}))
    ]
    assert value("flsdb-1", episodes).numerator_count == 7
    episodes[3] = episode(4, **(ALL_RECORDED | {"assessed_on": None}))
    assert value("flsdb-1", episodes).numerator_count == 6


def test_data_completeness_has_no_value_without_episodes() -> None:
    result = value("flsdb-1", [])
    assert result.percent is None
    assert KPI_BY_KEY["flsdb-1"].level(result) is None


# --- Run chart -----------------------------------------------------------------------------------


def test_the_run_chart_has_a_point_per_month_over_that_months_fractures_only() -> None:
    quarter = Period(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    march = dt.date(2025, 3, 10)
    episodes = [
        episode(1, assessed_on=on(5)),
        episode(2),
        episode(3, fracture_date=march, assessed_on=on(1, march)),
    ]
    points = run_chart(episodes, context(period=quarter))
    assert [p.month for p in points] == [
        dt.date(2025, 1, 1),
        dt.date(2025, 2, 1),
        dt.date(2025, 3, 1),
    ]
    assert [p.percents["iof-3"] for p in points] == [50.0, None, 100.0]
    assert set(points[0].percents) == set(KPI_BY_KEY)


def test_the_run_chart_prorates_the_caseload_to_each_months_days_in_the_period() -> None:
    period = Period(dt.date(2025, 1, 15), dt.date(2025, 2, 14))
    episodes = [episode(n, fracture_date=dt.date(2025, 1, 20)) for n in range(1, 5)]
    points = run_chart(episodes, context(period=period, caseload=365))
    # January 15–31 is 17 days (17 expected), February 1–14 is 14 days.
    assert [p.percents["flsdb-2"] for p in points] == [100.0 * 4 / 17, 0.0]


def test_the_run_chart_of_a_period_within_one_month_has_one_point() -> None:
    period = Period(dt.date(2025, 2, 3), dt.date(2025, 2, 9))
    assert [p.month for p in run_chart([], context(period=period))] == [dt.date(2025, 2, 1)]


# --- The set of KPIs -----------------------------------------------------------------------------

IOF_KEYS = [f"iof-{n}" for n in range(1, 12)]
FLSDB_KEYS = [f"flsdb-{n}" for n in range(1, 12)]


def test_kpis_are_iof_1_to_11_then_flsdb_1_to_11() -> None:
    assert [kpi.key for kpi in KPIS] == IOF_KEYS + FLSDB_KEYS
    assert list(KPI_BY_KEY) == IOF_KEYS + FLSDB_KEYS
    assert [kpi.number for kpi in KPIS] == list(range(1, 12)) * 2


def test_kpi_values_follow_the_kpis_order() -> None:
    values = kpi_values([episode()], context())
    assert [(kpi.key, result.key) for kpi, result in values] == [(k, k) for k in KPI_BY_KEY]


def test_only_data_completeness_has_no_drill_down() -> None:
    assert [kpi.key for kpi in KPIS if not kpi.has_drill_down] == ["flsdb-1"]


def test_every_kpi_has_a_title_and_a_note_of_one_or_two_sentences_for_the_page() -> None:
    for kpi in KPIS:
        assert kpi.title, kpi.key
        assert kpi.note.endswith(".") and kpi.note.count(". ") <= 1, kpi.key


@pytest.mark.parametrize(
    ("key", "thresholds"),
    [("iof-2", SPINE), ("flsdb-3", SPINE), ("iof-6", ONE_LEVEL_50), ("flsdb-7", ONE_LEVEL_50)]
    + [(key, STANDARD) for key in ("iof-3", "iof-10", "flsdb-4", "flsdb-11")],
)
def test_each_kpi_has_the_bands_the_doc_gives_it(key: str, thresholds: Thresholds) -> None:
    assert KPI_BY_KEY[key].thresholds == thresholds


DOC_ROW = re.compile(r"^\| ((?:iof|flsdb)-[0-9]+) \|", re.MULTILINE)


def test_every_kpi_is_defined_in_the_doc_and_every_doc_row_is_a_kpi() -> None:
    assert DOC_ROW.findall(DOC.read_text()) == IOF_KEYS + FLSDB_KEYS


def test_every_kpi_function_docstring_begins_with_its_key() -> None:
    for kpi in KPIS:
        assert (kpi.compute.__doc__ or "").startswith(f"{kpi.key} — "), kpi.key
    assert len({kpi.compute for kpi in KPIS}) == len(KPIS)


def test_no_two_functions_of_the_module_claim_the_same_key() -> None:
    tree = ast.parse(Path(quality.kpis.__file__).read_text())
    claims = [
        match.group(1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and (match := re.match(r"((?:iof|flsdb)-[0-9]+) — ", ast.get_docstring(node) or ""))
    ]
    assert sorted(claims) == sorted(IOF_KEYS + FLSDB_KEYS)


def test_the_kpis_module_is_pure_python_without_django_or_a_clock() -> None:
    source = Path(quality.kpis.__file__).read_text()
    tree = ast.parse(source)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert imported <= {
        "__future__",
        "datetime",
        "collections",
        "dataclasses",
        "enum",
        "operator",
        "typing",
    }
    assert not re.search(r"\.(now|today)\(", source)


# --- Properties ----------------------------------------------------------------------------------

DAY = st.one_of(st.none(), st.integers(min_value=-30, max_value=420))


def maybe_on(day: int | None, fracture: dt.date) -> dt.date | None:
    return None if day is None else on(day, fracture)


@st.composite
def episodes_strategy(draw: st.DrawFn) -> list[EpisodeFacts]:
    result = []
    for n in range(draw(st.integers(min_value=0, max_value=12))):
        fracture = on(draw(st.integers(min_value=-20, max_value=380)))

        def days(count: int, fracture: dt.date = fracture) -> tuple[dt.date, ...]:
            drawn = draw(st.lists(st.integers(-30, 420), max_size=count))
            return tuple(sorted(on(day, fracture) for day in drawn))

        def contact(fracture: dt.date = fracture) -> FollowUpFacts | None:
            day = draw(DAY)
            if day is None:
                return None
            return FollowUpFacts(
                date=on(day, fracture),
                is_on_treatment=draw(st.booleans()),
                adherence=draw(st.sampled_from(["as_prescribed", "missed_doses", "stopped", ""])),
            )

        result.append(
            episode(
                n,
                fracture_date=fracture,
                fracture_site=draw(
                    st.sampled_from(["vertebral", "hip", "wrist", "humerus", "pelvis", "other"])
                ),
                assessed_on=maybe_on(draw(DAY), fracture),
                falls_assessment=draw(st.sampled_from(["done", "referred", "not_needed", ""])),
                falls_assessed_on=maybe_on(draw(DAY), fracture),
                exercise_started_on=maybe_on(draw(DAY), fracture),
                is_dxa_not_needed=draw(st.booleans()),
                death_date=maybe_on(draw(DAY), fracture),
                dxa_dates=days(2),
                medication_dates=days(2),
                not_indicated_dates=days(1),
                follow_up_16w=contact(),
                follow_up_52w=contact(),
            )
        )
    return result


#: Over the expected caseload, a number, not a list of episodes.
IDENTIFICATION = ("iof-1", "flsdb-2")

CONTEXTS = st.builds(
    lambda as_of_day, caseload: context(as_of=on(as_of_day), caseload=caseload),
    st.integers(min_value=-10, max_value=800),
    st.one_of(st.none(), st.integers(min_value=0, max_value=500)),
)


@settings(max_examples=150, deadline=None)
@given(episodes=episodes_strategy(), ctx=CONTEXTS)
def test_every_numerator_is_within_its_denominator_and_pending_is_apart(
    episodes: list[EpisodeFacts], ctx: KpiContext
) -> None:
    for kpi, result in kpi_values(episodes, ctx):
        if not kpi.has_drill_down or kpi.key in IDENTIFICATION:
            continue
        assert result.numerator <= result.denominator, kpi.key
        assert not (result.pending & result.denominator) - result.numerator, kpi.key


@settings(max_examples=150, deadline=None)
@given(episodes=episodes_strategy(), ctx=CONTEXTS)
def test_every_percent_is_between_0_and_100_except_identification(
    episodes: list[EpisodeFacts], ctx: KpiContext
) -> None:
    for kpi, result in kpi_values(episodes, ctx):
        if kpi.key in IDENTIFICATION or result.percent is None:
            continue
        assert 0.0 <= result.percent <= 100.0, kpi.key


@settings(max_examples=100, deadline=None)
@given(episodes=episodes_strategy(), ctx=CONTEXTS)
def test_kpi_values_are_each_kpis_own_function_even_where_computed_once(
    episodes: list[EpisodeFacts], ctx: KpiContext
) -> None:
    for kpi, result in kpi_values(episodes, ctx):
        assert result == kpi.compute(episodes, ctx), kpi.key


@settings(max_examples=100, deadline=None)
@given(episodes=episodes_strategy(), ctx=CONTEXTS)
def test_completeness_adds_up_and_an_episode_is_complete_when_missing_no_item(
    episodes: list[EpisodeFacts], ctx: KpiContext
) -> None:
    items = completeness(episodes, ctx)
    cohort = {f.episode_id for f in episodes if YEAR_2025.start <= f.fracture_date <= YEAR_2025.end}
    for item in items:
        assert item.recorded + len(item.missing) == item.expected <= len(cohort)
        assert item.missing <= cohort
    incomplete = set().union(*(item.missing for item in items))
    assert value("iof-11", episodes, ctx).numerator == cohort - incomplete


@settings(max_examples=60, deadline=None)
@given(episodes=episodes_strategy(), ctx=CONTEXTS)
def test_the_run_chart_agrees_with_each_month_computed_alone(
    episodes: list[EpisodeFacts], ctx: KpiContext
) -> None:
    for point in run_chart(episodes, ctx):
        following = (point.month + dt.timedelta(days=32)).replace(day=1)
        month = Period(point.month, following - dt.timedelta(days=1))
        alone = dataclasses.replace(ctx, period=month)
        assert point.percents == {kpi.key: kpi.compute(episodes, alone).percent for kpi in KPIS}
