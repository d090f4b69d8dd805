"""Bulk DXA import from CSV: what the upload refuses, what the task imports and reports (every
invalid row with its line number), re-imports without duplicates, a run interrupted half-way,
and the pages: upload, template, progress polled by htmx."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerError

from monitoring import dxa_import
from monitoring.dxa_import import (
    COLUMNS,
    DxaImportRefused,
    dxa_import_check,
    dxa_import_create,
    dxa_import_finish,
    dxa_import_progress,
    dxa_import_run,
)
from monitoring.import_tasks import import_dxa_task
from monitoring.models import DxaImport, DxaScan, DxaScanner
from tests import factories

HEADER = ",".join(COLUMNS)
NOW = dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC)


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _row(mrn: str, date: str, *, scanner: str = "Hologic A", **values: str) -> str:
    cells = {"mrn": mrn, "date": date, "scanner": scanner, **values}
    return ",".join(cells.get(name, "") for name in COLUMNS)


@pytest.fixture
def patients(clinic, other_clinic):
    """Two Hillside patients and a Riverside one whose MRN a Hillside file must not reach."""
    return {
        "H-1": factories.PatientFactory(clinic=clinic, mrn="H-1"),
        "H-2": factories.PatientFactory(clinic=clinic, mrn="H-2"),
        "R-1": factories.PatientFactory(clinic=other_clinic, mrn="R-1"),
    }


def _run(clinic, user, content: bytes, **kwargs) -> DxaImport:
    job = dxa_import_create(clinic=clinic, actor=user, file_name="scans.csv", content=content)
    dxa_import_run(import_id=job.pk, **kwargs)
    return dxa_import_finish(import_id=job.pk, now=NOW)


# --- what the upload refuses ------------------------------------------------------------------

REFUSED = [
    pytest.param(b"", "The file is empty.", id="empty"),
    pytest.param(b"  \n\n", "The file is empty.", id="blank"),
    pytest.param(_csv(), "The file has a header but no rows.", id="header-only"),
    pytest.param(
        b"mrn,date,scanner\nH-1,2024-01-01,\n",
        "missing columns: lumbar_spine_bmd_g_cm2",
        id="missing-columns",
    ),
    pytest.param(
        _csv(_row("H-1", "2024-01-01") + ",x", header=HEADER + ",comment"),
        "unknown column: comment",
        id="unknown-column",
    ),
    pytest.param(
        _csv(_row("H-1", "2024-01-01") + ",x", header=HEADER + ",mrn"),
        "repeated column: mrn",
        id="repeated-column",
    ),
    pytest.param(
        _csv("H-1;2024-01-01", header=HEADER.replace(",", ";")),
        "separated by commas, not semicolons",
        id="semicolons",
    ),
    pytest.param(
        _csv(_row("H-1", "2024-01-01", scanner="Gen\xe8ve")).replace(b"\xc3\xa8", b"\xe8"),
        "The file is not UTF-8 text",
        id="latin-1",
    ),
    pytest.param(
        _csv(_row("H-1", "2024-01-01")).decode().encode("utf-16-le"),
        "The file is not UTF-8 text",
        id="utf-16-without-bom",
    ),
]


@pytest.mark.parametrize(("content", "message"), REFUSED)
def test_a_file_that_cannot_be_imported_is_refused_as_a_whole(content, message):
    with pytest.raises(DxaImportRefused, match=message.replace("(", r"\(")):
        dxa_import_check(content=content)


def test_a_file_over_the_row_limit_is_refused(monkeypatch):
    monkeypatch.setattr(dxa_import, "MAX_ROWS", 2)

    with pytest.raises(DxaImportRefused, match="more than 2 rows"):
        dxa_import_check(content=_csv(*[_row("H-1", f"2024-01-0{d}") for d in (1, 2, 3)]))


def test_a_file_over_the_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr(dxa_import, "MAX_BYTES", 100)

    with pytest.raises(DxaImportRefused, match="the limit is"):
        dxa_import_check(content=_csv(_row("H-1", "2024-01-01", total_hip_t_score="-2")))


def test_columns_may_come_in_any_order_in_any_case_after_a_byte_order_mark():
    header = ",".join(name.upper() for name in reversed(COLUMNS))
    row = ",".join(reversed(_row("H-1", "2024-01-01", total_hip_t_score="-2").split(",")))

    text, rows = dxa_import_check(content=b"\xef\xbb\xbf" + _csv(row, header=header))

    assert rows == 1
    assert not text.startswith("\ufeff")


def test_blank_lines_are_not_rows():
    _, rows = dxa_import_check(content=_csv(_row("H-1", "2024-01-01"), "", ",,,", ""))

    assert rows == 1


def test_the_template_is_the_header_of_the_documented_layout():
    assert dxa_import.dxa_import_template_csv() == HEADER + "\r\n"
    assert HEADER in dxa_import.__doc__.replace("\n    ", "")


# --- what the import does with each row -------------------------------------------------------

GOOD = _row(
    "H-1",
    "2024-01-10",
    lumbar_spine_bmd_g_cm2="0.812",
    lumbar_spine_t_score="-2.1",
    total_hip_t_score="-1.9",
    total_hip_lsc_pct="4.2",
)


@time_machine.travel(NOW, tick=False)
def test_a_row_outside_the_plausibility_limits_is_reported_with_the_limits_message(
    clinic, nurse, patients
):
    content = _csv(
        _row("H-1", "2200-01-01", total_hip_t_score="-2"),
        _row("H-1", "2024-01-10", total_hip_bmd_g_cm2="0.7", total_hip_lsc_pct="0"),
    )

    job = _run(clinic, nurse, content)

    assert job.errors == [
        {"line": 2, "error": "date: Date must be between 1900-01-01 and 2199-12-31."},
        {"line": 3, "error": "total_hip_lsc_pct: LSC must be between 0.1 and 50.0 %."},
    ]
    assert not patients["H-1"].dxa_scans.exists()


@time_machine.travel(NOW, tick=False)
def test_valid_rows_are_imported_and_every_invalid_row_is_reported_with_its_line_and_reason(
    clinic, nurse, patients
):
    content = _csv(
        GOOD,  # line 2
        _row("H-404", "2024-01-10", total_hip_t_score="-2"),  # 3
        _row("R-1", "2024-01-10", total_hip_t_score="-2"),  # 4: another clinic's patient
        _row("H-2", "10/01/2024", total_hip_t_score="-2"),  # 5
        _row("H-2", "2024-02-30", total_hip_t_score="-2"),  # 6
        _row("H-2", "2024-01-10", total_hip_bmd_g_cm2="2.7"),  # 7
        _row("H-2", "2025-03-15", total_hip_t_score="-2"),  # 8: tomorrow
        _row("H-2", "2024-01-11", lumbar_spine_t_score="abc", total_hip_bmd_g_cm2='"0,7"'),  # 9
        _row("H-2", "2024-01-12"),  # 10: no value at all
        "H-2,2024-01-13",  # 11
        _row("", "2024-01-14", total_hip_t_score="-2"),  # 12
        _row("H-2", "1940-01-01", total_hip_t_score="-2"),  # 13: before birth
        _row("H-2", "2024-01-15", femoral_neck_t_score="-2.4"),  # 14
    )

    job = _run(clinic, nurse, content)

    assert (job.status, job.total_rows, job.processed_rows) == ("done", 13, 13)
    assert (job.imported, job.unchanged) == (2, 0)
    assert job.finished_at == NOW
    assert job.errors == [
        {"line": 3, "error": "mrn: no patient with MRN H-404 in Hillside Bone Clinic"},
        {"line": 4, "error": "mrn: no patient with MRN R-1 in Hillside Bone Clinic"},
        {
            "line": 5,
            "error": "date: “10/01/2024”: Enter the date as YYYY-MM-DD, for example 2024-12-31.",
        },
        {
            "line": 6,
            "error": "date: “2024-02-30”: Enter the date as YYYY-MM-DD, for example 2024-12-31.",
        },
        {
            "line": 7,
            "error": "total_hip_bmd_g_cm2: BMD must be between 0.2 and 2.0 g/cm².",
        },
        {"line": 8, "error": "date: This date is in the future (today is 2025-03-14)."},
        {
            "line": 9,
            "error": "lumbar_spine_t_score: “abc” is not a number; "
            "total_hip_bmd_g_cm2: “0,7” is not a number (use a decimal point)",
        },
        {"line": 10, "error": "Enter a BMD or a T-score for at least one site."},
        {"line": 11, "error": "the row has 2 values; the header has 12 columns"},
        {"line": 12, "error": "mrn: empty"},
        {"line": 13, "error": "date: This date is before the patient's birth date (1948-04-02)."},
    ]
    scan = patients["H-1"].dxa_scans.get()
    assert (scan.date, scan.scanner, scan.lumbar_spine_bmd_g_cm2) == (
        dt.date(2024, 1, 10),
        "Hologic A",
        0.812,
    )
    assert (scan.total_hip_t_score, scan.total_hip_lsc_pct, scan.femoral_neck_t_score) == (
        -1.9,
        4.2,
        None,
    )
    assert patients["H-2"].dxa_scans.get().femoral_neck_t_score == -2.4
    assert not patients["R-1"].dxa_scans.exists()


def test_imported_scans_carry_the_uploader_in_the_audit_trail(clinic, nurse, patients):
    _run(clinic, nurse, _csv(GOOD))

    assert patients["H-1"].dxa_scans.get().history.get().history_user == nurse


def test_importing_the_same_file_again_creates_no_duplicates(clinic, nurse, patients):
    content = _csv(GOOD, _row("H-2", "2024-01-15", femoral_neck_t_score="-2.4"), "H-404,x")

    first = _run(clinic, nurse, content)
    again = _run(clinic, nurse, content)

    assert (first.imported, first.unchanged, len(first.errors)) == (2, 0, 1)
    assert (again.imported, again.unchanged, len(again.errors)) == (0, 2, 1)
    assert DxaScan.objects.count() == 2


def test_a_row_for_a_recorded_scan_with_other_values_is_an_error_and_changes_nothing(
    clinic, nurse, patients
):
    _run(clinic, nurse, _csv(GOOD))
    changed = GOOD.replace("0.812", "0.815")

    job = _run(clinic, nurse, _csv(changed))

    assert job.errors == [
        {
            "line": 2,
            "error": "a scan of MRN H-1 on 2024-01-10 is already recorded with other values "
            "(lumbar_spine_bmd_g_cm2 0.812 recorded, 0.815 in the file); edit that scan instead",
        }
    ]
    assert patients["H-1"].dxa_scans.get().lumbar_spine_bmd_g_cm2 == 0.812


def test_a_row_repeated_in_one_file_is_imported_once_and_a_contradicting_repeat_reported(
    clinic, nurse, patients
):
    job = _run(clinic, nurse, _csv(GOOD, GOOD, GOOD.replace("-2.1", "-2.2")))

    assert (job.imported, job.unchanged) == (1, 1)
    assert [e["line"] for e in job.errors] == [4]
    assert patients["H-1"].dxa_scans.count() == 1


@pytest.mark.parametrize("batch_size", [1, 3, 100])
def test_the_batch_size_does_not_change_the_result(batch_size, clinic, nurse, patients):
    rows = [_row("H-1", f"2023-0{m}-01", total_hip_t_score="-2") for m in range(1, 8)]

    job = _run(clinic, nurse, _csv(*rows, "H-404,x"), batch_size=batch_size)

    assert (job.imported, job.unchanged, len(job.errors), job.processed_rows) == (7, 0, 1, 8)


def test_an_import_interrupted_half_way_and_started_again_ends_as_one_clean_run(
    clinic, nurse, patients, monkeypatch
):
    rows = [_row("H-1", f"2023-0{m}-01", total_hip_t_score="-2") for m in range(1, 8)]
    content = _csv(*rows, "H-404,x")
    job = dxa_import_create(clinic=clinic, actor=nurse, file_name="scans.csv", content=content)
    real_batch = dxa_import._import_batch
    calls = []

    def dies_on_the_third_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise SystemExit("worker killed")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(dxa_import, "_import_batch", dies_on_the_third_batch)
    with pytest.raises(SystemExit):
        dxa_import_run(import_id=job.pk, batch_size=3)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.imported) == ("running", 6, 6)

    dxa_import_run(import_id=job.pk, batch_size=3)  # the redelivered task
    job = dxa_import_finish(import_id=job.pk, now=NOW)

    assert (job.status, job.processed_rows, job.imported, job.unchanged) == ("done", 8, 7, 0)
    assert [e["line"] for e in job.errors] == [9]
    assert DxaScan.objects.count() == 7


# --- the Celery task --------------------------------------------------------------------------


def test_the_task_imports_the_file_and_a_second_delivery_changes_nothing(clinic, nurse, patients):
    job = dxa_import_create(clinic=clinic, actor=nurse, file_name="s.csv", content=_csv(GOOD))

    first = import_dxa_task(job.pk)
    second = import_dxa_task(job.pk)

    assert first == {"import": job.pk, "status": "done", "imported": 1, "unchanged": 0, "errors": 0}
    assert second == first
    job.refresh_from_db()
    assert job.finished_at is not None
    assert DxaScan.objects.count() == 1


def test_the_task_marks_the_import_failed_with_the_reason_when_it_cannot_go_on(
    clinic, nurse, patients, monkeypatch
):
    job = dxa_import_create(clinic=clinic, actor=nurse, file_name="s.csv", content=_csv(GOOD))

    def broken(*args, **kwargs):
        raise ValueError("disk full")

    monkeypatch.setattr(dxa_import, "_import_batch", broken)
    with pytest.raises(ValueError, match="disk full"):
        import_dxa_task(job.pk)

    job.refresh_from_db()
    assert job.status == "failed"
    assert job.errors == [{"line": None, "error": "The import stopped after row 0: disk full"}]


def test_the_task_of_a_deleted_import_does_nothing(db):
    assert import_dxa_task(999_999) == {"import": 999_999, "status": "missing"}


# --- progress ---------------------------------------------------------------------------------

PROGRESS = [
    # (status, processed, total, percent, bar step, polling?)
    ("pending", 0, 40, 0, 0, True),
    ("running", 13, 40, 32, 30, True),
    ("running", 39, 40, 97, 95, True),
    ("done", 40, 40, 100, 100, False),
    ("failed", 10, 40, 25, 25, False),
]


@pytest.mark.parametrize(("status", "processed", "total", "percent", "step", "polling"), PROGRESS)
def test_the_progress_is_the_share_of_rows_processed_and_polling_stops_when_finished(
    status, processed, total, percent, step, polling
):
    job = DxaImport(status=status, processed_rows=processed, total_rows=total)

    progress = dxa_import_progress(job)

    assert (progress.percent, progress.bar_step, progress.is_polling) == (percent, step, polling)


# --- the pages --------------------------------------------------------------------------------


def _upload(client, content: bytes, clinic: str = "hillside", name: str = "scans.csv"):
    return client.post(
        reverse("monitoring:dxa-import"),
        {"clinic": clinic, "file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


@pytest.fixture
def queued(monkeypatch):
    """Task messages sent to the broker (none really sent)."""
    sent: list[tuple] = []
    monkeypatch.setattr(import_dxa_task, "apply_async", lambda args, **kw: sent.append(tuple(args)))
    return sent


def test_uploading_a_file_queues_its_import_after_the_commit_and_shows_its_progress(
    patients, nurse, client_for, queued, django_capture_on_commit_callbacks
):
    client = client_for(nurse)

    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, _csv(GOOD, "H-404,x"))

    job = DxaImport.objects.get()
    assert (job.clinic.slug, job.uploaded_by, job.file_name, job.total_rows) == (
        "hillside",
        nurse,
        "scans.csv",
        2,
    )
    assert queued == [(job.pk,)]
    assert response["Location"] == reverse("monitoring:dxa-import-detail", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert "scans.csv (2 rows) is queued for import." in page
    assert 'hx-trigger="every 1s"' in page
    assert "Waiting for a worker" in page


@pytest.mark.django_db(transaction=True)  # on_commit runs as in production, before the answer
def test_when_the_broker_is_down_the_upload_is_kept_and_the_page_says_it_waits_for_a_worker(
    patients, nurse, client_for, monkeypatch
):
    def broker_down(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(import_dxa_task, "apply_async", broker_down)
    client = client_for(nurse)

    response = _upload(client, _csv(GOOD))

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "is saved and waits for a worker: the task queue cannot be reached" in page
    assert "Queue it again" in page
    assert DxaImport.objects.get().status == "pending"


def test_queue_it_again_sends_a_waiting_import_and_not_a_finished_one(
    clinic, patients, nurse, client_for, queued, django_capture_on_commit_callbacks
):
    waiting = dxa_import_create(clinic=clinic, actor=nurse, file_name="a.csv", content=_csv(GOOD))
    done = dxa_import_create(clinic=clinic, actor=nurse, file_name="b.csv", content=_csv(GOOD))
    DxaImport.objects.filter(pk=done.pk).update(status="done")
    client = client_for(nurse)

    with django_capture_on_commit_callbacks(execute=True):
        for job in (waiting, done):
            client.post(reverse("monitoring:dxa-import-queue", args=[job.pk]))

    assert queued == [(waiting.pk,)]


def test_the_whole_flow_upload_task_and_the_finished_page_with_every_error_line(
    patients, nurse, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(import_dxa_task, "apply_async", lambda args, **kw: import_dxa_task(*args))
    client = client_for(nurse)

    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, _csv(GOOD, "H-404,x", _row("H-9", "2024-01-01")))
    partial = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()

    assert "<html" not in partial
    assert "hx-trigger" not in partial  # finished: the polling stops
    assert "progress-bar progress-step-100" in partial
    assert 'aria-valuenow="100"' in partial
    assert "1 scan" in partial and "2 rows not imported" in partial
    assert '<th scope="row">3</th><td>the row has 2 values; the header has 12 columns</td>' in (
        partial
    )
    assert '<th scope="row">4</th><td>mrn: no patient with MRN H-9 in Hillside' in partial


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_csv(header="mrn,date"), "The header does not match the column layout"),
        (b"", "is empty."),
    ],
)
def test_a_refused_file_is_said_beside_the_file_field_and_nothing_is_created(
    content, message, patients, nurse, client_for
):
    response = _upload(client_for(nurse), content)

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["file"])
    assert not DxaImport.objects.exists()


def test_an_oversized_upload_is_refused_before_it_is_read(patients, nurse, client_for, monkeypatch):
    monkeypatch.setattr(dxa_import, "MAX_BYTES", 50)

    response = _upload(client_for(nurse), _csv(GOOD))

    assert response.status_code == 400
    assert "the limit is" in response.context["form"].errors["file"][0]


def test_a_nurse_cannot_import_into_a_clinic_she_does_not_work_in(patients, nurse, client_for):
    response = _upload(client_for(nurse), _csv(_row("R-1", "2024-01-01")), clinic="riverside")

    assert response.status_code == 400
    assert "Select a valid choice" in response.context["form"].errors["clinic"][0]
    assert not DxaImport.objects.exists()


def test_the_upload_page_documents_the_layout_and_links_the_template(nurse, client_for):
    html = client_for(nurse).get(reverse("monitoring:dxa-import")).content.decode()

    for name in COLUMNS:
        assert f"<code>{name}</code>" in html
    assert HEADER in html
    assert reverse("monitoring:dxa-import-template") in html


def test_the_template_downloads_as_csv(nurse, client_for):
    response = client_for(nurse).get(reverse("monitoring:dxa-import-template"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.decode() == HEADER + "\r\n"


@pytest.mark.parametrize(
    ("role", "status"), [("clinician", 200), ("nurse", 200), ("clinic_admin", 403)]
)
@pytest.mark.parametrize("name", ["monitoring:dxa-import", "monitoring:dxa-import-template"])
def test_clinicians_and_nurses_import_scans_and_a_clinic_admin_may_not(
    name, role, status, request, client_for
):
    response = client_for(request.getfixturevalue(role)).get(reverse(name))

    assert response.status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [("clinician", 200), ("nurse", 200), ("clinic_admin", 403), ("outsider", 404)],
)
def test_an_imports_progress_is_for_its_clinics_clinicians_and_nurses_only(
    role, status, clinic, nurse, request, client_for, queued
):
    job = dxa_import_create(clinic=clinic, actor=nurse, file_name="s.csv", content=_csv(GOOD))
    client = client_for(request.getfixturevalue(role))

    assert client.get(reverse("monitoring:dxa-import-detail", args=[job.pk])).status_code == status
    queue = client.post(reverse("monitoring:dxa-import-queue", args=[job.pk]))
    assert queue.status_code == (302 if status == 200 else status)


def test_an_outsider_uploads_into_their_own_clinic_only_and_never_sees_hillsides_imports(
    clinic, nurse, outsider, client_for
):
    dxa_import_create(clinic=clinic, actor=nurse, file_name="hillside.csv", content=_csv(GOOD))

    response = client_for(outsider).get(reverse("monitoring:dxa-import"))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="riverside"' in html and '"hillside"' not in html
    assert "hillside.csv" not in html


# --- query budgets ----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 12])
def test_the_upload_page_costs_the_same_queries_for_1_or_12_past_imports(
    count, clinic, nurse, client_for, django_assert_num_queries
):
    for n in range(count):
        dxa_import_create(clinic=clinic, actor=nurse, file_name=f"{n}.csv", content=_csv(GOOD))
    client = client_for(nurse)

    with django_assert_num_queries(5):
        response = client.get(reverse("monitoring:dxa-import"))

    assert len(response.context["imports"]) == min(count, 10)


@pytest.mark.parametrize("errors", [1, 500])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx-partial"])
def test_the_progress_page_costs_the_same_queries_for_1_or_500_errors(
    errors, htmx, clinic, nurse, client_for, django_assert_num_queries
):
    job = dxa_import_create(clinic=clinic, actor=nurse, file_name="s.csv", content=_csv(GOOD))
    DxaImport.objects.filter(pk=job.pk).update(
        status="done", errors=[{"line": n + 2, "error": "mrn: empty"} for n in range(errors)]
    )
    client = client_for(nurse)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    # The partial alone skips the navigation's memberships.
    with django_assert_num_queries(4 if htmx else 5):
        response = client.get(reverse("monitoring:dxa-import-detail", args=[job.pk]), **headers)

    assert response.content.decode().count("mrn: empty") == errors


# --- scanner names ----------------------------------------------------------------------------


def test_a_scanner_named_like_one_on_the_clinics_list_takes_the_lists_spelling(
    patients, clinic, other_clinic, nurse
):
    DxaScanner.objects.create(clinic=clinic, name="Hologic Horizon A")
    DxaScanner.objects.create(clinic=other_clinic, name="GE Prodigy")
    content = _csv(
        _row("H-1", "2024-01-01", scanner="  hologic  horizon a", lumbar_spine_t_score="-2"),
        _row("H-2", "2024-01-01", scanner="ge prodigy", lumbar_spine_t_score="-2"),
    )

    job = _run(clinic, nurse, content)

    assert job.imported == 2
    assert sorted(DxaScan.objects.values_list("scanner", flat=True)) == [
        "Hologic Horizon A",
        "ge prodigy",  # another clinic's list is not this clinic's
    ]
