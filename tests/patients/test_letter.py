"""The letter to the GP: the plan in plain language, on the clinic's letterhead, signed by the
clinician who writes it; only clinicians sign one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from monitoring.models import DxaScan
from patients.models import Fracture, Patient
from tests import factories
from tests.patients.test_summary import import_case, is_a4, pdf_page_sizes, visible_text
from tests.planting import plant
from therapy.models import Dose, RecommendationRecord, TherapyCourse

#: The letter reads the same document as the summary (test_summary.py): the same queries.
LETTER_PDF_QUERIES = 22
LETTER_QUERIES = LETTER_PDF_QUERIES + 1  # the navigation's memberships


@pytest.fixture(autouse=True)
def today(time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def letterhead(clinic):
    clinic.address = "Metabolic Bone Unit\n1 Example Road\nHillside HS1 1AA"
    clinic.phone = "01234 567890"
    clinic.save()
    return clinic


@pytest.fixture
def on_denosumab(letterhead) -> Patient:
    """On denosumab, last injection eight months ago: overdue (ALR-2)."""
    return import_case(letterhead, "v08_denosumab_overdue.json", "L-08")


@pytest.fixture
def switched_today(letterhead) -> Patient:
    """Denosumab stopped yesterday and zoledronic acid infused today: a same-day switch."""
    patient = factories.PatientFactory(clinic=letterhead, name="Ada Switch", mrn="L-17")
    denosumab = TherapyCourse.objects.create(
        patient=patient,
        drug="denosumab",
        start=dt.date(2022, 1, 10),
        end=dt.date(2026, 11, 30),
        stop_reason="patient_choice",
    )
    for day in (dt.date(2022, 1, 10), dt.date(2026, 6, 1)):
        Dose.objects.create(course=denosumab, date=day)
    zoledronic = TherapyCourse.objects.create(
        patient=patient, drug="zoledronic_acid", start=dt.date(2026, 12, 1)
    )
    Dose.objects.create(course=zoledronic, date=dt.date(2026, 12, 1))
    DxaScan.objects.create(
        patient=patient, date=dt.date(2026, 11, 2), lumbar_spine_t_score=-2.6, total_hip_t_score=-2
    )
    return patient


def letter_text(client, patient: Patient) -> str:
    response = client.get(reverse("patients:letter", args=[patient.pk]))
    assert response.status_code == 200
    return visible_text(response.content.decode())


# --- what it says ----------------------------------------------------------------------------


def test_the_letter_is_on_the_clinics_letterhead_to_dear_doctor_and_signed_by_the_clinician(
    on_denosumab, clinician, client_for
):
    clinician.email = "clara@hillside.example"
    clinician.save()

    text = letter_text(client_for(clinician), on_denosumab)

    assert "Hillside Bone Clinic Metabolic Bone Unit 1 Example Road Hillside HS1 1AA" in text
    assert "Telephone 01234 567890" in text
    assert "1 December 2026" in text
    assert f"Re: {on_denosumab.name}, born 1 June 1950, MRN L-08" in text
    assert "Dear Doctor," in text
    assert (
        f"Yours sincerely, {clinician.get_full_name()} Clinician, Hillside Bone Clinic "
        "clara@hillside.example" in text
    )


def test_the_letter_addresses_the_gp_by_name_and_practice_when_recorded(
    on_denosumab, clinician, client_for
):
    on_denosumab.gp_name = "Dr Priya Shah"
    on_denosumab.gp_practice = "Mill Lane Surgery"
    on_denosumab.save()

    text = letter_text(client_for(clinician), on_denosumab)

    assert "Dr Priya Shah Mill Lane Surgery" in text
    assert "Dear Dr Priya Shah," in text
    assert "Dear Doctor," not in text


def test_the_letter_states_the_plan_and_what_must_not_be_forgotten_about_denosumab(
    on_denosumab, clinician, client_for
):
    text = letter_text(client_for(clinician), on_denosumab)

    assert "Continue denosumab — then a bisphosphonate." in text  # the headline
    assert (
        "Continue: denosumab, taken since 10 March 2024, an injection under the skin every "
        "6 months. Last injection given on 20 March 2026. Next injection due on "
        "20 September 2026 — now overdue." in text
    )
    assert "Denosumab overdue (rebound risk): due 20 September 2026." in text
    assert "must never be stopped or delayed without a follow-on treatment" in text
    assert "a bisphosphonate must follow it" in text
    assert "Fracture-risk reassessment every 12 months 20 March 2027" in text  # dates to keep
    assert "Calcium 1000–1200 mg/day in total, diet plus supplement." in text
    assert "Vitamin D 800–1000 IU/day" in text


def test_after_a_same_day_switch_the_letter_says_what_stopped_and_what_started(
    switched_today, clinician, client_for
):
    text = letter_text(client_for(clinician), switched_today)

    assert "Stopped: denosumab on 30 November 2026 (patient choice)." in text
    assert (
        "Started: zoledronic acid on 1 December 2026, to be continued, an intravenous infusion "
        "every 12 months. Last infusion given on 1 December 2026. Next infusion due on "
        "1 December 2027." in text
    )
    assert "DXA on 2 November 2026: lumbar spine T-score −2.6; total hip T-score −2.0" in text
    assert "must never be stopped" not in text  # denosumab is no longer running


def test_a_clinic_without_an_address_still_gets_a_letterhead_and_the_clinician_is_told(
    clinic, clinician, client_for
):
    patient = import_case(clinic, "v01_stable_on_alendronate.json", "L-01")

    response = client_for(clinician).get(reverse("patients:letter", args=[patient.pk]))

    html = response.content.decode()
    assert "The clinic's postal address is not recorded" in html
    assert 'class="letterhead-name">Hillside Bone Clinic</p>' in html
    assert "Please contact us with any question." in visible_text(html)


def test_a_record_the_engine_refuses_names_what_to_correct_and_gets_no_pdf(
    clinic, clinician, client_for
):
    patient = factories.PatientFactory(clinic=clinic)
    fracture = Fracture.objects.create(patient=patient, date=dt.date(2019, 6, 1), site="wrist")
    plant(fracture, date=dt.date(1, 1, 1))  # past the limits, as an old import could leave it
    client = client_for(clinician)

    page = client.get(reverse("patients:letter", args=[patient.pk]))
    download = client.get(reverse("patients:letter-pdf", args=[patient.pk]))

    assert page.status_code == 200
    assert "The letter cannot state a plan yet." in page.content.decode()
    assert "Dear Doctor" not in page.content.decode()
    assert download.status_code == 409
    assert download["Content-Type"].startswith("text/html")


# --- who may write it ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["patients:letter", "patients:letter-pdf"])
def test_only_a_clinician_of_the_patients_clinic_writes_the_letter(
    name, on_denosumab, clinician, nurse, clinic_admin, outsider, client_for
):
    url = reverse(name, args=[on_denosumab.pk])

    assert client_for(clinician).get(url).status_code == 200
    assert client_for(nurse).get(url).status_code == 403  # reads the record, signs no letter
    assert client_for(clinic_admin).get(url).status_code == 403
    assert client_for(outsider).get(url).status_code == 404


@pytest.mark.parametrize(("role", "shown"), [("clinician", True), ("nurse", False)])
def test_the_patient_page_offers_the_letter_to_whoever_may_write_it(
    role, shown, on_denosumab, request, client_for
):
    client = client_for(request.getfixturevalue(role))

    html = client.get(reverse("patients:detail", args=[on_denosumab.pk])).content.decode()

    assert (reverse("patients:letter", args=[on_denosumab.pk]) in html) is shown


@pytest.mark.parametrize("name", ["patients:letter", "patients:letter-pdf"])
def test_no_browser_or_proxy_may_keep_the_letter(name, on_denosumab, clinician, client_for):
    response = client_for(clinician).get(reverse(name, args=[on_denosumab.pk]))

    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= directives


# --- the PDF and what it costs ---------------------------------------------------------------


def test_the_letter_downloads_as_one_a4_page(on_denosumab, clinician, client_for):
    clinician.email = "clara@hillside.example"
    clinician.save()

    response = client_for(clinician).get(reverse("patients:letter-pdf", args=[on_denosumab.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="letter-l-08-2026-12-01.pdf"'
    sizes = pdf_page_sizes(response.content)
    assert len(sizes) == 1 and is_a4(sizes[0]), sizes


@pytest.mark.parametrize("years", [2, 20])
@pytest.mark.parametrize(
    ("name", "queries"),
    [("patients:letter", LETTER_QUERIES), ("patients:letter-pdf", LETTER_PDF_QUERIES)],
)
def test_the_letter_costs_the_same_queries_for_2_or_20_years_of_history(
    years, name, queries, clinic, clinician, client_for, django_assert_num_queries
):
    patient = factories.PatientFactory(clinic=clinic)
    factories.add_long_history(patient, years=years, start=dt.date(2004, 1, 10))
    client = client_for(clinician)

    with django_assert_num_queries(queries):
        response = client.get(reverse(name, args=[patient.pk]))

    assert response.status_code == 200


def test_the_engines_warnings_are_in_the_letter_and_the_summary_after_what_is_critical(
    letterhead, clinician, client_for
):
    patient = import_case(letterhead, "v11_romosozumab_dose_11.json", "L-11")
    client = client_for(clinician)

    letter = letter_text(client, patient)
    summary = visible_text(
        client.get(reverse("patients:summary", args=[patient.pk])).content.decode()
    )

    for text in (letter, summary):
        assert "Also of note Anabolic course ending: plan the antiresorptive" in text
        assert "limited to 12 monthly doses" in text  # what romosozumab must never be without


def test_a_decision_of_the_last_year_is_stated_with_its_reason(
    switched_today, clinician, client_for
):
    RecommendationRecord.objects.create(
        patient=switched_today,
        decided_by=clinician,
        as_of=dt.date(2026, 12, 1),
        engine_version="2",
        case={},
        assessment={},
        kind="other_drug",
        chosen_drug="zoledronic_acid",
        reason="Prefers a yearly infusion",
    )

    text = letter_text(client_for(clinician), switched_today)

    assert (
        "Decided on 1 December 2026: Zoledronic acid (not a ranked option). "
        "Reason: Prefers a yearly infusion." in text
    )


def test_history_known_to_the_year_or_month_reads_as_approximate(letterhead, clinician, client_for):
    patient = factories.PatientFactory(clinic=letterhead, mrn="L-AP")
    Fracture.objects.create(
        patient=patient, date=dt.date(2016, 1, 1), date_precision="year", site="wrist"
    )
    TherapyCourse.objects.create(
        patient=patient, drug="alendronate", start=dt.date(2019, 5, 1), start_precision="month"
    )
    client = client_for(clinician)

    summary = visible_text(
        client.get(reverse("patients:summary", args=[patient.pk])).content.decode()
    )
    letter = letter_text(client, patient)

    assert "≈ 2016 Wrist" in summary
    assert "On alendronate since ≈ 2019-05" in summary
    assert "Continue: alendronate, taken since ≈ May 2019, tablets by mouth." in letter
