"""The clinic's KPI page, its drill-down and its audit CSV (quality.kpi_views).

One small world, all its windows closed (fractures of 2025, reported as of today): Ann's wrist
fracture was assessed and scanned in time, Bea's spine fracture was neither, Cai's hip fracture
needs no DXA; a Riverside patient's fracture of the same month must never appear in Hillside's
lists. The page must show what `clinic_kpi_report` and `kpi_report_json` say for the same world.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from patients.models import AccessLogEntry
from patients.permissions import Action, role_allows
from quality.audit_export import audit_csv_lines
from quality.kpis import KPI_BY_KEY, Period
from quality.reports import clinic_kpi_report, default_period, kpi_report_json
from tests.quality.conftest import dxa_scan, fls_episode, fls_patient

PERIOD = Period(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
QUERY = {"from": "2025-01-01", "to": "2025-12-31"}

#: Queries of the KPI page however many episodes the period holds, measured on PostgreSQL:
#: session, user, the clinic with the user's role, the report's five reads (episodes, DXA
#: scans, decisions, courses, follow-ups) and the navigation's memberships. The session is
#: read, and not stored again on these requests (config.session.SessionIdleMiddleware renews it
#: at most once a minute).
PAGE_QUERIES = 9
#: A drill-down: the same, the patients of the list (one query) and the access-log INSERT.
DRILL_DOWN_QUERIES = 11


@pytest.fixture
def world(clinic, other_clinic):
    """Hillside's three index fractures of 2025 and one of Riverside's."""
    clinic.expected_yearly_caseload = 10
    clinic.save(update_fields=["expected_yearly_caseload"])
    ann = fls_patient(clinic, name="Ann Assessed", mrn="H-ANN")
    bea = fls_patient(clinic, name="Bea Backlog", mrn="H-BEA")
    cai = fls_patient(clinic, name="Cai Hip", mrn="H-CAI")
    rita = fls_patient(other_clinic, name="Rita Riverside", mrn="R-RITA")
    episodes = {
        "ann": fls_episode(
            ann, fracture_date=dt.date(2025, 3, 1), site="wrist", assessed_on=dt.date(2025, 3, 20)
        ),
        "bea": fls_episode(bea, fracture_date=dt.date(2025, 5, 10), site="vertebral"),
        "cai": fls_episode(
            cai, fracture_date=dt.date(2025, 6, 1), site="hip", dxa_not_needed_reason="On file"
        ),
        "rita": fls_episode(
            rita, fracture_date=dt.date(2025, 3, 1), assessed_on=dt.date(2025, 3, 2)
        ),
    }
    dxa_scan(ann, dt.date(2025, 4, 1))
    dxa_scan(rita, dt.date(2025, 3, 5))
    return episodes


def _report(clinic):
    return clinic_kpi_report(clinic=clinic, period=PERIOD, as_of=timezone.localdate())


def _row_html(page: str, key: str) -> str:
    match = re.search(rf'<tr data-kpi="{re.escape(key)}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {key}"
    return match.group(1)


def _cell(row: str, name: str) -> str:
    match = re.search(rf'data-cell="{name}">(.*?)</td>', row, re.S)
    assert match, f"no {name} cell"
    text = re.sub(r"<[^>]+>", "", match.group(1))
    return " ".join(html_lib.unescape(text).split())


def _listed_episodes(page: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'<tr data-episode="(\d+)">', page)}


def _field_error(page: str, name: str) -> str:
    match = re.search(
        rf'<div id="id_{name}_error" class="invalid-feedback">(.*?)</div>', page, re.S
    )
    return html_lib.unescape(match.group(1)) if match else ""


# --- the page -------------------------------------------------------------------------------


def test_the_page_shows_each_kpi_as_the_report_and_its_json_give_it(
    world, clinic, clinician, client_for
):
    expected = kpi_report_json(_report(clinic))

    response = client_for(clinician).get(reverse("kpis:page", args=["hillside"]), QUERY)

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["report"].episodes == expected["episodes"] == 3
    assert len(expected["kpis"]) == 22
    for kpi in expected["kpis"]:
        row = _row_html(page, kpi["key"])
        percent = "—" if kpi["percent"] is None else f"{kpi['percent']:.1f} %"
        assert _cell(row, "percent") == percent, kpi["key"]
        assert _cell(row, "counts").startswith(f"{kpi['numerator']} / {kpi['denominator']}")
        assert _cell(row, "pending") == str(kpi["pending"])
        assert _cell(row, "level") == (kpi["level"] or "No value").capitalize()
        assert html_lib.escape(kpi["note"]) in page


def test_a_value_halfway_between_two_decimals_is_rounded_as_the_reports_json_rounds_it(
    clinic, clinician, client_for
):
    """One spine fracture among 16: 6.25 %, which the JSON (Python's round) gives as 6.2."""
    for n in range(16):
        patient = fls_patient(clinic)
        site = "vertebral" if n == 0 else "wrist"
        fls_episode(patient, fracture_date=dt.date(2025, 2, 1) + dt.timedelta(days=n), site=site)
    expected = next(k for k in kpi_report_json(_report(clinic))["kpis"] if k["key"] == "iof-2")

    html = client_for(clinician).get(reverse("kpis:page", args=["hillside"]), QUERY)

    row = _row_html(html.content.decode(), "iof-2")
    assert _cell(row, "percent") == f"{expected['percent']:.1f} %" == "6.2 %"


def test_each_level_is_written_in_words_beside_its_colour(world, clinic, clinician, client_for):
    page = client_for(clinician).get(reverse("kpis:page", args=["hillside"]), QUERY)
    html = page.content.decode()

    # iof-2: one spine fracture of three (green above 20 %); iof-3: one of three assessed within
    # 12 weeks (red below 50 %); iof-4: one of the two who need a DXA scanned (amber 50–80 %).
    for key, percent, badge, words in [
        ("iof-2", "33.3 %", "text-bg-success", "Green"),
        ("iof-3", "33.3 %", "text-bg-danger", "Red"),
        ("iof-4", "50.0 %", "text-bg-warning", "Amber"),
    ]:
        row = _row_html(html, key)
        assert _cell(row, "percent") == percent
        assert f'<span class="badge {badge}">{words}</span>' in row


def test_the_drill_down_links_carry_the_period_and_a_kpi_counted_in_fields_has_none(
    world, clinician, client_for
):
    html = client_for(clinician).get(reverse("kpis:page", args=["hillside"]), QUERY)
    html = html.content.decode()

    numerator = reverse("kpis:drill-down", args=["hillside", "iof-4", "numerator"])
    assert f'href="{numerator}?from=2025-01-01&amp;to=2025-12-31"' in html
    assert not KPI_BY_KEY["flsdb-1"].has_drill_down
    assert "flsdb-1/numerator" not in html


def test_the_completeness_table_links_to_the_episodes_missing_each_item(
    world, clinic, clinician, client_for
):
    items = {item.key: item for item in _report(clinic).completeness}

    html = client_for(clinician).get(reverse("kpis:page", args=["hillside"]), QUERY)
    html = html.content.decode()

    assessment = items["fls_assessment"]
    assert (assessment.recorded, assessment.expected) == (1, 3)
    row = re.search(r'<tr data-item="fls_assessment">(.*?)</tr>', html, re.S).group(1)
    assert "1 / 3" in row
    assert "33.3 %" in row
    assert reverse("kpis:completeness", args=["hillside", "fls_assessment"]) in row
    assert "2 episodes missing it" in row


def test_the_run_chart_data_and_its_table_hold_each_months_values(
    world, clinic, clinician, client_for
):
    report = _report(clinic)

    response = client_for(clinician).get(reverse("kpis:page", args=["hillside"]), QUERY)

    data = response.context["chart_data"]
    assert data["months"] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert data["references"] == [50, 80]
    march = report.months[2].percents
    iof3 = next(k for k in data["kpis"] if k["key"] == "iof-3")
    assert iof3["values"][2] == round(march["iof-3"], 1) == 100.0
    assert iof3["values"][0] is None  # no index fracture in January
    html = response.content.decode()
    drawn = next(k for k in data["kpis"] if k["key"] == data["selected"])
    assert any(v is not None for v in drawn["values"])
    assert f'<option value="{drawn["key"]}" selected>' in html
    assert 'id="kpi-run-chart-data" type="application/json"' in html
    assert "<script>" not in html  # no inline script under the CSP
    assert "js/kpi_run_chart.js" in html
    assert "vendor/chartjs/chart.umd.js" in html


def test_without_a_period_the_page_shows_the_default_one(world, clinician, client_for):
    response = client_for(clinician).get(reverse("kpis:page", args=["hillside"]))

    default = default_period(timezone.localdate())
    assert response.context["report"].period == default
    assert f'value="{default.start:%Y-%m-%d}"' in response.content.decode()


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"from": "2025-12-31", "to": "2025-01-01"}, "from", "after it ends"),
        ({"from": "2025-13-45", "to": "2025-12-31"}, "from", ""),
        ({"from": "2025-01-01", "to": "2999-01-01"}, "to", "after the report"),
        ({"from": "2025-01-01", "to": ""}, "to", "last day"),
    ],
    ids=["start-after-end", "not-a-date", "end-in-the-future", "end-missing"],
)
def test_a_bad_period_is_refused_beside_its_field_with_the_typed_values_kept(
    query, field, words, world, clinician, client_for
):
    response = client_for(clinician).get(reverse("kpis:page", args=["hillside"]), query)

    html = response.content.decode()
    assert response.status_code == 200
    error = _field_error(html, field)
    assert error
    assert words in error
    other = "to" if field == "from" else "from"
    assert _field_error(html, other) == ""
    for name, typed in query.items():
        assert f'name="{name}" id="id_{name}" value="{typed}"' in html
    # The page still renders, with the default period.
    assert response.context["report"].period == default_period(timezone.localdate())
    assert "the default period" in html


def test_an_unset_caseload_is_said_with_a_link_to_the_settings_for_the_clinic_admin(
    clinic, clinic_admin, nurse, client_for
):
    settings_url = reverse("reminders:settings", args=["hillside"])

    as_admin = client_for(clinic_admin).get(reverse("kpis:page", args=["hillside"]))
    as_nurse = client_for(nurse).get(reverse("kpis:page", args=["hillside"]))

    for response in (as_admin, as_nurse):
        assert "expected yearly caseload is not set" in response.content.decode()
    assert settings_url in as_admin.content.decode()
    assert settings_url not in as_nurse.content.decode()


def test_the_caseload_when_set_is_shown(world, clinician, client_for):
    html = client_for(clinician).get(reverse("kpis:page", args=["hillside"]), QUERY)

    assert "expects <strong>10</strong> fragility fractures a year" in html.content.decode()


@pytest.mark.parametrize("role", ["clinician", "nurse", "clinic_admin"])
def test_the_navigation_and_the_dashboard_link_to_the_page_for_each_role_that_may_see_it(
    role, request, client_for
):
    user = request.getfixturevalue(role)
    url = reverse("kpis:page", args=["hillside"])

    html = client_for(user).get(reverse("dashboard")).content.decode()

    shown = html.count(f'href="{url}"')
    assert shown == (2 if role_allows(role, Action.VIEW_QUALITY) else 0)


def test_the_audit_link_is_offered_only_to_roles_that_may_export(
    world, clinician, nurse, client_for
):
    csv_url = reverse("kpis:audit-csv", args=["hillside"])

    as_clinician = client_for(clinician).get(reverse("kpis:page", args=["hillside"]), QUERY)
    as_nurse = client_for(nurse).get(reverse("kpis:page", args=["hillside"]), QUERY)

    assert csv_url in as_clinician.content.decode()
    assert csv_url not in as_nurse.content.decode()


# --- the drill-down -------------------------------------------------------------------------


@pytest.mark.parametrize("part", ["numerator", "denominator"])
def test_the_drill_down_lists_exactly_the_patients_of_the_kpis_list(
    part, world, clinic, clinician, client_for
):
    value = next(r.value for r in _report(clinic).rows if r.definition.key == "iof-4")

    response = client_for(clinician).get(
        reverse("kpis:drill-down", args=["hillside", "iof-4", part]), QUERY
    )

    html = response.content.decode()
    assert _listed_episodes(html) == set(getattr(value, part))
    expected = {"numerator": {"ann"}, "denominator": {"ann", "bea"}}[part]
    assert _listed_episodes(html) == {world[name].pk for name in expected}
    assert "Rita Riverside" not in html
    assert "Ann Assessed" in html
    assert "H-ANN" in html
    assert f'href="{reverse("patients:detail", args=[world["ann"].patient_id])}"' in html


def test_the_drill_down_never_lists_another_clinics_patients(world, outsider, client_for):
    """Riverside's own page lists Rita, and nothing of Hillside's."""
    response = client_for(outsider).get(
        reverse("kpis:drill-down", args=["riverside", "iof-3", "denominator"]), QUERY
    )

    html = response.content.decode()
    assert _listed_episodes(html) == {world["rita"].pk}
    assert "Ann Assessed" not in html


def test_the_clinic_admin_sees_names_and_mrns_and_links_to_the_patient_page(
    world, clinic_admin, client_for
):
    client = client_for(clinic_admin)

    html = client.get(
        reverse("kpis:drill-down", args=["hillside", "iof-2", "numerator"]), QUERY
    ).content.decode()

    assert "Bea Backlog" in html
    assert "H-BEA" in html
    patient_url = reverse("patients:detail", args=[world["bea"].patient_id])
    assert patient_url in html
    assert client.get(patient_url).status_code == 200


def test_the_completeness_drill_down_lists_the_episodes_missing_the_item(
    world, clinician, client_for
):
    response = client_for(clinician).get(
        reverse("kpis:completeness", args=["hillside", "fls_assessment"]), QUERY
    )

    assert _listed_episodes(response.content.decode()) == {world["bea"].pk, world["cai"].pk}


def test_each_drill_down_writes_one_access_log_row_per_patient_shown(
    world, clinic_admin, client_for
):
    client_for(clinic_admin).get(
        reverse("kpis:drill-down", args=["hillside", "iof-4", "denominator"]), QUERY
    )

    entries = AccessLogEntry.objects.all()
    assert {(e.patient_id, e.user_id, e.route) for e in entries} == {
        (world["ann"].patient_id, clinic_admin.pk, "kpis:drill-down"),
        (world["bea"].patient_id, clinic_admin.pk, "kpis:drill-down"),
    }
    assert {e.patient_ref for e in entries} == {
        f"{world['ann'].patient_id} · H-ANN",
        f"{world['bea'].patient_id} · H-BEA",
    }


def test_the_drill_down_is_paginated_and_each_page_logs_only_its_patients(
    clinic, clinician, client_for
):
    for n in range(27):
        patient = fls_patient(clinic, name=f"Zed Patient{n:02d}")
        fls_episode(patient, fracture_date=dt.date(2025, 2, 1) + dt.timedelta(days=n))
    url = reverse("kpis:drill-down", args=["hillside", "iof-2", "denominator"])
    client = client_for(clinician)

    first = client.get(url, QUERY).content.decode()
    logged_after_first = AccessLogEntry.objects.count()
    second = client.get(url, {**QUERY, "page": "2"}).content.decode()

    assert len(_listed_episodes(first)) == 25
    assert len(_listed_episodes(second)) == 2
    assert _listed_episodes(first).isdisjoint(_listed_episodes(second))
    assert logged_after_first == 25
    assert AccessLogEntry.objects.count() == 27
    assert "Page 1 of 2" in first
    assert "?from=2025-01-01&amp;to=2025-12-31&amp;page=2" in first


@pytest.mark.parametrize(
    "args",
    [
        ["hillside", "iof-99", "numerator"],
        ["hillside", "iof-4", "everyone"],
        ["hillside", "flsdb-1", "numerator"],  # counted in data items, not patients
    ],
    ids=["unknown-kpi", "unknown-list", "no-drill-down"],
)
def test_an_unknown_kpi_or_list_answers_404(args, world, clinician, client_for):
    response = client_for(clinician).get(reverse("kpis:drill-down", args=args), QUERY)

    assert response.status_code == 404
    assert not AccessLogEntry.objects.exists()


def test_an_unknown_data_item_answers_404(world, clinician, client_for):
    response = client_for(clinician).get(
        reverse("kpis:completeness", args=["hillside", "shoe_size"]), QUERY
    )

    assert response.status_code == 404


# --- the audit CSV --------------------------------------------------------------------------


def _csv(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize("role", ["clinician", "clinic_admin"])
def test_the_audit_csv_streams_the_exports_lines_with_a_named_file_never_cached(
    role, world, clinic, request, client_for
):
    client = client_for(request.getfixturevalue(role))

    response = client.get(reverse("kpis:audit-csv", args=["hillside"]), QUERY)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="quality-audit-hillside-2025-01-01-to-2025-12-31.csv"'
    )
    assert "no-store" in response["Cache-Control"]
    body = _csv(response)
    expected = "".join(audit_csv_lines(clinic=clinic, period=PERIOD, as_of=timezone.localdate()))
    assert body == expected
    assert len(body.splitlines()) == 1 + 3
    for identifying in ("Ann Assessed", "H-ANN", "Rita", "R-RITA"):
        assert identifying not in body


def test_the_audit_csv_export_is_written_to_the_access_log(world, clinician, client_for):
    response = client_for(clinician).get(reverse("kpis:audit-csv", args=["hillside"]), QUERY)
    _csv(response)

    logged = set(
        AccessLogEntry.objects.filter(route="kpis:audit-csv").values_list("patient_id", flat=True)
    )
    assert logged == {world[name].patient_id for name in ("ann", "bea", "cai")}


def test_a_nurse_may_not_download_the_audit_csv(world, nurse, client_for):
    response = client_for(nurse).get(reverse("kpis:audit-csv", args=["hillside"]), QUERY)

    assert response.status_code == 403
    assert not AccessLogEntry.objects.exists()


def test_the_audit_csv_of_a_bad_period_answers_400_saying_why(world, clinician, client_for):
    response = client_for(clinician).get(
        reverse("kpis:audit-csv", args=["hillside"]), {"from": "2025-12-31", "to": "2025-01-01"}
    )

    assert response.status_code == 400
    assert "after it ends" in response.content.decode()


# --- query budgets --------------------------------------------------------------------------


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, QUERY).status_code == 200
    return len(captured)


def _add_episodes(clinic: Any, count: int) -> None:
    """Episodes with the records the KPIs read: a scan each, some assessed."""
    for n in range(count):
        patient = fls_patient(clinic)
        fracture = dt.date(2025, 1, 5) + dt.timedelta(days=10 * n)
        fls_episode(
            patient,
            fracture_date=fracture,
            site=("wrist", "vertebral", "hip")[n % 3],
            assessed_on=fracture + dt.timedelta(days=7) if n % 2 else None,
        )
        dxa_scan(patient, fracture + dt.timedelta(days=20))


@pytest.mark.parametrize(
    ("name", "args", "budget"),
    [
        ("kpis:page", ["hillside"], PAGE_QUERIES),
        ("kpis:drill-down", ["hillside", "iof-2", "denominator"], DRILL_DOWN_QUERIES),
        ("kpis:completeness", ["hillside", "fls_assessment"], DRILL_DOWN_QUERIES),
    ],
    ids=["page", "drill-down", "completeness"],
)
def test_the_query_count_does_not_grow_with_the_episodes(
    name, args, budget, clinic, clinician, client_for, django_assert_num_queries
):
    client = client_for(clinician)
    url = reverse(name, args=args)
    _add_episodes(clinic, 3)
    with_3 = _queries(client, url)
    _add_episodes(clinic, 27)

    with django_assert_num_queries(budget):
        assert client.get(url, QUERY).status_code == 200
    assert with_3 == budget
