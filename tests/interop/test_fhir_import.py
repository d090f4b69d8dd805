"""FHIR import (issue 12, item 3): `import_fhir FILE --clinic SLUG` on Bundles and Bulk NDJSON,
matching on the MRN, all or nothing, every problem at its entry; and the round trip over every
shared case: import_case into one clinic, export FHIR, import_fhir into another, the same
assessment."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from interop.fhir.exporting import bundle, patient_bundle
from patients.models import Clinic, Fracture, Patient, PatientStatus
from tests.interop.test_fhir_mapping import FULL_CASE
from therapy.case_records import case_for_patient, patient_import_case
from therapy.engine import assessment_to_json, evaluate, parse_case
from therapy.models import Dose, TherapyCourse

CASES = sorted((Path(__file__).resolve().parents[1] / "cases").glob("*.json"))


def run(*args):
    out = io.StringIO()
    call_command("import_fhir", *map(str, args), stdout=out)
    return out.getvalue()


def fails(*args):
    with pytest.raises(CommandError) as error:
        run(*args)
    assert error.value.returncode == 2
    return str(error.value).splitlines()


def assessment(patient_id, as_of):
    return assessment_to_json(evaluate(case_for_patient(patient_id, as_of=as_of)))


@pytest.fixture
def source(clinic):
    """A patient of Hillside with every kind of record, and its exported Bundle."""
    case = parse_case(FULL_CASE)
    patient = patient_import_case(clinic=clinic, case=case, mrn="H-7")
    patient = Patient.objects.select_related("clinic").get(pk=patient.pk)
    return patient, patient_bundle(patient, as_of=case.as_of), case.as_of


def write(tmp_path, data, name="bundle.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_round_trip_gives_the_same_assessment(path, clinic, other_clinic, tmp_path):
    case = parse_case(json.loads(path.read_text())["case"])
    a = patient_import_case(clinic=clinic, case=case, mrn="RT-1")
    a = Patient.objects.select_related("clinic").get(pk=a.pk)
    exported = patient_bundle(a, as_of=case.as_of)

    assert run(write(tmp_path, exported), "--clinic", other_clinic.slug) == "created 1, updated 0\n"

    b = Patient.objects.get(clinic=other_clinic, mrn="RT-1")
    assert (b.name, b.birth_date, b.sex) == (a.name, a.birth_date, a.sex)
    expected, got = assessment(a.pk, case.as_of), assessment(b.pk, case.as_of)
    for key in expected:
        assert got[key] == expected[key], key
    assert got == expected


def test_reimport_updates_and_never_duplicates(source, other_clinic, tmp_path):
    patient, data, as_of = source
    path = write(tmp_path, data)
    assert run(path, "--clinic", "riverside") == "created 1, updated 0\n"
    b = Patient.objects.get(clinic=other_clinic, mrn="H-7")
    counts = (
        Fracture.objects.filter(patient=b).count(),
        TherapyCourse.objects.filter(patient=b).count(),
        Dose.objects.filter(course__patient=b).count(),
    )

    assert run(path, "--clinic", "riverside") == "created 0, updated 1\n"

    assert Patient.objects.filter(clinic=other_clinic).count() == 1
    assert (
        Fracture.objects.filter(patient=b).count(),
        TherapyCourse.objects.filter(patient=b).count(),
        Dose.objects.filter(course__patient=b).count(),
    ) == counts
    assert assessment(b.pk, as_of) == assessment(patient.pk, as_of)


def test_reimport_replaces_the_history_and_the_names(source, other_clinic, tmp_path):
    patient, data, as_of = source
    run(write(tmp_path, data), "--clinic", "riverside")
    changed = copy.deepcopy(data)
    resources = [e["resource"] for e in changed["entry"]]
    resources[0]["name"] = [{"use": "official", "family": "Hopper", "given": ["Grace"]}]
    changed["entry"] = [
        e for e in changed["entry"] if not e["resource"]["id"].endswith("-fracture0")
    ]

    assert run(write(tmp_path, changed, "v2.json"), "--clinic", "riverside") == (
        "created 0, updated 1\n"
    )

    b = Patient.objects.get(clinic=other_clinic, mrn="H-7")
    assert (b.given_name, b.family_name, b.name) == ("Grace", "Hopper", "Grace Hopper")
    assert Fracture.objects.filter(patient=b).count() == (
        Fracture.objects.filter(patient=patient).count() - 1
    )


def test_a_transaction_bundle_with_urn_references(source, other_clinic, tmp_path):
    _, data, as_of = source
    ids = {
        e["resource"]["id"]: f"urn:uuid:00000000-0000-0000-0000-{i:012d}"
        for i, e in enumerate(data["entry"])
    }
    text = json.dumps(data)
    for entry in data["entry"]:
        kind, rid = entry["resource"]["resourceType"], entry["resource"]["id"]
        text = text.replace(f'"{kind}/{rid}"', f'"{ids[rid]}"')
    txn = json.loads(text)
    txn["type"] = "transaction"
    for entry in txn["entry"]:
        entry["fullUrl"] = ids[entry["resource"].pop("id")]
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}

    assert run(write(tmp_path, txn), "--clinic", "riverside") == "created 1, updated 0\n"
    b = Patient.objects.get(clinic=other_clinic, mrn="H-7")
    assert assessment(b.pk, as_of) == assessment(source[0].pk, as_of)


def test_bulk_ndjson_directory_and_file(clinic, other_clinic, tmp_path):
    for i, path in enumerate(CASES[:5]):
        patient_import_case(
            clinic=clinic, case=parse_case(json.loads(path.read_text())["case"]), mrn=f"N-{i}"
        )
    call_command(
        "export_fhir",
        "--clinic",
        "hillside",
        "--ndjson",
        str(tmp_path / "bulk"),
        stdout=io.StringIO(),
    )

    assert run(tmp_path / "bulk", "--clinic", "riverside") == "created 5, updated 0\n"
    assert run(tmp_path / "bulk", "--clinic", "riverside") == "created 0, updated 5\n"
    one = tmp_path / "all.ndjson"
    one.write_text("".join(p.read_text() for p in sorted((tmp_path / "bulk").iterdir())))
    Clinic.objects.create(name="Third", slug="third")
    assert run(one, "--clinic", "third") == "created 5, updated 0\n"
    for i in range(5):
        a = Patient.objects.get(clinic=clinic, mrn=f"N-{i}")
        b = Patient.objects.get(clinic=other_clinic, mrn=f"N-{i}")
        day = dt.date(2026, 11, 25)
        assert assessment(b.pk, day) == assessment(a.pk, day)


def test_a_date_of_death_marks_the_patient_deceased(source, other_clinic, tmp_path):
    _, data, _ = source
    data["entry"][0]["resource"]["deceasedDateTime"] = "2026-11-20"
    run(write(tmp_path, data), "--clinic", "riverside")
    b = Patient.objects.get(clinic=other_clinic, mrn="H-7")
    assert (b.status, b.status_date) == (PatientStatus.DECEASED, dt.date(2026, 11, 20))


# --- bad input: nothing written, every problem named ---------------------------------------------


def nothing_in(clinic):
    return not Patient.objects.filter(clinic=clinic).exists()


def test_an_unknown_loinc_is_reported_at_its_entry(source, other_clinic, tmp_path):
    _, data, _ = source
    i = next(
        i for i, e in enumerate(data["entry"]) if e["resource"]["resourceType"] == "Observation"
    )
    data["entry"][i]["resource"]["code"]["coding"][0]["code"] = "1234-5"
    assert fails(write(tmp_path, data), "--clinic", "riverside") == [
        f"entry[{i}].resource.code: unknown LOINC 1234-5",
        "nothing was imported",
    ]
    assert nothing_in(other_clinic)


def test_any_error_writes_no_patient_at_all_unless_partial(source, clinic, other_clinic, tmp_path):
    patient, data, _ = source
    good = copy.deepcopy(data)
    second = copy.deepcopy(data)
    pk = patient.pk
    for entry in second["entry"]:
        text = json.dumps(entry["resource"])
        for old, new in (
            (f'"Patient/{pk}"', '"Patient/x2"'),
            (f'"{pk}"', '"x2"'),  # the id; not a date that starts with the same digits
            (f'"{pk}-', '"x2-'),
            (f"/{pk}-", "/x2-"),
        ):
            text = text.replace(old, new)
        entry["resource"] = json.loads(text)
    second["entry"][0]["resource"].update(id="x2")
    second["entry"][0]["resource"]["identifier"][0]["value"] = "H-8"
    j = next(
        j for j, e in enumerate(second["entry"]) if e["resource"]["resourceType"] == "Condition"
    )
    second["entry"][j]["resource"]["code"]["coding"][0]["code"] = "424242"
    both = bundle([e["resource"] for e in good["entry"] + second["entry"]])
    path = write(tmp_path, both)
    bad_at = len(good["entry"]) + j

    assert fails(path, "--clinic", "riverside") == [
        f"entry[{bad_at}].resource.code: unknown SNOMED 424242",
        "nothing was imported",
    ]
    assert nothing_in(other_clinic)

    assert fails(path, "--clinic", "riverside", "--partial") == [
        f"entry[{bad_at}].resource.code: unknown SNOMED 424242",
        "the patients without a problem were imported (created 1, updated 0)",
    ]
    assert list(Patient.objects.filter(clinic=other_clinic).values_list("mrn", flat=True)) == [
        "H-7"
    ]


def test_a_reference_to_nothing(source, other_clinic, tmp_path):
    _, data, _ = source
    data["entry"][3]["resource"]["subject"] = {"reference": "Patient/404"}
    assert fails(write(tmp_path, data), "--clinic", "riverside") == [
        "entry[3].resource.subject: refers to Patient/404, which is not a Patient in the input",
        "nothing was imported",
    ]
    assert nothing_in(other_clinic)


def test_a_record_the_database_refuses_rolls_back_the_patient(source, other_clinic, tmp_path):
    """A dose after its course's end passes the engine but not the model (or the reverse): the
    problem comes back at the FHIR entry, nothing written."""
    _, data, _ = source
    birth = data["entry"][0]["resource"]["birthDate"]
    i = next(
        i
        for i, e in enumerate(data["entry"])
        if e["resource"]["resourceType"] == "Condition" and "onsetDateTime" in e["resource"]
    )
    data["entry"][i]["resource"]["onsetDateTime"] = "2099-01-01"  # in the future
    lines = fails(write(tmp_path, data), "--clinic", "riverside")
    assert lines[0].startswith(f"entry[{i}].resource"), lines
    assert lines[-1] == "nothing was imported"
    assert nothing_in(other_clinic)
    assert birth


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "{not json",
            ["$: not JSON (Expecting property name enclosed in double quotes at line 1, column 2)"],
        ),
        ('{"resourceType": "Patient"}', None),
        (
            '{"resourceType": "Bundle", "type": "document", "entry": []}',
            [
                "type: expected a Bundle of type transaction or collection or batch or searchset, "
                "found 'document'"
            ],
        ),
        ("[1, 2]", ["$: not a JSON object"]),
        (
            '{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]}',
            ["entry[0]: no resource"],
        ),
        (
            '{"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": '
            '{"resourceType": "Patient"}, "request": {"method": "DELETE", "url": "Patient/1"}}]}',
            ["entry[0].request.method: only POST and PUT entries are imported"],
        ),
    ],
)
def test_malformed_input(content, expected, tmp_path):
    Clinic.objects.create(name="Riverside", slug="riverside")
    path = tmp_path / "in.json"
    path.write_text(content)
    lines = fails(path, "--clinic", "riverside")
    if expected is None:  # a lone Patient resource (NDJSON of one line) without an MRN
        assert lines == ["in.json:1.identifier: an MRN is required", "nothing was imported"]
    else:
        assert lines == [*expected, "nothing was imported"]
    assert not Patient.objects.exists()


def test_a_wrong_resource_type_in_ndjson(clinic, tmp_path):
    path = tmp_path / "Observation.ndjson"
    path.write_text('{"resourceType": "Encounter", "status": "finished", "class": {}}\nnope\n')
    assert fails(path, "--clinic", "hillside") == [
        "Observation.ndjson:2: not JSON (Expecting value)",
        "nothing was imported",
    ]
    path.write_text('{"resourceType": "Encounter", "status": "finished", "class": {}}\n')
    assert fails(path, "--clinic", "hillside") == [
        "Observation.ndjson:1.resourceType: Encounter is not read by Ossa (expected one of "
        "Patient, Condition, Observation, MedicationStatement, MedicationAdministration)",
        "nothing was imported",
    ]


@pytest.mark.django_db
def test_bad_arguments(tmp_path):
    assert fails(tmp_path / "x.json", "--clinic", "nowhere") == [
        "--clinic: no clinic with slug 'nowhere'"
    ]
    Clinic.objects.create(name="R", slug="r")
    assert fails(tmp_path / "x.json", "--clinic", "r") == [
        f"{tmp_path / 'x.json'}: no such file or directory"
    ]
    (tmp_path / "empty").mkdir()
    assert fails(tmp_path / "empty", "--clinic", "r") == [
        f"{tmp_path / 'empty'}: no .ndjson file in this directory",
        "nothing was imported",
    ]
