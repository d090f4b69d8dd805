"""CSV DXA import throughput on PostgreSQL, end to end, in rows per second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ossa_bench \\
        .venv/bin/python bench/dxa_import.py [--patients 5000] [--rows 5000] [--keep]

The database named in DATABASE_URL is the benchmark's own: its name must contain "bench", it is
created if missing, migrated, and FLUSHED (every table emptied) before N patients are
bulk-created (one clinic, one clinician, a risk profile each; a fifth of them with a scan already
recorded on 2024-06-01). `--keep` reuses the patients already there instead.

It then times, best of `--repeat` (3), from the upload check to the finished import —
`dxa_import_create`, `dxa_import_run` (the Celery task's work; the reminder rescans are queued
on the configured broker, then purged) and `dxa_import_finish` — with the scans the previous
run wrote deleted first:
  (a) a file of `--rows` new scans, one per patient;
  (b) the same size with 20 % of its rows for scans already recorded: half with the recorded
      values (counted unchanged), half with other values (reported: "edit that scan instead");
  (c) the projection that led to `rescan_patients_task`: (a) with each batch's rescans as one
      message. monitoring.tasks now does this itself (one message per 500 patients), so (a)
      and (c) measure the same path; (c) is kept to compare the two ways of sending;
  (d) the row-by-row path (each scan through `record_save`, as the import did before the bulk
      writes) on the first `--old-rows` (500) rows of (a), for comparison.
Target: at least 1,000 rows/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

from bench.benchdb import prepare  # noqa: E402

TARGET_ROWS_PER_S = 1_000
RECORDED_ON = dt.date(2024, 6, 1)
SCANNERS = ["Hologic Horizon A", "GE Lunar iDXA", ""]


def _values(rng: random.Random) -> dict[str, float | None]:
    """Plausible readings: every site's BMD and T-score, an LSC now and then."""
    return {
        "lumbar_spine_bmd_g_cm2": round(rng.uniform(0.6, 1.1), 3),
        "lumbar_spine_t_score": round(rng.uniform(-3.5, 0.5), 1),
        "lumbar_spine_lsc_pct": rng.choice([None, None, 2.5]),
        "femoral_neck_bmd_g_cm2": round(rng.uniform(0.5, 0.9), 3),
        "femoral_neck_t_score": round(rng.uniform(-3.5, 0.0), 1),
        "femoral_neck_lsc_pct": None,
        "total_hip_bmd_g_cm2": round(rng.uniform(0.6, 1.0), 3),
        "total_hip_t_score": round(rng.uniform(-3.0, 0.5), 1),
        "total_hip_lsc_pct": rng.choice([None, 4.2]),
    }


def seed(patients: int) -> str:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from monitoring.models import DxaScan
    from patients.models import Clinic, Membership, Patient, RiskProfile, Role

    rng = random.Random(2026)
    with transaction.atomic():
        clinic = Clinic.objects.create(name="Benchmark clinic", slug="bench")
        user = get_user_model().objects.create_user("bench-clinician", password=None)
        Membership.objects.create(user=user, clinic=clinic, role=Role.CLINICIAN)
        rows = Patient.objects.bulk_create(
            Patient(
                clinic=clinic,
                mrn=f"B{n:07d}",
                name=f"Bench Patient {n}",
                birth_date=dt.date(1930 + rng.randrange(0, 36), 1 + n % 12, 1 + n % 28),
                sex="female" if rng.random() < 0.8 else "male",
            )
            for n in range(patients)
        )
        RiskProfile.objects.bulk_create(RiskProfile(patient=p) for p in rows)
    _recorded_scans_reset()
    return f"{patients:,} patients, {DxaScan.objects.count():,} recorded scans"


def _recorded_scans_reset() -> None:
    """Every scan and audit row gone but the seeded ones: a fifth of the patients (every fifth
    one) with a scan on `RECORDED_ON`."""
    from monitoring.models import DxaScan
    from patients.models import Patient

    DxaScan.objects.all()._raw_delete(DxaScan.objects.db)
    DxaScan.history.all()._raw_delete(DxaScan.objects.db)
    rng = random.Random(5)
    ids = Patient.objects.order_by("mrn").values_list("pk", flat=True)
    DxaScan.objects.bulk_create(
        DxaScan(patient_id=pk, date=RECORDED_ON, scanner=SCANNERS[0], **_values(rng))
        for i, pk in enumerate(ids)
        if i % 5 == 0
    )


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def files(rows: int) -> tuple[bytes, bytes]:
    """(new scans only, 20 % of rows for recorded scans) as CSV files."""
    from monitoring.dxa_import import COLUMNS, SITE_COLUMNS
    from monitoring.models import DxaScan
    from patients.models import Patient

    mrns = list(Patient.objects.order_by("mrn").values_list("mrn", flat=True))
    recorded = {
        s.patient.mrn: s for s in DxaScan.objects.filter(date=RECORDED_ON).select_related("patient")
    }
    rng = random.Random(7)

    def new_row(n: int) -> list[str]:
        mrn = mrns[n % len(mrns)]
        day = dt.date(2025, 1, 1) + dt.timedelta(days=n // len(mrns) * 30 + n % 300)
        values = _values(rng)
        return [
            mrn,
            day.isoformat(),
            rng.choice(SCANNERS),
            *(_cell(values[c]) for c in SITE_COLUMNS),
        ]

    def recorded_row(mrn: str, is_same: bool) -> list[str]:
        scan = recorded[mrn]
        values = {c: getattr(scan, c) for c in SITE_COLUMNS}
        if not is_same:
            values["total_hip_t_score"] = round(values["total_hip_t_score"] - 0.3, 1)
        return [
            mrn,
            f"{scan.date:%Y-%m-%d}",
            scan.scanner,
            *(_cell(values[c]) for c in SITE_COLUMNS),
        ]

    header = ",".join(COLUMNS)
    new = [new_row(n) for n in range(rows)]
    mixed = [list(r) for r in new]
    repeats = list(recorded)[: rows // 5]
    for i, mrn in enumerate(repeats):  # every fifth row, in place
        mixed[i * 5 % rows] = recorded_row(mrn, is_same=i % 2 == 0)

    def text(lines: list[list[str]]) -> bytes:
        return ("\r\n".join([header, *(",".join(line) for line in lines)]) + "\r\n").encode()

    return text(new), text(mixed)


def _one_message(callback: Any) -> None:
    """A projection, not the code: the callback's patients as ONE message (a task that would
    rescan a list of patients; no such task exists yet, the messages are purged unread)."""
    from celery import current_app

    with current_app.connection_for_write() as connection:
        current_app.send_task(
            "monitoring.tasks.rescan_patients_task",
            (list(callback.patient_ids),),
            connection=connection,
            retry=False,
        )


class _BrokerClock:
    """Time spent sending the reminder rescans to the broker (the on-commit callbacks)."""

    def __init__(self, *, is_one_message: bool = False) -> None:
        from monitoring.tasks import _Rescan

        self.seconds = 0.0
        self.tasks = 0
        self.real = _Rescan.__call__
        clock = self
        send = _one_message if is_one_message else self.real

        def timed_call(callback: Any) -> None:
            start = time.perf_counter()
            send(callback)
            clock.seconds += time.perf_counter() - start
            clock.tasks += len(callback.patient_ids)

        _Rescan.__call__ = timed_call  # type: ignore[method-assign]

    def close(self) -> None:
        from monitoring.tasks import _Rescan

        _Rescan.__call__ = self.real  # type: ignore[method-assign]


def import_once(
    content: bytes, *, row_by_row: bool = False, is_one_message: bool = False
) -> tuple[float, Any]:
    """Seconds from the upload check to the finished import (the scans of earlier runs gone);
    the job carries `broker_s`, the part of them spent queueing the rescans, and `rescans`."""
    from celery import current_app
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from monitoring import dxa_import
    from patients.models import Clinic

    _recorded_scans_reset()
    clinic = Clinic.objects.get(slug="bench")
    user = get_user_model().objects.get(username="bench-clinician")
    real = dxa_import._import_batch
    if row_by_row:
        write = dxa_import._write_batch
        dxa_import._import_batch = lambda rows, *, clinic, actor: write(  # type: ignore[assignment]
            rows, clinic=clinic, actor=actor, is_bulk=False
        )
    broker = _BrokerClock(is_one_message=is_one_message)
    try:
        start, cpu = time.perf_counter(), time.process_time()
        job = dxa_import.dxa_import_create(
            clinic=clinic, actor=user, file_name="bench.csv", content=content
        )
        dxa_import.dxa_import_run(import_id=job.pk)
        job = dxa_import.dxa_import_finish(import_id=job.pk, now=timezone.now())
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        dxa_import._import_batch = real  # type: ignore[assignment]
        broker.close()
    job.broker_s, job.rescans, job.cpu_s = broker.seconds, broker.tasks, cpu
    try:
        current_app.control.purge()  # the rescans no worker of the bench will run
    except Exception as error:  # noqa: BLE001 — a broker that is away is not the benchmark's
        print(f"  (could not purge the queued rescans: {error})")
    return seconds, job


def best_of(label: str, content: bytes, repeat: int, **kwargs: Any) -> tuple[float, Any]:
    runs = []
    for _ in range(repeat):
        seconds, job = import_once(content, **kwargs)
        runs.append((seconds, job))
        print(
            f"  {label}: {seconds:.2f} s, of which {job.broker_s:.2f} s queueing "
            f"{job.rescans:,} rescans; this process's CPU {job.cpu_s:.2f} s",
            flush=True,
        )
    return min(runs, key=lambda run: run[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--old-rows", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="reuse the patients already seeded")
    args = parser.parse_args()

    django.setup()
    from django.db import connection

    from monitoring.dxa_import import BATCH_SIZE
    from patients.models import Patient

    prepare(
        "bench/dxa_import.py",
        "ossa_bench",
        reseed=not args.keep,
        patients=args.patients,
        seed=lambda: seed(args.patients),
    )
    n = Patient.objects.count()
    new, mixed = files(args.rows)
    old = b"".join(new.splitlines(keepends=True)[: args.old_rows + 1])

    print(f"Measuring ({n:,} patients, files of {args.rows:,} rows, batch {BATCH_SIZE})…")
    results = []
    for label, content, kwargs in (
        ("bulk, new scans", new, {}),
        ("bulk, 20 % rows of recorded scans", mixed, {}),
        (
            "bulk, new scans, PROJECTION: each batch's rescans as one broker message",
            new,
            {"is_one_message": True},
        ),
        (f"row by row (the path before), {args.old_rows} new scans", old, {"row_by_row": True}),
    ):
        rows = content.count(b"\n") - 1
        seconds, job = best_of(label, content, args.repeat, **kwargs)
        results.append((label, rows, seconds, job))

    print()
    print(
        f"Ossa CSV DXA import benchmark — PostgreSQL {connection.pg_version // 10000}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {n:,} patients, "
        f"batch {BATCH_SIZE}, best of {args.repeat}, load average {os.getloadavg()[0]:.1f}"
    )
    for label, rows, seconds, job in results:
        print(
            f"- {label}: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s "
            f"(target ≥ {TARGET_ROWS_PER_S:,}); imported {job.imported:,}, unchanged "
            f"{job.unchanged:,}, errors {len(job.errors):,}; without the {job.rescans:,} "
            f"rescans' {job.broker_s:.2f} s on the broker: {rows / (seconds - job.broker_s):,.0f} "
            f"rows/s; this process's CPU {job.cpu_s:.2f} s"
        )


if __name__ == "__main__":
    main()
