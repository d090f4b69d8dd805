"""Properties of the engine over generated valid cases (hypothesis)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from therapy.engine import (
    CaseError,
    assessment_from_json,
    assessment_to_json,
    case_to_json,
    evaluate,
    parse_case,
    schedule,
)
from therapy.engine.case import (
    CardiovascularEvent,
    CardiovascularEventKind,
    Case,
    Drug,
    DxaScan,
    DxaSite,
    Fracture,
    FractureSite,
    GlucocorticoidExposure,
    LabResult,
    LabTest,
    Patient,
    RiskFactors,
    Sex,
    SiteReading,
    StopReason,
    TherapyCourse,
)
from therapy.engine.catalogue import OSTEOPOROSIS_THERAPIES
from therapy.engine.codes import RULE_ORDER, DrugClass, RecommendationAction

EXAMPLES = settings(max_examples=200, deadline=None)
FIRST, LAST = dt.date(2016, 1, 1), dt.date(2027, 12, 31)
AFTER_ANABOLIC = ("zoledronic_acid", "denosumab")

days = st.dates(min_value=FIRST, max_value=LAST)
finite = {"allow_nan": False, "allow_infinity": False}


@st.composite
def courses(draw: st.DrawFn) -> TherapyCourse:
    drug = draw(st.sampled_from(Drug))
    start = draw(days)
    end = draw(st.none() | st.integers(0, 1500).map(lambda n: start + dt.timedelta(days=n)))
    last = end or start + dt.timedelta(days=1500)
    dose_days = st.integers(0, (last - start).days).map(lambda n: start + dt.timedelta(days=n))
    doses = draw(st.lists(dose_days, max_size=12 if drug == Drug.ROMOSOZUMAB else 6))
    stop_reason = draw(st.none() | st.sampled_from(StopReason))
    return TherapyCourse(drug, start, end, stop_reason, tuple(doses))


@st.composite
def glucocorticoids(draw: st.DrawFn) -> GlucocorticoidExposure:
    start = draw(days)
    end = draw(st.none() | st.integers(0, 900).map(lambda n: start + dt.timedelta(days=n)))
    dose = draw(st.sampled_from([0.0, 1.0, 2.4, 2.5, 5.0, 7.5, 20.0]))
    return GlucocorticoidExposure(dose, start, end)


readings = st.builds(
    SiteReading,
    bmd_g_cm2=st.none() | st.floats(0.2, 2.0, **finite),
    t_score=st.none() | st.floats(-7.0, 5.0, **finite),
    lsc_pct=st.none() | st.floats(0.5, 10.0, **finite),
)


@st.composite
def scans(draw: st.DrawFn) -> DxaScan:
    sites = draw(st.lists(st.sampled_from(DxaSite), unique=True, max_size=3))
    return DxaScan(
        draw(days),
        tuple((site, draw(readings)) for site in sorted(sites, key=list(DxaSite).index)),
        draw(st.none() | st.sampled_from(["Hologic Horizon", "Lunar iDXA", "hologic horizon "])),
    )


risk_factors = st.builds(
    RiskFactors,
    oral_bisphosphonate_intolerance=st.booleans(),
    oral_bisphosphonate_contraindication=st.booleans(),
    creatinine_clearance_ml_min=st.none() | st.floats(0, 150, **finite),
    cardiovascular_events=st.lists(
        st.builds(CardiovascularEvent, st.sampled_from(CardiovascularEventKind), days), max_size=2
    ).map(tuple),
    immunosuppressants=st.lists(
        st.sampled_from(["tacrolimus", "mycophenolate", "azathioprine"]), max_size=3
    ).map(tuple),
    organ_transplant=st.booleans(),
    glucocorticoids=st.lists(glucocorticoids(), max_size=2).map(tuple),
    cancer_treatment_bone_loss=st.booleans(),
    skeletal_radiation=st.booleans(),
    bone_metastases=st.booleans(),
    pagets_disease=st.booleans(),
    unexplained_elevated_alp=st.booleans(),
    open_epiphyses=st.booleans(),
    hypercalcemia=st.booleans(),
    hypocalcemia=st.booleans(),
    high_fall_risk=st.booleans(),
    frax_major_osteoporotic_pct=st.none() | st.floats(0, 100, **finite),
    frax_hip_pct=st.none() | st.floats(0, 100, **finite),
    current_smoker=st.booleans(),
    alcohol_drinks_per_day=st.floats(0, 6, **finite),
)

cases = st.builds(
    Case,
    as_of=st.dates(min_value=dt.date(2018, 1, 1), max_value=dt.date(2027, 6, 30)),
    patient=st.builds(Patient, sex=st.none() | st.sampled_from(Sex), birth_date=st.none() | days),
    risk_factors=risk_factors,
    fractures=st.lists(
        st.builds(Fracture, days, st.sampled_from(FractureSite), st.booleans()), max_size=4
    ).map(tuple),
    therapies=st.lists(courses(), max_size=5).map(tuple),
    dxa=st.lists(scans(), max_size=4).map(tuple),
    labs=st.lists(
        st.builds(LabResult, days, st.sampled_from(LabTest), st.floats(0, 200, **finite)),
        max_size=6,
    ).map(tuple),
    reassessments=st.lists(days, max_size=2).map(tuple),
)


@EXAMPLES
@given(cases)
def test_generated_cases_are_valid_and_round_trip(case: Case) -> None:
    assert parse_case(json.loads(json.dumps(case_to_json(case)))) == case


@EXAMPLES
@given(cases)
def test_evaluate_never_raises_and_its_json_round_trips(case: Case) -> None:
    output = assessment_to_json(evaluate(case))
    assert json.loads(json.dumps(output)) == output


@EXAMPLES
@given(cases, st.dates(min_value=dt.date(2018, 1, 1), max_value=dt.date(2027, 6, 30)))
def test_evaluation_is_deterministic(case: Case, other_day: dt.date) -> None:
    first = evaluate(case)
    assert evaluate(case) == first
    assert evaluate(case, as_of=case.as_of) == first
    assert assessment_to_json(evaluate(case)) == assessment_to_json(first)
    assert evaluate(case, as_of=other_day) == evaluate(dataclasses.replace(case, as_of=other_day))


@EXAMPLES
@given(cases, st.dates(min_value=dt.date(2018, 1, 1), max_value=dt.date(2027, 6, 30)))
def test_the_schedule_is_the_assessments_alerts_and_monitoring(
    case: Case, other_day: dt.date
) -> None:
    """The reminder scan reads `schedule`, not `evaluate`: the two must never disagree."""
    for day in (case.as_of, other_day):
        assessment = evaluate(case, as_of=day)
        assert schedule(case, as_of=day) == (assessment.alerts, assessment.monitoring)


def effectively_active(case: Case) -> set[Drug]:
    """Drugs of the courses active on as_of once supersession has ended each course the day
    before a later course of another osteoporosis drug started (RULES.md conventions), read
    independently of the engine's own index."""
    started = [
        t for t in case.therapies if t.drug in OSTEOPOROSIS_THERAPIES and t.start <= case.as_of
    ]
    active = set()
    for course in started:
        ends = [course.end] if course.end is not None else []
        ends += [
            later.start - dt.timedelta(days=1)
            for later in started
            if later.drug != course.drug and later.start > course.start
        ]
        if all(case.as_of <= end for end in ends):
            active.add(course.drug)
    return active


@EXAMPLES
@given(cases)
def test_options_respect_avoid_and_active_courses(case: Case) -> None:
    assessment = evaluate(case)
    avoided = {entry.drug for entry in assessment.avoid}
    active = effectively_active(case)
    assert [option.rank for option in assessment.options] == list(
        range(1, len(assessment.options) + 1)
    )
    for option in assessment.options:
        assert option.drug not in avoided
        assert option.drug not in active
        if option.drug_class == DrugClass.ANABOLIC:
            # `then` is empty only when every antiresorptive that may follow is avoided.
            assert list(option.then) == [drug for drug in AFTER_ANABOLIC if drug not in avoided]
    if assessment.pathway == "not_refractory":
        assert assessment.options == ()
    if assessment.refractory.status:
        assert assessment.pathway != "not_refractory"


@EXAMPLES
@given(cases)
def test_lists_are_in_rule_order(case: Case) -> None:
    assessment = evaluate(case)
    order = [RULE_ORDER[rule] for rule in assessment.fired_rules]
    assert order == sorted(set(order))
    assert [entry.rule for entry in assessment.rationale] == list(assessment.fired_rules)
    alert_order = [RULE_ORDER[alert.rules[0]] for alert in assessment.alerts]
    assert alert_order == sorted(alert_order)
    avoid_order = [(entry.drug, RULE_ORDER[entry.rules[0]]) for entry in assessment.avoid]
    assert avoid_order == sorted(avoid_order)
    schedule = [(RULE_ORDER[item.rule], item.drug or "") for item in assessment.monitoring]
    assert schedule == sorted(schedule)
    codes = [item.code for item in assessment.monitoring]
    assert "FRACTURE_RISK_REASSESSMENT" in codes and "DXA_FOLLOW_UP" in codes
    assert assessment.refractory.status is bool(assessment.refractory.reasons)
    assert assessment.very_high_risk.status is bool(assessment.very_high_risk.reasons)


@st.composite
def cases_with_later_events(draw: st.DrawFn) -> tuple[Case, Case]:
    """A case, and the same case with events dated after its as_of added."""
    case = draw(cases)
    later = st.integers(1, 900).map(lambda n: case.as_of + dt.timedelta(days=n))
    risk = case.risk_factors
    therapies = [
        dataclasses.replace(course, doses=(*course.doses, case.as_of + dt.timedelta(days=1)))
        if course.drug != Drug.ROMOSOZUMAB
        and course.start <= case.as_of
        and (course.end is None or course.end > case.as_of)
        else course
        for course in case.therapies
    ]
    therapies += [
        TherapyCourse(draw(st.sampled_from(Drug)), draw(later))
        for _ in range(draw(st.integers(0, 2)))
    ]
    extended = dataclasses.replace(
        case,
        risk_factors=dataclasses.replace(
            risk,
            cardiovascular_events=(
                *risk.cardiovascular_events,
                CardiovascularEvent(CardiovascularEventKind.STROKE, draw(later)),
            ),
            glucocorticoids=(*risk.glucocorticoids, GlucocorticoidExposure(20.0, draw(later))),
        ),
        fractures=(*case.fractures, Fracture(draw(later), FractureSite.VERTEBRAL)),
        therapies=tuple(therapies),
        dxa=(*case.dxa, DxaScan(draw(later), ((DxaSite.LUMBAR_SPINE, SiteReading(0.3, -6.0)),))),
        labs=(*case.labs, LabResult(draw(later), LabTest.VITAMIN_D_25OH, 5.0)),
        reassessments=(*case.reassessments, draw(later)),
    )
    return case, extended


@EXAMPLES
@given(cases_with_later_events())
def test_events_after_as_of_change_nothing(pair: tuple[Case, Case]) -> None:
    case, extended = pair
    assert parse_case(case_to_json(extended)) == extended
    assert evaluate(extended) == evaluate(case)


@EXAMPLES
@given(cases)
def test_the_recommendation_follows_the_active_course_and_the_options(case: Case) -> None:
    assessment = evaluate(case)
    recommendation = assessment.recommendation
    active = effectively_active(case)
    if recommendation.action == RecommendationAction.CONTINUE:
        assert recommendation.drug in active
        assert recommendation.drug not in {entry.drug for entry in assessment.avoid}
    elif recommendation.action in (RecommendationAction.SWITCH, RecommendationAction.START):
        first = assessment.options[0]
        assert (recommendation.drug, recommendation.then, recommendation.limit) == (
            first.drug,
            first.then,
            first.limit,
        )
        assert bool(active) is (recommendation.action == RecommendationAction.SWITCH)
    else:
        assert recommendation.drug is None and recommendation.then == ()
        assert not assessment.options


@st.composite
def shuffled(draw: st.DrawFn, items: tuple) -> tuple:  # type: ignore[type-arg]
    return tuple(draw(st.permutations(items)))


@EXAMPLES
@given(cases, st.data())
def test_the_order_of_listed_records_never_changes_the_assessment(
    case: Case, data: st.DataObject
) -> None:
    risk = case.risk_factors
    reordered = dataclasses.replace(
        case,
        fractures=data.draw(shuffled(case.fractures)),
        dxa=data.draw(shuffled(case.dxa)),
        labs=data.draw(shuffled(case.labs)),
        reassessments=data.draw(shuffled(case.reassessments)),
        risk_factors=dataclasses.replace(
            risk,
            cardiovascular_events=data.draw(shuffled(risk.cardiovascular_events)),
            immunosuppressants=data.draw(shuffled(risk.immunosuppressants)),
            glucocorticoids=data.draw(shuffled(risk.glucocorticoids)),
        ),
    )
    assert evaluate(reordered) == evaluate(case)


@EXAMPLES
@given(cases, st.data())
def test_the_order_of_courses_matters_only_through_the_final_tie_break(
    case: Case, data: st.DataObject
) -> None:
    reordered = dataclasses.replace(case, therapies=data.draw(shuffled(case.therapies)))
    first, second = evaluate(case), evaluate(reordered)
    # "Started last" falls back on the listing order only between courses that start on the
    # same day and end on the same day; without such a pair, nothing changes at all.
    spans = [(t.start, t.end) for t in case.therapies if t.drug in OSTEOPOROSIS_THERAPIES]
    if len(set(spans)) == len(spans):
        assert second == first
    for name in ("refractory", "very_high_risk", "populations", "pathway", "options", "avoid"):
        assert getattr(second, name) == getattr(first, name), name


@EXAMPLES
@given(cases)
def test_an_exported_case_evaluates_as_the_original(case: Case) -> None:
    exported = json.loads(json.dumps(case_to_json(case)))
    assert evaluate(parse_case(exported)) == evaluate(case)


EDGE_DAYS = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31))
EDGE_NUMBERS = st.sampled_from([0, 0.0001, 1, 2.5, 29.99, 30, 35, 1e6, 1e300])


@st.composite
def edge_case_json(draw: st.DrawFn) -> dict:  # type: ignore[type-arg]
    """Case JSON at the edges of what parse_case accepts: any date of 1900-2199, extreme
    values, courses and doses on the first or last accepted day."""

    def day() -> str:
        return draw(EDGE_DAYS).isoformat()

    therapies = []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(EDGE_DAYS)
        end = draw(st.none() | st.dates(min_value=start, max_value=dt.date(2199, 12, 31)))
        drug = draw(st.sampled_from(Drug))
        dose_days = st.dates(min_value=start, max_value=end or dt.date(2199, 12, 31))
        doses = draw(st.lists(dose_days, max_size=12 if drug == Drug.ROMOSOZUMAB else 4))
        therapies.append(
            {
                "drug": drug.value,
                "start": start.isoformat(),
                "end": None if end is None else end.isoformat(),
                "doses": [d.isoformat() for d in doses],
            }
        )
    site = {
        "bmd_g_cm2": draw(st.sampled_from([0.2, 2.0])),
        "t_score": draw(st.sampled_from([-7, 5])),
    }
    return {
        "as_of": day(),
        "patient": {"sex": draw(st.sampled_from(["female", "male"])), "birth_date": day()},
        "risk_factors": {
            "creatinine_clearance_ml_min": draw(EDGE_NUMBERS),
            "alcohol_drinks_per_day": draw(EDGE_NUMBERS),
            "frax_major_osteoporotic_pct": draw(st.sampled_from([0, 30, 100])),
            "cardiovascular_events": [{"kind": "stroke", "date": day()}],
            "glucocorticoids": [{"prednisone_mg_per_day": draw(EDGE_NUMBERS), "start": day()}],
        },
        "fractures": [{"date": day(), "site": "vertebral"} for _ in range(draw(st.integers(0, 2)))],
        "therapies": therapies,
        "dxa": [
            {"date": day(), "sites": {"lumbar_spine": site}} for _ in range(draw(st.integers(0, 3)))
        ],
        "labs": [
            {
                "date": day(),
                "test": draw(st.sampled_from(LabTest)).value,
                "value": draw(EDGE_NUMBERS),
            }
            for _ in range(draw(st.integers(0, 4)))
        ],
        "reassessments": [day() for _ in range(draw(st.integers(0, 2)))],
    }


@EXAMPLES
@given(edge_case_json())
def test_the_assessment_never_crashes_on_a_case_parse_case_accepts(document: dict) -> None:  # type: ignore[type-arg]
    try:
        case = parse_case(document)
    except CaseError:
        return
    output = assessment_to_json(evaluate(case))
    assert json.loads(json.dumps(output)) == output


@EXAMPLES
@given(cases)
def test_a_stored_assessment_reads_back_as_it_was(case: Case) -> None:
    assessment = evaluate(case)
    stored = json.loads(json.dumps(assessment_to_json(assessment)))
    assert assessment_from_json(stored) == assessment
