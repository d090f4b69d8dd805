"""The explicit decision "No anti-osteoporosis medication indicated": a reason is required, no
drug is chosen, nothing starts; the open course stops only when the clinician asks, as with "no
treatment now"; the decision history says it in its own words."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.patients.conftest import field_error_html
from tests.therapy.test_decisions import TODAY, _denosumab, _url, on_denosumab_case
from therapy.case_records import patient_import_case
from therapy.engine import parse_case
from therapy.models import DecisionKind, RecommendationRecord, TherapyCourse
from therapy.services import decision_record

WORDS = "No anti-osteoporosis medication indicated"


def _radio(html: str, value: str) -> str:
    tag = re.search(rf'<input[^>]*name="decision"[^>]*value="{value}"[^>]*>', html)
    assert tag, f"no decision radio {value!r}"
    return tag.group(0)


def _checked(html: str, value: str) -> bool:
    return "checked" in _radio(html, value)


@pytest.fixture
def on_denosumab(clinic):
    """On denosumab since 2024, the last injection 5½ months ago (tests/therapy/test_decisions)."""
    return patient_import_case(clinic=clinic, case=parse_case(on_denosumab_case()))


@pytest.fixture(autouse=True)
def _frozen_today(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC), tick=False)


def test_the_form_offers_no_medication_indicated_beside_no_treatment_now(
    client_for, clinician, on_denosumab
):
    html = client_for(clinician).get(_url(on_denosumab)).content.decode()

    assert _radio(html, "none") and _radio(html, "not_indicated")
    assert not _checked(html, "not_indicated")
    assert WORDS in html


def test_no_medication_indicated_is_refused_without_a_reason_beside_the_field_and_writes_nothing(
    client_for, clinician, on_denosumab
):
    response = client_for(clinician).post(
        _url(on_denosumab), {"decision": "not_indicated", "reason": "   "}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Say why no anti-osteoporosis medication is indicated." in field_error_html(
        html, "reason"
    )
    assert _checked(html, "not_indicated")
    assert not RecommendationRecord.objects.exists()


def test_no_medication_indicated_records_the_reason_no_drug_and_leaves_the_course_open(
    client_for, clinician, on_denosumab
):
    response = client_for(clinician).post(
        _url(on_denosumab),
        {"decision": "not_indicated", "reason": "T-score −1.2 after five years: drug holiday"},
    )

    assert response.status_code == 302
    record = RecommendationRecord.objects.get()
    assert (record.kind, record.chosen_drug, record.chosen_rank) == ("not_indicated", "", None)
    assert record.reason == "T-score −1.2 after five years: drug holiday"
    assert (record.started_course, record.first_dose) == (None, None)
    assert list(record.stopped_courses.all()) == []
    assert _denosumab(on_denosumab).end is None
    assert TherapyCourse.objects.filter(patient=on_denosumab).count() == 1


def test_no_medication_indicated_may_stop_the_open_course_when_asked(
    client_for, clinician, on_denosumab
):
    response = client_for(clinician).post(
        _url(on_denosumab),
        {
            "decision": "not_indicated",
            "reason": "Fracture was traumatic; BMD normal",
            "stop_courses": [_denosumab(on_denosumab).pk],
            "stop_date": "2026-11-25",
            "stop_reason": "completed",
        },
    )

    assert response.status_code == 302
    record = RecommendationRecord.objects.get()
    assert record.kind == DecisionKind.NOT_INDICATED
    course = _denosumab(on_denosumab)
    assert (course.end, course.stop_reason) == (TODAY, "completed")
    assert list(record.stopped_courses.all()) == [course]


def test_the_decision_history_and_its_replay_say_no_medication_indicated_with_the_reason(
    client_for, clinician, on_denosumab
):
    client = client_for(clinician)
    client.post(
        _url(on_denosumab), {"decision": "not_indicated", "reason": "Life expectancy weeks"}
    )
    record = RecommendationRecord.objects.get()

    page = client.get(reverse("patients:detail", args=[on_denosumab.pk])).content.decode()
    detail = client.get(
        reverse("therapy:decision-detail", args=[on_denosumab.pk, record.pk])
    ).content.decode()

    assert record.description == WORDS
    assert WORDS in page and "Life expectancy weeks" in page
    assert WORDS in detail and "Reason: Life expectancy weeks" in detail


def test_the_service_refuses_a_drug_start_date_with_no_medication_indicated(
    clinician, on_denosumab
):
    with pytest.raises(ValidationError) as refused:
        decision_record(
            patient=on_denosumab,
            actor=clinician,
            as_of=TODAY,
            kind=DecisionKind.NOT_INDICATED,
            reason="Not indicated",
            start_date=TODAY,
        )

    assert "start_date" in refused.value.error_dict
    assert not RecommendationRecord.objects.exists()


def test_the_service_refuses_no_medication_indicated_without_a_reason(clinician, on_denosumab):
    with pytest.raises(ValidationError) as refused:
        decision_record(
            patient=on_denosumab, actor=clinician, as_of=TODAY, kind=DecisionKind.NOT_INDICATED
        )

    assert refused.value.message_dict["reason"] == [
        "Say why no anti-osteoporosis medication is indicated."
    ]
