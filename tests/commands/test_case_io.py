"""import_case, export_case and seed_demo: the command-line contracts of DESIGN.md."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from patients.models import Clinic, Membership, Patient
from therapy.engine import case_to_json, parse_case
from therapy.models import Dose, TherapyCourse

CASES = sorted((Path(__file__).resolve().parents[1] / "cases").glob("*.json"))


def _run(*args: str, stdin: str | None = None, monkeypatch=None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command(*args, stdout=out)
    return out.getvalue()


def _without_import_keys(case: dict) -> dict:
    case["patient"].pop("name", None)
    case["patient"].pop("mrn", None)
    return case


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_import_then_export_gives_back_the_same_case(clinic, tmp_path, path):
    case = json.loads(path.read_text())["case"]
    source = tmp_path / "case.json"
    source.write_text(json.dumps(case))

    patient_id = int(_run("import_case", str(source), "--clinic", clinic.slug, "--mrn", "RT-1"))
    exported = json.loads(_run("export_case", str(patient_id), "--as-of", case["as_of"]))

    assert _without_import_keys(exported) == _without_import_keys(case_to_json(parse_case(case)))


def test_import_reads_stdin_and_takes_name_and_mrn_from_the_case(clinic, monkeypatch):
    case = json.loads(CASES[0].read_text())["case"]
    case["patient"].update(name="Ada Lovelace", mrn="AL-1815")
    patient_id = int(
        _run(
            "import_case",
            "-",
            "--clinic",
            clinic.slug,
            stdin=json.dumps(case),
            monkeypatch=monkeypatch,
        )
    )
    patient = Patient.objects.get(pk=patient_id)
    assert (patient.name, patient.mrn, patient.clinic) == ("Ada Lovelace", "AL-1815", clinic)


def test_invalid_import_exits_2_naming_every_json_path_and_writes_nothing(clinic, tmp_path):
    case = json.loads(CASES[0].read_text())["case"]
    case["therapies"] = [
        {"drug": "alendronate", "start": "2024-05-01", "end": "2024-01-01"},
        {"drug": "unobtainium", "start": "2024-05-01"},
    ]
    case["patient"]["colour"] = "blue"
    source = tmp_path / "bad.json"
    source.write_text(json.dumps(case))

    with pytest.raises(CommandError) as error:
        _run("import_case", str(source), "--clinic", clinic.slug, "--mrn", "BAD-1")

    assert error.value.returncode == 2
    message = str(error.value)
    assert "therapies[0].end" in message
    assert "therapies[1].drug" in message
    assert "patient.colour" in message
    assert not Patient.objects.exists()


def test_a_rule_the_database_enforces_is_reported_with_its_path_and_nothing_is_written(
    clinic, tmp_path
):
    # Two overlapping alendronate courses are valid JSON but not a valid record.
    case = {
        "as_of": "2026-11-25",
        "patient": {"sex": "female", "birth_date": "1950-01-01"},
        "therapies": [
            {"drug": "denosumab", "start": "2024-01-01", "doses": ["2024-01-01"]},
            {"drug": "denosumab", "start": "2025-01-01", "doses": ["2025-01-01"]},
        ],
    }
    source = tmp_path / "overlap.json"
    source.write_text(json.dumps(case))
    with pytest.raises(CommandError) as error:
        _run("import_case", str(source), "--clinic", clinic.slug, "--mrn", "OV-1")
    assert error.value.returncode == 2
    assert "therapies[1].start" in str(error.value)
    assert not Patient.objects.exists()
    assert not TherapyCourse.objects.exists() and not Dose.objects.exists()


def test_a_value_the_engine_accepts_but_the_app_finds_implausible_is_refused_with_its_path(
    clinic, tmp_path
):
    case = {
        "as_of": "2026-11-25",
        "patient": {"sex": "female", "birth_date": "1950-01-01"},
        "labs": [{"date": "2025-01-01", "test": "ctx", "value": 1e300, "unit": "ng/mL"}],
    }
    source = tmp_path / "huge.json"
    source.write_text(json.dumps(case))

    with pytest.raises(CommandError) as error:
        _run("import_case", str(source), "--clinic", clinic.slug, "--mrn", "HU-1")

    assert error.value.returncode == 2
    assert "labs[0].value: Value must be between 0 and 10000." in str(error.value)
    assert not Patient.objects.exists()


def test_import_refuses_an_unknown_clinic_and_a_duplicate_mrn(clinic, tmp_path):
    source = tmp_path / "case.json"
    source.write_text(json.dumps(json.loads(CASES[0].read_text())["case"]))
    with pytest.raises(CommandError, match="--clinic"):
        _run("import_case", str(source), "--clinic", "nowhere", "--mrn", "X")
    _run("import_case", str(source), "--clinic", clinic.slug, "--mrn", "DUP")
    with pytest.raises(CommandError, match=r"patient\.mrn: DUP already exists"):
        _run("import_case", str(source), "--clinic", clinic.slug, "--mrn", "DUP")
    assert Patient.objects.count() == 1


def test_import_of_text_that_is_not_json_says_where(clinic, tmp_path):
    source = tmp_path / "broken.json"
    source.write_text('{"as_of": "2026-11-25",\n  "patient": }')
    with pytest.raises(CommandError, match="line 2") as error:
        _run("import_case", str(source), "--clinic", clinic.slug, "--mrn", "X")
    assert error.value.returncode == 2


def test_export_of_an_unknown_patient_exits_2(db):
    with pytest.raises(CommandError) as error:
        _run("export_case", "999999")
    assert error.value.returncode == 2


def test_seed_demo_creates_every_role_and_is_idempotent(db):
    out = _run("seed_demo", "--patients", "15", "--password", "demo-password-123")
    assert "Patients created: 15" in out
    assert {c.slug for c in Clinic.objects.all()} == {"demo", "other"}
    roles = dict(Membership.objects.values_list("user__username", "role"))
    assert roles == {
        "clinician": "clinician",
        "nurse": "nurse",
        "admin": "clinic_admin",
        "other_clinician": "clinician",
    }
    assert get_user_model().objects.get(username="nurse").check_password("demo-password-123")
    first = list(Patient.objects.order_by("mrn").values_list("mrn", "name", "birth_date"))

    again = _run("seed_demo", "--patients", "15")
    assert "Patients created: 0" in again
    assert "Passwords unchanged" in again
    assert list(Patient.objects.order_by("mrn").values_list("mrn", "name", "birth_date")) == first
    assert get_user_model().objects.get(username="nurse").check_password("demo-password-123")


def test_seed_demo_patients_are_varied_and_all_valid_for_the_engine(db):
    from django.utils import timezone

    from therapy.case_records import cases_for_patients
    from therapy.engine import evaluate

    _run("seed_demo", "--patients", "28", "--password", "demo-password-123")
    demo = list(Patient.objects.filter(clinic__slug="demo").values_list("pk", flat=True))
    pathways, alerts = set(), set()
    for _, _, case in cases_for_patients(demo, as_of=timezone.localdate()):
        assessment = evaluate(case)
        pathways.add(assessment.pathway.value)
        alerts.update(alert.code.value for alert in assessment.alerts)
    assert len(pathways) >= 5
    assert {"DENOSUMAB_OVERDUE", "DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON"} <= alerts


# --- hostile files (issue 11, L2) ----------------------------------------------------------------


def _case_with_name(name: str) -> str:
    case = json.loads(CASES[0].read_text())["case"]
    case["patient"]["name"] = name
    return json.dumps(case)


def test_a_nul_character_in_a_string_exits_2_naming_its_json_path(clinic, tmp_path):
    """PostgreSQL refuses NUL in text: without this check the import died on the INSERT."""
    source = tmp_path / "nul.json"
    source.write_text(_case_with_name("Ada\u0000Okafor"))  # written escaped: \\u0000

    with pytest.raises(CommandError) as error:
        _run("import_case", str(source), "--clinic", clinic.slug, "--mrn", "NUL1")

    assert error.value.returncode == 2
    assert str(error.value) == "$.patient.name: contains a NUL character"
    assert not Patient.objects.exists()


def test_a_nul_character_in_a_key_exits_2(clinic, tmp_path):
    source = tmp_path / "nul-key.json"
    source.write_text('{"patient": {"na\\u0000me": "x"}}')

    with pytest.raises(CommandError, match=r"^\$\.patient: a key contains a NUL") as error:
        _run("import_case", str(source), "--clinic", clinic.slug, "--mrn", "NUL2")

    assert error.value.returncode == 2


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json_exits_2_saying_so(clinic, tmp_path, depth):
    source = tmp_path / "deep.json"
    source.write_text("[" * depth + "]" * depth)

    with pytest.raises(CommandError) as error:
        _run("import_case", str(source), "--clinic", clinic.slug, "--mrn", "DEEP")

    assert error.value.returncode == 2
    assert str(error.value) == f"{source}: nesting too deep"


def test_the_command_line_prints_the_message_and_no_traceback(tmp_path):
    """As an operator runs it: exit status 2, one line on stderr, no traceback."""
    import os
    import subprocess
    import sys

    source = tmp_path / "deep.json"
    source.write_text("[" * 100_000 + "]" * 100_000)
    manage = Path(__file__).resolve().parents[2] / "manage.py"

    done = subprocess.run(  # noqa: S603  # this interpreter, this project's manage.py
        [sys.executable, str(manage), "import_case", str(source), "--clinic", "any"],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_DEBUG": "1"},
        timeout=120,
        check=False,
    )

    assert done.returncode == 2
    assert "nesting too deep" in done.stderr
    assert "Traceback" not in done.stderr
