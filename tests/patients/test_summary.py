"""The printable patient summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.urls import reverse

from therapy.case_records import patient_import_case
from therapy.engine import parse_case

CASES = Path(__file__).resolve().parents[1] / "cases"


@pytest.fixture
def patient_on_teriparatide(clinic):
    case = json.loads((CASES / "v10_teriparatide_finished_no_antiresorptive.json").read_text())
    return patient_import_case(clinic=clinic, case=parse_case(case["case"]), mrn="S-1")


def test_the_summary_holds_the_recommendation_rationale_timeline_and_plan(
    client_for, clinician, patient_on_teriparatide, django_assert_max_num_queries
):
    url = reverse("patients:summary", args=[patient_on_teriparatide.pk])
    client = client_for(clinician)
    with django_assert_max_num_queries(22):
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Current recommendation" in html
    assert "Sequential antiresorptive required" in html  # the critical alert
    assert "ALR-5" in html  # its rationale
    assert "Started Teriparatide" in html  # the timeline
    assert "Monitoring plan" in html and "Fracture-risk reassessment" in html
    assert 'media="print"' in html


def test_nurses_may_print_it_but_clinic_admins_and_outsiders_may_not(
    client_for, nurse, clinic_admin, outsider, patient_on_teriparatide
):
    url = reverse("patients:summary", args=[patient_on_teriparatide.pk])
    assert client_for(nurse).get(url).status_code == 200
    assert client_for(clinic_admin).get(url).status_code == 403
    assert client_for(outsider).get(url).status_code == 404
