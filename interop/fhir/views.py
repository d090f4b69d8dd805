"""`GET /fhir/Patient/<id>/$everything`: the patient's record as a FHIR Bundle (issue 12)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from interop.fhir.exporting import FHIR_JSON, patient_bundle
from patients.access import patient_for_user
from patients.models import Patient
from patients.permissions import Action


def _log_access(request: HttpRequest, patient: Patient) -> None:
    """The hook of the clinical-read access log: a FHIR export is a read of the whole clinical
    record. The access log is being built on another branch; the lead wires it here (one call),
    so every export is logged the way a patient page is."""


@login_required
@require_GET
def patient_everything(request: HttpRequest, pk: int) -> HttpResponse:
    access = patient_for_user(request.user, pk, Action.VIEW_CLINICAL)
    _log_access(request, access.patient)
    response = HttpResponse(json.dumps(patient_bundle(access.patient)), content_type=FHIR_JSON)
    response["Cache-Control"] = "no-store"
    return response
