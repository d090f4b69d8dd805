"""The benchmarks' own PostgreSQL database, written once for every script in bench/."""

from __future__ import annotations

import sys
import time
from typing import Any


def database_ready(script: str, example: str) -> str:
    """Create the bench database if needed; refuse anything not named for the benchmark (the
    scripts flush it) and anything but PostgreSQL. `script` and `example` (a database name)
    only word the refusal."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        sys.exit(f"{script} measures PostgreSQL: set DATABASE_URL=postgres://…/{example}")
    name = db["NAME"]
    if "bench" not in name:
        sys.exit(f"refusing to flush database {name!r}: its name must contain 'bench'")
    import psycopg

    params = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return name


def prepare(script: str, example: str, *, reseed: bool, patients: int, seed: Any) -> str:
    """The bench database made ready (`database_ready`), migrated; when `reseed`, flushed and
    seeded by `seed()` (timed, its summary printed); then vacuumed and analysed, as autovacuum
    would leave a server (it is off on some test machines, and an index-only scan of a table
    never vacuumed reads the table). Returns the database's name."""
    from django.core.management import call_command
    from django.db import connection

    name = database_ready(script, example)
    call_command("migrate", verbosity=0)
    if reseed:
        print(f"Flushing {name} and seeding {patients:,} patients…")
        call_command("flush", interactive=False, verbosity=0)
        start = time.perf_counter()
        summary = seed()
        print(f"  {summary} in {time.perf_counter() - start:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return name
