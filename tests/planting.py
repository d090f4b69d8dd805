"""Rows as old data could hold them: values written past validation and the CHECK constraints,
the way a database filled before the plausibility limits existed still holds them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, models


def _drop_checks(model: type[models.Model]) -> None:
    """PostgreSQL: drop the table's CHECK constraints. Only inside a test's transaction, which
    rolls the DDL back with everything else."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        checks = [
            name
            for name, info in connection.introspection.get_constraints(cursor, table).items()
            if info["check"]
        ]
        # ALTER TABLE refuses while foreign-key checks of earlier writes are still deferred.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for name in checks:
            cursor.execute(
                f"ALTER TABLE {connection.ops.quote_name(table)} "  # noqa: S608 (names from the catalogue)
                f"DROP CONSTRAINT {connection.ops.quote_name(name)}"
            )


@contextmanager
def checks_suspended(*tables: type[models.Model]) -> Iterator[None]:
    """Let writes to `tables` past their CHECK constraints (SQLite: for the block; PostgreSQL:
    until the test's transaction rolls back)."""
    assert connection.in_atomic_block, "only inside a test's transaction"
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
            try:
                yield
            finally:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
        return
    for model in tables:
        _drop_checks(model)
    yield


def plant(row: models.Model, **values: Any) -> models.Model:
    """Write `values` into `row` with no validation and no CHECK constraint; the row as stored."""
    model = type(row)
    with checks_suspended(model):
        updated = model._default_manager.filter(pk=row.pk).update(**values)
    assert updated == 1
    return model._default_manager.get(pk=row.pk)
