"""Bulk DXA import from CSV: the upload checks, the row-by-row import the Celery task runs, and
the progress the page shows.

Column layout
-------------
A UTF-8 text file (a byte-order mark is allowed), comma-separated, first line the header. The
header names exactly these twelve columns, in any order (case and spaces around names do not
matter); every other line is one scan::

    mrn,date,scanner,lumbar_spine_bmd_g_cm2,lumbar_spine_t_score,lumbar_spine_lsc_pct,
    femoral_neck_bmd_g_cm2,femoral_neck_t_score,femoral_neck_lsc_pct,
    total_hip_bmd_g_cm2,total_hip_t_score,total_hip_lsc_pct

(one line in the file). ``mrn`` is the patient's medical record number in the clinic chosen on
upload; ``date`` is the scan date as YYYY-MM-DD; ``scanner`` is optional text; each site has
its BMD in g/cm², its T-score and optionally the scanner's least significant change in %
(empty: the default), numbers with a decimal point. Empty cells are empty values; each row
needs a BMD or a T-score for at least one site. Example::

    H-0042,2024-03-01,Hologic Horizon A,0.812,-2.1,,0.640,-2.0,,0.702,-1.9,

Rules
-----
- The upload is refused as a whole for a header problem (a missing, unknown or repeated column),
  a file that is not UTF-8, an empty file or one without rows, more than `MAX_BYTES` bytes or
  more than `MAX_ROWS` rows.
- Otherwise each row is judged alone: a valid row gets the model's validation `record_save`
  gives it (in memory, see below) and an audit row naming the uploader, every invalid row is
  reported with its line number in the file (the header is line 1) and the reason.
- Re-importing a file creates no duplicates: a row identical to a recorded scan (same patient,
  date and values) counts as unchanged; a row for a recorded patient and date with other values
  is an error (edit that scan instead).
- The T-score direction question of the entry form is not asked here: nobody is there to answer
  it. The values go through the same range and date validation.
- Rows are imported in batches, each batch in one transaction together with the import's
  counters, so a worker that dies half-way and is restarted resumes after the last committed
  batch and the counts stay exact.

Writes in bulk
--------------
A batch costs the same handful of queries whatever its size: one read each of the batch's
patients (by MRN), their scans on the batch's dates and the clinic's scanners; one insert of the
new scans and one of their audit rows (`bulk_create_with_history`: the uploader as history_user,
change reason `IMPORT_CHANGE_REASON`); one rescan per patient of the batch once it commits
(`enqueue_patients_rescan`). Each row is validated in memory as `full_clean` would: every
field's validators (`clean_fields`; the model's check constraints are the same ranges, and the
database enforces them), `DxaScan.clean`'s "a site measured", `PatientRecord.clean`'s
"not before birth" and one scan per patient and day against the scans read and the file's
earlier rows. A row that fails it is saved alone through `record_save` (in a savepoint, as
before), so its reasons are word for word those of the full validation. When the database
refuses the batch's insert (a scan of the same patient and day recorded meanwhile by someone
else, or any constraint), the batch is undone and imported again row by row through
`record_save`: the clash becomes that row's reported problem, the other rows are written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from simple_history.utils import bulk_create_with_history

from monitoring.models import DxaImport, DxaScan, DxaScanner
from monitoring.tasks import enqueue_patients_rescan
from patients.models import Clinic, Patient
from patients.services import record_save
from patients.validators import check_not_before_birth, parse_date_text
from therapy.case_records import DXA_READING_COLUMNS
from therapy.engine.case import DxaSite

SITE_COLUMNS: tuple[str, ...] = tuple(DXA_READING_COLUMNS.values())
COLUMNS: tuple[str, ...] = ("mrn", "date", "scanner", *SITE_COLUMNS)
#: What each column holds, for the upload page.
COLUMN_HELP: dict[str, str] = {
    "mrn": "Medical record number of a patient of the chosen clinic (required)",
    "date": "Scan date, YYYY-MM-DD (required)",
    "scanner": "Scanner name (optional)",
    **{
        f"{site}_bmd_g_cm2": f"{site.replace('_', ' ').capitalize()} BMD, g/cm²" for site in DxaSite
    },
    **{f"{site}_t_score": f"{site.replace('_', ' ').capitalize()} T-score" for site in DxaSite},
    **{
        f"{site}_lsc_pct": f"{site.replace('_', ' ').capitalize()} least significant change, % "
        "(empty: the default)"
        for site in DxaSite
    },
}
EXAMPLE_ROW = "H-0042,2024-03-01,Hologic Horizon A,0.812,-2.1,,0.640,-2.0,,0.702,-1.9,"

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
#: Rows per transaction: a batch is a constant handful of queries (see "Writes in bulk"), so
#: the bar moves every fraction of a second (bench/dxa_import.py: 250 a batch imports ~30 %
#: faster than 100, 500 no faster), while the import's counters and error list are rewritten
#: only once per batch.
BATCH_SIZE = 250
#: The change reason of every audit row the import writes.
IMPORT_CHANGE_REASON = "CSV DXA import"


class DxaImportRefused(Exception):
    """The file cannot be imported at all (the message says why, for the upload form)."""


def dxa_import_template_csv() -> str:
    """The downloadable template: the header line."""
    return ",".join(COLUMNS) + "\r\n"


# --- reading the file -------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvRow:
    line: int  # line number in the file, the header being line 1
    values: dict[str, str]
    problem: str = ""  # a row that cannot be read as the header's columns


def _decode(content: bytes) -> str:
    if not content.strip():
        raise DxaImportRefused("The file is empty.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DxaImportRefused(
            "The file is not UTF-8 text (byte "
            f"{error.start + 1}). Save it from the spreadsheet as “CSV UTF-8” and upload it again."
        ) from error
    if "\x00" in text:  # UTF-16 without a byte-order mark decodes, NULs and all
        raise DxaImportRefused(
            "The file is not UTF-8 text (it holds NUL characters: UTF-16?). Save it from the "
            "spreadsheet as “CSV UTF-8” and upload it again."
        )
    return text


def _header(cells: Sequence[str]) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    if len(names) == 1 and ";" in names[0]:
        raise DxaImportRefused("The columns must be separated by commas, not semicolons.")
    problems = []
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        problems.append(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    unknown = [name or "(empty)" for name in names if name not in COLUMNS]
    if unknown:
        problems.append(f"unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    repeated = sorted({name for name in names if names.count(name) > 1 and name in COLUMNS})
    if repeated:
        problems.append(f"repeated column{'s' if len(repeated) > 1 else ''}: {', '.join(repeated)}")
    if problems:
        raise DxaImportRefused(
            f"The header does not match the column layout ({'; '.join(problems)})."
        )
    return names


def _rows(text: str) -> Iterator[CsvRow]:
    """The data rows of a checked file; blank lines are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    names = _header(next(reader, []))
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(names):
            yield CsvRow(
                reader.line_num,
                {},
                f"the row has {len(cells)} values; the header has {len(names)} columns",
            )
        else:
            yield CsvRow(reader.line_num, dict(zip(names, (c.strip() for c in cells), strict=True)))


def dxa_import_check(*, content: bytes) -> tuple[str, int]:
    """The file's text and its number of rows; `DxaImportRefused` when it cannot be imported."""
    if len(content) > MAX_BYTES:
        raise DxaImportRefused(
            f"The file is {len(content) / (1024 * 1024):.1f} MB; the limit is "
            f"{MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files."
        )
    text = _decode(content)
    rows = 0
    try:
        for _ in _rows(text):
            rows += 1
            if rows > MAX_ROWS:
                raise DxaImportRefused(
                    f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files."
                )
    except csv.Error as error:
        raise DxaImportRefused(f"The file is not a readable CSV file ({error}).") from error
    if rows == 0:
        raise DxaImportRefused("The file has a header but no rows.")
    return text, rows


def dxa_import_create(
    *, clinic: Clinic, actor: AbstractBaseUser, file_name: str, content: bytes
) -> DxaImport:
    """Check the file and keep it for the import task (which the caller queues)."""
    text, rows = dxa_import_check(content=content)
    return DxaImport.objects.create(
        clinic=clinic,
        uploaded_by=actor,
        file_name=file_name[:255],
        content=text,
        total_rows=rows,
    )


# --- importing rows ---------------------------------------------------------------------------


def _number(column: str, raw: str, problems: list[str]) -> float | None:
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        hint = " (use a decimal point)" if "," in raw else ""
        problems.append(f"{column}: “{raw}” is not a number{hint}")
        return None
    if not math.isfinite(value):
        problems.append(f"{column}: “{raw}” is not a number")
        return None
    return value


def _date(raw: str, problems: list[str]) -> dt.date | None:
    if raw == "":
        problems.append("date: empty")
        return None
    try:
        return parse_date_text(raw)
    except ValueError as error:  # the forms' message, word for word
        problems.append(f"date: “{raw}”: {error}")
        return None


def _machine(name: str) -> str:
    return " ".join(name.split()).casefold()


def _messages(error: ValidationError) -> str:
    if not hasattr(error, "error_dict"):
        return "; ".join(error.messages)
    return "; ".join(
        message if name == "__all__" else f"{name}: {message}"
        for name, messages in error.message_dict.items()
        for message in messages
    )


def _shown(value: Any) -> str:
    return "empty" if value in (None, "") else f"{value:g}" if isinstance(value, float) else value


def _differences(scan: DxaScan, values: dict[str, Any]) -> list[str]:
    """The columns whose value in the file differs from the recorded scan."""
    return [
        f"{name} {_shown(getattr(scan, name))} recorded, {_shown(value)} in the file"
        for name, value in values.items()
        if getattr(scan, name) != value
    ]


@dataclass
class _Batch:
    imported: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def _import_batch(
    rows: Sequence[CsvRow], *, clinic: Clinic, actor: AbstractBaseUser | None
) -> _Batch:
    """Import one batch (inside the caller's transaction), in bulk in a savepoint; when the
    database refuses the bulk insert (a race past the in-memory checks), the savepoint is
    undone and the batch imported again row by row, each new scan in its own savepoint, so
    the clash is one row's reported problem and the other rows are written."""
    try:
        with transaction.atomic():
            return _write_batch(rows, clinic=clinic, actor=actor, is_bulk=True)
    except IntegrityError:
        return _write_batch(rows, clinic=clinic, actor=actor, is_bulk=False)


def _check_in_memory(scan: DxaScan, patient: Patient) -> None:
    """`full_clean` of a new scan of a patient read from the database, without its queries:
    the fields' validators (the model's check constraints repeat their ranges, and the
    database enforces them), `PatientRecord.clean`'s not-before-birth rule and
    `DxaScan.clean`. One scan per patient and day is the caller's (the scans read, the file's
    earlier rows; the database constraint is the backstop)."""
    scan.clean_fields(exclude=["patient"])
    check_not_before_birth(scan.date, patient.birth_date, "date")
    if not any(
        getattr(scan, f"{site}_bmd_g_cm2") is not None
        or getattr(scan, f"{site}_t_score") is not None
        for site in DxaScan.SITES
    ):
        raise ValidationError("Enter a BMD or a T-score for at least one site.")


def _save_one(scan: DxaScan, actor: AbstractBaseUser | None) -> str:
    """Save one scan through `record_save` in a savepoint; the problem, or "" when saved."""
    scan._change_reason = IMPORT_CHANGE_REASON  # type: ignore[attr-defined]  # simple-history
    try:
        with transaction.atomic():
            record_save(instance=scan, actor=actor)
    except ValidationError as error:
        return _messages(error)
    except IntegrityError as error:  # a scan saved meanwhile by someone else
        return f"conflicts with a recorded scan ({error})"
    return ""


def _write_batch(
    rows: Sequence[CsvRow], *, clinic: Clinic, actor: AbstractBaseUser | None, is_bulk: bool
) -> _Batch:
    """Three reads for the whole batch (patients, scans, the clinic's scanners), every row
    judged in file order; then, `is_bulk`, the valid new scans written in one insert with
    their audit rows and one rescan per patient. Rows that fail the in-memory validation
    (and, not `is_bulk`, every new scan) are saved alone through `record_save`."""
    outcome = _Batch()
    errors = outcome.errors
    mrns = {row.values["mrn"] for row in rows if row.values.get("mrn")}
    patients = {p.mrn: p for p in Patient.objects.filter(clinic=clinic, mrn__in=mrns)}
    dates = {_date(row.values.get("date", ""), []) for row in rows} - {None}
    existing = {
        (scan.patient_id, scan.date): scan
        for scan in DxaScan.objects.filter(patient__in=patients.values(), date__in=dates)
    }
    # A scanner named like one of the clinic's list (case, spaces) is written as the list has
    # it, so that the file and the scan form name one machine the same way.
    listed = {
        _machine(name): name
        for name in DxaScanner.objects.filter(clinic=clinic).values_list("name", flat=True)
    }
    new: list[DxaScan] = []
    for row in rows:
        if row.problem:
            errors.append({"line": row.line, "error": row.problem})
            continue
        problems: list[str] = []
        mrn = row.values["mrn"]
        patient = patients.get(mrn)
        if not mrn:
            problems.append("mrn: empty")
        elif patient is None:
            problems.append(f"mrn: no patient with MRN {mrn} in {clinic.name}")
        date = _date(row.values["date"], problems)
        numbers = {name: _number(name, row.values[name], problems) for name in SITE_COLUMNS}
        if problems or patient is None or date is None:
            errors.append({"line": row.line, "error": "; ".join(problems)})
            continue
        scanner = " ".join(row.values["scanner"].split())
        values: dict[str, Any] = {"scanner": listed.get(_machine(scanner), scanner), **numbers}
        recorded = existing.get((patient.pk, date))
        if recorded is not None:
            differences = _differences(recorded, values)
            if differences:
                errors.append(
                    {
                        "line": row.line,
                        "error": f"a scan of MRN {mrn} on {date:%Y-%m-%d} is already recorded "
                        f"with other values ({'; '.join(differences)}); edit that scan instead",
                    }
                )
            else:
                outcome.unchanged += 1
            continue
        scan = DxaScan(patient=patient, date=date, **values)
        if is_bulk:
            try:
                _check_in_memory(scan, patient)
            except ValidationError:
                pass  # saved alone below: `record_save` gives the full validation's words
            else:
                new.append(scan)
                existing[(patient.pk, date)] = scan
                outcome.imported += 1
                continue
        problem = _save_one(scan, actor)
        if problem:
            errors.append({"line": row.line, "error": problem})
        else:
            existing[(patient.pk, date)] = scan
            outcome.imported += 1
    if new:
        bulk_create_with_history(
            new, DxaScan, default_user=actor, default_change_reason=IMPORT_CHANGE_REASON
        )
        enqueue_patients_rescan([scan.patient_id for scan in new])
    return outcome


def dxa_import_run(*, import_id: int, batch_size: int = BATCH_SIZE) -> DxaImport:
    """Import the rows of `import_id` not yet processed, batch by batch; each batch commits with
    the import's progress, so a run that is interrupted and started again resumes where it
    stopped, and two runs of the same import never process a row twice (the import row is
    locked per batch). Leaves the import RUNNING: `dxa_import_finish` closes it."""
    with transaction.atomic():
        job = DxaImport.objects.select_for_update().get(pk=import_id)
        if job.status in (DxaImport.Status.DONE, DxaImport.Status.FAILED):
            return job
        job.status = DxaImport.Status.RUNNING
        job.save(update_fields=["status"])
    rows = list(_rows(job.content))
    clinic = Clinic.objects.get(pk=job.clinic_id)
    actor = job.uploaded_by
    while True:
        with transaction.atomic():  # the file's text is read once, above, not per batch
            job = DxaImport.objects.select_for_update().defer("content").get(pk=import_id)
            start = job.processed_rows
            batch = rows[start : start + batch_size]
            if not batch or job.status != DxaImport.Status.RUNNING:
                return job
            outcome = _import_batch(batch, clinic=clinic, actor=actor)
            job.processed_rows = start + len(batch)
            job.imported += outcome.imported
            job.unchanged += outcome.unchanged
            job.errors = [*job.errors, *outcome.errors]
            job.save(update_fields=["processed_rows", "imported", "unchanged", "errors"])


def dxa_import_finish(*, import_id: int, now: dt.datetime) -> DxaImport:
    """Mark a fully processed import done (once)."""
    with transaction.atomic():
        job = DxaImport.objects.select_for_update().get(pk=import_id)
        if job.status == DxaImport.Status.RUNNING and job.processed_rows >= job.total_rows:
            job.status = DxaImport.Status.DONE
            job.finished_at = now
            job.save(update_fields=["status", "finished_at"])
    return job


def dxa_import_fail(*, import_id: int, reason: str, now: dt.datetime) -> DxaImport:
    """Stop an import that cannot go on; the rows imported so far stay, the reason is listed."""
    with transaction.atomic():
        job = DxaImport.objects.select_for_update().get(pk=import_id)
        if job.status != DxaImport.Status.DONE:
            job.status = DxaImport.Status.FAILED
            job.finished_at = now
            job.errors = [
                *job.errors,
                {
                    "line": None,
                    "error": f"The import stopped after row {job.processed_rows}: {reason}",
                },
            ]
            job.save(update_fields=["status", "finished_at", "errors"])
    return job


# --- reads ------------------------------------------------------------------------------------


def dxa_imports_recent(*, clinics: Iterable[Clinic], limit: int = 10) -> QuerySet[DxaImport]:
    """The latest imports of `clinics`, newest first, without their (large) file content."""
    return (
        DxaImport.objects.filter(clinic__in=list(clinics))
        .select_related("clinic", "uploaded_by")
        .defer("content")[:limit]
    )


# --- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DxaImportProgress:
    job: DxaImport
    percent: int
    is_polling: bool  # the page asks again while the import waits or runs

    @property
    def bar_step(self) -> int:
        """The percentage rounded down to a multiple of 5, for the bar's width class."""
        return self.percent // 5 * 5


def dxa_import_progress(job: DxaImport) -> DxaImportProgress:
    percent = job.processed_rows * 100 // job.total_rows if job.total_rows else 100
    is_done = job.status in (DxaImport.Status.DONE, DxaImport.Status.FAILED)
    return DxaImportProgress(job=job, percent=min(percent, 100), is_polling=not is_done)
