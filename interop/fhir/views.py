"""`GET /fhir/Patient/<id>/$everything`: the patient's record as a FHIR Bundle (issue 12)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from interop.fhir.exporting import FHIR_JSON, patient_bundle
from patients.access import patient_for_user
from patients.permissions import Action


@login_required
@require_GET
def patient_everything(request: HttpRequest, pk: int) -> HttpResponse:
    # patient_for_user writes the access-log row (user, patient, this route), as for every page.
    access = patient_for_user(request.user, pk, Action.VIEW_CLINICAL)
    response = HttpResponse(json.dumps(patient_bundle(access.patient)), content_type=FHIR_JSON)
    response["Cache-Control"] = "no-store"
    return response
