"""Given and family names stored apart; CASE_FORMAT keeps one `name`, mapped both ways."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from therapy.case_records import case_for_patient, patient_import_case
from therapy.engine import case_to_json, parse_case

CASES = Path(__file__).resolve().parents[1] / "cases"


def _case(name: str, mrn: str):
    data = json.loads((CASES / "v08_denosumab_overdue.json").read_text())["case"]
    data["patient"].update(name=name, mrn=mrn)
    return parse_case(data)


def test_an_imported_name_is_split_at_its_last_word_and_exported_whole(clinic):
    patient = patient_import_case(clinic=clinic, case=_case("Mary Ann Smith", "N-1"))

    patient.refresh_from_db()
    assert (patient.given_name, patient.family_name, patient.name) == (
        "Mary Ann",
        "Smith",
        "Mary Ann Smith",
    )
    exported = case_to_json(case_for_patient(patient.pk, as_of=timezone.localdate()))
    assert exported["patient"]["name"] == "Mary Ann Smith"


def test_a_one_word_name_is_the_family_name(clinic):
    patient = patient_import_case(clinic=clinic, case=_case("Madonna", "N-2"))

    patient.refresh_from_db()
    assert (patient.given_name, patient.family_name) == ("", "Madonna")


def test_editing_the_parts_renames_the_patient_everywhere(patient, clinician, client_for):
    response = client_for(clinician).post(
        reverse("patients:edit", args=[patient.pk]),
        {
            "mrn": patient.mrn,
            "given_name": "Anna Maria",
            "family_name": "de la Cruz",
            "birth_date": "1948-04-02",
            "sex": "female",
        },
    )

    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.name == "Anna Maria de la Cruz"
    assert patient.family_name == "de la Cruz"


def test_the_family_name_is_required_beside_its_field_and_the_input_kept(
    patient, clinician, client_for
):
    response = client_for(clinician).post(
        reverse("patients:edit", args=[patient.pk]),
        {
            "mrn": patient.mrn,
            "given_name": "Kept",
            "family_name": "",
            "birth_date": "1948-04-02",
            "sex": "female",
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors["family_name"]
    assert 'value="Kept"' in response.content.decode()
    assert Patient.objects.get(pk=patient.pk).name == patient.name


def test_a_new_patient_is_created_from_the_parts(clinic, clinician, client_for):
    client_for(clinician).post(
        reverse("patients:create"),
        {
            "clinic": "hillside",
            "mrn": "N-3",
            "given_name": "Ada",
            "family_name": "Newcomer",
            "birth_date": dt.date(1950, 5, 5).isoformat(),
            "sex": "female",
        },
    )

    created = Patient.objects.get(mrn="N-3")
    assert (created.given_name, created.family_name, created.name) == (
        "Ada",
        "Newcomer",
        "Ada Newcomer",
    )
