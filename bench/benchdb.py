"""The benchmarks' own PostgreSQL database, written once for every script in bench/."""

from __future__ import annotations

import sys


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
