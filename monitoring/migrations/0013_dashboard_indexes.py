"""What the dashboards read at 500,000 reminders (issue 14, part 5), PostgreSQL only.

- The clinician's patients with critical alerts are ranked by their earliest critical due date:
  a partial index on the active critical reminders by due date (with their patient, for an
  index-only scan) lets `monitoring.dashboards._ranked` read them in that order and stop after
  a few dozen rows, instead of grouping all of them (38,000 in the bench clinic) by patient.
  0012's `reminder_active_critical_patient` is by patient first: it cannot give that order.
- The admin's "due in 30 days" count reads the action-date index of 0012 for a range of days.
  PostgreSQL keeps no statistics of that CASE expression (the index is partial), so it guessed
  0.5% of the rows (823 where there were 7,533), then hashed all the clinic's patients to join
  them (30–40 ms); statistics on the expression give it the true share, and it stops at the
  count's cap after 1,001 rows (5 ms). The expression is written as Django compiles
  `action_date()`, like 0012's index.
SQLite (`make run`) keeps the model's own indexes; there the migration does nothing.
"""

from django.db import migrations

ACTIVE = "status IN ('open', 'snoozed')"
ACTION_ON = "(CASE WHEN status = 'snoozed' THEN COALESCE(snoozed_until, due) ELSE due END)"
INDEX = (
    "CREATE INDEX IF NOT EXISTS reminder_active_critical_due ON monitoring_reminder "
    f"(due, patient_id) WHERE {ACTIVE} AND severity = 'critical'"
)
# statistics on an expression need PostgreSQL 14; ANALYZE gathers them at once rather than at
# autovacuum's next pass
STATISTICS = (
    f"CREATE STATISTICS IF NOT EXISTS reminder_action_on_stats ON ({ACTION_ON}) "
    "FROM monitoring_reminder",
    "ANALYZE monitoring_reminder",
)
DROP = [
    "DROP INDEX IF EXISTS reminder_active_critical_due",
    "DROP STATISTICS IF EXISTS reminder_action_on_stats",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(INDEX)
    if schema_editor.connection.pg_version >= 140000:
        for sql in STATISTICS:
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in DROP:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0012_worklist_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
