"""The letter to the patient's GP: the plan in plain language on the clinic's letterhead, signed
by the clinician who writes it — on screen (printed on A4 by the browser) and as PDF.

Only a clinician signs a letter (`Action.SIGN_LETTER`): a nurse may read and print the summary
but is refused the letter (403). The GP's name and practice are not recorded yet, so the letter
is addressed "Dear Doctor".
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from patients.access import patient_for_user
from patients.documents import patient_document
from patients.permissions import Action
from patients.summary_views import document_response, pdf_filename


def _letter(request: HttpRequest, pk: int, *, as_pdf: bool) -> HttpResponse:
    access = patient_for_user(request.user, pk, Action.SIGN_LETTER)
    today = timezone.localdate()
    document = patient_document(pk=access.patient.pk, as_of=today)
    page_url = reverse("patients:letter", args=[pk])
    # A letter without the engine's plan would tell the GP less than it seems to: the page names
    # what to correct instead, and the PDF is refused until then.
    refused = as_pdf and not document.is_evaluated
    return document_response(
        request,
        template="patients/gp_letter.html",
        context={
            "patient": document.patient,
            "clinic": document.patient.clinic,
            "doc": document,
            "panel": document.panel,
            "signer": request.user,
            "signer_role": access.role.label,
            "letter_date": today,
        },
        filename=pdf_filename("letter", document.patient, today),
        page_url=page_url,
        as_pdf=as_pdf and not refused,
        status=409 if refused else 200,
    )


def gp_letter(request: HttpRequest, pk: int) -> HttpResponse:
    return _letter(request, pk, as_pdf=False)


def gp_letter_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _letter(request, pk, as_pdf=True)
