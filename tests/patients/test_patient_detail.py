"""The patient page as the parts of issue 9 meet on it: history known to the year or month
shown as such (≈ 2016) in every table, the timeline and the header; DXA changes and lab values
read as the trend and the lab pages read them; one current-therapy line shared with the
printouts; decisions in words, "No treatment now" included; engine words keep their capitals."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from monitoring.models import DxaScan, LabResult
from patients.models import Fracture, Patient
from tests import factories
from tests.patients.test_queries import DETAIL_CLINICAL, YEARS
from tests.patients.test_summary import import_case, visible_text
from therapy.exceptions import CoursesWouldOverlap
from therapy.models import DecisionKind, Dose, RecommendationRecord, TherapyCourse
from therapy.services import decision_record

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def today(time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False)


def page(client, patient: Patient) -> str:
    response = client.get(reverse("patients:detail", args=[patient.pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, anchor: str) -> str:
    """The visible text of the page's section `anchor` (`<section id="…">`)."""
    start = html.index(f'<section id="{anchor}"')
    return visible_text("<body>" + html[start : html.index("</section>", start)])


def header(html: str) -> str:
    start = html.index('<header class="patient-header')
    return visible_text("<body>" + html[start : html.index("</header>", start)])


def cells(html: str, anchor: str) -> list[str]:
    """The text of each `<td>` of section `anchor`, tags removed."""
    start = html.index(f'<section id="{anchor}"')
    part = html[start : html.index("</section>", start)]
    return [visible_text("<body>" + cell).strip() for cell in re.findall(r"<td>(.*?)</td>", part)]


@pytest.fixture
def with_history(clinic) -> Patient:
    """History from before the first visit, known to the year: a vertebral fracture ≈ 2016,
    alendronate ≈ 2010 – ≈ 2015, and alendronate again since ≈ 2016 (the current course)."""
    patient = factories.PatientFactory(clinic=clinic, name="Ada Approx", mrn="P-AP")
    Fracture.objects.create(
        patient=patient, date=dt.date(2016, 1, 1), date_precision="year", site="vertebral"
    )
    TherapyCourse.objects.create(
        patient=patient,
        drug="alendronate",
        start=dt.date(2010, 1, 1),
        start_precision="year",
        end=dt.date(2015, 1, 1),
        end_precision="year",
        stop_reason="completed",
    )
    TherapyCourse.objects.create(
        patient=patient, drug="alendronate", start=dt.date(2016, 1, 1), start_precision="year"
    )
    return patient


# --- approximate dates -------------------------------------------------------------------------


def test_the_fractures_and_courses_tables_show_an_approximate_date_with_its_sign(
    with_history, clinician, client_for
):
    html = page(client_for(clinician), with_history)

    assert cells(html, "fractures")[0] == "≈ 2016"
    courses = cells(html, "therapy")
    assert courses[:4] == ["Alendronate (oral)", "≈ 2010", "≈ 2015", "Completed"]
    assert courses[5:8] == ["Alendronate (oral)", "≈ 2016", "ongoing"]
    assert "2016-01-01" not in visible_text(html) and "2010-01-01" not in visible_text(html)


def test_the_header_says_since_when_as_precisely_as_it_is_known(
    with_history, clinician, client_for
):
    html = page(client_for(clinician), with_history)

    assert "On alendronate since ≈ 2016" in header(html)


def test_the_timeline_places_an_approximate_end_at_the_latest_day_it_may_have_been(
    clinic, clinician, client_for
):
    patient = factories.PatientFactory(clinic=clinic)
    TherapyCourse.objects.create(
        patient=patient,
        drug="alendronate",
        start=dt.date(2010, 1, 1),
        start_precision="year",
        end=dt.date(2015, 1, 1),
        end_precision="year",
        stop_reason="intolerance",
    )
    denosumab = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2015, 6, 1)
    )
    Dose.objects.create(course=denosumab, date=dt.date(2015, 6, 1))

    html = page(client_for(clinician), patient)

    timeline = html[html.index("In date order") :]
    entries = [
        visible_text("<body>" + item).strip()
        for item in re.findall(r'<li class="list-group-item[^"]*">(.*?)</li>', timeline, re.S)
    ]
    assert [entry.split(" edit")[0] for entry in entries] == [
        "≈ 2010 — started Alendronate (oral)",
        "2015-06-01 — started Denosumab (SC, 6-monthly)",
        "2015-06-01 — Denosumab (SC, 6-monthly) dose given",
        "≈ 2015 — stopped Alendronate (oral) (intolerance)",
    ]
    assert '<time datetime="2010">≈ 2010</time>' in timeline
    assert '<time datetime="2015">≈ 2015</time>' in timeline


def test_the_timeline_orders_by_the_start_and_the_latest_end(clinic):
    from patients.views import therapy_timeline

    patient = factories.PatientFactory(clinic=clinic)
    ended = TherapyCourse(
        patient=patient,
        drug="alendronate",
        start=dt.date(2014, 3, 1),
        start_precision="month",
        end=dt.date(2015, 5, 1),
        end_precision="month",
    )
    TherapyCourse.objects.bulk_create([ended])
    later = TherapyCourse.objects.create(
        patient=patient, drug="raloxifene", start=dt.date(2015, 5, 20)
    )

    events = therapy_timeline(list(patient.therapy_courses.all()))

    assert [(e["shown"], e["kind"], e["course"].drug) for e in events] == [
        ("≈ 2014-03", "start", "alendronate"),
        ("2015-05-20", "start", later.drug),
        ("≈ 2015-05", "end", "alendronate"),
    ]
    assert events[-1]["date"] == dt.date(2015, 5, 31)


def test_the_decision_form_names_an_approximate_current_course_as_approximate(
    with_history, clinician, client_for
):
    response = client_for(clinician).get(reverse("therapy:decision-create", args=[with_history.pk]))

    text = visible_text(response.content.decode())
    assert "Continue current therapy: alendronate (since ≈ 2016)" in text
    assert "Stop alendronate (since ≈ 2016)" in text
    assert "2016-01-01" not in text


def test_the_overlap_warning_names_an_approximate_course_as_approximate(with_history, clinician):
    with pytest.raises(CoursesWouldOverlap) as overlap:
        decision_record(
            patient=with_history,
            actor=clinician,
            as_of=TODAY,
            kind=DecisionKind.OTHER_DRUG,
            chosen_drug="zoledronic_acid",
            reason="Yearly infusion preferred",
            start_date=TODAY,
            first_dose_given=False,
        )

    assert "Alendronate since ≈ 2016" in str(overlap.value.courses)


# --- DXA and labs read as the trend and the lab pages read them --------------------------------


def test_the_dxa_table_says_a_change_across_scanners_is_not_comparable(
    patient, clinician, client_for
):
    for day, scanner, bmd in [
        (dt.date(2023, 1, 5), "Hologic A", 0.900),
        (dt.date(2024, 1, 5), "Hologic A", 0.840),  # −6.7 %: beyond the spine's LSC
        (dt.date(2025, 1, 5), "Lunar iDXA", 0.700),  # another machine: no change to read
    ]:
        DxaScan.objects.create(
            patient=patient, date=day, scanner=scanner, lumbar_spine_bmd_g_cm2=bmd
        )

    dxa = section(page(client_for(clinician), patient), "dxa")

    assert "−6.7 % significant loss" in dxa
    assert "Lunar iDXA different scanner" in dxa
    assert "not comparable: different scanners" in dxa
    assert "−16.7 %" not in dxa


def test_without_scans_the_dxa_section_says_so_instead_of_an_empty_table(
    patient, nurse, client_for
):
    html = page(client_for(nurse), patient)

    start = html.index('<section id="dxa"')
    assert "No DXA scan recorded." in section(html, "dxa")
    assert "<table" not in html[start : html.index("</section>", start)]


def test_the_lab_table_shows_the_stored_value_and_what_was_typed(patient, nurse, client_for):
    LabResult.objects.create(
        patient=patient,
        date=dt.date(2026, 11, 2),
        test="vitamin_d_25oh",
        value=30.05,
        unit="ng/mL",
        entered_value=75,
        entered_unit="nmol/L",
    )

    labs = cells(page(client_for(nurse), patient), "labs")

    assert labs[:4] == ["2026-11-02", "25-OH vitamin D", "30.05 ng/mL", "75 nmol/L"]


@pytest.mark.parametrize("history", YEARS, indirect=True)
def test_the_page_costs_the_same_queries_with_scanners_and_units_typed(
    history, clinician, client_for, django_assert_num_queries
):
    history.dxa_scans.update(scanner="Hologic A")
    history.dxa_scans.filter(pk=history.dxa_scans.last().pk).update(scanner="Lunar iDXA")
    history.lab_results.filter(test="ctx").update(entered_value=400, entered_unit="ng/L")
    client = client_for(clinician)

    with django_assert_num_queries(DETAIL_CLINICAL):
        html = page(client, history)

    assert "not comparable: different scanners" in html


@pytest.fixture
def history(request, patient) -> Patient:
    factories.add_long_history(patient, years=request.param)
    return patient


# --- one current-therapy line --------------------------------------------------------------------


def test_the_header_the_summary_and_the_letter_name_one_current_therapy(
    clinic, clinician, client_for
):
    """Alendronate left open when zoledronic acid started: the engine reads alendronate as
    superseded, and so do all three (the printouts used to list both as current)."""
    patient = import_case(clinic, "v20_zoledronic_started_oral_bp_left_open.json", "P-20")
    client = client_for(clinician)
    line = "On zoledronic acid since 2026-03-01 · next infusion due 2027-03-01"

    on_page = header(page(client, patient))
    summary = visible_text(
        client.get(reverse("patients:summary", args=[patient.pk])).content.decode()
    )
    letter = visible_text(
        client.get(reverse("patients:letter", args=[patient.pk])).content.decode()
    )

    assert line in on_page
    current = summary[summary.index("Current therapy") : summary.index("Options and drugs")]
    assert current.strip().startswith(f"Current therapy {line} ·")
    assert "alendronate" not in current.lower()
    plan = letter[letter.index("Treatment") : letter.index("Dates to keep")]
    assert "zoledronic acid on 1 March 2026" in plan and "Next infusion due on 1 March 2027" in plan
    assert "alendronate" not in plan


def documents(client, patient: Patient) -> tuple[str, str]:
    """The visible text of the summary and of the letter."""
    return tuple(  # type: ignore[return-value]
        visible_text(client.get(reverse(name, args=[patient.pk])).content.decode())
        for name in ("patients:summary", "patients:letter")
    )


def test_a_course_stopped_today_reads_as_ending_today_everywhere(clinic, clinician, client_for):
    """The engine reads a course whose last day is today as active today; every place that
    names it says it ends today, not that it simply goes on."""
    patient = factories.PatientFactory(clinic=clinic)
    TherapyCourse.objects.create(
        patient=patient,
        drug="alendronate",
        start=dt.date(2024, 2, 1),
        end=TODAY,
        stop_reason="patient_choice",
    )
    client = client_for(clinician)

    html = page(client, patient)
    on_page = header(html)
    summary, letter = documents(client, patient)

    assert "On alendronate since 2024-02-01 · last day 2026-12-01" in on_page
    assert "On alendronate since 2024-02-01 · last day 2026-12-01" in summary
    assert (
        "Stopping: alendronate, taken since 1 February 2024, last day 1 December 2026 "
        "(patient choice), tablets by mouth." in letter
    )
    # The headline, still the engine's "Continue" today, says the course ends today.
    for text in (visible_text(html), summary, letter):
        assert "Continue alendronate — last day today" in text
        assert "Its course ends today, as recorded" in text


def test_a_drug_the_rules_ignore_is_named_as_taken_but_not_counted(clinic, clinician, client_for):
    patient = factories.PatientFactory(clinic=clinic)
    TherapyCourse.objects.create(patient=patient, drug="raloxifene", start=dt.date(2024, 2, 1))
    client = client_for(clinician)

    on_page = header(page(client, patient))
    summary, letter = documents(client, patient)

    line = "On raloxifene since 2024-02-01 (the treatment algorithm does not count it)"
    assert line in on_page and line in summary
    assert "Continue: raloxifene, taken since 1 February 2024, tablets by mouth." in letter


# --- engine words keep their capitals; decisions in words ---------------------------------------


def test_refractory_reasons_keep_their_abbreviations_in_the_summary(clinic, clinician, client_for):
    patient = import_case(clinic, "v05_rapid_bmd_loss_on_risedronate.json", "P-05")

    summary = visible_text(
        client_for(clinician).get(reverse("patients:summary", args=[patient.pk])).content.decode()
    )

    assert "Refractory: yes (BMD loss on treatment)" in summary
    assert "bmd" not in summary


def test_the_decision_form_names_what_to_avoid_with_its_abbreviations(
    clinic, clinician, client_for
):
    patient = import_case(clinic, "v10_teriparatide_finished_no_antiresorptive.json", "P-10")

    html = client_for(clinician).get(reverse("therapy:decision-create", args=[patient.pk]))

    text = visible_text(html.content.decode())
    assert "PTH-analogue lifetime limit reached" in text
    assert "pth" not in text


def test_a_refused_contraindicated_drug_says_why_with_its_abbreviations(clinic, clinician):
    patient = import_case(clinic, "v10_teriparatide_finished_no_antiresorptive.json", "P-10")

    with pytest.raises(ValidationError) as refused:
        decision_record(
            patient=patient,
            actor=clinician,
            as_of=TODAY,
            kind=DecisionKind.OTHER_DRUG,
            chosen_drug="teriparatide",
            reason="Another course",
        )

    assert refused.value.message_dict["chosen_drug"] == [
        "This drug is contraindicated for this patient (24-month PTH-analogue lifetime limit "
        "reached)."
    ]


def test_a_no_treatment_decision_reads_as_such_on_the_page_the_summary_and_the_letter(
    patient, clinician, client_for
):
    RecommendationRecord.objects.create(
        patient=patient,
        decided_by=clinician,
        as_of=TODAY,
        engine_version="2",
        case={},
        assessment={},
        kind="no_treatment",
        chosen_drug="",
        reason="Wants to think it over",
    )
    client = client_for(clinician)

    decisions = cells(page(client, patient), "decisions")
    summary = visible_text(
        client.get(reverse("patients:summary", args=[patient.pk])).content.decode()
    )
    letter = visible_text(
        client.get(reverse("patients:letter", args=[patient.pk])).content.decode()
    )

    assert decisions[2:4] == ["No treatment now", "Wants to think it over"]
    assert ": No treatment now. Reason: Wants to think it over" in summary
    assert "Decided on 1 December 2026: No treatment now. Reason: Wants to think it over." in letter
