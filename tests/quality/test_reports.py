"""`quality.reports`: a clinic's KPI report, its JSON, and the period it covers."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from quality.kpis import Period
from quality.reports import (
    PeriodError,
    clinic_kpi_report,
    default_period,
    kpi_report_json,
    period_from_strings,
)
from tests.quality.conftest import (
    decision,
    died,
    dxa_scan,
    fls_episode,
    fls_patient,
    follow_up,
)

YEAR_2025 = Period(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
AS_OF = dt.date(2026, 6, 30)
IOF_KEYS = [f"iof-{n}" for n in range(1, 12)]
FLSDB_KEYS = [f"flsdb-{n}" for n in range(1, 12)]


@pytest.fixture
def small_world(clinic):
    """Three index fractures of 2025 in a clinic that expects ten a year: a spine fracture
    found on imaging and seen through (assessed day 30, DXA day 40, a drug chosen day 50, on
    treatment at both follow-ups), a hip fracture with nothing recorded, and a wrist fracture
    whose patient died on day 30."""
    clinic.expected_yearly_caseload = 10
    clinic.save()
    spine = fls_patient(clinic)
    day = dt.date(2025, 2, 1)
    episode = fls_episode(
        spine,
        fracture_date=day,
        site="vertebral",
        identified_by="radiological",
        assessed_on=day + dt.timedelta(days=30),
    )
    dxa_scan(spine, day + dt.timedelta(days=40))
    decision(spine, day + dt.timedelta(days=50), "ranked_option")
    follow_up(episode, kind="16w", date=day + dt.timedelta(days=110))
    follow_up(episode, kind="52w", date=day + dt.timedelta(days=360))
    fls_episode(fls_patient(clinic), fracture_date=dt.date(2025, 5, 10), site="hip")
    dead = fls_patient(clinic)
    fls_episode(dead, fracture_date=dt.date(2025, 8, 20))
    died(dead, dt.date(2025, 9, 19))
    return clinic


@pytest.mark.django_db
def test_the_report_reads_its_facts_in_five_queries(small_world, django_assert_num_queries):
    with django_assert_num_queries(5):
        report = clinic_kpi_report(clinic=small_world, period=YEAR_2025, as_of=AS_OF)

    assert report.episodes == 3
    assert report.expected_yearly_caseload == 10
    assert [row.definition.key for row in report.rows] == IOF_KEYS + FLSDB_KEYS


@pytest.mark.django_db
def test_the_json_holds_every_kpi_with_its_counts_percent_and_level(small_world):
    report = clinic_kpi_report(clinic=small_world, period=YEAR_2025, as_of=AS_OF)

    data = json.loads(json.dumps(kpi_report_json(report)))
    kpis = {kpi["key"]: kpi for kpi in data["kpis"]}

    assert list(data) == [
        "clinic",
        "period",
        "as_of",
        "episodes",
        "expected_yearly_caseload",
        "kpis",
        "completeness",
        "months",
    ]
    assert data["clinic"] == "hillside"
    assert data["period"] == {"from": "2025-01-01", "to": "2025-12-31"}
    assert (data["as_of"], data["episodes"], data["expected_yearly_caseload"]) == (
        "2026-06-30",
        3,
        10,
    )
    assert [kpi["key"] for kpi in data["kpis"]] == IOF_KEYS + FLSDB_KEYS
    assert all(
        list(kpi)
        == [
            "key",
            "family",
            "number",
            "title",
            "numerator",
            "denominator",
            "pending",
            "unit",
            "percent",
            "level",
            "note",
        ]
        for kpi in data["kpis"]
    )
    # Two non-spine fractures of the ten expected; one spine fracture of three (green > 20 %).
    assert (kpis["iof-1"]["numerator"], kpis["iof-1"]["denominator"]) == (2, 10)
    assert (kpis["iof-1"]["percent"], kpis["iof-1"]["level"]) == (20.0, "red")
    assert (kpis["iof-2"]["family"], kpis["iof-2"]["number"]) == ("IOF", 2)
    assert (kpis["iof-2"]["numerator"], kpis["iof-2"]["denominator"]) == (1, 3)
    assert (kpis["iof-2"]["percent"], kpis["iof-2"]["level"]) == (33.3, "green")
    assert kpis["flsdb-3"]["family"] == "FLS-DB"
    assert (kpis["flsdb-3"]["unit"], kpis["flsdb-1"]["unit"]) == ("patients", "fields")
    # The patient who died on day 30 is in no 12-week denominator.
    for key in ("iof-3", "iof-4", "iof-6"):
        assert (kpis[key]["numerator"], kpis[key]["denominator"], kpis[key]["pending"]) == (
            1,
            2,
            0,
        ), key
    assert (kpis["iof-3"]["percent"], kpis["iof-3"]["level"]) == (50.0, "amber")
    assert kpis["iof-6"]["level"] == "green"  # one level at 50 %


@pytest.mark.django_db
def test_the_json_rounds_every_percent_to_one_decimal_place_as_the_rows_compute_it(
    small_world,
):
    report = clinic_kpi_report(clinic=small_world, period=YEAR_2025, as_of=AS_OF)

    data = kpi_report_json(report)

    for row, kpi in zip(report.rows, data["kpis"], strict=True):
        expected = None if row.value.percent is None else round(row.value.percent, 1)
        assert kpi["percent"] == expected
        assert kpi["level"] == (None if row.level is None else row.level.value)
    for item, shown in zip(report.completeness, data["completeness"], strict=True):
        assert (shown["key"], shown["recorded"], shown["expected"]) == (
            item.key,
            item.recorded,
            item.expected,
        )


@pytest.mark.django_db
def test_the_run_chart_has_a_point_per_month_of_the_period(small_world):
    data = kpi_report_json(clinic_kpi_report(clinic=small_world, period=YEAR_2025, as_of=AS_OF))

    months = {point["month"]: point["values"] for point in data["months"]}

    assert list(months) == [f"2025-{m:02d}" for m in range(1, 13)]
    assert months["2025-02"]["iof-2"] == 100.0  # February's one fracture is the spine's
    assert months["2025-05"]["iof-2"] == 0.0
    assert months["2025-03"]["iof-2"] is None  # no fracture: no value


@pytest.mark.django_db
def test_an_empty_period_gives_no_values_and_no_levels(clinic):
    data = kpi_report_json(clinic_kpi_report(clinic=clinic, period=YEAR_2025, as_of=AS_OF))

    assert data["episodes"] == 0
    assert data["expected_yearly_caseload"] is None
    assert {kpi["percent"] for kpi in data["kpis"] if kpi["key"] != "flsdb-1"} == {None}
    assert {kpi["level"] for kpi in data["kpis"] if kpi["key"] != "flsdb-1"} == {None}


# --- the period -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "start", "end"),
    [
        pytest.param(dt.date(2026, 12, 1), dt.date(2025, 12, 1), dt.date(2026, 11, 30), id="1st"),
        pytest.param(dt.date(2026, 12, 31), dt.date(2025, 12, 1), dt.date(2026, 11, 30), id="31st"),
        pytest.param(dt.date(2026, 1, 15), dt.date(2025, 1, 1), dt.date(2025, 12, 31), id="jan"),
        pytest.param(dt.date(2024, 3, 1), dt.date(2023, 3, 1), dt.date(2024, 2, 29), id="leap"),
    ],
)
def test_the_default_period_is_the_twelve_full_months_before_the_reports_month(as_of, start, end):
    assert default_period(as_of) == Period(start=start, end=end)


def test_two_typed_dates_make_the_period_and_none_the_default():
    assert period_from_strings("2025-01-01", " 2025-06-30 ", as_of=AS_OF) == Period(
        start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30)
    )
    assert period_from_strings("", None, as_of=AS_OF) == default_period(AS_OF)
    assert period_from_strings("2026-06-30", "2026-06-30", as_of=AS_OF).days == 1
    assert period_from_strings("2016-07-01", "2026-06-30", as_of=AS_OF).start == dt.date(2016, 7, 1)


@pytest.mark.parametrize(
    ("from_", "to", "field", "message"),
    [
        pytest.param("2025-01-01", "", "to", "give the last day", id="no-end"),
        pytest.param(None, "2025-01-01", "from", "give the first day", id="no-start"),
        pytest.param("01/02/2025", "2025-06-30", "from", "YYYY-MM-DD", id="not-iso"),
        pytest.param("2025-01-01", "2025-02-30", "to", "YYYY-MM-DD", id="no-such-day"),
        pytest.param(
            "2025-07-01", "2025-06-30", "from", r"starts \(2025-07-01\) after", id="order"
        ),
        pytest.param("2026-01-01", "2026-07-01", "to", "after the report's day", id="future"),
        pytest.param("2016-06-30", "2026-06-30", "from", "at most 10 years", id="too-long"),
    ],
)
def test_a_period_that_cannot_be_reported_on_is_refused_with_its_field(from_, to, field, message):
    with pytest.raises(PeriodError, match=message) as refused:
        period_from_strings(from_, to, as_of=AS_OF)

    assert refused.value.field == field
    assert isinstance(refused.value, ValueError)
