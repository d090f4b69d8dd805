"""Fracture-liaison KPI report, its command and the audit export on a 100,000-patient clinic.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ossa_kpi_bench \\
        .venv/bin/python bench/kpi.py [--patients 100000] [--reseed]

The database named in DATABASE_URL is the benchmark's own: its name must contain "bench", it is
created if missing and migrated. Seeding is idempotent: when the clinic `kpi-bench` already
holds the number of patients asked for it is reused; otherwise the database is FLUSHED (every
table emptied) and seeded again (`--reseed` forces it). One clinic of N patients, each with a
few years of history (DXA scans, a course, a decision); about one in five has an index fracture
with its FLS episode in the twelve months before the report (some 20,000 for 100,000 patients)
and a further tenth one in the two years before that, with the scans, decisions, courses and
16/52-week follow-ups an FLS records, and some deaths. Rows go in with bulk_create in chunks.

It then times, best of three, for the default period (the twelve full months before `AS_OF`):
  - `episode_facts`, the reads alone;
  - `clinic_kpi_report` (target: under 5 s on PostgreSQL), and `kpi_report_json` on its result;
  - `manage.py kpi_report --json` and the table, through call_command;
  - `audit_csv_lines`, every line consumed;
and prints each one's seconds and number of queries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

AS_OF = dt.date(2026, 11, 25)
SLUG = "kpi-bench"
TARGET_REPORT_S = 5.0
CHUNK = 5000


def _database_ready() -> str:
    from bench.benchdb import database_ready

    return database_ready("bench/kpi.py", "ossa_kpi_bench")


# --- seeding ------------------------------------------------------------------------------------


def _day(start: dt.date, days: int) -> dt.date:
    return start + dt.timedelta(days=days)


SITES = ["wrist"] * 30 + ["hip"] * 20 + ["vertebral"] * 25 + ["humerus"] * 12 + ["pelvis"] * 6
SITES += ["other"] * 7
HISTORY_DRUGS = ["alendronate", "risedronate", "ibandronate"]
FLS_DRUGS = ["denosumab", "zoledronic_acid", "romosozumab", "teriparatide"]


class Seeder:
    """Unsaved rows for the clinic's patients, written chunk by chunk with bulk_create."""

    def __init__(self, seed: int = 13) -> None:
        self.rng = random.Random(seed)

    def fracture_dates(self) -> list[dt.date]:
        """The patient's index fracture dates: ~20 % one in the last year (a few of them a
        second, older one too), ~10 % one in the two years before, the rest none."""
        rng = self.rng
        roll = rng.random()
        recent = _day(AS_OF, -rng.randrange(1, 390))
        older = _day(AS_OF, -rng.randrange(390, 390 + 730))
        if roll < 0.02:
            return [older, recent]
        if roll < 0.21:
            return [recent]
        if roll < 0.31:
            return [older]
        return []

    def history(self, patient: Any, fractures: list[dt.date], user: Any) -> dict[str, list]:
        from monitoring.models import DxaScan
        from patients.models import Fracture
        from quality.models import FlsEpisode, FollowUpContact
        from therapy.models import TherapyCourse

        rng = self.rng
        out: dict[str, list] = {k: [] for k in ("fx", "ep", "fu", "dxa", "course", "decision")}
        scans: set[dt.date] = set()
        # Background history: scans every 1–2 years, one oral bisphosphonate course that ended.
        first = _day(AS_OF, -rng.randrange(900, 3650))
        day = first
        while day < _day(AS_OF, -400):
            scans.add(day)
            day = _day(day, rng.choice([365, 730]) + rng.randrange(-20, 20))
        # Oral drugs only, so no FLS course (injected drugs) ever overlaps it.
        course_end: dt.date | None = _day(first, rng.randrange(365, 1800))
        if course_end >= AS_OF:
            course_end = None
        out["course"].append(
            TherapyCourse(
                patient=patient,
                drug=rng.choice(HISTORY_DRUGS),
                start=first,
                end=course_end,
                stop_reason="completed" if course_end else "",
            )
        )
        if rng.random() < 0.5:
            out["decision"].append(self.decision(patient, user, _day(first, 1), "continue"))
        if not fractures and rng.random() < 0.3:
            out["fx"].append(
                Fracture(patient=patient, date=_day(first, 30), site=rng.choice(SITES))
            )
        fls_course = False
        for fracture_date in fractures:
            site = rng.choice(SITES)
            fracture = Fracture(patient=patient, date=fracture_date, site=site)
            out["fx"].append(fracture)
            age = (AS_OF - fracture_date).days

            def within(
                days: int, *, age: int = age, date: dt.date = fracture_date
            ) -> dt.date | None:
                return _day(date, days) if days <= age else None

            assessed = within(rng.randrange(3, 140)) if rng.random() < 0.85 else None
            falls = rng.choice(["done", "done", "referred", "not_needed", ""])
            falls_on = within(rng.randrange(5, 100)) if falls else None
            closed = within(rng.randrange(120, 420)) if rng.random() < 0.6 else None
            episode = FlsEpisode(
                patient=patient,
                fracture=fracture,
                identified_on=within(rng.randrange(0, 30)) or fracture_date,
                identified_by="radiological"
                if site == "vertebral" and rng.random() < 0.3
                else "clinical",
                assessed_on=assessed,
                falls_assessment=falls if falls_on else "",
                falls_assessed_on=falls_on,
                exercise_started_on=within(rng.randrange(20, 150))
                if site != "hip" and rng.random() < 0.5
                else None,
                dxa_not_needed_reason="Scanned within the last year" if rng.random() < 0.05 else "",
                closed_on=closed,
                outcome=rng.choice(["completed"] * 6 + ["declined", "did_not_attend", "died"])
                if closed
                else "",
            )
            out["ep"].append(episode)
            if rng.random() < 0.75 and (scan := within(rng.randrange(7, 160))):
                scans.add(scan)
            roll = rng.random()
            decided = within(rng.randrange(10, 120))
            if decided and roll < 0.7:
                kind = rng.choice(["ranked_option"] * 5 + ["continue", "other_drug"])
                out["decision"].append(self.decision(patient, user, decided, kind))
                if not fls_course and rng.random() < 0.8:
                    fls_course = True
                    out["course"].append(
                        TherapyCourse(patient=patient, drug=rng.choice(FLS_DRUGS), start=decided)
                    )
            elif decided and roll < 0.8:
                out["decision"].append(self.decision(patient, user, decided, "not_indicated"))
            elif decided and roll < 0.85:
                out["decision"].append(self.decision(patient, user, decided, "no_treatment"))
            for kind, days, share in (("16w", 112, 0.75), ("52w", 364, 0.6)):
                on = within(days + rng.randrange(-20, 15))
                if on and rng.random() < share:
                    treated = rng.random() < 0.7
                    out["fu"].append(
                        FollowUpContact(
                            patient=patient,
                            episode=episode,
                            kind=kind,
                            date=on,
                            is_on_treatment=treated,
                            adherence=rng.choice(
                                ["as_prescribed"] * 4 + ["missed_doses", "stopped"]
                            )
                            if treated
                            else "",
                        )
                    )
        out["dxa"] = [
            DxaScan(
                patient=patient,
                date=day,
                lumbar_spine_bmd_g_cm2=round(rng.uniform(0.65, 0.95), 3),
                lumbar_spine_t_score=round(rng.uniform(-3.8, -1.5), 1),
            )
            for day in sorted(scans)
            if day <= AS_OF
        ]
        return out

    def decision(self, patient: Any, user: Any, day: dt.date, kind: str) -> Any:
        from therapy.models import RecommendationRecord

        drug = {"continue": "alendronate", "ranked_option": "denosumab", "other_drug": "raloxifene"}
        return RecommendationRecord(
            patient=patient,
            decided_by=user,
            as_of=day,
            engine_version="bench",
            case={},
            assessment={},
            kind=kind,
            chosen_drug=drug.get(kind, ""),
            chosen_rank=1 if kind == "ranked_option" else None,
            reason="" if kind in ("continue", "ranked_option") else "Discussed with the patient",
        )

    def seed(self, patients: int) -> dict[str, int]:
        from django.contrib.auth import get_user_model
        from django.db import transaction

        from monitoring.models import DxaScan
        from patients.models import Clinic, Fracture, Membership, Patient, Role
        from quality.models import FlsEpisode, FollowUpContact
        from therapy.models import RecommendationRecord, TherapyCourse

        rng = self.rng
        clinic = Clinic.objects.create(
            name="KPI benchmark clinic", slug=SLUG, expected_yearly_caseload=22_000
        )
        user = get_user_model().objects.create_user("kpi-bench-clinician", password=None)
        Membership.objects.create(user=user, clinic=clinic, role=Role.CLINICIAN)
        totals: dict[str, int] = {}
        for offset in range(0, patients, CHUNK):
            numbers = range(offset, min(offset + CHUNK, patients))
            plans = {n: self.fracture_dates() for n in numbers}
            deaths = {
                n: _day(dates[-1], rng.randrange(5, 420))
                for n, dates in plans.items()
                if dates and rng.random() < 0.04
            }
            with transaction.atomic():
                batch = Patient.objects.bulk_create(
                    Patient(
                        clinic=clinic,
                        mrn=f"K{n:07d}",
                        given_name="Bench",
                        family_name=f"Patient{n}",
                        name=f"Bench Patient{n}",
                        birth_date=dt.date(1930 + rng.randrange(0, 40), 1 + n % 12, 1 + n % 28),
                        sex="female" if rng.random() < 0.8 else "male",
                        status="deceased" if n in deaths and deaths[n] <= AS_OF else "active",
                        status_date=deaths[n] if n in deaths and deaths[n] <= AS_OF else None,
                    )
                    for n in numbers
                )
                rows: dict[str, list] = {}
                for n, patient in zip(numbers, batch, strict=True):
                    for key, items in self.history(patient, plans[n], user).items():
                        rows.setdefault(key, []).extend(items)
                Fracture.objects.bulk_create(rows["fx"], batch_size=CHUNK)
                for episode in rows["ep"]:
                    episode.fracture_id = episode.fracture.pk
                FlsEpisode.objects.bulk_create(rows["ep"], batch_size=CHUNK)
                for contact in rows["fu"]:
                    contact.episode_id = contact.episode.pk
                FollowUpContact.objects.bulk_create(rows["fu"], batch_size=CHUNK)
                DxaScan.objects.bulk_create(rows["dxa"], batch_size=CHUNK)
                TherapyCourse.objects.bulk_create(rows["course"], batch_size=CHUNK)
                RecommendationRecord.objects.bulk_create(rows["decision"], batch_size=CHUNK)
                for key, items in rows.items():
                    totals[key] = totals.get(key, 0) + len(items)
            print(f"  seeded {numbers[-1] + 1:,} patients", end="\r", flush=True)
        print()
        return totals


# --- measuring ------------------------------------------------------------------------------------


def best_of_3(label: str, run: Callable[[], Any]) -> tuple[float, int, Any]:
    """The best of three runs' seconds, the queries of one run, and its result."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, result, queries = [], None, 0
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - start)
        queries = len(captured)
    best = min(times)
    print(
        f"- {label}: {best:.2f} s best of 3 "
        f"({', '.join(f'{t:.2f}' for t in times)}), {queries} queries"
    )
    return best, queries, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--reseed", action="store_true", help="flush and seed even if seeded")
    args = parser.parse_args()

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from patients.models import Clinic
    from quality.audit_export import audit_csv_lines
    from quality.models import FlsEpisode
    from quality.reports import clinic_kpi_report, default_period, kpi_report_json
    from quality.selectors import episode_facts

    name = _database_ready()
    call_command("migrate", verbosity=0)
    clinic = Clinic.objects.filter(slug=SLUG).first()
    if args.reseed or clinic is None or clinic.patients.count() != args.patients:
        print(f"Flushing {name} and seeding {args.patients:,} patients…")
        call_command("flush", interactive=False, verbosity=0)
        start = time.perf_counter()
        totals = Seeder().seed(args.patients)
        print(
            f"  {sum(totals.values()):,} rows in {time.perf_counter() - start:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in totals.items())
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        clinic = Clinic.objects.get(slug=SLUG)
    else:
        print(f"Reusing {name}: clinic {SLUG} with {args.patients:,} patients")

    period = default_period(AS_OF)
    in_period = FlsEpisode.objects.filter(
        patient__clinic=clinic, fracture__date__range=(period.start, period.end)
    ).count()
    print(
        f"\nOssa KPI benchmark — PostgreSQL {connection.pg_version // 10000}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}; {clinic.patients.count():,} patients, "
        f"{FlsEpisode.objects.filter(patient__clinic=clinic).count():,} FLS episodes, "
        f"{in_period:,} in the period {period.start} to {period.end} (as of {AS_OF})"
    )
    best_of_3(
        "episode_facts (the reads alone)",
        lambda: episode_facts(clinic_id=clinic.pk, period=period),
    )
    _, _, lines = best_of_3(
        "audit_csv_lines (every line)",
        lambda: sum(1 for _ in audit_csv_lines(clinic=clinic, period=period, as_of=AS_OF)),
    )
    print(f"  audit CSV: {lines - 1:,} rows")
    report_s, _, report = best_of_3(
        "clinic_kpi_report", lambda: clinic_kpi_report(clinic=clinic, period=period, as_of=AS_OF)
    )
    best_of_3("kpi_report_json (on the report)", lambda: kpi_report_json(report))
    common = ["--clinic", SLUG, "--as-of", AS_OF.isoformat()]
    best_of_3(
        "manage.py kpi_report --json",
        lambda: call_command("kpi_report", *common, "--json", stdout=StringIO()),
    )
    best_of_3(
        "manage.py kpi_report (table)",
        lambda: call_command("kpi_report", *common, stdout=StringIO()),
    )
    verdict = "met" if report_s < TARGET_REPORT_S else "MISSED"
    print(f"Target for the report: under {TARGET_REPORT_S:.0f} s — {verdict} ({report_s:.2f} s)")


if __name__ == "__main__":
    main()
