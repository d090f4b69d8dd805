"""Fast DXA entry: the keyboard layout, save-and-next, the same-day refusal and the T-score
direction question (asked against the previous scan on the same scanner, both ways)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse

from monitoring.dxa import dxa_direction_conflicts, dxa_previous_same_scanner
from monitoring.models import DxaScan
from tests import factories
from tests.patients.conftest import field_error_html, input_tag
from therapy.engine.case import DxaSite

SITES = ("lumbar_spine", "femoral_neck", "total_hip")
TAB_ORDER = [
    "date",
    "scanner",
    *(f"{site}_{part}" for site in SITES for part in ("bmd_g_cm2", "t_score", "lsc_pct")),
]


def _create_url(patient) -> str:
    return reverse("monitoring:dxa-create", args=[patient.pk])


def _form_html(html: str) -> str:
    """The entry form of the page (not the navigation's sign-out form)."""
    start = html.index('<form method="post" class="col-lg-9 dxa-entry"')
    return html[start : html.index("</form>", start)]


def _scan(patient, day: str, scanner: str = "Hologic A", **values: float) -> DxaScan:
    return DxaScan.objects.create(
        patient=patient, date=dt.date.fromisoformat(day), scanner=scanner, **values
    )


# --- the keyboard layout ----------------------------------------------------------------------


def test_the_form_tabs_from_date_and_scanner_through_each_site_bmd_t_score_and_lsc(
    patient, nurse, client_for
):
    html = _form_html(client_for(nurse).get(_create_url(patient)).content.decode())

    names = re.findall(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"', html)

    assert [n for n in names if n != "csrfmiddlewaretoken"] == TAB_ORDER
    assert "tabindex" not in html  # document order is the tab order


def test_the_date_has_the_focus_when_the_form_opens(patient, nurse, client_for):
    html = client_for(nurse).get(_create_url(patient)).content.decode()

    assert "autofocus" in input_tag(html, "date")
    assert html.count("autofocus") == 1


def test_the_date_is_typed_as_yyyy_mm_dd_in_one_box_so_one_tab_reaches_the_scanner(
    patient, nurse, client_for
):
    date = input_tag(client_for(nurse).get(_create_url(patient)).content.decode(), "date")

    assert 'type="text"' in date
    assert 'placeholder="YYYY-MM-DD"' in date
    assert 'inputmode="numeric"' in date


def test_each_site_is_a_labelled_group_of_bmd_t_score_and_lsc(patient, nurse, client_for):
    html = _form_html(client_for(nurse).get(_create_url(patient)).content.decode())

    for legend in ("Lumbar spine", "Femoral neck", "Total hip"):
        assert f"<legend>{legend}</legend>" in html
    assert 'inputmode="decimal"' in input_tag(html, "total_hip_bmd_g_cm2")


def test_enter_saves_and_starts_the_next_scan_because_that_is_the_first_button(
    patient, nurse, client_for
):
    html = _form_html(client_for(nurse).get(_create_url(patient)).content.decode())

    first_button = re.search(r"<button\b[^>]*>", html).group(0)

    assert 'name="save_and_next"' in first_button
    assert 'type="submit"' in first_button


def test_save_and_next_opens_an_empty_form_for_the_same_patient_naming_what_was_saved(
    patient, nurse, client_for
):
    client = client_for(nurse)

    response = client.post(
        _create_url(patient),
        {
            "date": "2024-02-02",
            "scanner": "Hologic A",
            "lumbar_spine_bmd_g_cm2": "0.812",
            "lumbar_spine_t_score": "-2.1",
            "total_hip_t_score": "-1.9",
            "save_and_next": "1",
        },
        follow=True,
    )

    assert response.redirect_chain == [(_create_url(patient), 302)]
    html = response.content.decode()
    assert (
        f"DXA scan saved for {patient.name}: 2024-02-02 on Hologic A, lumbar spine BMD "
        "0.812 g/cm² T-score -2.1; total hip T-score -1.9."
    ) in html
    assert "value=" not in input_tag(html, "lumbar_spine_bmd_g_cm2")
    assert "value=" not in input_tag(html, "date")
    assert patient.dxa_scans.get().lumbar_spine_bmd_g_cm2 == 0.812


def test_the_second_button_saves_and_returns_to_the_patients_dxa_section(
    patient, clinician, client_for
):
    response = client_for(clinician).post(
        _create_url(patient), {"date": "2024-02-02", "femoral_neck_t_score": "-2.5"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk]) + "#dxa"


def test_the_scan_is_saved_with_its_author_in_the_audit_trail(patient, nurse, client_for):
    client_for(nurse).post(
        _create_url(patient), {"date": "2024-02-02", "lumbar_spine_t_score": "-2"}
    )

    assert patient.dxa_scans.get().history.get().history_user == nurse


@pytest.mark.parametrize(
    ("day", "status", "scans"), [("2022-03-03", 400, 1), ("2022-03-04", 302, 2)]
)
def test_a_scan_on_a_date_already_recorded_is_refused_beside_the_date_and_another_date_is_not(
    day, status, scans, patient, nurse, client_for
):
    _scan(patient, "2022-03-03", lumbar_spine_t_score=-2.0)

    response = client_for(nurse).post(
        _create_url(patient), {"date": day, "lumbar_spine_t_score": "-2.4"}
    )

    assert response.status_code == status
    assert patient.dxa_scans.count() == scans
    if status == 400:
        assert "already recorded for this patient; edit it instead" in field_error_html(
            response.content.decode(), "date"
        )


# --- the T-score direction: the pure helper ---------------------------------------------------

DIRECTIONS = [
    # (earlier (bmd, t), later (bmd, t), contradicts?)
    pytest.param((0.800, -2.5), (0.820, -2.7), True, id="bmd-up-t-down"),
    pytest.param((0.800, -2.5), (0.780, -2.3), True, id="bmd-down-t-up"),
    pytest.param((0.800, -2.5), (0.820, -2.3), False, id="both-up"),
    pytest.param((0.800, -2.5), (0.780, -2.7), False, id="both-down"),
    pytest.param((0.800, -2.5), (0.800, -2.7), False, id="bmd-unchanged"),
    pytest.param((0.800, -2.5), (0.820, -2.5), False, id="t-unchanged"),
    pytest.param((0.800, None), (0.820, -2.7), False, id="earlier-t-missing"),
    pytest.param((None, -2.5), (0.820, -2.7), False, id="earlier-bmd-missing"),
    pytest.param((0.800, -2.5), (None, -2.7), False, id="later-bmd-missing"),
]


@pytest.mark.parametrize(("earlier", "later", "contradicts"), DIRECTIONS)
def test_a_t_score_contradicts_the_bmd_only_when_they_move_in_opposite_directions(
    earlier, later, contradicts
):
    def scan(values: tuple[Any, Any]) -> DxaScan:
        return DxaScan(total_hip_bmd_g_cm2=values[0], total_hip_t_score=values[1])

    result = dxa_direction_conflicts(earlier=scan(earlier), later=scan(later))

    assert result == ([DxaSite.TOTAL_HIP] if contradicts else [])


def test_every_contradicting_site_is_named_in_site_order():
    earlier = DxaScan(
        lumbar_spine_bmd_g_cm2=0.8,
        lumbar_spine_t_score=-2.5,
        femoral_neck_bmd_g_cm2=0.6,
        femoral_neck_t_score=-2.2,
        total_hip_bmd_g_cm2=0.7,
        total_hip_t_score=-2.0,
    )
    later = DxaScan(
        lumbar_spine_bmd_g_cm2=0.7,
        lumbar_spine_t_score=-2.0,
        femoral_neck_bmd_g_cm2=0.65,
        femoral_neck_t_score=-2.0,
        total_hip_bmd_g_cm2=0.75,
        total_hip_t_score=-2.4,
    )

    assert dxa_direction_conflicts(earlier=earlier, later=later) == [
        DxaSite.LUMBAR_SPINE,
        DxaSite.TOTAL_HIP,
    ]


def test_the_previous_scan_is_the_latest_earlier_one_on_the_same_scanner(patient):
    _scan(patient, "2018-01-01", "Hologic A", lumbar_spine_t_score=-2)
    wanted = _scan(patient, "2019-01-01", "hologic a", lumbar_spine_t_score=-2)
    _scan(patient, "2020-01-01", "Lunar iDXA", lumbar_spine_t_score=-2)
    _scan(patient, "2023-01-01", "Hologic A", lumbar_spine_t_score=-2)  # later: not previous
    new = DxaScan(patient=patient, date=dt.date(2021, 1, 1), scanner=" HOLOGIC A")

    assert dxa_previous_same_scanner(scan=new) == wanted


def test_a_scan_without_a_scanner_has_no_previous_scan_to_compare(patient):
    _scan(patient, "2019-01-01", "", lumbar_spine_t_score=-2)

    assert (
        dxa_previous_same_scanner(scan=DxaScan(patient=patient, date=dt.date(2021, 1, 1))) is None
    )


# --- the T-score direction: through the page --------------------------------------------------

CONTRADICTING = {
    "date": "2023-01-10",
    "scanner": "Hologic A",
    "lumbar_spine_bmd_g_cm2": "0.830",
    "lumbar_spine_t_score": "-2.9",
    "total_hip_bmd_g_cm2": "0.700",
    "total_hip_t_score": "-2.0",
}


@pytest.fixture
def previous_scan(patient) -> DxaScan:
    return _scan(
        patient,
        "2022-01-10",
        "Hologic A",
        lumbar_spine_bmd_g_cm2=0.800,
        lumbar_spine_t_score=-2.6,
        total_hip_bmd_g_cm2=0.700,
        total_hip_t_score=-2.0,
    )


def test_a_t_score_against_the_bmd_direction_is_not_saved_but_asked_about(
    previous_scan, patient, nurse, client_for
):
    response = client_for(nurse).post(_create_url(patient), CONTRADICTING)

    assert response.status_code == 400
    html = response.content.decode()
    assert (
        "BMD and T-score moved in opposite directions at lumbar spine since the scan of "
        "2022-01-10 on the same scanner (Hologic A)."
    ) in html
    assert 'name="confirm_values"' in input_tag(html, "confirm_values")
    assert "autofocus" in input_tag(html, "confirm_values")
    assert "autofocus" not in input_tag(html, "date")
    assert "Check the values" in field_error_html(html, "confirm_values")
    assert 'value="0.830"' in input_tag(html, "lumbar_spine_bmd_g_cm2")
    assert list(patient.dxa_scans.all()) == [previous_scan]


def test_the_confirmation_box_is_shown_only_when_there_is_something_to_confirm(
    patient, nurse, client_for
):
    html = client_for(nurse).get(_create_url(patient)).content.decode()

    assert 'name="confirm_values"' not in html


def test_ticking_i_confirm_these_values_saves_the_scan_as_typed(
    previous_scan, patient, nurse, client_for
):
    response = client_for(nurse).post(
        _create_url(patient), {**CONTRADICTING, "confirm_values": "on"}
    )

    assert response.status_code == 302
    saved = patient.dxa_scans.get(date=dt.date(2023, 1, 10))
    assert (saved.lumbar_spine_bmd_g_cm2, saved.lumbar_spine_t_score) == (0.83, -2.9)


def test_correcting_the_t_score_saves_without_the_question(
    previous_scan, patient, nurse, client_for
):
    response = client_for(nurse).post(
        _create_url(patient), {**CONTRADICTING, "lumbar_spine_t_score": "-2.4"}
    )

    assert response.status_code == 302
    assert patient.dxa_scans.count() == 2


@pytest.mark.parametrize("scanner", ["Lunar iDXA", ""], ids=["another-scanner", "no-scanner"])
def test_a_scan_on_another_scanner_or_none_is_not_compared(
    scanner, previous_scan, patient, nurse, client_for
):
    response = client_for(nurse).post(_create_url(patient), {**CONTRADICTING, "scanner": scanner})

    assert response.status_code == 302
    assert patient.dxa_scans.count() == 2


def test_a_scan_dated_before_every_scan_of_the_scanner_is_not_compared(
    previous_scan, patient, nurse, client_for
):
    response = client_for(nurse).post(_create_url(patient), {**CONTRADICTING, "date": "2021-06-01"})

    assert response.status_code == 302


def test_a_range_error_is_reported_before_the_direction_question(
    previous_scan, patient, nurse, client_for
):
    response = client_for(nurse).post(
        _create_url(patient), {**CONTRADICTING, "total_hip_bmd_g_cm2": "2.7"}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "BMD must be between 0.2 and 2.0 g/cm²." in field_error_html(html, "total_hip_bmd_g_cm2")
    assert "opposite directions" not in html


def test_editing_a_scan_is_checked_against_the_scan_before_it(
    previous_scan, patient, clinician, client_for
):
    later = _scan(
        patient, "2023-01-10", "Hologic A", lumbar_spine_bmd_g_cm2=0.82, lumbar_spine_t_score=-2.4
    )
    url = reverse("monitoring:dxa-update", args=[patient.pk, later.pk])
    client = client_for(clinician)

    refused = client.post(
        url, {**CONTRADICTING, "total_hip_bmd_g_cm2": "", "total_hip_t_score": ""}
    )
    accepted = client.post(
        url,
        {**CONTRADICTING, "lumbar_spine_t_score": "-2.3", "total_hip_bmd_g_cm2": ""},
    )

    assert refused.status_code == 400
    assert "opposite directions at lumbar spine" in refused.content.decode()
    assert accepted.status_code == 302
    later.refresh_from_db()
    assert later.lumbar_spine_t_score == -2.3


def test_the_edit_page_has_one_save_button_and_no_save_and_next(
    previous_scan, patient, nurse, client_for
):
    url = reverse("monitoring:dxa-update", args=[patient.pk, previous_scan.pk])

    html = _form_html(client_for(nurse).get(url).content.decode())

    assert "save_and_next" not in html
    assert 'value="0.8"' in input_tag(html, "lumbar_spine_bmd_g_cm2")


# --- who may enter scans ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("clinician", 200), ("nurse", 200), ("clinic_admin", 403), ("outsider", 404)],
)
def test_clinicians_and_nurses_enter_scans_a_clinic_admin_may_not_and_an_outsider_sees_nothing(
    role, status, patient, request, client_for
):
    client = client_for(request.getfixturevalue(role))

    assert client.get(_create_url(patient)).status_code == status
    if status != 200:
        assert client.post(_create_url(patient), CONTRADICTING).status_code == status
        assert not patient.dxa_scans.exists()


# --- query budget -----------------------------------------------------------------------------

#: Saving a scan with a scanner: the generic save (test_queries: 13, with the clinic's scanner
#: list and the access-log row) plus the previous-scan read. The session is read, and not stored
#: again on these requests (config.session.SessionIdleMiddleware renews it at most once a minute).
SAVE_WITH_SCANNER = 14


@pytest.mark.parametrize("years", [2, 20])
def test_saving_a_scan_with_a_scanner_costs_the_same_queries_for_2_or_20_years(
    years, patient, nurse, client_for, django_assert_num_queries
):
    factories.add_long_history(patient, years=years)
    client = client_for(nurse)

    with django_assert_num_queries(SAVE_WITH_SCANNER):
        response = client.post(
            _create_url(patient),
            {"date": "2024-02-02", "scanner": "Hologic A", "lumbar_spine_t_score": "-2"},
        )

    assert response.status_code == 302
