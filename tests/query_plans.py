"""PostgreSQL's plan for a page of a list, for the tests of what an index can answer."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet


def first_page_plan(queryset: QuerySet, rows: int) -> str:
    """The plan for the first `rows` rows of `queryset`, PostgreSQL told to avoid sorting and
    reading whole tables wherever an index can do instead (on a test's few rows it would read
    them whole). The tables are analysed first, so that the plan rests on the test's own rows,
    not on statistics that earlier tests (or an index rebuilt by a migration test) left."""
    sql, params = queryset[:rows].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())
