"""Recording a decision on the engine's recommendation, and replaying it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.urls import reverse

from patients.models import Patient
from therapy.case_records import patient_import_case
from therapy.engine import assessment_to_json, evaluate, parse_case
from therapy.models import RecommendationRecord, TherapyCourse

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
    second = _options(refractory_patient)[1]
    url = reverse("therapy:decision-create", args=[refractory_patient.pk])
    response = client_for(clinician).post(
        url, {"chosen_drug": second, "reason": "", "start_course": "on", "start_date": "2026-11-25"}
    )
    assert response.status_code == 302
    record = RecommendationRecord.objects.get(patient=refractory_patient)
    assert record.chosen_rank == 2
    assert record.decided_by == clinician
    assert record.engine_version == "2"
    assert record.case["as_of"] == "2026-11-25"
    assert [o["drug"] for o in record.assessment["options"]][1] == second
    assert "REF-1" in record.fired_rules
    course = TherapyCourse.objects.get(patient=refractory_patient, drug=second)
    assert course.start == TODAY and record.started_course == course


def test_a_drug_off_the_list_needs_a_reason_and_keeps_what_was_typed(
    client_for, clinician, refractory_patient
):
    url = reverse("therapy:decision-create", args=[refractory_patient.pk])
    response = client_for(clinician).post(url, {"chosen_drug": "raloxifene", "reason": " "})
    assert response.status_code == 400
    assert "reason" in response.context["form"].errors
    assert not RecommendationRecord.objects.exists()

    response = client_for(clinician).post(
        url, {"chosen_drug": "raloxifene", "reason": "Patient declines injections"}
    )
    assert response.status_code == 302
    record = RecommendationRecord.objects.get()
    assert record.chosen_rank is None and record.reason == "Patient declines injections"


def test_a_contraindicated_drug_is_not_offered_and_a_forged_post_is_refused(
    client_for, clinician, mi_patient
):
    url = reverse("therapy:decision-create", args=[mi_patient.pk])
    client = client_for(clinician)
    offered = dict(client.get(url).context["form"].fields["chosen_drug"].choices)
    assert "romosozumab" not in offered
    response = client.post(
        url, {"chosen_drug": "romosozumab", "reason": "I know better", "start_course": "on"}
    )
    assert response.status_code == 400
    assert "chosen_drug" in response.context["form"].errors
    assert not TherapyCourse.objects.filter(patient=mi_patient, drug="romosozumab").exists()


def test_the_service_refuses_a_contraindicated_drug_whatever_the_caller(clinician, mi_patient):
    from django.core.exceptions import ValidationError

    from therapy.services import decision_record

    with pytest.raises(ValidationError, match="contraindicated"):
        decision_record(
            patient=mi_patient,
            actor=clinician,
            as_of=TODAY,
            chosen_drug="romosozumab",
            reason="I know better",
            start_course=True,
        )
    assert not RecommendationRecord.objects.exists()
    assert not TherapyCourse.objects.filter(patient=mi_patient, drug="romosozumab").exists()


@pytest.mark.parametrize("persona", ["nurse", "clinic_admin"])
def test_only_clinicians_record_decisions(request, client_for, refractory_patient, persona):
    user = request.getfixturevalue(persona)
    url = reverse("therapy:decision-create", args=[refractory_patient.pk])
    client = client_for(user)
    assert client.get(url).status_code == 403
    assert client.post(url, {"chosen_drug": "zoledronic_acid"}).status_code == 403
    assert not RecommendationRecord.objects.exists()


def test_another_clinics_clinician_gets_404_for_decisions(client_for, outsider, refractory_patient):
    url = reverse("therapy:decision-create", args=[refractory_patient.pk])
    assert client_for(outsider).get(url).status_code == 404


def test_a_stored_decision_replays_to_the_same_assessment_after_the_record_changes(
    client_for, clinician, refractory_patient
):
    client = client_for(clinician)
    client.post(
        reverse("therapy:decision-create", args=[refractory_patient.pk]),
        {"chosen_drug": _options(refractory_patient)[0], "start_course": "on"},
    )
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
    with django_assert_max_num_queries(21):
        response = client.get(reverse("patients:list"))
    assert response.content.decode().count("1 critical") == 20
