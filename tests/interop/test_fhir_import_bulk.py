"""The bulk write path of import_fhir (issue 12: 200 patients/s): new patients of a batch are
written with `bulk_create`, each row with its audit row, the batch's rescans queued together —
in a number of queries that does not grow with the patients; a batch the bulk path refuses is
written row by row, with the problems reported as before."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from interop.fhir import codes
from interop.fhir.importing import import_entries
from interop.fhir.mapping import PatientFacts, case_resources, site_url
from monitoring import tasks
from monitoring.models import DxaScan, LabResult
from patients.models import Fracture, Patient, RiskProfile
from therapy.case_records import BULK_CHANGE_REASON, HISTORY_MODELS, case_for_patient
from therapy.engine import assessment_to_json, evaluate, parse_case
from therapy.models import Dose, TherapyCourse

CASES = sorted((Path(__file__).resolve().parents[1] / "cases").glob("*.json"))
AS_OF = dt.date(2026, 11, 25)


def entries(count, *, start=0, edit=None):
    """(path, resource, None) of `count` patients, each one of the shared cases."""
    out = []
    for n in range(start, start + count):
        data = json.loads(CASES[n % len(CASES)].read_text())["case"]
        data["patient"] = {**data["patient"], "mrn": f"BK{n:04d}"}
        if edit:
            edit(n, data)
        facts = PatientFacts(
            id=f"bk{n}",
            mrn_system=codes.mrn_system(site_url(), "source"),
            given_name="Bulk",
            family_name=f"Patient{n}",
        )
        for i, resource in enumerate(case_resources(parse_case(data), facts)):
            out.append((f"p{n}[{i}]", resource, None))
    return out


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(
        tasks.rescan_patient_task, "apply_async", lambda args, **options: sent.append(args[0])
    )
    monkeypatch.setattr(
        tasks.rescan_patients_task, "apply_async", lambda args, **options: sent.extend(args[0])
    )
    return sent


@pytest.mark.django_db
def test_new_patients_are_written_whole_with_an_audit_row_each(
    clinic, nurse, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = import_entries(entries(len(CASES)), clinic=clinic, actor=nurse, as_of=AS_OF)

    assert not result.problems and len(result.created) == len(CASES)
    ids = [p.pk for p in result.created]
    assert queued == ids  # one rescan each, sent together
    assert len([f for f in callbacks if isinstance(f, tasks._Rescan)]) == 1
    courses = list(TherapyCourse.objects.filter(patient__in=ids).values_list("pk", flat=True))
    for model in (Patient, *HISTORY_MODELS, Dose):
        lookup = {Patient: {"id__in": ids}, Dose: {"course_id__in": courses}}.get(
            model, {"patient_id__in": ids}
        )
        history = model.history.filter(**lookup)
        assert history.count() == model.objects.filter(**lookup).count(), model
        audit = set(history.values_list("history_type", "history_user", "history_change_reason"))
        assert audit <= {("+", nurse.pk, BULK_CHANGE_REASON)}, model
    assert Fracture.objects.filter(patient__in=ids).exists()
    assert DxaScan.objects.filter(patient__in=ids).exists()
    assert LabResult.objects.filter(patient__in=ids).exists()
    assert Dose.objects.filter(course__patient__in=ids).exists()
    assert RiskProfile.objects.filter(patient__in=ids).count() == len(CASES)
    for n, patient in enumerate(result.created):  # the engine reads what the case said
        case = parse_case(json.loads(CASES[n].read_text())["case"])
        stored = case_for_patient(patient.pk, as_of=case.as_of)
        assert assessment_to_json(evaluate(stored)) == assessment_to_json(evaluate(case))
        assert (patient.given_name, patient.family_name) == ("Bulk", f"Patient{n}")


@pytest.mark.django_db
def test_the_queries_do_not_grow_with_the_patients(clinic, other_clinic, queued):
    few, many = entries(len(CASES)), entries(3 * len(CASES), start=100)
    with CaptureQueriesContext(connection) as a:
        assert len(import_entries(few, clinic=clinic, as_of=AS_OF).created) == len(CASES)
    with CaptureQueriesContext(connection) as b:
        assert len(import_entries(many, clinic=other_clinic, as_of=AS_OF).created) == 3 * len(CASES)
    # The savepoints (import, batch), one MRN look-up, then per model that has rows (patients,
    # the 9 history models, doses): the rows and their audit rows, 27 queries for 21 patients.
    # Django may split a bulk insert of many wide rows (31 measured for the 63): never one a
    # patient, so the bound is the same for 21 and for 63 (record_save took ~80 a patient).
    assert len(a.captured_queries) <= 2 * 2 + 1 + 2 * 2 * 11
    assert len(b.captured_queries) <= 2 * 2 + 1 + 2 * 2 * 11


@pytest.mark.django_db
def test_a_patient_the_bulk_path_refuses_is_reported_as_before(
    clinic, queued, django_capture_on_commit_callbacks
):
    """A fracture dated in the future passes the engine but not the model: the batch is
    written row by row, the problem comes back at its FHIR entry; with partial=True the others
    are written (audited by record_save)."""

    def future_fracture(n, data):
        if n == 1:
            data["fractures"] = [{"date": "2099-01-01", "site": "hip", "fragility": True}]

    found = entries(3, edit=lambda n, d: None)
    bad = entries(1, start=1, edit=future_fracture)
    mixed = [e for e in found if not e[0].startswith("p1[")] + bad

    result = import_entries(mixed, clinic=clinic, as_of=AS_OF)
    assert not result.written and result.problems
    assert not Patient.objects.filter(clinic=clinic).exists()
    problem = str(result.problems[0])
    assert "date" in problem

    with django_capture_on_commit_callbacks(execute=True):
        result = import_entries(mixed, clinic=clinic, as_of=AS_OF, partial=True)
    assert sorted(p.mrn for p in result.created) == ["BK0000", "BK0002"]
    assert [str(p) for p in result.problems] == [problem]
    assert sorted(queued) == sorted(p.pk for p in result.created)


@pytest.mark.django_db
def test_a_reimport_replaces_each_history_in_bulk_with_audit_rows(
    clinic, nurse, queued, django_capture_on_commit_callbacks
):
    first = import_entries(entries(len(CASES)), clinic=clinic, actor=nurse, as_of=AS_OF).created
    ids = [p.pk for p in first]
    old_fractures = set(Fracture.objects.filter(patient__in=ids).values_list("pk", flat=True))
    old_doses = set(Dose.objects.filter(course__patient__in=ids).values_list("pk", flat=True))

    def renamed(n, data):
        data["patient"]["birth_date"] = "1950-01-01" if n == 0 else data["patient"]["birth_date"]

    again = entries(len(CASES), edit=renamed)
    with (
        CaptureQueriesContext(connection) as captured,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        result = import_entries(again, clinic=clinic, actor=nurse, as_of=AS_OF)

    assert not result.problems and [p.pk for p in result.updated] == ids
    assert len(captured.captured_queries) <= 80  # a bounded number, not ~100 a patient
    pending = {
        pk
        for _, f, _ in connection.run_on_commit
        if isinstance(f, tasks._Rescan)
        for pk in f.patient_ids
    }
    assert pending == set(ids)  # queued by the first import, still pending: not twice
    assert not callbacks
    new_fractures = set(Fracture.objects.filter(patient__in=ids).values_list("pk", flat=True))
    assert len(new_fractures) == len(old_fractures) and not new_fractures & old_fractures
    gone = Fracture.history.filter(id__in=old_fractures, history_type="-")
    assert gone.count() == len(old_fractures)
    assert set(gone.values_list("history_user", "history_change_reason")) == {
        (nurse.pk, BULK_CHANGE_REASON)
    }
    assert Dose.history.filter(id__in=old_doses, history_type="-").count() == len(old_doses)
    assert not Dose.objects.filter(pk__in=old_doses).exists()
    patient = Patient.objects.get(pk=ids[0])
    assert patient.birth_date == dt.date(1950, 1, 1)
    assert list(patient.history.values_list("history_type", flat=True)) == ["~", "+"]
    assert Patient.history.filter(id__in=ids[1:], history_type="~").count() == 0
    for n, stored in enumerate(result.updated):  # the engine reads what the case said
        data = json.loads(CASES[n].read_text())["case"]
        renamed(n, data)
        case = parse_case(data)
        got = evaluate(case_for_patient(stored.pk, as_of=case.as_of))
        assert assessment_to_json(got) == assessment_to_json(evaluate(case))


@pytest.mark.django_db
def test_a_reimport_unlinks_the_decisions_that_named_the_old_rows(clinic, nurse, queued):
    """What `delete()` would do to a recorded decision (SET_NULL, the link table's rows), the
    bulk delete does too: the decision stays, pointing at nothing deleted."""
    from therapy.models import RecommendationRecord

    first = import_entries(entries(len(CASES)), clinic=clinic, as_of=AS_OF).created
    course = TherapyCourse.objects.filter(patient__in=first).first()
    dose = Dose.objects.filter(course=course).first()
    decision = RecommendationRecord.objects.create(
        patient=course.patient,
        decided_by=nurse,
        as_of=AS_OF,
        engine_version="t",
        case={},
        assessment={},
        kind="continue",
        chosen_drug=course.drug,
        started_course=course,
        first_dose=dose,
    )
    decision.stopped_courses.add(course)

    result = import_entries(entries(len(CASES)), clinic=clinic, as_of=AS_OF)

    assert len(result.updated) == len(CASES) and not result.problems
    decision.refresh_from_db()
    assert (decision.started_course, decision.first_dose) == (None, None)
    assert not decision.stopped_courses.exists()
    assert not TherapyCourse.objects.filter(pk=course.pk).exists()
    deleted = TherapyCourse.history.get(id=course.pk, history_type="-")
    assert deleted.history_change_reason == BULK_CHANGE_REASON  # the bulk path, no fallback


@pytest.mark.django_db
def test_a_reimport_is_refused_for_a_patient_with_an_fls_episode_and_deletes_nothing(
    clinic, nurse, queued
):
    from quality.models import FlsEpisode, Identification

    patients = import_entries(entries(3), clinic=clinic, actor=nurse, as_of=AS_OF).created
    fracture = Fracture.objects.filter(patient__in=[p.pk for p in patients]).first()
    assert fracture is not None
    episode = FlsEpisode.objects.create(
        patient=fracture.patient,
        fracture=fracture,
        identified_on=fracture.date,
        identified_by=Identification.CLINICAL,
    )
    fractures_before = set(Fracture.objects.values_list("pk", flat=True))

    result = import_entries(entries(3), clinic=clinic, actor=nurse, as_of=AS_OF)

    assert [p.message for p in result.problems] == [
        "this patient has FLS episodes recorded in Ossa, which a re-import would delete with "
        "the fractures they belong to; record the changes on the patient's page instead"
    ]
    assert not result.written
    assert FlsEpisode.objects.filter(pk=episode.pk).exists()
    assert set(Fracture.objects.values_list("pk", flat=True)) == fractures_before


@pytest.mark.django_db
def test_with_partial_the_other_patients_of_the_batch_are_still_replaced_in_bulk(
    clinic, nurse, queued
):
    from quality.models import FlsEpisode, Identification

    patients = import_entries(entries(3), clinic=clinic, actor=nurse, as_of=AS_OF).created
    fracture = (
        Fracture.objects.filter(patient=patients[0]).first()
        or Fracture.objects.filter(patient__in=[p.pk for p in patients]).first()
    )
    FlsEpisode.objects.create(
        patient=fracture.patient,
        fracture=fracture,
        identified_on=fracture.date,
        identified_by=Identification.CLINICAL,
    )

    result = import_entries(entries(3), clinic=clinic, actor=nurse, as_of=AS_OF, partial=True)

    assert len(result.problems) == 1
    assert len(result.updated) == 2
    assert fracture.patient_id not in {p.pk for p in result.updated}
    assert FlsEpisode.objects.filter(fracture=fracture).exists()
