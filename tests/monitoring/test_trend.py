"""The BMD trend: per-site changes from the previous and the baseline scan judged by the engine's
LSC, the annualised change, the courses behind the chart, and the section on the patient page
(Chart.js vendored, an accessible table with the same numbers, a pinned query count)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from monitoring.models import DxaScan
from monitoring.trend import bmd_trend, dxa_scan_rows, signed_pct
from tests import factories
from therapy.case_records import case_for_patient
from therapy.engine import evaluate
from therapy.engine.case import DxaSite
from therapy.engine.codes import RuleId
from therapy.models import TherapyCourse

AS_OF = dt.date(2025, 3, 14)


def _scan(day: str, **values: float) -> DxaScan:
    return DxaScan(date=dt.date.fromisoformat(day), **values)


def _site(trend, site: DxaSite):
    return next(s for s in trend.sites if s.site == site)


# --- the numbers ------------------------------------------------------------------------------

CHANGES = [
    # (site, earlier BMD, later BMD, later scan's own LSC, change %, verdict)
    pytest.param(DxaSite.LUMBAR_SPINE, 1.000, 0.947, None, -5.3, "not significant", id="at-lsc"),
    pytest.param(
        DxaSite.LUMBAR_SPINE, 1.000, 0.946, None, -5.4, "significant loss", id="beyond-lsc"
    ),
    pytest.param(DxaSite.TOTAL_HIP, 0.700, 0.735, None, 5.0, "not significant", id="hip-5.0"),
    pytest.param(DxaSite.TOTAL_HIP, 0.700, 0.720, 2.0, 2.857, "significant gain", id="own-lsc"),
    pytest.param(DxaSite.FEMORAL_NECK, 0.600, 0.560, None, -6.667, "not significant", id="neck"),
    pytest.param(DxaSite.FEMORAL_NECK, 0.600, 0.600, None, 0.0, "not significant", id="unchanged"),
]


@pytest.mark.parametrize(("site", "earlier", "later", "lsc", "change", "verdict"), CHANGES)
def test_each_change_is_judged_against_the_scans_own_lsc_or_the_sites_default(
    site, earlier, later, lsc, change, verdict
):
    scans = [
        _scan("2022-01-10", **{f"{site}_bmd_g_cm2": earlier}),
        _scan("2023-01-10", **{f"{site}_bmd_g_cm2": later, f"{site}_lsc_pct": lsc}),
    ]

    point = _site(bmd_trend(scans=scans, courses=[], as_of=AS_OF), site).latest

    assert point.from_previous.change_pct == pytest.approx(change, abs=1e-3)
    assert point.from_previous_view.significance == verdict
    assert point.has_own_lsc is (lsc is not None)


def test_each_point_has_its_change_from_the_previous_and_from_the_baseline_and_per_year():
    scans = [
        _scan("2020-01-01", lumbar_spine_bmd_g_cm2=1.000),
        _scan("2021-01-01", lumbar_spine_bmd_g_cm2=0.960),
        _scan("2022-01-01", lumbar_spine_bmd_g_cm2=0.900),
    ]

    points = _site(bmd_trend(scans=scans, courses=[], as_of=AS_OF), DxaSite.LUMBAR_SPINE).points

    assert [p.from_previous and round(p.from_previous.change_pct, 2) for p in points] == [
        None,
        -4.0,
        -6.25,
    ]
    assert [p.from_baseline and round(p.from_baseline.change_pct, 2) for p in points] == [
        None,
        -4.0,
        -10.0,
    ]
    assert [p.from_baseline_view and p.from_baseline_view.significance for p in points] == [
        None,
        "not significant",
        "significant loss",
    ]
    assert points[2].days_from_baseline == 731
    assert points[2].annualised_pct_per_year == pytest.approx(-10 * 365.25 / 731)
    assert [p.annualised_text for p in points] == ["—", "−4.0 %/year", "−5.0 %/year"]


def test_only_sites_with_a_bmd_are_trended_and_scans_without_one_are_skipped():
    scans = [
        _scan("2020-01-01", total_hip_bmd_g_cm2=0.70, total_hip_t_score=-2.0),
        _scan("2021-01-01", total_hip_t_score=-2.1, lumbar_spine_t_score=-2.8),
        _scan("2022-01-01", total_hip_bmd_g_cm2=0.69, femoral_neck_t_score=-2.0),
    ]

    trend = bmd_trend(scans=scans, courses=[], as_of=AS_OF)

    assert [s.site for s in trend.sites] == [DxaSite.TOTAL_HIP]
    assert [p.date for p in trend.sites[0].points] == [dt.date(2020, 1, 1), dt.date(2022, 1, 1)]


def test_scans_are_taken_in_date_order_whatever_order_they_come_in():
    scans = [
        _scan("2022-01-01", lumbar_spine_bmd_g_cm2=0.9),
        _scan("2020-01-01", lumbar_spine_bmd_g_cm2=1.0),
    ]

    site = bmd_trend(scans=scans, courses=[], as_of=AS_OF).sites[0]

    assert site.baseline.date == dt.date(2020, 1, 1)


def test_a_patient_without_any_bmd_has_an_empty_trend():
    trend = bmd_trend(scans=[_scan("2020-01-01", lumbar_spine_t_score=-3)], courses=[], as_of=AS_OF)

    assert not trend
    assert trend.sites == ()


def test_courses_are_shaded_from_start_to_end_and_an_ongoing_one_until_as_of():
    courses = [
        TherapyCourse(drug="denosumab", start=dt.date(2022, 6, 1)),
        TherapyCourse(drug="alendronate", start=dt.date(2018, 1, 1), end=dt.date(2021, 12, 31)),
    ]

    trend = bmd_trend(scans=[], courses=courses, as_of=AS_OF)

    assert [(c.label, c.start, c.end, c.shaded_until) for c in trend.courses] == [
        ("Alendronate (oral)", dt.date(2018, 1, 1), dt.date(2021, 12, 31), dt.date(2021, 12, 31)),
        ("Denosumab (SC, 6-monthly)", dt.date(2022, 6, 1), None, AS_OF),
    ]


def test_a_course_known_to_the_year_is_shaded_to_the_last_day_it_may_have_run():
    courses = [
        TherapyCourse(
            drug="alendronate",
            start=dt.date(2010, 1, 1),
            start_precision="year",
            end=dt.date(2015, 5, 1),
            end_precision="month",
        ),
    ]

    trend = bmd_trend(scans=[], courses=courses, as_of=AS_OF)

    assert [(c.start, c.shaded_until, c.dates) for c in trend.courses] == [
        (dt.date(2010, 1, 1), dt.date(2015, 5, 31), "≈ 2010 – ≈ 2015-05")
    ]
    assert trend.chart_data()["courses"][0]["dates"] == "≈ 2010 – ≈ 2015-05"


def test_the_figure_caption_gives_an_approximate_course_as_approximate(patient):
    course = TherapyCourse(
        drug="alendronate",
        start=dt.date(2010, 1, 1),
        start_precision="year",
        end=dt.date(2015, 1, 1),
        end_precision="year",
    )
    trend = bmd_trend(
        scans=[_scan("2014-02-01", lumbar_spine_bmd_g_cm2=0.8)], courses=[course], as_of=AS_OF
    )

    html = render_to_string("monitoring/_bmd_trend.html", {"bmd_trend": trend, "patient": patient})

    assert "Alendronate (oral) ≈ 2010 – ≈ 2015." in html


@pytest.mark.parametrize(
    ("value", "text"),
    [(2.34, "+2.3 %"), (-5.44, "−5.4 %"), (0.04, "0.0 %"), (-0.04, "0.0 %"), (-10.0, "−10.0 %")],
)
def test_a_percentage_is_written_with_its_sign(value, text):
    assert signed_pct(value) == text


def test_the_chart_data_put_dates_on_a_day_axis_and_mark_significant_points():
    scans = [
        _scan("2020-01-01", lumbar_spine_bmd_g_cm2=1.0),
        _scan("2021-01-01", lumbar_spine_bmd_g_cm2=0.9),
    ]
    courses = [TherapyCourse(drug="zoledronic_acid", start=dt.date(2020, 3, 1))]

    data = bmd_trend(scans=scans, courses=courses, as_of=AS_OF).chart_data()

    points = data["sites"][0]["points"]
    assert [(p["x"], p["date"], p["is_significant"]) for p in points] == [
        (18262, "2020-01-01", False),
        (18628, "2021-01-01", True),
    ]
    assert points[1]["previous"] == "−10.0 % (significant loss)"
    assert data["courses"] == [
        {
            "label": "Zoledronic acid (IV, yearly)",
            "start": 18322,
            "end": (AS_OF - dt.date(1970, 1, 1)).days,
            "dates": "2020-03-01 – ongoing",
        }
    ]
    json.dumps(data)  # what json_script serialises


def test_the_trend_reads_nothing_from_the_database(patient, django_assert_num_queries):
    factories.add_long_history(patient, years=5)
    scans = list(patient.dxa_scans.all())
    courses = list(patient.therapy_courses.all())

    with django_assert_num_queries(0):
        trend = bmd_trend(scans=scans, courses=courses, as_of=AS_OF)
        render_to_string("monitoring/_bmd_trend.html", {"bmd_trend": trend, "patient": patient})


# --- the section ------------------------------------------------------------------------------


def _trend_html(scans: list[DxaScan], courses=()) -> str:
    trend = bmd_trend(scans=scans, courses=list(courses), as_of=AS_OF)
    return render_to_string("monitoring/_bmd_trend.html", {"bmd_trend": trend})


def test_the_table_has_a_caption_header_scopes_units_and_significance_in_words():
    html = _trend_html(
        [
            _scan("2020-01-01", lumbar_spine_bmd_g_cm2=1.0, lumbar_spine_t_score=-2.0),
            _scan("2022-01-01", lumbar_spine_bmd_g_cm2=0.9, lumbar_spine_t_score=-2.8),
        ]
    )

    assert (
        "<caption>Lumbar spine: 2 scans; since the baseline of 2020-01-01, −10.0 % "
        "(−5.0 %/year), significant loss</caption>"
    ) in html
    assert html.count('<th scope="col">') == 8
    assert '<th scope="row"><time datetime="2022-01-01">2022-01-01</time></th>' in html
    assert "0.900 g/cm²" in html
    assert (
        '<span class="trend-loss">−10.0 %</span> <span class="small">significant loss</span>'
        in (html)
    )
    assert "5.3 % <span" in html and "(default)" in html


def test_the_chart_gets_its_data_from_json_and_no_inline_script_or_style():
    html = _trend_html(
        [
            _scan("2020-01-01", total_hip_bmd_g_cm2=0.7),
            _scan("2021-01-01", total_hip_bmd_g_cm2=0.6),
        ],
        [TherapyCourse(drug="denosumab", start=dt.date(2020, 6, 1))],
    )

    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == ['<script id="bmd-trend-data" type="application/json">']
    assert 'data-bmd-trend="bmd-trend-data"' in html
    assert 'role="img"' in html
    assert "style=" not in html
    assert "Courses: Denosumab (SC, 6-monthly) 2020-06-01 – ongoing." in html


def test_without_a_bmd_the_section_says_so_and_draws_no_chart():
    html = _trend_html([_scan("2020-01-01", lumbar_spine_t_score=-3)])

    assert "No BMD recorded yet" in html
    assert "<canvas" not in html


def test_chart_js_4_is_vendored_with_its_licence_and_served_from_static():
    vendor = Path(settings.BASE_DIR) / "static" / "vendor" / "chartjs"

    assert (vendor / "chart.umd.js").read_text()[:40].startswith("/*!\n * Chart.js v4.")
    assert "MIT" in (vendor / "LICENSE.md").read_text()
    assert (Path(settings.BASE_DIR) / "static" / "js" / "bmd-trend.js").exists()


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
def scanned(patient):
    DxaScan.objects.create(patient=patient, date=dt.date(2020, 1, 1), lumbar_spine_bmd_g_cm2=1.0)
    DxaScan.objects.create(patient=patient, date=dt.date(2022, 1, 1), lumbar_spine_bmd_g_cm2=0.9)
    TherapyCourse.objects.create(patient=patient, drug="denosumab", start=dt.date(2020, 6, 1))
    return patient


def _trend_url(patient) -> str:
    return reverse("monitoring:bmd-trend", args=[patient.pk])


@pytest.mark.parametrize("role", ["clinician", "nurse"])
def test_the_patient_page_shows_the_trend_inline_with_the_vendored_chart_script(
    role, scanned, request, client_for
):
    client = client_for(request.getfixturevalue(role))

    html = client.get(reverse("patients:detail", args=[scanned.pk])).content.decode()

    assert '<section id="bmd-trend"' in html
    assert 'data-bmd-trend="bmd-trend-data"' in html and 'id="bmd-trend-data"' in html
    assert "hx-get" not in html.split('<section id="bmd-trend"')[1].split(">")[0]
    assert '<script src="/static/vendor/chartjs/chart.umd.js" defer></script>' in html
    assert '<script src="/static/js/bmd-trend.js" defer></script>' in html
    assert not re.search(r"<script[^>]+src=\"https?:", html)  # no CDN


def test_htmx_gets_the_section_alone_and_a_browser_without_it_a_whole_page(
    scanned, nurse, client_for
):
    client = client_for(nurse)

    partial = client.get(_trend_url(scanned), HTTP_HX_REQUEST="true").content.decode()
    page = client.get(_trend_url(scanned)).content.decode()

    assert partial.lstrip().startswith('<section id="bmd-trend"')
    assert "significant loss" in partial
    assert "<html" in page and "significant loss" in page
    assert "/static/vendor/chartjs/chart.umd.js" in page


@pytest.mark.parametrize(
    ("role", "status"),
    [("clinician", 200), ("nurse", 200), ("clinic_admin", 403), ("outsider", 404)],
)
def test_clinicians_and_nurses_see_the_trend_a_clinic_admin_may_not_and_an_outsider_sees_nothing(
    role, status, scanned, request, client_for
):
    client = client_for(request.getfixturevalue(role))

    assert client.get(_trend_url(scanned), HTTP_HX_REQUEST="true").status_code == status


def test_a_clinic_admins_patient_page_has_no_trend(scanned, clinic_admin, client_for):
    html = client_for(clinic_admin).get(reverse("patients:detail", args=[scanned.pk]))

    assert "bmd-trend" not in html.content.decode()


def test_the_trend_answers_only_get(scanned, nurse, client_for):
    assert client_for(nurse).post(_trend_url(scanned)).status_code == 405


#: The trend section: session, user, patient with role, the access-log row (issue 11), scans,
#: courses. The session is read, and not stored again on these requests
#: (config.session.SessionIdleMiddleware renews it at most once a minute).
TREND_QUERIES = 6


@pytest.mark.parametrize("years", [2, 20])
def test_the_trend_costs_the_same_queries_for_2_or_20_years_of_history(
    years, patient, nurse, client_for, django_assert_num_queries
):
    factories.add_long_history(patient, years=years)
    client = client_for(nurse)

    with django_assert_num_queries(TREND_QUERIES):
        response = client.get(_trend_url(patient), HTTP_HX_REQUEST="true")

    assert response.content.decode().count('<th scope="row">') == 2 * years


# --- scans from different scanners ------------------------------------------------------------


def _on(scanner: str, day: str, bmd: float) -> DxaScan:
    return DxaScan(date=dt.date.fromisoformat(day), scanner=scanner, lumbar_spine_bmd_g_cm2=bmd)


def _spine(scans: list[DxaScan]):
    return _site(bmd_trend(scans=scans, courses=[], as_of=AS_OF), DxaSite.LUMBAR_SPINE)


def test_a_change_across_two_scanners_is_not_comparable_never_significant():
    spine = _spine([_on("Hologic A", "2020-01-01", 1.000), _on("Lunar iDXA", "2021-01-01", 0.850)])

    latest = spine.latest
    assert latest.from_previous is None and latest.from_baseline is None
    assert latest.from_previous_view.significance == "not comparable: different scanners"
    assert latest.from_previous_view.text == ""
    assert latest.from_baseline_view.significance == "not comparable: different scanners"
    assert latest.is_new_baseline and latest.annualised_text == "—"


def test_the_first_scan_on_a_new_scanner_starts_a_new_baseline():
    spine = _spine(
        [
            _on("Hologic A", "2020-01-01", 1.000),
            _on("Lunar iDXA", "2021-01-01", 0.850),
            _on("lunar idxa ", "2022-01-01", 0.800),
        ]
    )

    latest = spine.latest
    assert latest.baseline_date == dt.date(2021, 1, 1)
    assert round(latest.from_previous.change_pct, 2) == round(latest.from_baseline.change_pct, 2)
    assert latest.from_previous_view.significance == "significant loss"  # −5.9 % > 5.3 %
    assert spine.summary == (
        "Lumbar spine: 3 scans; since the baseline of 2021-01-01, −5.9 % (−5.9 %/year), "
        "significant loss"
    )


def test_an_earlier_scan_of_the_same_scanner_stays_the_baseline_across_another_scanner():
    spine = _spine(
        [
            _on("Hologic A", "2020-01-01", 1.000),
            _on("Lunar iDXA", "2021-01-01", 0.700),
            _on("Hologic A", "2022-01-01", 0.980),
        ]
    )

    latest = spine.latest
    assert not latest.is_comparable_with_previous
    assert latest.from_previous_view.significance == "not comparable: different scanners"
    assert latest.baseline_date == dt.date(2020, 1, 1)
    assert latest.from_baseline_view.text == "−2.0 %"


def test_a_scan_without_a_named_scanner_is_comparable_with_any_as_in_the_engine():
    spine = _spine([_on("Hologic A", "2020-01-01", 1.000), _on("", "2021-01-01", 0.900)])

    assert spine.latest.from_previous_view.significance == "significant loss"


def test_the_latest_scan_alone_on_its_scanner_is_said_so_in_the_caption():
    spine = _spine([_on("Hologic A", "2020-01-01", 1.0), _on("Lunar iDXA", "2021-01-01", 0.9)])

    assert spine.summary == (
        "Lumbar spine: 2 scans; not comparable: different scanners (the latest scan, on "
        "Lunar iDXA, is the first on that scanner)"
    )


def test_the_chart_marks_a_cross_scanner_point_not_comparable_and_not_significant():
    data = bmd_trend(
        scans=[_on("Hologic A", "2020-01-01", 1.0), _on("Lunar iDXA", "2021-01-01", 0.8)],
        courses=[],
        as_of=AS_OF,
    ).chart_data()

    latest = data["sites"][0]["points"][1]
    assert latest["is_significant"] is False
    assert latest["is_comparable"] is False
    assert latest["previous"] == "not comparable: different scanners"
    assert latest["scanner"] == "Lunar iDXA"


def test_the_table_names_each_scanner_and_says_not_comparable_in_words():
    html = _trend_html([_on("Hologic A", "2020-01-01", 1.0), _on("Lunar iDXA", "2021-01-01", 0.8)])

    assert "<td>Hologic A</td>" in html and "<td>Lunar iDXA</td>" in html
    assert "new baseline: first scan on this scanner" in html
    assert (
        '<span class="trend-not-comparable small">not comparable: different scanners</span>' in html
    )
    assert "significant loss" not in html
    assert "−20.0 %" not in html


def test_the_scan_rows_give_each_sites_change_read_as_the_trend_reads_it():
    scans = [
        DxaScan(
            pk=1,
            date=dt.date(2020, 1, 1),
            scanner="Hologic A",
            lumbar_spine_bmd_g_cm2=1.0,
            total_hip_t_score=-2.0,
        ),
        DxaScan(pk=2, date=dt.date(2021, 1, 1), scanner="Hologic A", lumbar_spine_bmd_g_cm2=0.9),
        DxaScan(pk=3, date=dt.date(2022, 1, 1), scanner="Lunar", lumbar_spine_bmd_g_cm2=0.8),
    ]

    rows = dxa_scan_rows(scans=reversed(scans))

    assert [row.scan.pk for row in rows] == [1, 2, 3]
    assert [row.is_comparable_with_previous for row in rows] == [True, True, False]
    spine = [row.sites[0] for row in rows]
    assert [cell.change and cell.change.significance for cell in spine] == [
        None,
        "significant loss",
        "not comparable: different scanners",
    ]
    assert (rows[0].sites[2].label, rows[0].sites[2].t_score) == ("Total hip", -2.0)
    html = render_to_string(
        "monitoring/_dxa_scan_table.html", {"dxa_rows": rows, "patient": None, "can": {}}
    )
    assert "different scanner</span>" in html
    assert "not comparable: different scanners" in html


# --- the engine's input: the same reading (REF-2) ---------------------------------------------


@pytest.mark.parametrize(
    ("second_scanner", "is_refractory"),
    [("Hologic A", True), ("hologic a ", True), ("Lunar iDXA", False), ("", True)],
)
def test_the_engine_compares_bmd_only_on_comparable_scanners(
    second_scanner, is_refractory, patient
):
    TherapyCourse.objects.create(patient=patient, drug="alendronate", start=dt.date(2019, 1, 1))
    DxaScan.objects.create(
        patient=patient, date=dt.date(2020, 1, 1), scanner="Hologic A", lumbar_spine_bmd_g_cm2=1.0
    )
    DxaScan.objects.create(
        patient=patient,
        date=dt.date(2021, 1, 1),
        scanner=second_scanner,
        lumbar_spine_bmd_g_cm2=0.85,  # −15 %/year: a failure on one scanner (REF-2)
    )

    assessment = evaluate(case_for_patient(patient.pk, as_of=AS_OF))

    assert (RuleId.REF_2 in assessment.fired_rules) is is_refractory
    trend = bmd_trend(scans=patient.dxa_scans.all(), courses=[], as_of=AS_OF)
    significant = trend.sites[0].latest.from_previous_view.significance == "significant loss"
    assert significant is is_refractory


def test_the_scan_table_partial_offers_edit_and_delete_to_who_may_record(patient):
    scan = DxaScan.objects.create(
        patient=patient, date=dt.date(2020, 1, 1), scanner="Hologic A", lumbar_spine_t_score=-2
    )
    rows = dxa_scan_rows(scans=patient.dxa_scans.all())

    html = render_to_string(
        "monitoring/_dxa_scan_table.html",
        {"dxa_rows": rows, "patient": patient, "can": {"record_measurement": True}},
    )

    assert reverse("monitoring:dxa-update", args=[patient.pk, scan.pk]) in html
    assert "T -2.0" in html and "<td>Hologic A</td>" in html
