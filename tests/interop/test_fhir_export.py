"""FHIR export (issue 12, item 2): `GET /fhir/Patient/<id>/$everything`, `export_fhir ID` and
`export_fhir --clinic SLUG --ndjson DIR`."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from interop.fhir import codes
from interop.fhir.mapping import RESOURCE_TYPES, case_from_resources, validate
from patients.models import AccessLogEntry, PatientStatus
from patients.services import patient_set_status
from tests import factories
from therapy.case_records import case_for_patient
from therapy.engine import case_to_json

#: Queries of one `$everything`: the session and its user (2), the access helper (1), its
#: access-log row (1) and the case (11, whatever the history's length). The session is read,
#: and not stored again on these requests (config.session.SessionIdleMiddleware renews it at
#: most once a minute).
EVERYTHING = 15


def url(patient):
    return reverse("fhir-patient-everything", args=[patient.pk])


@pytest.fixture
def history(patient):
    factories.add_long_history(patient, years=2)
    return patient


@pytest.mark.parametrize("role", ["clinician", "nurse"])
def test_clinical_staff_get_the_bundle(role, history, request, client_for, settings):
    response = client_for(request.getfixturevalue(role)).get(url(history))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert "no-store" in response["Cache-Control"].replace(" ", "").split(",")
    data = json.loads(response.content)
    Bundle.model_validate(data)
    assert data["type"] == "collection"
    resources = [entry["resource"] for entry in data["entry"]]
    assert all(validate(r) == [] for r in resources)
    assert data["entry"][0]["fullUrl"] == (
        f"{settings.OSSA_SITE_URL.rstrip('/')}/fhir/Patient/{history.pk}"
    )
    patient = resources[0]
    assert patient["identifier"][0] == {
        "use": "usual",
        "type": patient["identifier"][0]["type"],
        "system": codes.mrn_system(settings.OSSA_SITE_URL, "hillside"),
        "value": history.mrn,
    }
    today = timezone.localdate()
    assert case_to_json(case_from_resources(resources, as_of=today)) == case_to_json(
        case_for_patient(history.pk, as_of=today)
    )


def test_the_export_is_written_to_the_access_log(patient, nurse, client_for):
    """A FHIR export is a read of the whole clinical record (issue 11, M7)."""
    client_for(nurse).get(url(patient))

    entry = AccessLogEntry.objects.get()
    assert (entry.user, entry.patient, entry.route) == (nurse, patient, "fhir-patient-everything")


def test_a_clinic_admin_is_refused(patient, clinic_admin, client_for):
    assert client_for(clinic_admin).get(url(patient)).status_code == 403


def test_another_clinic_sees_nothing(patient, outsider, client_for):
    assert client_for(outsider).get(url(patient)).status_code == 404


def test_an_unknown_patient_is_404(clinician, client_for):
    assert client_for(clinician).get("/fhir/Patient/999999/$everything").status_code == 404


def test_signed_out_goes_to_login(patient, client):
    response = client.get(url(patient))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_only_get(patient, clinician, client_for):
    assert client_for(clinician).post(url(patient)).status_code == 405


@pytest.mark.parametrize("years", [2, 20])
def test_the_export_costs_the_same_queries_however_long_the_history(
    years, patient, clinician, client_for, django_assert_num_queries
):
    factories.add_long_history(patient, years=years)
    client = client_for(clinician)

    with django_assert_num_queries(EVERYTHING):
        response = client.get(url(patient))

    assert response.status_code == 200


def test_a_deceased_patient_carries_the_date(patient, clinician, client_for):
    patient_set_status(
        patient=patient,
        status=PatientStatus.DECEASED,
        status_date=dt.date(2026, 1, 5),
        actor=clinician,
        now=dt.datetime(2026, 1, 6, tzinfo=dt.UTC),
    )
    data = json.loads(client_for(clinician).get(url(patient)).content)
    assert data["entry"][0]["resource"]["deceasedDateTime"] == "2026-01-05"


# --- the command ------------------------------------------------------------------------------


def run(*args):
    out = io.StringIO()
    call_command("export_fhir", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_same_bundle(history, clinician, client_for):
    printed = json.loads(run(str(history.pk)))
    served = json.loads(client_for(clinician).get(url(history)).content)
    for data in (printed, served):
        data.pop("id"), data.pop("timestamp")
    assert printed == served


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["999999"], "patient_id: no patient 999999"),
        ([], "give a patient id, or --clinic with --ndjson"),
        (["--clinic", "hillside"], "give a patient id, or --clinic with --ndjson"),
        (["--clinic", "nowhere", "--ndjson", "out"], "--clinic: no clinic with slug 'nowhere'"),
    ],
)
def test_the_command_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError) as error:
        call_command("export_fhir", *args)
    assert str(error.value) == message
    assert error.value.returncode == 2


def test_ndjson_one_file_per_resource_type(clinic, other_clinic, tmp_path):
    patients = [factories.PatientFactory(clinic=clinic) for _ in range(3)]
    for patient in patients:
        factories.add_long_history(patient, years=2)
    factories.add_long_history(factories.PatientFactory(clinic=other_clinic), years=2)

    out = run("--clinic", "hillside", "--ndjson", str(tmp_path / "out"))

    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted(f"{kind}.ndjson" for kind in RESOURCE_TYPES)
    lines = {
        kind: (tmp_path / "out" / f"{kind}.ndjson").read_text().splitlines()
        for kind in RESOURCE_TYPES
    }
    assert sorted(json.loads(line)["id"] for line in lines["Patient"]) == sorted(
        str(p.pk) for p in patients
    )
    for kind, kind_lines in lines.items():
        assert f"{kind}.ndjson: {len(kind_lines)}" in out
        for line in kind_lines:
            resource = json.loads(line)
            assert resource["resourceType"] == kind
            assert validate(resource) == []
    assert lines["MedicationAdministration"]  # the long history's doses
