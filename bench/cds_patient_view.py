"""ossa-patient-view latency for a 20-year history sent as prefetch (target: p95 ≤ 100 ms).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ossa_bench \\
        .venv/bin/python bench/cds_patient_view.py [--requests 300]

The database named in DATABASE_URL must contain "bench"; it is created if missing and
migrated. The benchmark registers one EHR (a `CdsClient` with an ES384 key) and one patient
known to Ossa by MRN, then POSTs hook requests through Django's test client — every
middleware, the JWT check with its jti insert, the FHIR mapping, the engine, the cards and
their rows — and prints p50/p95/p99 wall time per request. The prefetch is a 20-year history
(the last 20 years of bench/engine.py's long patient) turned into FHIR resources by the FHIR
mapping (`interop.fhir.mapping.case_resources`, the function `patient_resources` wraps for a
stored patient). Signing the tokens happens before the clock starts: it is the EHR's work.
What it creates is deleted afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("OSSA_SITE_URL", "https://ossa.bench")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
os.environ.setdefault("OSSA_SSL_REDIRECT", "0")
# Measured as production runs (DEBUG off, which needs a key); nothing signed here outlives it.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))

import django  # noqa: E402

URL = "/cds-services/ossa-patient-view"
ISSUER = "https://ehr.bench/"
MRN = "BENCH-20Y"
TARGET_P95_MS = 100.0


def _database_ready() -> None:
    from django.conf import settings
    from django.core.management import call_command

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("bench/cds_patient_view.py measures PostgreSQL: set DATABASE_URL=…/ossa_bench")
    if "bench" not in db["NAME"]:
        sys.exit(f"refusing to write to database {db['NAME']!r}: its name must contain 'bench'")
    import psycopg

    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0)


def twenty_year_case() -> Any:
    """bench/engine.py's long patient cut to its last 20 years (records before are dropped)."""
    from bench.engine import thirty_year_patient
    from therapy.engine import parse_case

    data = thirty_year_patient()
    as_of = dt.date.fromisoformat(data["as_of"])
    since = as_of.replace(year=as_of.year - 20).isoformat()
    data["fractures"] = [f for f in data["fractures"] if f["date"] >= since]
    data["therapies"] = [t for t in data["therapies"] if t["start"] >= since]
    data["dxa"] = [s for s in data["dxa"] if s["date"] >= since]
    data["labs"] = [x for x in data["labs"] if x["date"] >= since]
    data["reassessments"] = [d for d in data["reassessments"] if d >= since]
    data["patient"]["mrn"] = MRN
    return parse_case(data)


def prefetch(resources: list[dict[str, Any]]) -> dict[str, Any]:
    keys = {
        "Condition": "conditions",
        "Observation": "observations",
        "MedicationStatement": "medicationStatements",
        "MedicationAdministration": "medicationAdministrations",
    }
    out: dict[str, Any] = {
        key: {"resourceType": "Bundle", "type": "searchset", "entry": []} for key in keys.values()
    }
    for resource in resources:
        kind = resource["resourceType"]
        if kind == "Patient":
            out["patient"] = resource
        else:
            out[keys[kind]]["entry"].append({"resource": resource})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    django.setup()
    _database_ready()

    import jwt
    import time_machine
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment

    from interop.cds.models import CdsCard, CdsClient, CdsTokenUse
    from interop.fhir.mapping import PatientFacts, case_resources
    from patients.models import Clinic, Patient

    setup_test_environment()
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    clinic, _ = Clinic.objects.get_or_create(slug="cds-bench", defaults={"name": "CDS bench"})
    CdsClient.objects.filter(issuer=ISSUER).delete()
    ehr = CdsClient.objects.create(
        name="Bench EHR",
        clinic=clinic,
        issuer=ISSUER,
        public_key_pem=pem.decode(),
        mrn_system="urn:bench:mrn",
    )
    patient, _ = Patient.objects.get_or_create(
        clinic=clinic,
        mrn=MRN,
        defaults={"name": "Bench Patient", "birth_date": dt.date(1940, 3, 14), "sex": "female"},
    )
    case = twenty_year_case()
    resources = case_resources(case, PatientFacts(id="ehr-20y", mrn_system="urn:bench:mrn"))
    body = json.dumps(
        {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "ehr-20y"},
            "prefetch": prefetch(resources),
        }
    )
    aud = settings.OSSA_SITE_URL.rstrip("/") + URL
    rounds = args.requests + 20
    noon = dt.datetime.combine(case.as_of, dt.time(12), tzinfo=dt.UTC)
    client = Client()
    times: list[float] = []
    cpu: list[float] = []
    try:
        with time_machine.travel(noon, tick=True):
            now = int(time.time())
            tokens = [
                jwt.encode(
                    {
                        "iss": ISSUER,
                        "aud": aud,
                        "iat": now,
                        "exp": now + 290,
                        "jti": str(uuid.uuid4()),
                    },
                    key,
                    algorithm="ES384",
                    headers={"kid": "bench"},
                )
                for _ in range(rounds)
            ]
            for index, token in enumerate(tokens):
                start = time.perf_counter()
                cpu_start = time.process_time()
                response = client.post(
                    URL,
                    data=body,
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {token}",
                )
                elapsed = (time.perf_counter() - start) * 1000
                cpu_ms = (time.process_time() - cpu_start) * 1000
                if response.status_code != 200:
                    sys.exit(f"request {index}: {response.status_code} {response.content[:300]!r}")
                if index >= 20:  # warm-up: imports, connection, caches
                    times.append(elapsed)
                    cpu.append(cpu_ms)
        cards = json.loads(response.content)["cards"]
    finally:
        CdsCard.objects.filter(client=ehr).delete()
        CdsTokenUse.objects.filter(client=ehr).delete()
        ehr.delete()
        patient.delete()

    times.sort()
    cpu.sort()
    p50 = statistics.median(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    p99 = times[int(0.99 * (len(times) - 1))]
    load = os.getloadavg()[0]
    kinds: dict[str, int] = {}
    for resource in resources:
        kinds[resource["resourceType"]] = kinds.get(resource["resourceType"], 0) + 1
    history = (
        f"{len(case.fractures)} fractures, {len(case.therapies)} courses, "
        f"{sum(len(t.doses) for t in case.therapies)} doses, {len(case.dxa)} DXA scans, "
        f"{len(case.labs)} labs"
    )
    print(
        f"ossa-patient-view, Python {platform.python_version()}, PostgreSQL, Django test "
        f"client, {len(times)} requests after 20 warm-up"
    )
    print(f"- 20-year history: {history}")
    counts = ", ".join(f"{n} {k}" for k, n in kinds.items())
    print(f"- prefetch: {len(resources)} resources ({counts}), {len(body) / 1024:,.0f} KiB")
    print(f"- answer: {len(cards)} cards; first: {cards[0]['summary']!r}")
    print(
        f"- this process's CPU per request: p50 {statistics.median(cpu):.1f} ms, "
        f"p95 {cpu[int(0.95 * (len(cpu) - 1))]:.1f} ms "
        f"(load average {load:.1f} on {os.cpu_count()} CPUs while measuring)"
    )
    print(
        f"- latency: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, max {times[-1]:.1f} ms "
        f"(target p95 ≤ {TARGET_P95_MS:.0f} ms: {'met' if p95 <= TARGET_P95_MS else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
