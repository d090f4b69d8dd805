"""The printable summary: what it holds, in words; who may open it; what it costs; its PDF."""

from __future__ import annotations

import datetime as dt
import json
import re
import zlib
from html import unescape
from pathlib import Path

import pytest
from django.urls import reverse

from monitoring.models import DxaScan, LabResult
from patients import pdf
from patients.models import Fracture, Patient
from tests import factories
from therapy.case_records import patient_import_case
from therapy.engine import parse_case
from therapy.models import RecommendationRecord

CASES = Path(__file__).resolve().parents[1] / "cases"
#: The day the pages are read on: every date below is relative to it.
TODAY = dt.date(2026, 12, 1)
#: A raw code of the engine (DENOSUMAB_OVERDUE, FOLLOW_ON_START…): never shown to a person.
RAW_CODE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
#: One A4 sheet in PDF points (1/72 inch): 210 × 297 mm.
A4_POINTS = (595.28, 841.89)
#: Queries of the summary, however long the history: session, user, patient access and its
#: access-log row (issue 11); the patient with clinic and risk profile, courses, doses,
#: fractures, scans, labs; the engine's input (11); the latest decision. The session is not
#: stored again (config.session.SessionIdleMiddleware renews it at most once a minute). The page
#: adds the navigation's memberships.
SUMMARY_PDF_QUERIES = 22
SUMMARY_QUERIES = SUMMARY_PDF_QUERIES + 1


@pytest.fixture(autouse=True)
def today(time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False)


def import_case(clinic, name: str, mrn: str) -> Patient:
    case = json.loads((CASES / name).read_text())["case"]
    return patient_import_case(clinic=clinic, case=parse_case(case), mrn=mrn)


@pytest.fixture
def patient_on_teriparatide(clinic, clinician) -> Patient:
    """On teriparatide since a fracture on alendronate, with two scans that lost bone, labs and
    a recorded decision: a summary with every part filled in."""
    patient = import_case(clinic, "v19_teriparatide_started_after_failure.json", "S-19")
    DxaScan.objects.create(
        patient=patient,
        date=dt.date(2024, 5, 2),
        scanner="Hologic Horizon",
        lumbar_spine_bmd_g_cm2=0.800,
        lumbar_spine_t_score=-2.6,
        total_hip_bmd_g_cm2=0.700,
        total_hip_t_score=-2.1,
    )
    DxaScan.objects.create(
        patient=patient,
        date=dt.date(2025, 6, 3),
        scanner="Hologic Horizon",
        lumbar_spine_bmd_g_cm2=0.740,  # −7.5 %: beyond the lumbar spine's default LSC of 5.3 %
        lumbar_spine_t_score=-3.1,
        total_hip_bmd_g_cm2=0.690,  # −1.4 %: within the LSC
        total_hip_t_score=-2.2,
    )
    LabResult.objects.create(
        patient=patient, date=dt.date(2026, 10, 1), test="vitamin_d_25oh", value=20, unit="ng/mL"
    )
    LabResult.objects.create(
        patient=patient, date=dt.date(2026, 11, 2), test="calcium", value=2.3, unit="mmol/L"
    )
    RecommendationRecord.objects.create(
        patient=patient,
        decided_by=clinician,
        as_of=dt.date(2026, 6, 1),
        engine_version="2",
        case={},
        assessment={},
        kind="ranked_option",
        chosen_drug="teriparatide",
        chosen_rank=1,
    )
    return patient


def visible_text(html: str) -> str:
    """What a reader sees: the body without tags, scripts and styles, entities resolved."""
    body = html[html.find("<body") :]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"</?(?:a|b|strong|em|span|time)\b[^>]*>", "", body)  # inline: no gap
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))


def pdf_page_sizes(data: bytes) -> list[tuple[float, float]]:
    """Each page's MediaBox (width, height) in points, read from the PDF's own bytes: WeasyPrint
    compresses its objects, so every stream is inflated first."""
    chunks = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", b"\n".join(chunks))
    return [(float(w), float(h)) for w, h in boxes]


def is_a4(size: tuple[float, float]) -> bool:
    return all(abs(got - want) < 1 for got, want in zip(size, A4_POINTS, strict=True))


# --- what it holds ---------------------------------------------------------------------------


def test_the_summary_holds_every_part_of_the_plan_in_words(
    client_for, clinician, patient_on_teriparatide
):
    response = client_for(clinician).get(
        reverse("patients:summary", args=[patient_on_teriparatide.pk])
    )

    text = visible_text(response.content.decode())
    assert response.status_code == 200
    assert "Continue teriparatide" in text  # the headline
    assert "On teriparatide since 2026-" in text  # current therapy
    assert "limited to 24 months in a lifetime" in text  # what must not be forgotten
    assert "Options and drugs to avoid" in text and "Zoledronic acid" in text
    assert "contraindicated" in text or "avoid" in text
    assert "Vertebral" in text  # the fracture
    assert "2025-06-03" in text and "Hologic Horizon" in text  # the DXA table
    assert "−7.5 %, significant loss" in text  # the change that counts, judged by the LSC
    assert "−1.4 %, not significant" in text
    assert "25-OH vitamin D 20 ng/mL (50 nmol/L) 2026-10-01" in text
    assert "Calcium" in text and "2.3 mmol/L" in text  # the latest labs
    assert "Fracture-risk reassessment every 12 months" in text  # the monitoring plan
    assert "Calcium 1000–1200 mg/day" in text  # the advice
    assert f"{clinician.get_full_name()}: Teriparatide (option 1)" in text  # the decision


def test_a_patient_without_therapy_scans_labs_or_decisions_gets_a_summary_saying_so(
    client_for, clinician, patient
):
    response = client_for(clinician).get(reverse("patients:summary", args=[patient.pk]))

    text = visible_text(response.content.decode())
    assert response.status_code == 200
    for sentence in [
        "Current therapy No osteoporosis therapy ",
        "No fracture recorded.",
        "No DXA scan recorded.",
        "No lab result recorded.",
        "No decision recorded yet.",
    ]:
        assert sentence in text


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.glob("*.json")))
def test_no_raw_code_appears_in_the_summary_or_the_letter(case, clinic, clinician, client_for):
    patient = import_case(clinic, case, "RAW")
    client = client_for(clinician)

    for name in ("patients:summary", "patients:letter"):
        html = client.get(reverse(name, args=[patient.pk])).content.decode()
        assert RAW_CODE.findall(visible_text(html)) == [], name


# --- who may open it, and how it is sent -----------------------------------------------------


@pytest.mark.parametrize("name", ["patients:summary", "patients:summary-pdf"])
def test_nurses_may_print_it_but_clinic_admins_and_outsiders_may_not(
    name, client_for, nurse, clinic_admin, outsider, patient_on_teriparatide
):
    url = reverse(name, args=[patient_on_teriparatide.pk])

    assert client_for(nurse).get(url).status_code == 200
    assert client_for(clinic_admin).get(url).status_code == 403
    assert client_for(outsider).get(url).status_code == 404


@pytest.mark.parametrize("name", ["patients:summary", "patients:summary-pdf"])
def test_no_browser_or_proxy_may_keep_the_summary(
    name, client_for, clinician, patient_on_teriparatide
):
    response = client_for(clinician).get(reverse(name, args=[patient_on_teriparatide.pk]))

    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= directives


def test_the_screen_page_offers_print_the_pdf_and_the_letter_to_a_clinician(
    client_for, clinician, nurse, patient_on_teriparatide
):
    pk = patient_on_teriparatide.pk
    url = reverse("patients:summary", args=[pk])

    html = client_for(clinician).get(url).content.decode()
    assert "data-print" in html
    assert reverse("patients:summary-pdf", args=[pk]) in html
    assert reverse("patients:letter", args=[pk]) in html
    assert 'media="print"' in html
    assert reverse("patients:letter", args=[pk]) not in client_for(nurse).get(url).content.decode()


# --- the PDF ---------------------------------------------------------------------------------


def test_the_summary_downloads_as_an_a4_pdf_named_after_the_mrn(
    client_for, clinician, patient_on_teriparatide
):
    response = client_for(clinician).get(
        reverse("patients:summary-pdf", args=[patient_on_teriparatide.pk])
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="summary-s-19-2026-12-01.pdf"'
    assert response.content.startswith(b"%PDF-")
    sizes = pdf_page_sizes(response.content)
    assert sizes and all(is_a4(size) for size in sizes), sizes


def test_the_pdf_is_laid_out_with_the_documents_stylesheets(clinician, patient_on_teriparatide):
    html = (
        '<html><head><link rel="stylesheet" href="/static/css/document.css">'
        '<link rel="stylesheet" href="/static/css/print.css" media="print"></head>'
        '<body class="doc-pdf"><article class="letter"><p>Dear Doctor,</p></article></body></html>'
    )

    pages = pdf.render(html).pages

    # The letter's named page: A4 with 22 mm on the left (print.css), not WeasyPrint's 75 px.
    assert [(round(p.width * 25.4 / 96), round(p.height * 25.4 / 96)) for p in pages] == [
        (210, 297)
    ]
    # WeasyPrint's own page box (its version is pinned): the stylesheet was read and applied.
    assert round(pages[0]._page_box.margin_left * 25.4 / 96) == 22


def test_where_pdfs_cannot_be_drawn_the_download_says_why_and_the_page_still_prints(
    client_for, clinician, patient_on_teriparatide, monkeypatch
):
    monkeypatch.setattr(
        "patients.summary_views.pdf_unavailable_reason", lambda: "OSError: no libpango"
    )
    client = client_for(clinician)
    pk = patient_on_teriparatide.pk

    download = client.get(reverse("patients:summary-pdf", args=[pk]))
    page = client.get(reverse("patients:summary", args=[pk]))

    assert download.status_code == 503
    assert "PDF download is not available on this server" in download.content.decode()
    assert "no-store" in download["Cache-Control"]
    assert page.status_code == 200
    assert reverse("patients:summary-pdf", args=[pk]) not in page.content.decode()
    assert "data-print" in page.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.org/static/css/print.css",
        "http://ossa.invalid/media/upload.css",
        "http://ossa.invalid/static/../config/settings.py",
        "http://ossa.invalid/static/%2e%2e/%2e%2e/etc/passwd.css",
        "http://ossa.invalid/static/js/ossa.js",
        "data:text/css,body{}",
    ],
)
def test_the_pdf_renderer_reads_nothing_but_the_apps_stylesheets(url):
    with pytest.raises(ValueError):
        pdf.static_file_path(url)


def test_the_pdf_renderer_reads_a_stylesheet_from_the_static_files():
    path = pdf.static_file_path("http://ossa.invalid/static/css/print.css")

    assert Path(path).read_text().startswith("/* Printing")


# --- what it costs ---------------------------------------------------------------------------


@pytest.mark.parametrize("years", [2, 20])
@pytest.mark.parametrize(
    ("name", "queries"),
    [("patients:summary", SUMMARY_QUERIES), ("patients:summary-pdf", SUMMARY_PDF_QUERIES)],
)
def test_the_summary_costs_the_same_queries_for_2_or_20_years_of_history(
    years, name, queries, clinic, clinician, client_for, django_assert_num_queries
):
    patient = factories.PatientFactory(clinic=clinic)
    factories.add_long_history(patient, years=years, start=dt.date(2004, 1, 10))
    Fracture.objects.create(patient=patient, date=dt.date(2003, 2, 2), site="hip")
    client = client_for(clinician)

    with django_assert_num_queries(queries):
        response = client.get(reverse(name, args=[patient.pk]))

    assert response.status_code == 200
