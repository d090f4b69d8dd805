"""What the worklist's indexes give PostgreSQL (issue 14, part 5: monitoring 0014, patients
0012). Which plan PostgreSQL picks depends on the statistics of the day (bench/pages.py and
EXPLAIN ANALYZE at 500,000 reminders measure that); what is held here is what an index can
answer."""

from __future__ import annotations

from django.db import connection


def _index(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else ""


def test_a_kind_s_capped_count_can_be_read_from_indexes_alone(require_postgres):
    """The filtered worklist's capped count (kind, status, assignee, severity of the clinic's
    patients) from two indexes, without reading a row: at 500,000 reminders 6-11 ms -> 2 ms
    (EXPLAIN ANALYZE, monitoring 0014)."""
    kind = _index("reminder_active_kind_patient")
    assert "(kind, patient_id) INCLUDE (status, assignee_id, severity)" in kind
    assert "WHERE ((status)::text = ANY" in kind
    assert "(clinic_id, id)" in _index("patient_clinic_id")
