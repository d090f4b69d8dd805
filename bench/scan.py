"""Reminder-scan throughput on PostgreSQL, against the floor of reading the same rows raw.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ossa_bench \\
        .venv/bin/python bench/scan.py [--patients 20000] [--batch-size 500] [--keep] [--rounds 3]

The database named in DATABASE_URL is the benchmark's own: its name must contain "bench", it is
created if missing, migrated, and FLUSHED (every table emptied) before N patients with realistic
histories are bulk-created (one clinic; each patient 1–15 years of care: courses of oral
bisphosphonates, denosumab, zoledronic acid, teriparatide or romosozumab with their doses, DXA
scans every 1–2 years, bone-marker and vitamin D labs, fractures, yearly reassessments, a few
risk factors). `--keep` reuses the patients already there instead.

It then measures, in patients per second:
  (a) the floor: the same rows and columns the scan reads, read with a raw cursor, batch by
      batch, as tuples (no ORM, no engine): patients, risk profiles, the eight history tables
      and the reminders;
  (b) a full `reminders_scan` in this process that creates every reminder (the first night),
      then a second one that finds nothing to change (every night after);
  (c) the engine alone on 2,000 of the cases, for the breakdown: `schedule`, what the scan asks
      of it, and the whole `evaluate` a patient page shows;
and prints each scan's ratio to the floor and the time projected for a 100,000-patient clinic
(targets: within 5× of the floor, and under 2 minutes). (a) and (b) are measured `--rounds`
times (default 3), one after the other, each scan against the floor of its own round: one
floor read alone varied from 1.6 to 3.1 s within an hour on this shared machine, so the ratio
printed is the median of the rounds, with every round's beside it. Each measurement also
prints the CPU seconds of this process (all its threads) and of the PostgreSQL server (all its
processes, read from /proc when the server runs on this host): the wall clock counts time other
guests take, CPU seconds do not.

With `--celery` it measures the nightly task instead, as production runs it: real Celery
workers (`celery -A config worker --pool prefork --concurrency N`, N = 1 then 2; `--processes`)
started as subprocesses against Redis (CELERY_BROKER_URL, default redis://127.0.0.1:6379/7, a
queue of the benchmark's own) and this database. Each run starts from no reminders, enqueues
`scan_reminders_task`, waits for its `ScanRun` to finish (first night, then a second night with
nothing to change), and prints patients/s, the speed-up of N processes over one, and the peak
RSS of the pool processes (VmHWM; targets: ≥ 1.7× with 2 processes, 100,000 patients in
under 60 s, RSS ≤ 300 MB). `--rounds` times each pool size in turn, and the speed-up printed
is the median of each round's own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Critical reminders are e-mailed after each batch; keep the mail in memory, not in var/.
os.environ.setdefault("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

import django  # noqa: E402

from bench.benchdb import prepare  # noqa: E402

AS_OF = dt.date(2026, 11, 25)
TARGET_PATIENTS_PER_S = 100_000 / 120


# --- seeding ------------------------------------------------------------------------------------


def _day(start: dt.date, days: int) -> dt.date:
    return start + dt.timedelta(days=days)


class Seeder:
    """Builds unsaved rows for many patients, then writes them with bulk_create."""

    INTERVALS = {"denosumab": 182, "zoledronic_acid": 365, "romosozumab": 30}
    PLANS = [  # (drug, months) in order; the last course may still be running
        [("alendronate", 48)],
        [("alendronate", 36), ("denosumab", 60)],
        [("risedronate", 30), ("zoledronic_acid", 36)],
        [("denosumab", 72)],
        [("alendronate", 40), ("teriparatide", 24), ("zoledronic_acid", 24)],
        [("romosozumab", 12), ("denosumab", 36)],
        [("zoledronic_acid", 48)],
        [("ibandronate", 24), ("denosumab", 30)],
        [("alendronate", 60), ("romosozumab", 12)],
        [("teriparatide", 24)],
    ]

    def __init__(self, seed: int = 2026) -> None:
        self.rng = random.Random(seed)

    def patient_history(self, patient: Any) -> dict[str, list[Any]]:
        from monitoring.models import DxaScan, LabResult, Reassessment
        from patients.models import (
            CardiovascularEvent,
            Fracture,
            GlucocorticoidExposure,
            Immunosuppressant,
            RiskProfile,
        )
        from therapy.models import Dose, TherapyCourse

        rng = self.rng
        years = rng.randint(1, 15)
        first = _day(AS_OF, -365 * years + rng.randrange(0, 200))
        out: dict[str, list[Any]] = {
            k: []
            for k in ("risk", "cv", "imm", "gc", "fx", "course", "dose", "dxa", "lab", "reassess")
        }
        out["risk"].append(
            RiskProfile(
                patient=patient,
                creatinine_clearance_ml_min=rng.choice([None, 25, 45, 60, 80, 95]),
                has_oral_bisphosphonate_intolerance=rng.random() < 0.15,
                has_hypocalcemia=rng.random() < 0.01,
                has_high_fall_risk=rng.random() < 0.3,
                is_current_smoker=rng.random() < 0.1,
                frax_major_osteoporotic_pct=rng.choice([None, 12.0, 25.0, 35.0]),
            )
        )
        if rng.random() < 0.05:
            out["cv"].append(
                CardiovascularEvent(
                    patient=patient,
                    kind="myocardial_infarction",
                    date=_day(AS_OF, -rng.randrange(30, 900)),
                )
            )
        if rng.random() < 0.05:
            out["imm"].append(Immunosuppressant(patient=patient, name="tacrolimus"))
        if rng.random() < 0.12:
            start = _day(first, rng.randrange(0, 365 * years))
            out["gc"].append(
                GlucocorticoidExposure(
                    patient=patient, prednisone_mg_per_day=rng.choice([5, 7.5, 10]), start=start
                )
            )
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            out["fx"].append(
                Fracture(
                    patient=patient,
                    date=_day(first, rng.randrange(0, 365 * years)),
                    site=rng.choice(["vertebral", "hip", "wrist", "humerus", "other"]),
                    is_fragility=rng.random() < 0.9,
                )
            )
        # Courses, one after another, the last one possibly still running (or stopped).
        start = _day(first, rng.randrange(0, 60))
        plan = rng.choice(self.PLANS)
        for index, (drug, months) in enumerate(plan):
            end: dt.date | None = _day(start, months * 30)
            last = index == len(plan) - 1
            if end >= AS_OF or (last and rng.random() < 0.8):
                end = None
            course = TherapyCourse(
                patient=patient,
                drug=drug,
                start=start,
                end=end,
                stop_reason="completed" if end else "",
            )
            out["course"].append(course)
            interval = self.INTERVALS.get(drug)
            if interval:
                limit = 12 if drug == "romosozumab" else 10_000
                stop = end or _day(AS_OF, -rng.choice([0, 10, 40, 120, 250]))
                day, given = start, 0
                while day <= stop and given < limit:
                    out["dose"].append(Dose(course=course, date=day))
                    given += 1
                    day = _day(day, interval + rng.randrange(-7, 21))
            if end is None:
                break
            start = _day(end, rng.randrange(1, 40))
        for year in range(0, years, rng.choice([1, 2])):
            out["dxa"].append(
                DxaScan(
                    patient=patient,
                    date=_day(first, 365 * year + rng.randrange(0, 30)),
                    lumbar_spine_bmd_g_cm2=round(rng.uniform(0.65, 0.95), 3),
                    lumbar_spine_t_score=round(rng.uniform(-3.8, -1.5), 1),
                    femoral_neck_bmd_g_cm2=round(rng.uniform(0.50, 0.75), 3),
                    femoral_neck_t_score=round(rng.uniform(-3.5, -1.5), 1),
                    total_hip_bmd_g_cm2=round(rng.uniform(0.55, 0.85), 3),
                    total_hip_t_score=round(rng.uniform(-3.2, -1.2), 1),
                )
            )
        seen: set[tuple[dt.date, str]] = set()
        for _ in range(rng.randint(2, 4) * years):
            test = rng.choice(["ctx", "p1np", "vitamin_d_25oh", "calcium"])
            date = _day(first, rng.randrange(0, 365 * years))
            if (date, test) in seen:
                continue
            seen.add((date, test))
            value = {
                "ctx": rng.uniform(0.1, 0.8),
                "p1np": rng.uniform(15, 90),
                "vitamin_d_25oh": rng.uniform(12, 60),
                "calcium": rng.uniform(2.0, 2.7),
            }[test]
            unit = {"ctx": "ng/mL", "p1np": "µg/L", "vitamin_d_25oh": "ng/mL", "calcium": "mmol/L"}
            out["lab"].append(
                LabResult(
                    patient=patient, date=date, test=test, value=round(value, 2), unit=unit[test]
                )
            )
        for year in range(1, years + 1):
            if rng.random() < 0.8:
                out["reassess"].append(
                    Reassessment(
                        patient=patient, date=_day(first, 365 * year - rng.randrange(0, 60))
                    )
                )
        out["reassess"] = [r for r in out["reassess"] if r.date <= AS_OF]
        out["reassess"] = list({r.date: r for r in out["reassess"]}.values())
        out["dxa"] = [s for s in {s.date: s for s in out["dxa"]}.values() if s.date <= AS_OF]
        out["fx"] = [
            f for f in {(f.date, f.site): f for f in out["fx"]}.values() if f.date <= AS_OF
        ]
        out["lab"] = [lab for lab in out["lab"] if lab.date <= AS_OF]
        return out

    def seed(self, patients: int, chunk: int = 2000) -> dict[str, int]:
        from django.contrib.auth import get_user_model
        from django.db import transaction

        from monitoring.models import DxaScan, LabResult, Reassessment
        from patients.models import (
            CardiovascularEvent,
            Clinic,
            Fracture,
            GlucocorticoidExposure,
            Immunosuppressant,
            Membership,
            Patient,
            RiskProfile,
            Role,
        )
        from therapy.models import Dose, TherapyCourse

        models = {
            "risk": RiskProfile,
            "cv": CardiovascularEvent,
            "imm": Immunosuppressant,
            "gc": GlucocorticoidExposure,
            "fx": Fracture,
            "dxa": DxaScan,
            "lab": LabResult,
            "reassess": Reassessment,
        }
        totals: dict[str, int] = {}
        clinic = Clinic.objects.create(
            name="Benchmark clinic", slug="bench", notification_emails="bone-team@example.org"
        )
        clinician = get_user_model().objects.create_user(
            "bench-clinician", email="clinician@example.org", password=None
        )
        Membership.objects.create(user=clinician, clinic=clinic, role=Role.CLINICIAN)
        for offset in range(0, patients, chunk):
            with transaction.atomic():
                batch = Patient.objects.bulk_create(
                    Patient(
                        clinic=clinic,
                        mrn=f"B{n:07d}",
                        name=f"Bench Patient {n}",
                        birth_date=dt.date(
                            1930 + self.rng.randrange(0, 36), 1 + n % 12, 1 + n % 28
                        ),
                        sex="female" if self.rng.random() < 0.8 else "male",
                    )
                    for n in range(offset, min(offset + chunk, patients))
                )
                rows: dict[str, list[Any]] = {}
                for patient in batch:
                    for key, items in self.patient_history(patient).items():
                        rows.setdefault(key, []).extend(items)
                TherapyCourse.objects.bulk_create(rows["course"], batch_size=5000)
                for dose in rows["dose"]:
                    dose.course_id = dose.course.pk
                Dose.objects.bulk_create(rows["dose"], batch_size=5000)
                for key, model in models.items():
                    model.objects.bulk_create(rows[key], batch_size=5000)
                for key, items in rows.items():
                    totals[key] = totals.get(key, 0) + len(items)
            print(f"  seeded {min(offset + chunk, patients):,} patients", end="\r", flush=True)
        print()
        return totals


# --- measuring ------------------------------------------------------------------------------------


def _select(table: str, columns: list[str], *, order: str = "", key: str = "patient_id") -> str:
    """The SELECT of one batch's rows of `table` (built from constant names, never input)."""
    names = ", ".join(f'"{column}"' for column in columns)
    sql = f"SELECT {names} FROM {table} WHERE {key} BETWEEN %(first)s AND %(last)s"  # noqa: S608
    return f"{sql} ORDER BY {order}" if order else sql


def floor_queries() -> list[str]:
    """The columns and rows the scan reads for one batch of patients (ids first..last), as SQL.
    The columns come from the mapping's tables (`therapy.case_records`), so the floor reads
    what the scan reads, whatever is added to them."""
    from therapy import case_records as m

    def of_patient(*columns: str) -> list[str]:
        return ["patient_id", *columns]

    return [
        _select("patients_riskprofile", of_patient(*m.RISK_FACTOR_COLUMNS.values())),
        _select(
            "patients_cardiovascularevent",
            of_patient(*m.CARDIOVASCULAR_EVENT_COLUMNS.values()),
            order="patient_id, date, id",
        ),
        _select(
            "patients_immunosuppressant",
            of_patient(m.IMMUNOSUPPRESSANT_COLUMN),
            order="patient_id, name, id",
        ),
        _select(
            "patients_glucocorticoidexposure",
            of_patient(*m.GLUCOCORTICOID_COLUMNS.values()),
            order="patient_id, start, id",
        ),
        _select(
            "patients_fracture",
            of_patient(*m.FRACTURE_COLUMNS.values()),
            order="patient_id, date, id",
        ),
        _select(
            "therapy_therapycourse",
            of_patient("id", *m.THERAPY_COURSE_COLUMNS.values()),
            order="patient_id, start, id",
        ),
        "SELECT d.course_id, d.date FROM therapy_dose d JOIN therapy_therapycourse c "
        "ON c.id = d.course_id WHERE c.patient_id BETWEEN %(first)s AND %(last)s ORDER BY d.date",
        _select(
            "monitoring_dxascan",
            of_patient(*m.DXA_SCAN_COLUMNS.values(), *m.DXA_READING_COLUMNS.values()),
            order="patient_id, date, id",
        ),
        _select(
            "monitoring_labresult",
            of_patient(*m.LAB_COLUMNS.values()),
            order="patient_id, date, test, id",
        ),
        _select(
            "monitoring_reassessment",
            of_patient(m.REASSESSMENT_COLUMN),
            order="patient_id, date, id",
        ),
        _select(
            "patients_patient",
            ["id", "clinic_id", *m.PATIENT_COLUMNS.values()],
            order="id",
            key="id",
        ),
        _select(
            "monitoring_reminder",
            ["id", "patient_id", "kind", "drug", "due", "status", "snoozed_until"],
        ),
    ]


def floor_read(batch_size: int) -> tuple[int, int]:
    """Every row the scan reads, batch by batch, fetched as tuples: (patients, rows)."""
    from django.db import connection

    queries = floor_queries()
    patients = rows = 0
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT id FROM patients_patient WHERE id > %s ORDER BY id LIMIT %s",
                [last, batch_size],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                break
            for sql in queries:
                cursor.execute(sql, {"first": ids[0], "last": ids[-1]})
                rows += len(cursor.fetchall())
            patients += len(ids)
            last = ids[-1]
    return patients, rows


def no_reminders() -> None:
    """No reminder and no audit row of one, as before a clinic's first night. TRUNCATE, not
    `delete()`: deleting leaves every row dead (simple-history adds an audit row per reminder on
    the way), which a server's autovacuum clears but this machine's (off) does not, so the
    first night then stepped over some 65,000 dead rows and their index entries."""
    from django.db import connection

    from monitoring.models import Reminder

    tables = [Reminder._meta.db_table, Reminder.history.model._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


class _ServerClock:
    """CPU seconds used so far by the PostgreSQL server, read from /proc: the database's share
    of a measurement. Every process of the server counts (this connection's backend, any other
    the measured code opens, the background writers that flush what a night wrote), those that
    have exited too (their time is added to the postmaster's children's). None when the server
    is on another host (this host's process of that number, if any, is not a PostgreSQL one)
    or /proc is not readable."""

    def __init__(self, connection: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        self.postmaster: int | None = None
        self.tick = os.sysconf("SC_CLK_TCK")
        if self._comm(backend) == "postgres":
            fields = self._fields(backend)
            if fields is not None and self._comm(int(fields[1])) == "postgres":
                self.postmaster = int(fields[1])  # the backend's parent

    @staticmethod
    def _comm(pid: int) -> str | None:
        try:
            return Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return None

    @staticmethod
    def _fields(pid: int | str) -> list[str] | None:
        """/proc/PID/stat's fields after the command's name: [0] state, [1] ppid, [11] utime,
        [12] stime, [13] cutime, [14] cstime."""
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None

    def seconds(self) -> float | None:
        if self.postmaster is None:
            return None
        own = self._fields(self.postmaster)
        if own is None:
            return None
        ticks = sum(int(own[i]) for i in (11, 12, 13, 14))
        parent = str(self.postmaster)
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                fields = self._fields(proc.name)
                if fields is not None and fields[1] == parent:
                    ticks += int(fields[11]) + int(fields[12])
        return ticks / self.tick


@dataclass(frozen=True)
class _Measure:
    """One timed run: wall-clock seconds, and the CPU seconds of this process (the client) and
    of the database server (when known). On a shared machine the wall clock also
    counts time stolen by other guests; the CPU seconds do not, so they tell a slow run from a
    slow machine."""

    wall: float
    client: float
    server: float | None
    result: Any

    def ratio(self, floor: _Measure) -> float:
        return self.wall / floor.wall

    def __str__(self) -> str:
        server = "" if self.server is None else f", server {self.server:.2f}"
        return f"{self.wall:.2f} s (CPU: client {self.client:.2f}{server})"


def _measure(server: _ServerClock, run: Any) -> _Measure:
    wall, client, backend = time.perf_counter(), time.process_time(), server.seconds()
    result = run()
    wall, client = time.perf_counter() - wall, time.process_time() - client
    after = server.seconds()
    used = None if backend is None or after is None else after - backend
    return _Measure(wall, client, used, result)


def timed(label: str, run: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    print(f"  {label}: {seconds:.2f} s")
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="reuse the patients already seeded")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="each measurement this many times, one after the other (the medians are printed)",
    )
    parser.add_argument(
        "--celery", action="store_true", help="measure the nightly task on real Celery workers"
    )
    parser.add_argument(
        "--processes",
        type=lambda v: [int(p) for p in v.split(",")],
        default=[1, 2],
        help="worker pool sizes to measure with --celery (default 1,2)",
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.celery:
        os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/7")

    django.setup()
    from django.core import mail
    from django.db import connection
    from django.utils import timezone

    from monitoring.scan import reminders_scan
    from patients.models import Patient
    from therapy.case_records import cases_for_patients
    from therapy.engine import evaluate, schedule

    def seed() -> str:
        totals = Seeder().seed(args.patients)
        rows = ", ".join(f"{k} {v:,}" for k, v in totals.items())
        return f"{sum(totals.values()):,} history rows ({rows})"

    prepare("bench/scan.py", "ossa_bench", reseed=not args.keep, patients=args.patients, seed=seed)
    n = Patient.objects.count()
    now = timezone.now()

    if args.celery:
        celery_bench(n, args.batch_size, args.processes, args.rounds)
        return
    print(f"Measuring ({n:,} patients, batch {args.batch_size}, {args.rounds} rounds)…")
    server = _ServerClock(connection)

    def scan() -> Any:
        return reminders_scan(as_of=AS_OF, now=now, batch_size=args.batch_size, details=False)

    rounds = []
    for number in range(1, args.rounds + 1):
        floor = _measure(server, lambda: floor_read(args.batch_size))
        no_reminders()
        first, later = _measure(server, scan), _measure(server, scan)
        rounds.append((floor, first, later))
        print(
            f"  round {number}: floor {floor}; first night {first}, {first.ratio(floor):.1f}×; "
            f"later night {later}, {later.ratio(floor):.1f}×",
            flush=True,
        )
    sample = list(Patient.objects.order_by("pk").values_list("pk", flat=True)[:2000])
    cases = [case for _, _, case in cases_for_patients(sample, as_of=AS_OF)]
    engine_s, _ = timed(
        f"engine alone (schedule) on {len(cases):,} cases", lambda: [schedule(c) for c in cases]
    )
    evaluate_s, _ = timed(
        f"engine alone (evaluate) on {len(cases):,} cases", lambda: [evaluate(c) for c in cases]
    )

    floor_n, floor_rows = rounds[0][0].result
    floor_rate = floor_n / statistics.median(floor.wall for floor, _, _ in rounds)
    print()
    print(
        f"Ossa reminder scan benchmark — PostgreSQL {connection.pg_version // 10000}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {n:,} patients "
        f"({floor_rows / floor_n:.0f} rows read per patient), batch {args.batch_size}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"- floor (raw SQL read of the same rows, one connection): {floor_rate:,.0f} patients/s "
        f"(median of {len(rounds)} rounds)"
    )
    for index, label in ((1, "creates the reminders"), (2, "nothing to change")):
        ratios = sorted(night[index].ratio(night[0]) for night in rounds)
        seconds = statistics.median(night[index].wall for night in rounds)
        rate = n / seconds
        print(
            f"- scan, 1 process, {label}: {rate:,.0f} patients/s — "
            f"{statistics.median(ratios):.1f}× the floor's time, median of {len(rounds)} rounds "
            f"({', '.join(f'{r:.1f}' for r in ratios)}); 100,000 patients in "
            f"{100_000 / rate:.0f} s (target ≤ 5×, ≤ 120 s); {rounds[-1][index].result.counts()}"
        )
    print(
        f"- engine alone, one process: {len(cases) / engine_s:,.0f} patients/s (schedule, as the "
        f"scan runs it); {len(cases) / evaluate_s:,.0f} patients/s (the whole evaluate)"
    )
    print(f"- critical-reminder e-mails sent: {len(getattr(mail, 'outbox', [])):,}")


# --- real Celery workers ----------------------------------------------------------------------


def _pool_processes(pid: int) -> list[int]:
    """The worker's pool processes (its children), from /proc."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(c) for c in children.read_text().split()]
    except OSError:
        return []


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Worker:
    """`celery -A config worker --pool prefork --concurrency N` on a queue of its own."""

    def __init__(self, processes: int, log: Path) -> None:
        self.queue = f"ossa-bench-{uuid.uuid4().hex[:8]}"
        self.log = log
        self.peak_kb: dict[int, int] = {}
        self.process = subprocess.Popen(  # noqa: S603 — our own interpreter running celery
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                f"--concurrency={processes}",
                f"--queues={self.queue}",
                f"--hostname={self.queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the Celery worker did not start:\n{log.read_text()}")
            time.sleep(0.2)

    def sample(self) -> None:
        """Remember each pool process's peak RSS (VmHWM), while it is alive."""
        for pid in _pool_processes(self.process.pid):
            self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), _status_kb(pid, "VmHWM"))

    def stop(self) -> None:
        self.sample()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _night(worker: Worker, batch_size: int) -> tuple[float, Any]:
    """Enqueue the nightly task; wait for its run to finish; (seconds, the ScanRun)."""
    from monitoring.models import ScanRun
    from monitoring.tasks import scan_reminders_task

    before = ScanRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    start = time.perf_counter()
    scan_reminders_task.apply_async(
        kwargs={"as_of": AS_OF.isoformat(), "batch_size": batch_size}, queue=worker.queue
    )
    while True:
        run = ScanRun.objects.filter(pk__gt=before).order_by("pk").first()
        if run is not None and run.status != ScanRun.Status.RUNNING:
            return time.perf_counter() - start, run
        if worker.process.poll() is not None:
            sys.exit(f"the Celery worker exited:\n{worker.log.read_text()}")
        worker.sample()
        time.sleep(0.1)


def celery_bench(n: int, batch_size: int, pool_sizes: list[int], rounds: int) -> None:
    """Each round runs the first night and a later night on a fresh worker of each pool size in
    turn; the speed-up printed is the median over the rounds of each round's own ratio (one
    1-process night ran at 1,835 and at 2,488 patients/s minutes apart)."""
    from django.conf import settings
    from django.db import connection

    print(
        f"Measuring the nightly task on real Celery workers ({n:,} patients, batch "
        f"{batch_size}, broker {settings.CELERY_BROKER_URL}, {rounds} rounds)…"
    )
    labels = ("creates the reminders", "nothing to change")
    seconds: dict[tuple[int, str], list[float]] = {}
    speedups: dict[tuple[int, str], list[float]] = {}
    peak_kb: dict[int, int] = {}
    for number in range(1, rounds + 1):
        for processes in pool_sizes:
            no_reminders()
            worker = Worker(processes, ROOT / "var" / f"bench-celery-{processes}.log")
            try:
                for label in labels:
                    took, run = _night(worker, batch_size)
                    print(
                        f"  round {number}, {processes} process(es), {label}: {took:.2f} s, "
                        f"run {run.status}, {run.batches_done}/{run.batches} batches, created "
                        f"{run.created:,}, unchanged {run.unchanged:,}"
                        + (
                            f", {run.batches_failed} failed: {run.error}"
                            if run.batches_failed
                            else ""
                        ),
                        flush=True,
                    )
                    seconds.setdefault((processes, label), []).append(took)
            finally:
                worker.stop()
            peak_kb[processes] = max(peak_kb.get(processes, 0), *worker.peak_kb.values(), 0)
        for processes in pool_sizes:
            for label in labels:
                one = seconds[(pool_sizes[0], label)][-1]
                speedups.setdefault((processes, label), []).append(
                    one / seconds[(processes, label)][-1]
                )
    print()
    print(
        f"Ossa nightly scan on Celery — PostgreSQL {connection.pg_version // 10000}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {n:,} patients, "
        f"batch {batch_size}, prefork pool, {rounds} rounds, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    for processes in pool_sizes:
        for label in labels:
            rate = n / statistics.median(seconds[(processes, label)])
            ratios = sorted(speedups[(processes, label)])
            each = ", ".join(f"{r:.2f}" for r in ratios)
            print(
                f"- {processes} worker process{'es' if processes > 1 else ''}, {label}: "
                f"{rate:,.0f} patients/s (median); {statistics.median(ratios):.2f}× of "
                f"{pool_sizes[0]}, median of the rounds' ({each}); "
                f"100,000 patients in {100_000 / rate:.0f} s (target < 60 s)"
            )
        print(f"  peak RSS of a pool process: {peak_kb[processes] / 1024:.0f} MB (target ≤ 300 MB)")


if __name__ == "__main__":
    main()
