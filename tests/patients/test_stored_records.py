"""A stored record can never make a page answer 500.

Rows are planted as a database filled before the plausibility limits could hold them (written
past validation and the CHECK constraints, tests/planting.py); then every page of the patient is
requested by each role of the clinic. Where a page asks the engine about the record and the
engine refuses it, the page names what to correct instead of an assessment.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from monitoring.models import Reminder
from patients.models import RiskProfile
from tests import factories
from tests.patients.conftest import World
from tests.planting import plant
from therapy.case_records import case_for_patient
from therapy.engine import case_to_json
from therapy.models import Dose, RecommendationRecord

ANCIENT, FAR = dt.date(1, 1, 1), dt.date(9999, 12, 31)


def _profile(world: World) -> RiskProfile:
    return RiskProfile.objects.get(patient=world.patient)


def _dates_before_1900(w: World) -> None:
    plant(w.patient, birth_date=ANCIENT)
    plant(w.cardiovascular_event, date=ANCIENT)
    plant(w.glucocorticoid, start=ANCIENT)
    plant(w.fracture, date=ANCIENT)
    plant(w.course, start=ANCIENT)
    plant(w.dxa, date=ANCIENT, lumbar_spine_bmd_g_cm2=0.8)
    plant(w.lab, date=ANCIENT)
    plant(w.reassessment, date=ANCIENT)


def _dates_after_2199(w: World) -> None:
    plant(w.patient, birth_date=FAR)
    plant(w.cardiovascular_event, date=FAR)
    plant(w.glucocorticoid, end=FAR)
    plant(w.fracture, date=FAR)
    plant(w.course, end=FAR)
    plant(w.dose, date=FAR)
    plant(w.dxa, date=FAR, lumbar_spine_bmd_g_cm2=0.8)
    plant(w.lab, date=FAR)
    plant(w.reassessment, date=FAR)


def _huge_numbers(w: World) -> None:
    plant(w.glucocorticoid, prednisone_mg_per_day=1e308)
    plant(
        w.dxa,
        lumbar_spine_bmd_g_cm2=1e308,
        femoral_neck_t_score=-1e308,
        total_hip_bmd_g_cm2=0.7,
        total_hip_lsc_pct=1e308,
    )
    plant(w.lab, value=1e308)
    plant(
        _profile(w),
        creatinine_clearance_ml_min=1e308,
        frax_hip_pct=1e308,
        alcohol_drinks_per_day=1e308,
    )


def _negative_or_zero_numbers(w: World) -> None:
    plant(w.glucocorticoid, prednisone_mg_per_day=-1)
    plant(
        w.dxa,
        lumbar_spine_bmd_g_cm2=0.0,
        lumbar_spine_lsc_pct=0.0,
        femoral_neck_bmd_g_cm2=-1.0,
        femoral_neck_lsc_pct=-5.0,
    )
    plant(w.lab, value=-1.0)
    plant(
        _profile(w),
        creatinine_clearance_ml_min=-5,
        frax_major_osteoporotic_pct=-1,
        alcohol_drinks_per_day=-1,
    )
    plant(w.dose, date=dt.date(2019, 12, 1))  # before its course started


def _infinity_and_blank_text(w: World) -> None:
    plant(w.patient, name="   ")
    plant(w.immunosuppressant, name="  ")
    plant(w.dxa, total_hip_bmd_g_cm2=math.inf, scanner="   ")
    plant(w.lab, value=math.inf, unit="  ")


def _thirteen_romosozumab_doses(w: World) -> None:
    course = plant(w.course, drug="romosozumab")
    Dose.objects.bulk_create(  # bulk_create skips validation, as an old import could have
        Dose(course=course, date=dt.date(2020, 1, 2) + dt.timedelta(days=28 * n))
        for n in range(1, 13)
    )


#: Old data, one kind of out-of-limits value at a time, planted in every record it fits.
PLANTED: dict[str, Callable[[World], Any]] = {
    "dates before 1900": _dates_before_1900,
    "dates after 2199": _dates_after_2199,
    "huge numbers": _huge_numbers,
    "negative or zero numbers": _negative_or_zero_numbers,
    "infinity and blank text": _infinity_and_blank_text,
    "13 romosozumab doses": _thirteen_romosozumab_doses,
}


def _storable(value: Any) -> Any:
    """JSON columns refuse infinity: store the largest double instead (still out of limits)."""
    if isinstance(value, float) and not math.isfinite(value):
        return math.copysign(1e308, value)
    if isinstance(value, dict):
        return {key: _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def _decision(world: World, user) -> RecommendationRecord:
    """A decision whose stored case holds the record as it is now (planted values included)."""
    case = _storable(case_to_json(case_for_patient(world.patient.pk, as_of=timezone.localdate())))
    return RecommendationRecord.objects.create(
        patient=world.patient,
        decided_by=user,
        as_of=timezone.localdate(),
        engine_version="1",
        case=case,
        assessment={},
        kind="other_drug",
        chosen_drug="zoledronic_acid",
        reason="recorded before the limits",
    )


def _reminders(world: World) -> list[Reminder]:
    today = timezone.localdate()
    return [
        Reminder.objects.create(
            patient=world.patient,
            kind="DENOSUMAB_OVERDUE",
            severity="critical",
            due=today - dt.timedelta(days=10),
        ),
        Reminder.objects.create(
            patient=world.patient, kind="NEXT_DOSE", drug="denosumab", due=today
        ),
    ]


_RECORDS = [
    ("patients", "cardiovascular-event", "cardiovascular_event"),
    ("patients", "immunosuppressant", "immunosuppressant"),
    ("patients", "glucocorticoid", "glucocorticoid"),
    ("patients", "fracture", "fracture"),
    ("therapy", "course", "course"),
    ("therapy", "dose", "dose"),
    ("monitoring", "dxa", "dxa"),
    ("monitoring", "lab", "lab"),
    ("monitoring", "reassessment", "reassessment"),
]


def _pages(
    world: World, decision: RecommendationRecord, reminders: list[Reminder]
) -> list[tuple[str, dict[str, str]]]:
    """Every page that shows something of the patient, with the headers to send."""
    pk = world.patient.pk
    trend = reverse("monitoring:bmd-trend", args=[pk])
    pages = [
        reverse("dashboard"),
        reverse("patients:list"),
        reverse("patients:detail", args=[pk]),
        reverse("patients:summary", args=[pk]),
        reverse("patients:summary-pdf", args=[pk]),
        reverse("patients:letter", args=[pk]),
        reverse("patients:letter-pdf", args=[pk]),
        reverse("patients:edit", args=[pk]),
        reverse("patients:risk-factors", args=[pk]),
        reverse("therapy:decision-create", args=[pk]),
        reverse("therapy:decision-detail", args=[pk, decision.pk]),
        reverse("therapy:dose-create", args=[pk]),  # lists the patient's courses
        trend,
        reverse("reminders:list"),
        *(reverse("reminders:detail", args=[r.pk]) for r in reminders),
    ]
    for app, slug, attr in _RECORDS:
        row = getattr(world, attr)
        pages.append(reverse(f"{app}:{slug}-update", args=[pk, row.pk]))
        pages.append(reverse(f"{app}:{slug}-delete", args=[pk, row.pk]))
    return [(url, {}) for url in pages] + [(trend, {"HX-Request": "true"})]


@pytest.mark.parametrize("planted", list(PLANTED))
def test_no_page_of_a_patient_with_an_out_of_limits_record_answers_500(
    planted, world, clinician, nurse, clinic_admin, client_for
):
    PLANTED[planted](world)
    decision = _decision(world, clinician)
    pages = _pages(world, decision, _reminders(world))
    failures = []

    for user in (clinician, nurse, clinic_admin):
        client = client_for(user)
        for url, headers in pages:
            status = client.get(url, headers=headers).status_code
            if status >= 500:
                failures.append(f"{user.username} GET {url} {headers}: {status}")

    assert not failures


# --- where the engine is asked, the page says what to correct ---------------------------------

FRACTURE_PROBLEM = (
    "Wrist fracture of 0001-01-01: date 0001-01-01 must be between 1900-01-01 and 2199-12-31"
)


@pytest.fixture
def ancient_fracture(world):
    plant(world.fracture, date=ANCIENT)
    return world.patient


@pytest.mark.parametrize("role", ["clinician", "nurse"])
@pytest.mark.parametrize("page", ["patients:detail", "patients:summary"])
def test_a_page_that_cannot_evaluate_the_record_names_what_to_correct(
    page, role, ancient_fracture, request, client_for
):
    response = client_for(request.getfixturevalue(role)).get(
        reverse(page, args=[ancient_fracture.pk])
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "No recommendation, alerts or monitoring plan can be given" in html
    assert escape(FRACTURE_PROBLEM) in html


def test_the_decision_form_names_what_to_correct_and_offers_no_decision(
    ancient_fracture, clinician, client_for
):
    response = client_for(clinician).get(
        reverse("therapy:decision-create", args=[ancient_fracture.pk])
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert escape(FRACTURE_PROBLEM) in html
    assert 'name="decision"' not in html


def test_no_decision_is_recorded_on_a_record_the_engine_refuses(
    ancient_fracture, clinician, client_for
):
    response = client_for(clinician).post(
        reverse("therapy:decision-create", args=[ancient_fracture.pk]),
        {
            "decision": "another",
            "other_drug": "zoledronic_acid",
            "reason": "x",
            "start_course": "on",
            "start_date": timezone.localdate().isoformat(),
            "first_dose_given": "yes",
        },
    )

    assert response.status_code == 400
    assert not RecommendationRecord.objects.exists()
    assert not ancient_fracture.therapy_courses.filter(drug="zoledronic_acid").exists()


def test_the_patient_list_marks_the_record_to_correct_and_counts_the_others(
    ancient_fracture, clinic, clinician, client_for
):
    factories.PatientFactory(clinic=clinic, name="Zoe Sound")

    response = client_for(clinician).get(reverse("patients:list"))

    rows = {patient.name: alerts for patient, alerts in response.context["rows"]}
    assert rows[ancient_fracture.name].is_evaluable is False
    assert rows["Zoe Sound"].is_evaluable is True
    assert "record needs correction" in response.content.decode()


def test_a_decision_whose_stored_case_today_s_engine_refuses_is_shown_with_why(
    world, clinician, client_for
):
    decision = _decision(world, clinician)
    RecommendationRecord.objects.filter(pk=decision.pk).update(
        case={**decision.case, "fractures": [{"date": "0001-01-01", "site": "hip"}]}
    )

    response = client_for(clinician).get(
        reverse("therapy:decision-detail", args=[world.patient.pk, decision.pk])
    )

    html = response.content.decode()
    assert "cannot replay the case stored with this decision" in html
    assert escape("Hip fracture of 0001-01-01: date 0001-01-01 must be between") in html
