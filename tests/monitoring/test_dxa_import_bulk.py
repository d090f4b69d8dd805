"""The DXA CSV import writes each batch in bulk: a constant number of queries per batch, audit
rows naming the uploader and the import, one rescan per patient, a bad row reported exactly as
the row-by-row path reports it, and a scan recorded meanwhile by someone else (the database
refusing the bulk insert) reported as that row's problem while the batch's other rows are
written."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
import time_machine
from django.db import connection

from monitoring import dxa_import
from monitoring.dxa_import import (
    COLUMNS,
    IMPORT_CHANGE_REASON,
    dxa_import_create,
    dxa_import_finish,
    dxa_import_run,
)
from monitoring.models import DxaImport, DxaScan
from monitoring.tasks import _Rescan
from tests import factories

HEADER = ",".join(COLUMNS)
NOW = dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC)


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _row(mrn: str, date: str, *, scanner: str = "Hologic A", **values: str) -> str:
    cells = {"mrn": mrn, "date": date, "scanner": scanner, **values}
    return ",".join(cells.get(name, "") for name in COLUMNS)


def _run(clinic, user, content: bytes, **kwargs) -> DxaImport:
    job = dxa_import_create(clinic=clinic, actor=user, file_name="scans.csv", content=content)
    dxa_import_run(import_id=job.pk, **kwargs)
    return dxa_import_finish(import_id=job.pk, now=NOW)


def _day(i: int) -> str:
    return (dt.date(2020, 1, 1) + dt.timedelta(days=i)).isoformat()


def _scans() -> list[tuple]:
    """Every scan's patient, date and values, in a stable order."""
    fields = ["patient__mrn", "date", "scanner", *dxa_import.SITE_COLUMNS]
    return list(DxaScan.objects.order_by("patient__mrn", "date").values_list(*fields))


def _row_by_row(monkeypatch) -> None:
    """Make the import take the row-by-row path (each new scan through `record_save`)."""
    write = dxa_import._write_batch

    def one_by_one(rows, *, clinic, actor):
        return write(rows, clinic=clinic, actor=actor, is_bulk=False)

    monkeypatch.setattr(dxa_import, "_import_batch", one_by_one)


@pytest.fixture
def h1(clinic):
    return factories.PatientFactory(clinic=clinic, mrn="H-1")


@pytest.fixture
def h2(clinic):
    return factories.PatientFactory(clinic=clinic, mrn="H-2")


# --- queries ------------------------------------------------------------------------------------


# On SQLite bulk_create splits its rows into INSERTs of at most 999 parameters, so the count grows
# with the rows there by design; the fixed budget is PostgreSQL's, where imports run for real.
@pytest.mark.usefixtures("require_postgres")
@pytest.mark.parametrize("rows", [10, 100])
def test_a_batch_costs_the_same_queries_for_10_or_100_new_scans(
    rows, clinic, nurse, django_assert_num_queries
):
    for i in range(rows):
        factories.PatientFactory(clinic=clinic, mrn=f"H-{i}")
    content = _csv(*(_row(f"H-{i}", _day(i), total_hip_t_score="-2.1") for i in range(rows)))
    job = dxa_import_create(clinic=clinic, actor=nurse, file_name="s.csv", content=content)

    # status (lock, save), the user; per batch: lock, patients, scans, scanners, the scans'
    # insert, their audit rows' insert, the counters' save, in a savepoint (4 statements);
    # then the lock that finds nothing left.
    with django_assert_num_queries(20):
        dxa_import_run(import_id=job.pk, batch_size=100)

    assert DxaScan.objects.count() == rows


def test_a_batch_of_unchanged_rows_costs_no_insert(clinic, nurse, h1, django_assert_num_queries):
    content = _csv(*(_row("H-1", _day(i), total_hip_t_score="-2.1") for i in range(30)))
    _run(clinic, nurse, content)
    job = dxa_import_create(clinic=clinic, actor=nurse, file_name="s.csv", content=content)

    with django_assert_num_queries(18):
        dxa_import_run(import_id=job.pk, batch_size=100)

    job.refresh_from_db()
    assert (job.imported, job.unchanged) == (0, 30)


# --- audit rows and rescans ---------------------------------------------------------------------


def test_imported_scans_have_one_creation_audit_row_naming_the_uploader_and_the_import(
    clinic, nurse, h1, h2
):
    _run(
        clinic,
        nurse,
        _csv(
            *(_row(m, _day(i), total_hip_t_score="-2") for i, m in enumerate(["H-1", "H-2", "H-1"]))
        ),
    )

    history = DxaScan.history.order_by("date")
    assert [(h.patient_id, h.history_type) for h in history] == [
        (h1.pk, "+"),
        (h2.pk, "+"),
        (h1.pk, "+"),
    ]
    assert {(h.history_user, h.history_change_reason) for h in history} == {
        (nurse, IMPORT_CHANGE_REASON)
    }
    assert [h.id for h in history] == list(
        DxaScan.objects.order_by("date").values_list("id", flat=True)
    )


def test_a_row_saved_alone_after_the_in_memory_check_also_names_the_uploader_and_the_import(
    clinic, nurse, h1, monkeypatch
):
    _row_by_row(monkeypatch)

    _run(clinic, nurse, _csv(_row("H-1", _day(0), total_hip_t_score="-2")))

    audit = DxaScan.history.get()
    assert (audit.history_type, audit.history_user, audit.history_change_reason) == (
        "+",
        nurse,
        IMPORT_CHANGE_REASON,
    )


def test_a_row_with_other_values_than_a_recorded_scan_writes_no_change_audit_row(clinic, nurse, h1):
    _run(clinic, nurse, _csv(_row("H-1", _day(0), total_hip_t_score="-2")))

    job = _run(clinic, nurse, _csv(_row("H-1", _day(0), total_hip_t_score="-2.5")))

    assert [e["line"] for e in job.errors] == [2]
    assert [h.history_type for h in DxaScan.history.all()] == ["+"]
    assert DxaScan.objects.get().total_hip_t_score == -2


def test_a_file_with_many_rows_of_one_patient_queues_one_rescan_per_patient(
    clinic, nurse, h1, h2, django_capture_on_commit_callbacks, monkeypatch
):
    calls = []
    real = dxa_import.enqueue_patients_rescan
    monkeypatch.setattr(
        dxa_import, "enqueue_patients_rescan", lambda ids: calls.append(list(ids)) or real(ids)
    )
    rows = [_row("H-1", _day(i), total_hip_t_score="-2") for i in range(60)]
    rows.insert(30, _row("H-2", _day(0), total_hip_t_score="-2"))

    with django_capture_on_commit_callbacks() as callbacks:
        job = _run(clinic, nurse, _csv(*rows))

    assert job.imported == 61
    assert [sorted(set(ids)) for ids in calls] == [sorted([h1.pk, h2.pk])]  # one batch, one call
    queued = [pk for f in callbacks if isinstance(f, _Rescan) for pk in f.patient_ids]
    assert sorted(queued) == sorted([h1.pk, h2.pk])


# --- bad rows -----------------------------------------------------------------------------------

MIXED = [
    _row("H-1", "2024-01-10", lumbar_spine_bmd_g_cm2="0.812", total_hip_t_score="-1.9"),
    _row("H-1", "2024-01-11", total_hip_bmd_g_cm2="2.7"),  # out of range
    _row("H-2", "2024-01-12", femoral_neck_t_score="-2.4", total_hip_lsc_pct="4.2"),
    _row("H-2", "1940-01-01", total_hip_t_score="-2"),  # before birth
    _row("H-2", "2024-01-13"),  # no value
    _row("H-2", "2025-03-15", total_hip_t_score="-2"),  # tomorrow
    _row("H-1", "2024-01-10", lumbar_spine_bmd_g_cm2="0.812", total_hip_t_score="-1.9"),  # same
    _row("H-1", "2024-01-10", lumbar_spine_bmd_g_cm2="0.9", total_hip_t_score="-1.9"),  # differs
    _row("H-2", "2024-01-14", scanner=" Lunar  iDXA ", lumbar_spine_t_score="-3"),
    _row("H-404", "2024-01-14", lumbar_spine_t_score="-3"),
]


@time_machine.travel(NOW, tick=False)
def test_a_batch_with_bad_rows_reports_them_and_writes_the_good_ones_as_row_by_row_did(
    clinic, nurse, h1, h2, monkeypatch
):
    saved_alone = []
    real_save = dxa_import.record_save

    def spy(*, instance, actor):
        saved_alone.append(instance.date)
        return real_save(instance=instance, actor=actor)

    monkeypatch.setattr(dxa_import, "record_save", spy)
    bulk = _run(clinic, nurse, _csv(*MIXED))
    bulk_scans = _scans()
    # the bad rows only are saved alone, for the full validation's words
    assert saved_alone == [
        dt.date(2024, 1, 11),
        dt.date(1940, 1, 1),
        dt.date(2024, 1, 13),
        dt.date(2025, 3, 15),
    ]
    DxaScan.objects.all().delete()
    _row_by_row(monkeypatch)

    one_by_one = _run(clinic, nurse, _csv(*MIXED))

    assert bulk.errors == one_by_one.errors
    assert (bulk.imported, bulk.unchanged) == (one_by_one.imported, one_by_one.unchanged) == (3, 1)
    assert bulk_scans == _scans()
    assert [e["line"] for e in bulk.errors] == [3, 5, 6, 7, 9, 11]
    assert bulk.errors[0] == {
        "line": 3,
        "error": "total_hip_bmd_g_cm2: BMD must be between 0.2 and 2.0 g/cm².",
    }


# --- a race past the in-memory checks -------------------------------------------------------------


def _insert_committed_scan(patient_id: int, day: dt.date, t_score: float) -> None:
    """A scan saved by another session (its own connection, committed at once)."""
    settings = connection.settings_dict
    params = {
        "dbname": settings["NAME"],
        "host": settings.get("HOST") or None,
        "port": settings.get("PORT") or None,
        "user": settings.get("USER") or None,
        "password": settings.get("PASSWORD") or None,
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as other:
        other.execute(
            f"INSERT INTO {DxaScan._meta.db_table} "  # noqa: S608 — the model's own table name
            "(patient_id, date, scanner, total_hip_t_score, created_at) "
            "VALUES (%s, %s, 'Hologic A', %s, now())",
            [patient_id, day, t_score],
        )


@pytest.mark.django_db(transaction=True)
# Another connection commits a scan while the import runs: a second PostgreSQL session.
@pytest.mark.usefixtures("require_postgres")
@pytest.mark.parametrize(
    ("their_t_score", "unchanged", "error"),
    [
        pytest.param(-2.0, 1, None, id="same-values"),
        pytest.param(
            -2.5,
            0,
            "a scan of MRN H-1 on 2020-01-02 is already recorded with other values "
            "(total_hip_t_score -2.5 recorded, -2 in the file); edit that scan instead",
            id="other-values",
        ),
    ],
)
def test_a_scan_recorded_meanwhile_is_that_rows_problem_and_the_batch_is_written_row_by_row(
    their_t_score, unchanged, error, clinic, nurse, h1, h2, monkeypatch
):
    real_bulk = dxa_import.bulk_create_with_history
    attempts = []

    def someone_else_first(objs, model, **kwargs):
        attempts.append(len(objs))
        if len(attempts) == 1:  # after the batch read the scans, before it writes
            _insert_committed_scan(h1.pk, dt.date(2020, 1, 2), their_t_score)
        return real_bulk(objs, model, **kwargs)

    monkeypatch.setattr(dxa_import, "bulk_create_with_history", someone_else_first)
    rows = [_row(m, _day(i), total_hip_t_score="-2") for i in range(3) for m in ("H-1", "H-2")]

    job = _run(clinic, nurse, _csv(*rows))

    assert attempts == [6]  # the refused bulk insert; then row by row
    assert job.status == DxaImport.Status.DONE
    assert (job.processed_rows, job.imported, job.unchanged) == (6, 5, unchanged)
    assert job.errors == ([] if error is None else [{"line": 4, "error": error}])
    assert DxaScan.objects.count() == 6
    audit = DxaScan.history.filter(history_change_reason=IMPORT_CHANGE_REASON)
    assert audit.count() == 5
    assert {h.history_user_id for h in audit} == {nurse.pk}
