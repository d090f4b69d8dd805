"""The printable patient summary, on screen and as PDF, and what the letter to the GP shares with
it: a document answered as a page (printed by the browser on A4) or as a PDF download.

Opening either is reading the clinical record: the patient is reached through
`patient_for_user`, and neither the page nor the PDF may be kept by a browser or proxy cache.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.text import slugify

from patients.access import patient_for_user
from patients.documents import patient_document
from patients.models import Patient
from patients.pdf import html_to_pdf, pdf_unavailable_reason
from patients.permissions import Action

#: The page's layout on screen, and the bare one WeasyPrint lays out on A4 (no navigation).
SCREEN_LAYOUT = "base.html"
PDF_LAYOUT = "patients/document_pdf.html"


def _no_store(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, no_store=True, private=True)
    return response


def pdf_filename(kind: str, patient: Patient, day: dt.date) -> str:
    """`summary-h-0042-2026-12-01.pdf`: the MRN in the name, as files in a chart are found."""
    return f"{kind}-{slugify(patient.mrn) or patient.pk}-{day:%Y-%m-%d}.pdf"


def document_response(
    request: HttpRequest,
    *,
    template: str,
    context: dict[str, Any],
    filename: str,
    page_url: str,
    as_pdf: bool,
    status: int = 200,
) -> HttpResponse:
    """The document as a page, or as a PDF attachment (503 where this server cannot draw PDFs,
    saying so and pointing to the browser's print)."""
    unavailable = pdf_unavailable_reason()
    if not as_pdf:
        context = {**context, "layout": SCREEN_LAYOUT, "can_download_pdf": not unavailable}
        return _no_store(render(request, template, context, status=status))
    if unavailable:
        page = render(
            request,
            "patients/pdf_unavailable.html",
            {**context, "reason": unavailable, "page_url": page_url},
            status=503,
        )
        return _no_store(page)
    html = render_to_string(template, {**context, "layout": PDF_LAYOUT, "is_pdf": True}, request)
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf", status=status)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _no_store(response)


def _summary(request: HttpRequest, pk: int, *, as_pdf: bool) -> HttpResponse:
    access = patient_for_user(request.user, pk, Action.VIEW_CLINICAL)
    today = timezone.localdate()
    document = patient_document(pk=access.patient.pk, as_of=today)
    return document_response(
        request,
        template="patients/patient_summary.html",
        context={
            "patient": document.patient,
            "doc": document,
            "panel": document.panel,
            "printed_by": request.user,
            "printed_at": timezone.localtime(),
            "can_sign_letter": access.can(Action.SIGN_LETTER),
        },
        filename=pdf_filename("summary", document.patient, today),
        page_url=reverse("patients:summary", args=[pk]),
        as_pdf=as_pdf,
    )


def patient_summary(request: HttpRequest, pk: int) -> HttpResponse:
    return _summary(request, pk, as_pdf=False)


def patient_summary_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _summary(request, pk, as_pdf=True)
