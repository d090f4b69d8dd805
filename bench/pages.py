"""Page latency at 100,000 patients and 500,000 reminders on PostgreSQL, under gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ossa_pages_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/pages.py [--patients 100000] [--reminders 500000] [--keep]

The database named in DATABASE_URL is the benchmark's own: its name must contain "bench", it is
created if missing, migrated, and FLUSHED before one clinic with N patients (names, MRNs, a tenth
not active) and M reminders (about a third active — open or snoozed —, the rest done or dismissed;
dues over two years around today; a third unassigned, the rest spread over the clinic's staff;
alerts critical or warning) is written with COPY. `--keep` reuses what is there.

It then starts gunicorn with 2 workers on a free port (DEBUG off, 2FA off, plain HTTP), signs in
as the clinician and the clinic admin, and times GET of each page: 200 requests one after the
other, then 200 spread over 8 concurrent users (threads). It prints p50, p95 and p99 per page and
each page's p95 over /healthz's (targets: p95 ≤ 50 ms with one user; ≤ 4× /healthz with 8).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

from bench.benchdb import prepare  # noqa: E402

PASSWORD = "bench-pages-" + "x" * 12  # noqa: S105 — a throwaway account in the bench database
SLUG = "bench"
GIVEN = [
    "Ada",
    "Alice",
    "Anna",
    "Beatrice",
    "Carla",
    "Clara",
    "Dora",
    "Edith",
    "Elena",
    "Emma",
    "Eva",
    "Fiona",
    "Grace",
    "Hanna",
    "Helen",
    "Ida",
    "Irene",
    "Jane",
    "Joan",
    "Julia",
    "Karen",
    "Laura",
    "Lea",
    "Lena",
    "Lucy",
    "Maria",
    "Marta",
    "Mary",
    "Nina",
    "Olga",
    "Paula",
    "Rita",
    "Rosa",
    "Ruth",
    "Sara",
    "Sophie",
    "Tanya",
    "Vera",
    "Wendy",
    "Zoe",
    "Adam",
    "Ben",
    "Carl",
    "David",
    "Erik",
    "Frank",
    "George",
    "Hugo",
    "Ivan",
    "John",
]
FAMILY = [
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Lewis",
    "Martin",
    "Jackson",
    "Clarke",
    "Clark",
    "Turner",
    "Hill",
    "Scott",
    "Cooper",
    "Morris",
    "Ward",
    "Moore",
    "King",
    "Watson",
    "Baker",
    "Harrison",
    "Morgan",
    "Patel",
    "Young",
    "Allen",
    "Mitchell",
    "James",
    "Anderson",
    "Phillips",
    "Lee",
    "Bell",
    "Parker",
    "Davis",
    "Miller",
    "Novak",
    "Horvat",
    "Kowalski",
    "Nagy",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Garcia",
    "Fernandez",
    "Lopez",
    "Martinez",
    "Sanchez",
    "Perez",
    "Gomez",
    "Dubois",
    "Laurent",
    "Lefebvre",
    "Moreau",
    "Bernard",
    "Petit",
    "Durand",
    "Leroy",
    "Nilsson",
    "Larsen",
    "Hansen",
    "Jensen",
    "Berg",
    "Lund",
    "Virtanen",
    "Korhonen",
    "Murphy",
    "Kelly",
    "Byrne",
]
PAGES = [  # (label, user, path)
    ("/healthz", "clinician", "/healthz"),
    ("patient list", "clinician", "/patients/"),
    ("patient list, search", "clinician", "/patients/?q=kowal"),
    ("patient list, by next due date", "clinician", "/patients/?sort=due"),
    ("worklist", "clinician", "/reminders/"),
    ("worklist, filtered", "admin", "/reminders/?assignee=anyone&kind=NEXT_DOSE&status=open"),
    # The tabs of reminders no longer active: done (half of the 500,000), and every status.
    ("worklist, done", "admin", "/reminders/?status=done"),
    ("worklist, all", "admin", "/reminders/?assignee=anyone&status=all"),
    # What the worklist page asks for once shown (htmx): every status tab's count.
    ("worklist, tab counts", "clinician", "/reminders/?counts=all"),
    ("dashboard, clinician", "clinician", "/"),
    ("dashboard, clinic admin", "admin", "/"),
    ("patient page", "clinician", "/patients/{patient}/"),
]


# --- seeding ------------------------------------------------------------------------------------


def _copy(table: str, columns: list[str], rows: list[tuple]) -> None:
    """Write rows with COPY (constant table and column names, never input)."""
    from django.db import connection

    with connection.cursor() as cursor:
        names = ", ".join(columns)
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def seed(patients: int, reminders: int, *, today: dt.date) -> dict[str, int]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from monitoring.models import ReminderStatus
    from patients.models import Clinic, Membership, Patient, PatientStatus, Role
    from therapy.engine import AlertCode, MonitoringCode

    rng = random.Random(2026)
    now = timezone.now()
    clinic = Clinic.objects.create(name="Bench bone clinic", slug=SLUG)
    users = {}
    for username, role in [
        ("clinician", Role.CLINICIAN),
        ("admin", Role.CLINIC_ADMIN),
        ("nurse", Role.NURSE),
        ("clinician2", Role.CLINICIAN),
        ("nurse2", Role.NURSE),
    ]:
        user = get_user_model().objects.create_user(
            username=username, password=PASSWORD, first_name=username.title(), last_name="Bench"
        )
        Membership.objects.create(user=user, clinic=clinic, role=role)
        users[username] = user

    statuses = (
        [PatientStatus.ACTIVE] * 90
        + [PatientStatus.DECEASED] * 3
        + [PatientStatus.TRANSFERRED] * 4
        + [PatientStatus.DISCHARGED] * 3
    )
    rows = []
    for n in range(patients):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        status = rng.choice(statuses)
        birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 50))
        status_date = None if status == PatientStatus.ACTIVE else today - dt.timedelta(days=400)
        rows.append(
            (
                *(clinic.pk, f"MRN{n + 1:07d}", given, family, f"{given} {family}", birth),
                *(rng.choice(["female"] * 4 + ["male"]), status, status_date),
                *("", "", "", "", "", "", "", now, now),
            )
        )
    _copy(
        "patients_patient",
        [
            *("clinic_id", "mrn", "given_name", "family_name", "name", "birth_date", "sex"),
            *("status", "status_date", "status_note", "phone", "email", "address"),
            *("preferred_contact", "gp_name", "gp_practice", "created_at", "updated_at"),
        ],
        rows,
    )
    patient_ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    kinds = [c.value for c in MonitoringCode] + [c.value for c in AlertCode]
    alerts = {c.value for c in AlertCode}
    staff = [users[u].pk for u in ("clinician", "admin", "nurse", "clinician2", "nurse2")]
    per_patient = max(1, reminders // len(patient_ids))
    rows = []
    for pk in patient_ids:
        for kind in rng.sample(kinds, min(per_patient, len(kinds))):
            roll = rng.random()
            status = (
                ReminderStatus.OPEN
                if roll < 0.28
                else ReminderStatus.SNOOZED
                if roll < 0.33
                else ReminderStatus.DONE
                if roll < 0.85
                else ReminderStatus.DISMISSED
            )
            active = status in (ReminderStatus.OPEN, ReminderStatus.SNOOZED)
            due = today + dt.timedelta(
                days=rng.randrange(-300, 365) if active else -rng.randrange(1, 730)
            )
            severity = (rng.choice(["critical", "warning", "warning"])) if kind in alerts else ""
            closed = None if active else now - dt.timedelta(days=rng.randrange(1, 700))
            rows.append(
                (
                    *(pk, kind, "", severity, due, status),
                    due + dt.timedelta(days=30) if status == ReminderStatus.SNOOZED else None,
                    None if rng.random() < 0.35 else rng.choice(staff),
                    *("", "no longer needed" if status == ReminderStatus.DISMISSED else ""),
                    *(closed, None, "1", "", None, now, now),
                )
            )
    _copy(
        "monitoring_reminder",
        [
            *("patient_id", "kind", "drug", "severity", "due", "status", "snoozed_until"),
            *("assignee_id", "note", "close_reason", "closed_at", "notified_at"),
            *("engine_version", "still_due", "digested_at", "created_at", "updated_at"),
        ],
        rows,
    )
    return {"patients": len(patient_ids), "reminders": len(rows)}


# --- the server and the clients -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "OSSA_SITE_URL": f"http://127.0.0.1:{port}",
        "OSSA_REQUIRE_2FA": "0",
        "OSSA_SSL_REDIRECT": "0",
        "OSSA_SECURE_COOKIES": "0",
        "OSSA_STATIC_MANIFEST": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        # Sessions end after 15 idle minutes by default; a run is shorter, so this is for safety.
        "OSSA_SESSION_IDLE_MINUTES": "120",
    }
    server = subprocess.Popen(  # noqa: S603 — our own venv's gunicorn, fixed arguments
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    sys.exit("gunicorn did not answer /healthz within 60 s")


class Client:
    """A signed-in browser: cookies kept, CSRF token posted with the login form."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = self.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not token:
            sys.exit("no CSRF token on the login page")
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 — the local server
            base + "/accounts/login/", data=data, headers={"Referer": base + "/accounts/login/"}
        )
        with self.opener.open(request, timeout=30) as response:
            if "/accounts/login/" in response.geturl():
                sys.exit(f"could not sign in as {username}")

    def get(self, path: str) -> str:
        # The worklist's tab counts are what its htmx asks for: the partial, not the page.
        headers = {"HX-Request": "true"} if "counts=all" in path else {}
        request = urllib.request.Request(self.base + path, headers=headers)  # noqa: S310
        with self.opener.open(request, timeout=60) as response:
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status}")
            return response.read().decode()

    def timed_get(self, path: str) -> float:
        start = time.perf_counter()
        self.get(path)
        return (time.perf_counter() - start) * 1000


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def measure(
    clients: dict[str, list[Client]], path: str, user: str, *, requests: int, users: int
) -> list[float]:
    pool = clients[user][:users]
    for client in pool:  # warm: the first request of a session or a worker is not the page's
        client.get(path)
    if users == 1:
        return [pool[0].timed_get(path) for _ in range(requests)]
    with ThreadPoolExecutor(users) as executor:
        return list(executor.map(lambda i: pool[i % users].timed_get(path), range(requests)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--reminders", type=int, default=500_000)
    parser.add_argument("--requests", type=int, default=200, help="per page and user count")
    parser.add_argument("--keep", action="store_true", help="reuse the rows already seeded")
    args = parser.parse_args()

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from monitoring.models import ACTIVE_REMINDER_STATUSES, Reminder
    from patients.models import Patient

    prepare(
        "bench/pages.py",
        "ossa_bench",
        reseed=not args.keep,
        patients=args.patients,
        seed=lambda: seed(args.patients, args.reminders, today=timezone.localdate()),
    )
    n_patients = Patient.objects.count()
    n_reminders = Reminder.objects.count()
    n_active = Reminder.objects.filter(status__in=ACTIVE_REMINDER_STATUSES).count()
    patient = (
        Reminder.objects.filter(status__in=ACTIVE_REMINDER_STATUSES)
        .order_by("patient_id")
        .values_list("patient_id", flat=True)
        .first()
    )
    connection.close()

    port = _free_port()
    server = start_gunicorn(port)
    results = []
    try:
        base = f"http://127.0.0.1:{port}"
        clients = {u: [Client(base, u) for _ in range(8)] for u in ("clinician", "admin")}
        for users in (1, 8):
            for label, user, path in PAGES:
                samples = measure(
                    clients, path.format(patient=patient), user, requests=args.requests, users=users
                )
                results.append((users, label, percentiles(samples)))
                p50, p95, p99 = results[-1][2]
                print(
                    f"  {users} user{'s' if users > 1 else ''}: {label}: p50 {p50:.1f} ms, "
                    f"p95 {p95:.1f} ms, p99 {p99:.1f} ms (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    out = io.StringIO()
    out.write(
        f"Ossa page benchmark — PostgreSQL {connection.pg_version // 10000}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, gunicorn 2 workers, "
        f"{n_patients:,} patients, {n_reminders:,} reminders ({n_active:,} active), "
        f"{args.requests} requests per page, load average {os.getloadavg()[0]:.1f}\n\n"
    )
    out.write("| users | page | p50 ms | p95 ms | p99 ms | p95 / healthz p95 | target |\n")
    out.write("| --- | --- | ---: | ---: | ---: | ---: | --- |\n")
    for users in (1, 8):
        health = next(p for u, label, p in results if u == users and label == "/healthz")
        for u, label, (p50, p95, p99) in results:
            if u != users:
                continue
            ratio = p95 / health[1]
            if label == "/healthz":
                verdict = ""
            elif users == 1:
                verdict = "ok (≤ 50 ms)" if p95 <= 50 else "MISSED (≤ 50 ms)"
            else:
                verdict = "ok (≤ 4×)" if ratio <= 4 else "MISSED (≤ 4×)"
            out.write(
                f"| {users} | {label} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {ratio:.1f}× "
                f"| {verdict} |\n"
            )
    print()
    print(out.getvalue())


if __name__ == "__main__":
    main()
