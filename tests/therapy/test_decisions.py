"""Recording a decision on the engine's recommendation — continue, a ranked option, another
drug, or no treatment now — with what it does to the courses (stop, start, first dose) in one
transaction; and replaying a stored decision."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Reminder
from monitoring.scan import reminders_scan
from monitoring.tasks import rescan_patient_task
from patients.models import Patient
from tests import factories
from tests.patients.conftest import field_error_html, input_tag
from therapy.case_records import patient_import_case
from therapy.engine import assessment_to_json, evaluate, parse_case
from therapy.exceptions import CoursesWouldOverlap
from therapy.models import DecisionKind, Dose, RecommendationRecord, TherapyCourse
from therapy.services import decision_record

CASES = Path(__file__).resolve().parents[1] / "cases"
TODAY = dt.date(2026, 11, 25)


def _import(clinic, name: str, mrn: str) -> Patient:
    case = parse_case(json.loads((CASES / name).read_text())["case"])
    return patient_import_case(clinic=clinic, case=case, mrn=mrn)


@pytest.fixture
def refractory_patient(clinic):
    # Vertebral fracture on alendronate: options zoledronic acid, then others; oral BPs avoided.
    return _import(clinic, "v03_vertebral_fracture_on_alendronate.json", "R-1")


@pytest.fixture
def mi_patient(clinic):
    return _import(clinic, "v04_recent_mi_blocks_romosozumab.json", "MI-1")


#: Denosumab every six months since 2024-06-12; the last injection 5½ months ago.
DENOSUMAB_DOSES = ["2024-06-12", "2024-12-11", "2025-06-11", "2025-12-10", "2026-06-10"]


def on_denosumab_case(mrn: str = "DEN-1") -> dict:
    return {
        "as_of": "2026-11-25",
        "patient": {"sex": "female", "birth_date": "1950-06-01", "mrn": mrn},
        "therapies": [
            {"drug": "denosumab", "start": "2024-06-12", "end": None, "doses": DENOSUMAB_DOSES}
        ],
        "dxa": [{"date": "2025-10-01", "sites": {"lumbar_spine": {"t_score": -2.6}}}],
        "reassessments": ["2026-10-01"],
    }


@pytest.fixture
def on_denosumab(clinic) -> Patient:
    return patient_import_case(clinic=clinic, case=parse_case(on_denosumab_case()))


def _url(patient: Patient) -> str:
    return reverse("therapy:decision-create", args=[patient.pk])


def _denosumab(patient: Patient) -> TherapyCourse:
    return TherapyCourse.objects.get(patient=patient, drug="denosumab")


def _switch(patient: Patient, **changes) -> dict:
    """The form of a same-day switch from denosumab to zoledronic acid, first infusion today."""
    return {
        "decision": "another",
        "other_drug": "zoledronic_acid",
        "reason": "Planned end of denosumab: bisphosphonate follow-on",
        "start_course": "on",
        "start_date": "2026-11-25",
        "first_dose_given": "yes",
        "stop_date": "2026-11-24",
        "stop_reason": "completed",
        **changes,
    } | ({} if "stop_courses" in changes else {"stop_courses": [_denosumab(patient).pk]})


@pytest.fixture(autouse=True)
def _frozen_today(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC), tick=False)


def _options(patient: Patient) -> list[str]:
    case = parse_case(
        json.loads((CASES / "v03_vertebral_fracture_on_alendronate.json").read_text())["case"]
    )
    return [o.drug.value for o in evaluate(case).options]


def test_the_patient_page_shows_the_ranked_options_and_the_avoided_drugs(
    client_for, clinician, refractory_patient
):
    response = client_for(clinician).get(reverse("patients:detail", args=[refractory_patient.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="options"' in html
    assert "Alendronate" in html and "Oral bisphosphonates not appropriate" in html
    assert "REF-1" in html


@pytest.mark.parametrize(
    ("case", "headline", "reason"),
    [
        pytest.param(
            "v19_teriparatide_started_after_failure.json",
            "Continue teriparatide — 21 months left — then zoledronic acid or denosumab",
            "Alternatives if needed: zoledronic acid, denosumab.",
            id="the drug just started is continued",
        ),
        pytest.param(
            "v03_vertebral_fracture_on_alendronate.json",
            "Switch to teriparatide — 24 months left — then zoledronic acid or denosumab",
            "Alendronate should not go on",
            id="a failed drug is switched",
        ),
    ],
)
def test_the_patient_page_and_summary_open_with_the_recommendation(
    client_for, clinician, clinic, case, headline, reason
):
    patient = _import(clinic, case, "H-1")
    client = client_for(clinician)
    for url in (
        reverse("patients:detail", args=[patient.pk]),
        reverse("patients:summary", args=[patient.pk]),
    ):
        html = client.get(url).content.decode()
        assert headline in html, url
        assert reason in html, url


def test_accepting_the_second_option_stores_the_case_the_assessment_and_starts_the_course(
    client_for, clinician, refractory_patient
):
    second = _options(refractory_patient)[1]  # romosozumab
    alendronate = refractory_patient.therapy_courses.get()
    response = client_for(clinician).post(
        _url(refractory_patient),
        {
            "decision": second,
            "start_course": "on",
            "start_date": "2026-11-25",
            "first_dose_given": "no",
            "stop_courses": [alendronate.pk],
            "stop_reason": "failure",
        },
    )
    assert response.status_code == 302
    record = RecommendationRecord.objects.get(patient=refractory_patient)
    assert record.kind == DecisionKind.RANKED_OPTION and record.chosen_rank == 2
    assert record.decided_by == clinician
    assert record.engine_version == "2"
    assert record.case["as_of"] == "2026-11-25"
    assert [o["drug"] for o in record.assessment["options"]][1] == second
    assert "REF-1" in record.fired_rules
    course = TherapyCourse.objects.get(patient=refractory_patient, drug=second)
    assert course.start == TODAY and record.started_course == course
    assert record.first_dose is None and not course.doses.exists()
    assert list(record.stopped_courses.all()) == [alendronate]


def test_a_drug_off_the_list_needs_a_reason_and_keeps_what_was_typed(
    client_for, clinician, refractory_patient
):
    url = _url(refractory_patient)
    response = client_for(clinician).post(
        url, {"decision": "another", "other_drug": "raloxifene", "reason": " "}
    )
    assert response.status_code == 400
    assert "reason" in response.context["form"].errors
    assert 'value="raloxifene" selected' in response.content.decode()
    assert not RecommendationRecord.objects.exists()

    response = client_for(clinician).post(
        url,
        {
            "decision": "another",
            "other_drug": "raloxifene",
            "reason": "Patient declines injections",
        },
    )
    assert response.status_code == 302
    record = RecommendationRecord.objects.get()
    assert record.kind == DecisionKind.OTHER_DRUG and record.chosen_drug == "raloxifene"
    assert record.chosen_rank is None and record.reason == "Patient declines injections"
    assert record.started_course is None  # the decision only: nothing was ticked to start it


def test_a_contraindicated_drug_is_not_offered_and_a_forged_post_is_refused(
    client_for, clinician, mi_patient
):
    url = _url(mi_patient)
    client = client_for(clinician)
    form = client.get(url).context["form"]
    offered = {**dict(form.fields["decision"].choices), **dict(form.fields["other_drug"].choices)}
    assert "romosozumab" not in offered
    response = client.post(
        url,
        {
            "decision": "another",
            "other_drug": "romosozumab",
            "reason": "I know better",
            "start_course": "on",
            "start_date": "2026-11-25",
        },
    )
    assert response.status_code == 400
    assert "other_drug" in response.context["form"].errors
    assert not TherapyCourse.objects.filter(patient=mi_patient, drug="romosozumab").exists()


def test_the_service_refuses_a_contraindicated_drug_whatever_the_caller(clinician, mi_patient):
    with pytest.raises(ValidationError, match="contraindicated") as refused:
        decision_record(
            patient=mi_patient,
            actor=clinician,
            as_of=TODAY,
            kind=DecisionKind.OTHER_DRUG,
            chosen_drug="romosozumab",
            reason="I know better",
            start_date=TODAY,
            first_dose_given=True,
        )
    assert set(refused.value.error_dict) == {"chosen_drug"}
    assert not RecommendationRecord.objects.exists()
    assert not TherapyCourse.objects.filter(patient=mi_patient, drug="romosozumab").exists()


@pytest.mark.parametrize("persona", ["nurse", "clinic_admin"])
def test_only_clinicians_record_decisions(request, client_for, on_denosumab, persona):
    user = request.getfixturevalue(persona)
    client = client_for(user)
    assert client.get(_url(on_denosumab)).status_code == 403
    assert client.post(_url(on_denosumab), _switch(on_denosumab)).status_code == 403
    assert not RecommendationRecord.objects.exists()
    assert _denosumab(on_denosumab).end is None
    assert not on_denosumab.therapy_courses.filter(drug="zoledronic_acid").exists()


def test_another_clinics_clinician_gets_404_for_decisions(client_for, outsider, on_denosumab):
    client = client_for(outsider)
    assert client.get(_url(on_denosumab)).status_code == 404
    assert client.post(_url(on_denosumab), _switch(on_denosumab)).status_code == 404
    assert not RecommendationRecord.objects.exists()
    assert _denosumab(on_denosumab).end is None


def test_a_stored_decision_replays_to_the_same_assessment_after_the_record_changes(
    client_for, clinician, refractory_patient
):
    client = client_for(clinician)
    response = client.post(
        _url(refractory_patient),
        {
            "decision": _options(refractory_patient)[0],
            "start_course": "on",
            "start_date": TODAY,
            "stop_courses": [refractory_patient.therapy_courses.get().pk],
            "stop_reason": "failure",
        },
    )
    assert response.status_code == 302
    record = RecommendationRecord.objects.get()
    stored = record.assessment
    # The record moves on (a course was started); the stored decision must not.
    response = client.get(
        reverse("therapy:decision-detail", args=[refractory_patient.pk, record.pk])
    )
    assert response.status_code == 200
    assert response.context["review"].changed == ()
    assert 'data-testid="replay-same"' in response.content.decode()
    assert assessment_to_json(response.context["panel"].assessment) == stored


def _decision_stored_by_version_1(patient, clinician) -> RecommendationRecord:
    """A decision as engine version 1 stored it: the case and assessment of that time, with no
    recommendation and v1's readings (here a denosumab course restarted without an injection,
    which v1 read as not overdue)."""
    case = {
        "as_of": "2026-11-25",
        "patient": {"sex": "female", "birth_date": "1950-06-01"},
        "therapies": [
            {
                "drug": "denosumab",
                "start": "2023-11-15",
                "end": "2026-05-15",
                "doses": ["2023-11-15", "2024-05-16", "2024-11-14", "2025-05-15", "2025-11-17"],
            },
            {"drug": "denosumab", "start": "2026-11-20", "end": None},
        ],
    }
    assessment = assessment_to_json(evaluate(parse_case(case)))
    del assessment["recommendation"]
    assessment["engine_version"] = "1"
    assessment["alerts"] = []  # what v1 showed: no overdue alert
    assessment["rationale"] = [r for r in assessment["rationale"] if r["rule"] != "ALR-2"]
    return RecommendationRecord.objects.create(
        patient=patient,
        decided_by=clinician,
        as_of=dt.date(2026, 11, 25),
        engine_version="1",
        case=case,
        assessment=assessment,
        fired_rules=[r["rule"] for r in assessment["rationale"]],
        kind=DecisionKind.OTHER_DRUG,
        chosen_drug="denosumab",
        chosen_rank=None,
        reason="Restarted",
    )


def test_a_decision_of_engine_version_1_shows_what_it_showed_and_says_what_changed(
    client_for, clinician, refractory_patient
):
    record = _decision_stored_by_version_1(refractory_patient, clinician)
    response = client_for(clinician).get(
        reverse("therapy:decision-detail", args=[refractory_patient.pk, record.pk])
    )
    assert response.status_code == 200
    page = response.content.decode()
    # What the clinician saw, under the version that showed it …
    assert response.context["panel"].assessment.engine_version == "1"
    assert response.context["panel"].assessment.alerts == ()
    assert "engine version <strong>1</strong>" in page
    # … and, beside it, that today's engine answers differently, and where.
    assert response.context["review"].changed == ("recommendation", "alerts")
    assert 'data-testid="replay-differs"' in page
    assert "recommendation, alerts" in page
    assert "Denosumab overdue" in page  # in today's answer, below


def test_a_decision_whose_stored_case_no_longer_parses_still_opens(
    client_for, clinician, refractory_patient
):
    record = _decision_stored_by_version_1(refractory_patient, clinician)
    record.case["therapies"][0]["start"] = "1850-01-01"  # outside today's plausible dates
    record.save()
    response = client_for(clinician).get(
        reverse("therapy:decision-detail", args=[refractory_patient.pk, record.pk])
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Today's engine cannot replay the case stored with this decision" in page
    assert "1850-01-01" in page
    assert response.context["panel"].assessment.engine_version == "1"


def test_a_decision_whose_stored_assessment_is_unreadable_still_opens(
    client_for, clinician, refractory_patient
):
    record = _decision_stored_by_version_1(refractory_patient, clinician)
    record.assessment = {"engine_version": "0"}
    record.save()
    response = client_for(clinician).get(
        reverse("therapy:decision-detail", args=[refractory_patient.pk, record.pk])
    )
    assert response.status_code == 200
    assert response.context["panel"] is None
    assert 'data-testid="replay"' in response.content.decode()


def test_the_patient_list_counts_alerts_without_a_query_per_row(
    client_for, clinician, clinic, django_assert_max_num_queries
):
    for i in range(3):
        _import(clinic, "v08_denosumab_overdue.json", f"D-{i}")
    client = client_for(clinician)
    response = client.get(reverse("patients:list"))
    assert "1 critical" in response.content.decode()
    for i in range(3, 20):
        _import(clinic, "v08_denosumab_overdue.json", f"D-{i}")
    # 22: the list's 21 and the reminder kinds its filter offers.
    with django_assert_max_num_queries(22):
        response = client.get(reverse("patients:list"))
    assert response.content.decode().count("1 critical") == 20


# --- the form: what it offers ----------------------------------------------------------------


def _form_html(response) -> str:
    html = response.content.decode()
    start = html.index('<form method="post" class="col-lg-8"')
    return html[start : html.index("</form>", start)]


def test_the_form_offers_continue_the_ranked_options_another_drug_and_no_treatment(
    client_for, clinician, refractory_patient
):
    form = client_for(clinician).get(_url(refractory_patient)).context["form"]

    labels = [label for _, label in form.fields["decision"].choices]

    assert labels == [
        "Continue current therapy: alendronate (since 2023-05-01)",
        "1. Teriparatide (anabolic)",
        "2. Romosozumab (anabolic)",
        "3. Zoledronic acid (antiresorptive)",
        "4. Denosumab (antiresorptive)",
        "Another drug",
        "No treatment now",
        "No anti-osteoporosis medication indicated",
    ]


def test_continue_is_not_offered_without_an_open_course(client_for, clinician, patient):
    form = client_for(clinician).get(_url(patient)).context["form"]

    assert [value for value, _ in form.fields["decision"].choices] == [
        "another",
        "none",
        "not_indicated",
    ]
    assert form.fields["stop_courses"].choices == []


def test_nothing_that_starts_or_stops_a_course_is_ticked_in_advance(
    client_for, clinician, on_denosumab
):
    html = _form_html(client_for(clinician).get(_url(on_denosumab)))

    assert " checked" not in html
    assert "autofocus" not in input_tag(html, "decision")


def test_the_stop_is_offered_for_the_open_course_with_its_last_day_before_the_start(
    client_for, clinician, on_denosumab
):
    html = _form_html(client_for(clinician).get(_url(on_denosumab)))

    assert "Stop denosumab (since 2024-06-12, last dose 2026-06-10)" in html
    assert 'value="2026-11-25"' in input_tag(html, "start_date")
    assert 'value="2026-11-24"' in input_tag(html, "stop_date")
    reasons = re.findall(r'<option value="(\w*)"', input_tag(html, "stop_reason"))
    assert reasons == [
        "",
        "failure",
        "intolerance",
        "completed",
        "adherence",
        "patient_choice",
        "other",
    ]


def test_the_page_script_is_a_file_not_inline(client_for, clinician, on_denosumab):
    html = client_for(clinician).get(_url(on_denosumab)).content.decode()

    assert 'src="/static/js/decision-form.js"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html


# --- what a decision does ----------------------------------------------------------------------


def test_a_same_day_switch_stops_denosumab_the_day_before_and_starts_zoledronic_acid_with_its_dose(
    client_for, clinician, on_denosumab
):
    response = client_for(clinician).post(_url(on_denosumab), _switch(on_denosumab))

    assert response.status_code == 302
    denosumab = _denosumab(on_denosumab)
    assert (denosumab.end, denosumab.stop_reason) == (dt.date(2026, 11, 24), "completed")
    zoledronic = TherapyCourse.objects.get(patient=on_denosumab, drug="zoledronic_acid")
    assert (zoledronic.start, zoledronic.end) == (TODAY, None)
    assert list(zoledronic.doses.values_list("date", flat=True)) == [TODAY]
    record = RecommendationRecord.objects.get()
    assert record.kind == DecisionKind.OTHER_DRUG and record.chosen_drug == "zoledronic_acid"
    assert record.started_course == zoledronic and record.first_dose == zoledronic.doses.get()
    assert list(record.stopped_courses.all()) == [denosumab]
    # What was stored is what the clinician decided on: denosumab still open that morning.
    assert record.case["therapies"][0]["end"] is None


def test_a_stop_date_left_empty_is_the_day_before_the_start(client_for, clinician, on_denosumab):
    data = _switch(on_denosumab, stop_date="", start_date="2026-11-20", first_dose_given="no")

    response = client_for(clinician).post(_url(on_denosumab), data)

    assert response.status_code == 302
    assert _denosumab(on_denosumab).end == dt.date(2026, 11, 19)
    assert not Dose.objects.filter(course__drug="zoledronic_acid").exists()


def test_a_switch_the_same_day_is_no_overlap(client_for, clinician, on_denosumab):
    response = client_for(clinician).post(
        _url(on_denosumab), _switch(on_denosumab, stop_date="2026-11-25")
    )

    assert response.status_code == 302
    assert _denosumab(on_denosumab).end == TODAY


def test_the_success_message_says_what_was_done(client_for, clinician, on_denosumab):
    response = client_for(clinician).post(_url(on_denosumab), _switch(on_denosumab), follow=True)

    assert (
        "Decision recorded: zoledronic acid started on 2026-11-25, first dose recorded; "
        "denosumab stopped on 2026-11-24." in response.content.decode()
    )


def test_the_decision_page_and_the_patient_page_say_what_the_decision_did(
    client_for, clinician, on_denosumab
):
    client = client_for(clinician)
    client.post(_url(on_denosumab), _switch(on_denosumab))
    record = RecommendationRecord.objects.get()

    detail = client.get(reverse("therapy:decision-detail", args=[on_denosumab.pk, record.pk]))
    patient_page = client.get(reverse("patients:detail", args=[on_denosumab.pk]))

    changes = detail.content.decode()
    assert "decided: <strong>Zoledronic acid (not a ranked option)</strong>" in changes
    assert "Reason: Planned end of denosumab: bisphosphonate follow-on" in changes
    assert "Denosumab (SC, 6-monthly) stopped: last day 2026-11-24 (completed)." in changes
    assert (
        "Zoledronic acid (IV, yearly) started on 2026-11-25, first dose given on 2026-11-25."
        in changes
    )
    assert "Zoledronic acid (not a ranked option)" in patient_page.content.decode()


@pytest.mark.parametrize("drug", ["denosumab", "zoledronic_acid", "romosozumab"])
def test_starting_an_injected_drug_asks_whether_the_first_dose_was_given(
    client_for, clinician, patient, drug
):
    data = {
        "decision": "another",
        "other_drug": drug,
        "reason": "Started in clinic",
        "start_course": "on",
        "start_date": "2026-11-25",
    }
    client = client_for(clinician)

    response = client.post(_url(patient), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Say whether the first" in field_error_html(html, "first_dose_given")
    assert "Started in clinic" in html
    assert not TherapyCourse.objects.filter(patient=patient).exists()

    response = client.post(_url(patient), {**data, "first_dose_given": "yes"})

    assert response.status_code == 302
    course = TherapyCourse.objects.get(patient=patient, drug=drug)
    assert list(course.doses.values_list("date", flat=True)) == [TODAY]


def test_an_oral_drug_is_not_asked_about_a_first_dose(client_for, clinician, patient):
    response = client_for(clinician).post(
        _url(patient),
        {
            "decision": "another",
            "other_drug": "alendronate",
            "reason": "Tablets preferred",
            "start_course": "on",
            "start_date": "2026-11-25",
            "first_dose_given": "yes",  # left from another choice, hidden by the page
        },
    )

    assert response.status_code == 302
    assert not Dose.objects.exists()


def test_continuing_records_the_current_drug_and_changes_no_course(
    client_for, clinician, on_denosumab
):
    response = client_for(clinician).post(
        _url(on_denosumab),
        # Start and stop answers left on the page from another choice are not acted on.
        {**_switch(on_denosumab), "decision": "continue", "reason": ""},
    )

    assert response.status_code == 302
    record = RecommendationRecord.objects.get()
    assert (record.kind, record.chosen_drug, record.chosen_rank) == ("continue", "denosumab", None)
    assert record.description == "Continue denosumab"
    assert _denosumab(on_denosumab).end is None
    assert list(on_denosumab.therapy_courses.values_list("drug", flat=True)) == ["denosumab"]


def test_no_treatment_now_needs_a_reason_and_may_stop_the_open_course(
    client_for, clinician, on_denosumab
):
    client = client_for(clinician)
    data = {
        "decision": "none",
        "reason": "",
        "stop_courses": [_denosumab(on_denosumab).pk],
        "stop_date": "2026-11-25",
        "stop_reason": "patient_choice",
    }

    response = client.post(_url(on_denosumab), data)

    assert response.status_code == 400
    assert "Say why no treatment" in field_error_html(response.content.decode(), "reason")
    assert _denosumab(on_denosumab).end is None

    response = client.post(
        _url(on_denosumab), {**data, "reason": "Wants a pause; follow-on planned"}
    )

    assert response.status_code == 302
    record = RecommendationRecord.objects.get()
    assert (record.kind, record.chosen_drug) == ("no_treatment", "")
    assert record.description == "No treatment now"
    assert (_denosumab(on_denosumab).end, _denosumab(on_denosumab).stop_reason) == (
        TODAY,
        "patient_choice",
    )


def test_a_course_is_not_stopped_beside_a_decision_that_starts_nothing(
    client_for, clinician, on_denosumab
):
    data = _switch(on_denosumab)
    del data["start_course"]

    response = client_for(clinician).post(_url(on_denosumab), data)

    assert response.status_code == 400
    assert "stopped here only when" in field_error_html(response.content.decode(), "stop_courses")
    assert _denosumab(on_denosumab).end is None


# --- two courses at once: a warning first ---------------------------------------------------------


def test_a_start_beside_an_open_course_of_another_drug_asks_first_and_keeps_what_was_typed(
    client_for, clinician, on_denosumab
):
    client = client_for(clinician)
    data = _switch(on_denosumab, stop_courses=[], stop_date="", stop_reason="")

    response = client.post(_url(on_denosumab), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="overlap-warning"' in html
    warning = field_error_html(html, "confirm_overlap")
    assert "Denosumab since 2024-06-12 would stay open beside the new course" in warning
    # Nothing was written, and the form holds every answer for the second click.
    assert not TherapyCourse.objects.filter(drug="zoledronic_acid").exists()
    assert not Dose.objects.filter(course__drug="zoledronic_acid").exists()
    assert not RecommendationRecord.objects.exists()
    assert 'value="zoledronic_acid" selected' in html
    assert "Planned end of denosumab" in html
    assert "checked" in input_tag(html, "start_course")
    assert re.search(r'value="yes"[^>]*checked', html)

    response = client.post(_url(on_denosumab), {**data, "confirm_overlap": "on"})

    assert response.status_code == 302
    assert _denosumab(on_denosumab).end is None
    assert TherapyCourse.objects.filter(drug="zoledronic_acid", end__isnull=True).exists()


def test_the_service_raises_the_overlap_without_writing(clinician, on_denosumab):
    with pytest.raises(CoursesWouldOverlap):
        decision_record(
            patient=on_denosumab,
            actor=clinician,
            as_of=TODAY,
            kind=DecisionKind.OTHER_DRUG,
            chosen_drug="zoledronic_acid",
            reason="Switch",
            start_date=TODAY,
            first_dose_given=True,
        )

    assert list(TherapyCourse.objects.values_list("drug", flat=True)) == ["denosumab"]
    assert not RecommendationRecord.objects.exists()


# --- refusals: beside the field, with what was typed, nothing written -----------------------------

REFUSALS = [
    pytest.param(
        {"stop_date": "2026-06-01"},
        "stop_date",
        "Denosumab since 2024-06-12: A dose given on 2026-06-10 would fall outside the course",
        id="a stop before the last injection",
    ),
    pytest.param(
        {"stop_date": "2024-01-01"},
        "stop_date",
        "Denosumab since 2024-06-12: The end date is before the start date",
        id="a stop before the course started",
    ),
    pytest.param(
        {"stop_reason": ""}, "stop_reason", "Say why the course stops", id="no stop reason"
    ),
    pytest.param(
        {"start_date": "2026-12-01"}, "start_date", "This date is in the future", id="a start ahead"
    ),
    pytest.param(
        {"start_date": "1949-01-01"},
        "start_date",
        "before the patient's birth date",
        id="a start before birth, after the stop was written",
    ),
    pytest.param(
        {"start_date": ""}, "start_date", "Enter the date the course starts", id="no start date"
    ),
    pytest.param({"other_drug": ""}, "other_drug", "Choose the drug", id="no drug"),
    pytest.param({"reason": "  "}, "reason", "Say why you choose a drug", id="no reason"),
    pytest.param(
        {"first_dose_given": ""}, "first_dose_given", "Say whether the first", id="dose unanswered"
    ),
]


@pytest.mark.parametrize(("change", "field", "message"), REFUSALS)
def test_a_refused_decision_says_why_beside_the_field_keeps_the_input_and_writes_nothing(
    client_for, clinician, on_denosumab, change, field, message
):
    data = _switch(on_denosumab, **change)

    response = client_for(clinician).post(_url(on_denosumab), data)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in field_error_html(html, field).replace("&#x27;", "'")
    for name in ("start_date", "stop_date"):
        if data[name]:
            assert f'value="{data[name]}"' in input_tag(html, name)
    if data["reason"].strip():
        assert data["reason"] in html
    denosumab = _denosumab(on_denosumab)
    assert (denosumab.end, denosumab.stop_reason) == (None, "")
    assert not TherapyCourse.objects.filter(drug="zoledronic_acid").exists()
    assert not Dose.objects.filter(course__drug="zoledronic_acid").exists()
    assert not RecommendationRecord.objects.exists()


# --- audit, rescan, the alerts it leaves ---------------------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    """The patient ids whose rescan was sent to the broker."""
    sent: list[int] = []
    monkeypatch.setattr(
        rescan_patient_task, "apply_async", lambda args, **options: sent.append(args[0])
    )
    return sent


def test_every_row_the_decision_writes_names_the_clinician_and_one_rescan_follows_the_commit(
    client_for, clinician, on_denosumab, queued, django_capture_on_commit_callbacks
):
    # The fixture's import queued this patient's rescan in the test's transaction, which never
    # commits; forget it, or the decision's rescan would be (rightly) folded into it.
    transaction.get_connection().run_on_commit.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(clinician).post(_url(on_denosumab), _switch(on_denosumab))

    assert response.status_code == 302
    assert queued == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert queued == [on_denosumab.pk]
    zoledronic = TherapyCourse.objects.get(drug="zoledronic_acid")
    for row in (_denosumab(on_denosumab), zoledronic, zoledronic.doses.get()):
        latest = row.history.latest()
        assert latest.history_user == clinician, row


def test_a_correct_switch_leaves_no_critical_reminder_and_sends_no_mail(
    client_for, clinician, on_denosumab, django_capture_on_commit_callbacks
):
    clinician.email = "clinician@hillside.example"
    clinician.save()
    with django_capture_on_commit_callbacks(execute=True):
        reminders_scan(as_of=TODAY, now=timezone.now())  # last night's scan
    assert Reminder.objects.filter(patient=on_denosumab, drug="denosumab").exists()

    with django_capture_on_commit_callbacks(execute=True):
        client_for(clinician).post(_url(on_denosumab), _switch(on_denosumab))
    with django_capture_on_commit_callbacks(execute=True):
        rescan_patient_task.apply(args=(on_denosumab.pk,))

    assert mail.outbox == []
    assert not Reminder.objects.filter(patient=on_denosumab, severity="critical").exists()
    active = Reminder.objects.filter(patient=on_denosumab, status__in=["open", "snoozed"])
    assert not active.filter(drug="denosumab").exists()
    assert not active.filter(kind="NEXT_DOSE", due=TODAY).exists()  # the infusion was given


# --- the page's query budget ------------------------------------------------------------------

#: GET /patients/<id>/decision/: session, user, access (1), the access-log row (1, issue 11),
#: the engine's input (11), the open courses (1) and the navigation's memberships. The session
#: is read, and not stored again on these requests (config.session.SessionIdleMiddleware renews
#: it at most once a minute).
DECISION_PAGE = 17


@pytest.mark.parametrize("years", [2, 20])
def test_the_decision_page_costs_the_same_queries_for_2_or_20_years_of_history(
    years, clinic, clinician, client_for, django_assert_num_queries
):
    patient = factories.PatientFactory(clinic=clinic)
    factories.add_long_history(patient, years=years)
    TherapyCourse.objects.create(patient=patient, drug="denosumab", start=dt.date(2026, 1, 5))
    client = client_for(clinician)

    with django_assert_num_queries(DECISION_PAGE):
        response = client.get(_url(patient))

    assert response.status_code == 200


#: POST of a switch with its first dose: the page's reads, then the service's own (lock, engine
#: input, open courses), the stop, the start, the dose and the decision — each validated, saved
#: with its audit row in a savepoint (the stop, the start and the dose each after the patient's
#: lock `record_save` takes, held already) — and the success message's list of stopped courses.
SWITCH = 82


@pytest.mark.parametrize("years", [2, 20])
def test_recording_a_switch_costs_the_same_queries_for_2_or_20_years_of_history(
    years, clinic, clinician, client_for, django_assert_num_queries
):
    patient = factories.PatientFactory(clinic=clinic)
    factories.add_long_history(patient, years=years)
    denosumab = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2026, 1, 5)
    )
    Dose.objects.create(course=denosumab, date=dt.date(2026, 1, 5))
    client = client_for(clinician)

    with django_assert_num_queries(SWITCH):
        response = client.post(_url(patient), _switch(patient, stop_courses=[denosumab.pk]))

    assert response.status_code == 302


# --- two decisions at once ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_decisions_at_once_for_one_patient_run_one_after_the_other(
    require_postgres, clinician, on_denosumab, monkeypatch
):
    """A double click: both start zoledronic acid. The first waits half-way (its course written,
    not committed) while the second arrives; the second must see the first's course and be
    refused, not write a second one."""
    from therapy import services

    half_way = threading.Event()
    save = services.record_save

    def slow_save(*, instance, actor):
        if isinstance(instance, RecommendationRecord) and not half_way.is_set():
            half_way.set()
            time.sleep(0.5)
        return save(instance=instance, actor=actor)

    monkeypatch.setattr(services, "record_save", slow_save)
    outcomes: list[object] = []

    def decide() -> None:
        try:
            outcomes.append(
                decision_record(
                    patient=on_denosumab,
                    actor=clinician,
                    as_of=TODAY,
                    kind=DecisionKind.OTHER_DRUG,
                    chosen_drug="zoledronic_acid",
                    reason="Switch",
                    start_date=TODAY,
                    first_dose_given=False,
                    allow_overlap=True,
                )
            )
        except ValidationError as error:
            outcomes.append(error)
        finally:
            connection.close()

    first = threading.Thread(target=decide)
    first.start()
    assert half_way.wait(10)
    second = threading.Thread(target=decide)
    second.start()
    first.join(10)
    second.join(10)

    recorded = [o for o in outcomes if isinstance(o, RecommendationRecord)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert (len(recorded), len(refused)) == (1, 1)
    assert "start_date" in refused[0].error_dict
    assert TherapyCourse.objects.filter(drug="zoledronic_acid").count() == 1
    assert RecommendationRecord.objects.count() == 1
