"""Lab values: a panel of tests on one sample date, each typed in a unit of its test (the clinic's
unit first), stored in the unit the engine reads with what was typed kept beside it; unusual
values confirmed, hard limits refused, "Save and log another" on the same date; correcting one
value; creatinine clearance into the risk factors."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse

from monitoring import labs
from monitoring.lab_tests import LAB_KIND_BY_CODE, LAB_KINDS, conversion_rules, lab_number
from monitoring.models import ClinicLabUnit, LabResult
from patients.models import RiskProfile
from tests import factories
from tests.patients.conftest import field_error_html, input_tag
from therapy.engine import limits as engine_limits

LONDON_NOON = dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC)


def _url(patient, **query: str) -> str:
    url = reverse("monitoring:lab-create", args=[patient.pk])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else url


def _panel(date: str = "2025-01-10", **tests: tuple[str, str] | str) -> dict[str, str]:
    """A panel POST: `ctx=("450", "ng/L")`, or `ctx="0.45"` in the stored unit."""
    data = {"date": date}
    for code, typed in tests.items():
        value, unit = typed if isinstance(typed, tuple) else (typed, "")
        data[f"{code}_value"] = value
        data[f"{code}_unit"] = unit or LAB_KIND_BY_CODE[code].stored_unit.symbol
    return data


def _form_html(html: str) -> str:
    start = html.index('<form method="post" class="col-xl-9 lab-entry"')
    return html[start : html.index("</form>", start)]


# --- the units --------------------------------------------------------------------------------

STORED = [
    # (test, typed value, typed unit, stored value, stored unit, kept as entered)
    pytest.param("ctx", "0.45", "ng/mL", 0.45, "ng/mL", "", id="ctx-ng-ml"),
    pytest.param("ctx", "0.45", "µg/L", 0.45, "ng/mL", "0.45 µg/L", id="ctx-ug-l"),
    pytest.param("ctx", "450", "ng/L", 0.45, "ng/mL", "450 ng/L", id="ctx-ng-l"),
    pytest.param("p1np", "40", "µg/L", 40.0, "µg/L", "", id="p1np-ug-l"),
    pytest.param("p1np", "40", "ng/mL", 40.0, "µg/L", "40 ng/mL", id="p1np-ng-ml"),
    pytest.param("vitamin_d_25oh", "30", "ng/mL", 30.0, "ng/mL", "", id="vitamin-d-ng-ml"),
    pytest.param(
        "vitamin_d_25oh", "75", "nmol/L", 30.05, "ng/mL", "75 nmol/L", id="vitamin-d-nmol-l"
    ),
    pytest.param(
        "vitamin_d_25oh", "74.88", "nmol/L", 30.0, "ng/mL", "74.88 nmol/L", id="vitamin-d-exact"
    ),
    pytest.param("calcium", "2.31", "mmol/L", 2.31, "mmol/L", "", id="calcium-mmol-l"),
    pytest.param("calcium", "9.6", "mg/dL", 2.395, "mmol/L", "9.6 mg/dL", id="calcium-mg-dl"),
]


@pytest.mark.parametrize(("test", "value", "unit", "stored", "stored_unit", "entered"), STORED)
def test_a_value_is_stored_in_the_engines_unit_and_kept_as_typed(
    test, value, unit, stored, stored_unit, entered, patient, nurse, client_for
):
    response = client_for(nurse).post(_url(patient), _panel(**{test: (value, unit)}))

    assert response.status_code == 302
    assert response["Location"].endswith("#labs")
    lab = patient.lab_results.get()
    assert (lab.test, lab.value, lab.unit, lab.date) == (
        test,
        stored,
        stored_unit,
        dt.date(2025, 1, 10),
    )
    assert lab.entered_text == entered


@pytest.mark.parametrize(
    ("nmol_l", "ng_ml"), [(75, 30.05), (74.88, 30.0), (50, 20.03), (0, 0.0), (124.8, 50.0)]
)
def test_25_oh_vitamin_d_in_nmol_l_is_divided_by_2_496_to_the_hundredth(nmol_l, ng_ml):
    assert LAB_KIND_BY_CODE["vitamin_d_25oh"].to_stored(nmol_l, "nmol/L") == ng_ml


def test_the_conversion_factors_are_exact_and_vitamin_d_uses_the_engines():
    vitamin_d = LAB_KIND_BY_CODE["vitamin_d_25oh"].unit("nmol/L")
    calcium = LAB_KIND_BY_CODE["calcium"].unit("mg/dL")

    assert vitamin_d.per_canonical == engine_limits.VITAMIN_D_NMOL_L_PER_NG_ML == 2.496
    assert calcium.per_canonical == 4.008
    assert LAB_KIND_BY_CODE["ctx"].unit("ng/L").per_canonical == 1000
    assert conversion_rules() == [
        "CTX: ng/L ÷ 1000 = ng/mL",
        "25-OH vitamin D: nmol/L ÷ 2.496 = ng/mL",
        "Calcium: mg/dL ÷ 4.008 = mmol/L",
    ]


@pytest.mark.parametrize("kind", LAB_KINDS, ids=lambda k: k.code)
def test_each_units_usual_range_is_the_stored_units_range_in_round_numbers(kind):
    low, high = kind.stored_unit.plausible
    for unit in kind.units:
        unit_low, unit_high = unit.plausible
        assert unit_low / unit.per_canonical == pytest.approx(low, rel=0.01), unit.symbol
        assert unit_high / unit.per_canonical == pytest.approx(high, rel=0.01), unit.symbol


@pytest.mark.parametrize(
    ("value", "text"),
    [(30.05, "30.05"), (0.45, "0.45"), (10000.0, "10000"), (2.395, "2.395"), (1e-9, "0")],
)
def test_a_lab_value_is_written_as_a_person_writes_it(value, text):
    assert lab_number(value) == text


def test_the_tests_have_readable_names_everywhere(patient):
    lab = LabResult.objects.create(
        patient=patient, date=dt.date(2025, 1, 10), test="vitamin_d_25oh", value=30.05
    )
    lab.unit, lab.entered_value, lab.entered_unit = "ng/mL", 75, "nmol/L"

    assert [label for _, label in LabResult._meta.get_field("test").choices] == [
        "CTX",
        "P1NP",
        "25-OH vitamin D",
        "Calcium",
    ]
    assert str(lab) == "25-OH vitamin D 30.05 ng/mL on 2025-01-10"
    assert (lab.value_text, lab.entered_text) == ("30.05 ng/mL", "75 nmol/L")


def test_a_value_as_entered_is_kept_with_its_unit_or_not_at_all(patient):
    lab = LabResult(
        patient=patient, date=dt.date(2025, 1, 10), test="ctx", value=0.4, entered_value=400
    )

    with pytest.raises(ValidationError, match="together with its unit"):
        lab.full_clean()


# --- the panel --------------------------------------------------------------------------------


def test_one_sample_several_tests_saved_together_and_empty_tests_skipped(
    patient, nurse, client_for
):
    response = client_for(nurse).post(
        _url(patient),
        _panel(ctx="0.31", vitamin_d_25oh=("75", "nmol/L"), calcium="2.4")
        | {"p1np_value": "", "p1np_unit": "µg/L"},
        follow=True,
    )

    rows = list(patient.lab_results.values_list("test", "value", "date"))
    assert sorted(rows) == [
        ("calcium", 2.4, dt.date(2025, 1, 10)),
        ("ctx", 0.31, dt.date(2025, 1, 10)),
        ("vitamin_d_25oh", 30.05, dt.date(2025, 1, 10)),
    ]
    assert (
        "CTX 0.31 ng/mL, 25-OH vitamin D 30.05 ng/mL (entered as 75 nmol/L), Calcium 2.4 mmol/L "
        f"on 2025-01-10 recorded for {patient.name}."
    ) in response.content.decode()


def test_every_value_has_its_author_in_the_audit_trail(patient, nurse, client_for):
    client_for(nurse).post(_url(patient), _panel(ctx="0.31", p1np="40"))

    assert {lab.history.get().history_user for lab in patient.lab_results.all()} == {nurse}


def test_an_empty_panel_is_refused(patient, nurse, client_for):
    response = client_for(nurse).post(_url(patient), _panel())

    assert response.status_code == 400
    assert "Enter at least one value." in response.content.decode()


def test_one_refused_value_saves_none_and_keeps_everything_typed(patient, nurse, client_for):
    LabResult.objects.create(patient=patient, date=dt.date(2025, 1, 10), test="ctx", value=0.3)

    response = client_for(nurse).post(
        _url(patient), _panel(ctx="0.4", vitamin_d_25oh=("75", "nmol/L"))
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "already has a value on this date; edit it instead" in field_error_html(
        html, "ctx_value"
    )
    assert 'value="75"' in input_tag(html, "vitamin_d_25oh_value")
    assert '<option value="nmol/L" selected' in input_tag(html, "vitamin_d_25oh_unit")
    assert 'value="2025-01-10"' in input_tag(html, "date")
    assert list(patient.lab_results.values_list("test", flat=True)) == ["ctx"]


REFUSALS = [
    pytest.param(
        _panel(vitamin_d_25oh=("30000", "nmol/L")),
        "vitamin_d_25oh_value",
        "25-OH vitamin D must be between 0 and 24960 nmol/L.",
        id="beyond-the-hard-limit-in-the-typed-unit",
    ),
    pytest.param(
        _panel(ctx="-1"),
        "ctx_value",
        "CTX must be between 0 and 10000 ng/mL.",
        id="negative",
    ),
    pytest.param(_panel(ctx="abc"), "ctx_value", "Enter a number.", id="not-a-number"),
    pytest.param(_panel(ctx="0,45"), "ctx_value", "Enter a number.", id="decimal-comma"),
    pytest.param(
        _panel("", ctx="0.4"), "date", "Enter the date the sample was taken.", id="no-date"
    ),
    pytest.param(
        _panel("2099-01-01", p1np="40"), "date", "This date is in the future", id="future-date"
    ),
    pytest.param(
        _panel("1940-01-01", p1np="40"),
        "date",
        "before the patient&#x27;s birth date (1948-04-02)",
        id="before-birth",
    ),
    pytest.param(
        _panel(calcium=("2.4", "nmol/L")), "calcium_unit", "Select a valid choice", id="bad-unit"
    ),
    pytest.param(
        _panel(creatinine_clearance="300"),
        "creatinine_clearance_value",
        "Creatinine clearance must be between 0 and 250 mL/min.",
        id="creatinine-clearance",
    ),
]


@pytest.mark.parametrize(("data", "field", "message"), REFUSALS)
def test_a_refused_value_says_why_beside_its_field_and_nothing_is_saved(
    data, field, message, patient, nurse, client_for
):
    response = client_for(nurse).post(_url(patient), data)

    assert response.status_code == 400
    assert message in field_error_html(response.content.decode(), field)
    assert not patient.lab_results.exists()
    assert RiskProfile.objects.get(patient=patient).creatinine_clearance_ml_min is None


def test_a_second_value_of_a_test_on_the_same_day_is_refused_and_another_test_is_not(
    patient, nurse, client_for
):
    LabResult.objects.create(patient=patient, date=dt.date(2025, 1, 10), test="ctx", value=0.3)
    client = client_for(nurse)

    same = client.post(_url(patient), _panel(ctx="0.4"))
    other = client.post(_url(patient), _panel(p1np="40"))

    assert "edit it instead" in field_error_html(same.content.decode(), "ctx_value")
    assert other.status_code == 302
    assert patient.lab_results.count() == 2


# --- an unusual value is confirmed ------------------------------------------------------------

UNUSUAL = _panel(ctx="0.4", vitamin_d_25oh=("95", "ng/mL"))


def test_an_unusual_value_is_asked_about_beside_it_and_nothing_is_saved_yet(
    patient, nurse, client_for
):
    response = client_for(nurse).post(_url(patient), UNUSUAL)

    html = response.content.decode()
    assert response.status_code == 400
    assert (
        "95 ng/mL is outside the usual range of 25-OH vitamin D (3–80 ng/mL). Typed in nmol/L? "
        "Then choose nmol/L: it would be 38.06 ng/mL."
    ) in field_error_html(html, "vitamin_d_25oh_value")
    confirm = input_tag(html, "vitamin_d_25oh_confirm")
    assert 'type="checkbox"' in confirm and "autofocus" in confirm
    assert 'name="ctx_confirm"' not in html
    assert 'value="95"' in input_tag(html, "vitamin_d_25oh_value")
    assert 'value="0.4"' in input_tag(html, "ctx_value")
    assert not patient.lab_results.exists()


def test_no_confirmation_box_is_shown_before_there_is_something_to_confirm(
    patient, nurse, client_for
):
    html = client_for(nurse).get(_url(patient)).content.decode()

    assert "_confirm" not in _form_html(html)


def test_ticking_the_box_saves_the_unusual_value_as_typed(patient, nurse, client_for):
    response = client_for(nurse).post(_url(patient), UNUSUAL | {"vitamin_d_25oh_confirm": "on"})

    assert response.status_code == 302
    assert patient.lab_results.get(test="vitamin_d_25oh").value == 95


def test_choosing_the_right_unit_saves_without_the_question(patient, nurse, client_for):
    response = client_for(nurse).post(_url(patient), UNUSUAL | {"vitamin_d_25oh_unit": "nmol/L"})

    assert response.status_code == 302
    lab = patient.lab_results.get(test="vitamin_d_25oh")
    assert (lab.value, lab.entered_text) == (38.06, "95 nmol/L")


@pytest.mark.parametrize(
    ("test", "typed", "unit", "hint"),
    [
        ("calcium", "9.6", "mmol/L", "Typed in mg/dL? Then choose mg/dL: it would be 2.395"),
        ("ctx", "450", "ng/mL", "Typed in ng/L? Then choose ng/L: it would be 0.45 ng/mL."),
        ("creatinine_clearance", "1.2", "mL/min", "(5–180 mL/min)."),
    ],
)
def test_a_value_typed_in_the_wrong_unit_is_caught_and_the_right_unit_named(
    test, typed, unit, hint, patient, nurse, client_for
):
    response = client_for(nurse).post(_url(patient), _panel(**{test: (typed, unit)}))

    assert hint in field_error_html(response.content.decode(), f"{test}_value")


# --- the form ---------------------------------------------------------------------------------


@time_machine.travel(LONDON_NOON, tick=False)
def test_the_sample_date_defaults_to_today_and_has_the_focus(patient, nurse, client_for):
    html = client_for(nurse).get(_url(patient)).content.decode()

    date = input_tag(html, "date")
    assert 'value="2025-03-14"' in date
    assert "autofocus" in date
    assert html.count("autofocus") == 1


def test_save_and_log_another_opens_an_empty_panel_on_the_same_date(patient, nurse, client_for):
    client = client_for(nurse)

    response = client.post(_url(patient), _panel(ctx="0.4") | {"save_and_next": "1"})
    html = client.get(response["Location"]).content.decode()

    assert response["Location"] == _url(patient, date="2025-01-10")
    assert 'value="2025-01-10"' in input_tag(html, "date")
    assert " value=" not in input_tag(html, "ctx_value")


def test_a_date_carried_over_that_is_not_a_date_falls_back_to_today(patient, nurse, client_for):
    html = client_for(nurse).get(_url(patient, date="yesterday")).content.decode()

    assert "yesterday" not in input_tag(html, "date")


def test_each_test_is_a_labelled_group_in_the_clinics_units(patient, nurse, client_for):
    ClinicLabUnit.objects.create(clinic=patient.clinic, test="vitamin_d_25oh", unit="nmol/L")

    html = _form_html(client_for(nurse).get(_url(patient)).content.decode())

    for label in ("CTX", "P1NP", "25-OH vitamin D", "Calcium", "Creatinine clearance"):
        assert f"<legend>{label}</legend>" in html
    assert (
        '<option value="nmol/L" selected data-per-canonical="2.496" data-low="7.5" '
        'data-high="200">nmol/L</option>'
    ) in input_tag(html, "vitamin_d_25oh_unit")
    assert '<option value="ng/mL"' in input_tag(html, "vitamin_d_25oh_unit")
    assert '<option value="mmol/L"' in input_tag(html, "calcium_unit")
    assert re.findall(r'name="([a-z0-9_]+_value)"', html) == [
        f"{kind.code}_value" for kind in LAB_KINDS
    ]


def test_a_value_is_typed_in_a_text_box_so_a_browser_never_drops_what_it_cannot_read(
    patient, nurse, client_for
):
    value = input_tag(client_for(nurse).get(_url(patient)).content.decode(), "ctx_value")

    assert 'type="text"' in value and 'inputmode="decimal"' in value


def test_the_page_says_how_values_are_converted_and_where_to_change_the_units(
    patient, nurse, clinician, client_for
):
    nurse_page = client_for(nurse).get(_url(patient)).content.decode()
    clinician_page = client_for(clinician).get(_url(patient)).content.decode()

    assert "25-OH vitamin D: nmol/L ÷ 2.496 = ng/mL" in nurse_page
    assert "Calcium: mg/dL ÷ 4.008 = mmol/L" in nurse_page
    assert "it replaces the current value (mL/min) in the patient's risk factors" in nurse_page
    settings = reverse("monitoring:measurement-settings", args=[patient.clinic.slug])
    assert settings not in nurse_page
    assert f'href="{settings}"' in clinician_page


def test_the_conversion_is_written_beside_a_value_typed_in_another_unit(patient, nurse, client_for):
    response = client_for(nurse).post(
        _url(patient), _panel(vitamin_d_25oh=("75", "nmol/L"), p1np="40") | {"date": "x"}
    )

    html = response.content.decode()
    assert re.search(
        r'<span class="lab-conversion small" id="vitamin_d_25oh-conversion" '
        r'data-for="id_vitamin_d_25oh_value id_vitamin_d_25oh_unit" aria-live="polite" '
        r'data-stored-unit="ng/mL" data-decimals="2">= 30.05 ng/mL stored</span>',
        html,
    )
    assert 'aria-describedby="vitamin_d_25oh-conversion"' in input_tag(html, "vitamin_d_25oh_value")
    assert re.search(r'id="p1np-conversion"[^>]*></span>', html)


def test_the_conversion_script_is_a_static_file_and_the_page_has_no_inline_script(
    patient, nurse, client_for
):
    html = client_for(nurse).get(_url(patient)).content.decode()

    scripts = re.findall(r"<script\b[^>]*>", html)
    assert '<script src="/static/js/lab-conversion.js" defer>' in scripts
    assert all("src=" in tag for tag in scripts)
    assert "style=" not in _form_html(html)


# --- creatinine clearance ---------------------------------------------------------------------


def test_creatinine_clearance_becomes_the_current_value_of_the_risk_factors_with_its_author(
    patient, nurse, client_for
):
    response = client_for(nurse).post(_url(patient), _panel("", creatinine_clearance="42"))

    assert response.status_code == 302
    assert response["Location"].endswith("#risk-factors")
    profile = RiskProfile.objects.get(patient=patient)
    assert profile.creatinine_clearance_ml_min == 42
    assert profile.history.latest().history_user == nurse
    assert not patient.lab_results.exists()


def test_creatinine_clearance_and_dated_tests_are_saved_together(patient, nurse, client_for):
    RiskProfile.objects.filter(patient=patient).delete()

    response = client_for(nurse).post(
        _url(patient), _panel(ctx="0.4", creatinine_clearance="55"), follow=True
    )

    assert RiskProfile.objects.get(patient=patient).creatinine_clearance_ml_min == 55
    assert patient.lab_results.get().test == "ctx"
    assert "creatinine clearance 55 mL/min is now the current value in the risk factors" in (
        response.content.decode()
    )


# --- correcting one value ---------------------------------------------------------------------


@pytest.fixture
def vitamin_d(patient) -> LabResult:
    return LabResult.objects.create(
        patient=patient,
        date=dt.date(2025, 1, 10),
        test="vitamin_d_25oh",
        value=30.05,
        unit="ng/mL",
        entered_value=75,
        entered_unit="nmol/L",
    )


def _edit_url(lab: LabResult) -> str:
    return reverse("monitoring:lab-update", args=[lab.patient_id, lab.pk])


def test_a_value_is_corrected_as_it_was_typed(vitamin_d, clinician, client_for):
    html = client_for(clinician).get(_edit_url(vitamin_d)).content.decode()

    assert 'value="75"' in input_tag(html, "value")
    assert '<option value="nmol/L" selected data-per-canonical="2.496"' in input_tag(html, "unit")
    assert 'value="creatinine_clearance"' not in input_tag(html, "test")
    assert 'data-stored-unit="ng/mL"' in input_tag(html, "test")


def test_a_correction_in_another_unit_is_stored_converted(vitamin_d, clinician, client_for):
    response = client_for(clinician).post(
        _edit_url(vitamin_d),
        {"date": "2025-01-10", "test": "vitamin_d_25oh", "value": "25", "unit": "ng/mL"},
    )

    assert response.status_code == 302
    vitamin_d.refresh_from_db()
    assert (vitamin_d.value, vitamin_d.entered_value, vitamin_d.entered_unit) == (25, None, "")
    assert vitamin_d.history.latest().history_user.username == "clinician"


def test_an_unusual_correction_is_asked_about(vitamin_d, clinician, client_for):
    client = client_for(clinician)
    data = {"date": "2025-01-10", "test": "vitamin_d_25oh", "value": "250", "unit": "nmol/L"}

    asked = client.post(_edit_url(vitamin_d), data)
    confirmed = client.post(_edit_url(vitamin_d), data | {"confirm": "on"})

    assert "outside the usual range" in field_error_html(asked.content.decode(), "value")
    assert 'name="confirm"' in asked.content.decode()
    assert confirmed.status_code == 302
    vitamin_d.refresh_from_db()
    assert vitamin_d.entered_text == "250 nmol/L"


def test_a_unit_of_another_test_is_refused_beside_the_unit(vitamin_d, clinician, client_for):
    response = client_for(clinician).post(
        _edit_url(vitamin_d),
        {"date": "2025-01-10", "test": "vitamin_d_25oh", "value": "2.4", "unit": "mmol/L"},
    )

    assert "25-OH vitamin D is recorded in ng/mL or nmol/L." in field_error_html(
        response.content.decode(), "unit"
    )


# --- who may, and what it costs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("clinician", 200), ("nurse", 200), ("clinic_admin", 403), ("outsider", 404)],
)
def test_clinicians_and_nurses_log_labs_a_clinic_admin_may_not(
    role, status, patient, request, client_for
):
    client = client_for(request.getfixturevalue(role))

    assert client.get(_url(patient)).status_code == status
    if status != 200:
        assert client.post(_url(patient), _panel(creatinine_clearance="40")).status_code == status
        assert RiskProfile.objects.get(patient=patient).creatinine_clearance_ml_min is None
        assert not patient.lab_results.exists()


#: The panel: session, user, patient with role, the access-log row (issue 11), the clinic's
#: units. The session is read, and not stored again on these requests
#: (config.session.SessionIdleMiddleware renews it at most once a minute).
PANEL_PAGE = 6

#: POST a panel (one test, three tests) or a creatinine clearance alone: the request's own 7
#: (session, user, patient, the access-log row, the clinic's units, savepoints; the session is
#: read, not stored again), then per test one
#: check before anything is written and the save's seven (validation, insert, history).
SAVES = [
    pytest.param(_panel("2024-02-02", ctx="0.3"), 15, id="one-test"),
    pytest.param(
        _panel("2024-02-02", ctx="0.3", p1np="40", vitamin_d_25oh=("75", "nmol/L")),
        31,
        id="three-tests",
    ),
    pytest.param(_panel("", creatinine_clearance="40"), 13, id="creatinine-clearance"),
]


@pytest.mark.parametrize("years", [2, 20])
def test_the_panel_costs_the_same_queries_for_2_or_20_years(
    years, patient, nurse, client_for, django_assert_num_queries
):
    factories.add_long_history(patient, years=years)
    client = client_for(nurse)

    with django_assert_num_queries(PANEL_PAGE):
        response = client.get(_url(patient))

    assert response.status_code == 200


@pytest.mark.parametrize("years", [2, 20])
@pytest.mark.parametrize(("data", "queries"), SAVES)
def test_saving_a_panel_costs_the_same_queries_for_2_or_20_years(
    data, queries, years, patient, nurse, client_for, django_assert_num_queries
):
    factories.add_long_history(patient, years=years)
    client = client_for(nurse)

    with django_assert_num_queries(queries):
        response = client.post(_url(patient), data)

    assert response.status_code == 302


# --- the shapes the patient page and the summary show -----------------------------------------


def test_the_lab_table_shows_the_stored_value_and_what_was_typed(patient, nurse, client_for):
    client_for(nurse).post(_url(patient), _panel(ctx="0.31", vitamin_d_25oh=("75", "nmol/L")))

    html = render_to_string(
        "monitoring/_lab_table.html",
        {"lab_results": patient.lab_results.all(), "patient": patient, "can": {}},
    )

    assert "<td>25-OH vitamin D</td><td>30.05 ng/mL</td><td>75 nmol/L</td>" in html
    assert "<td>CTX</td><td>0.31 ng/mL</td><td>—</td>" in html


# --- two people saving at once ----------------------------------------------------------------


def _saved_meanwhile(patient, test: str):
    """Another request's value of `test` on 2025-01-10, saved between the panel's checks and
    its save (after the usual-range question, the last step before the transaction)."""
    ask = labs._ask_about_unusual

    def ask_then_race(checked):
        ask(checked)
        LabResult.objects.create(
            patient=patient, date=dt.date(2025, 1, 10), test=test, value=0.2, unit="ng/mL"
        )

    return ask_then_race


@pytest.mark.parametrize("racing_test", ["ctx", "vitamin_d_25oh"])
def test_a_value_saved_meanwhile_refuses_the_whole_panel_and_overwrites_nothing(
    racing_test, patient, nurse, client_for, monkeypatch
):
    monkeypatch.setattr(
        "monitoring.labs._ask_about_unusual", _saved_meanwhile(patient, racing_test)
    )

    response = client_for(nurse).post(
        _url(patient), _panel(ctx="0.4", vitamin_d_25oh=("75", "nmol/L"))
    )

    assert response.status_code == 400
    assert "edit it instead" in field_error_html(response.content.decode(), f"{racing_test}_value")
    assert list(patient.lab_results.values_list("test", "value")) == [(racing_test, 0.2)]
