"""Indexes for the worklist and the dashboards at 500,000 reminders (issue 14), PostgreSQL only.

- The worklist's default order is the day a reminder needs attention (`action_date()`: the
  snooze's end while snoozed, else the due date), then due, then id, over active reminders: a
  partial index on that very expression lets a page be read in order and stop after 51 rows. The
  expression is written as Django compiles `action_date()`; change one, change the other.
- The kind filter's choices (`patients.selectors.kinds_present`) probe (kind, patient) once per
  known kind, for every reminder and for the active ones.
- The dashboards and the worklist's assignee filter: active reminders by assignee (with their
  patient), active critical reminders by patient and due date, and active reminders by patient
  with what the counts read (an index-only scan instead of the table).
SQLite (`make run`) keeps the model's own indexes; there the migration does nothing.
"""

from django.db import migrations

ACTIVE = "status IN ('open', 'snoozed')"
INDEXES = [
    (
        "reminder_active_action_on",
        "CREATE INDEX IF NOT EXISTS reminder_active_action_on ON monitoring_reminder "
        "((CASE WHEN status = 'snoozed' THEN COALESCE(snoozed_until, due) ELSE due END), due, id) "
        f"WHERE {ACTIVE}",
    ),
    (
        "reminder_kind_patient",
        "CREATE INDEX IF NOT EXISTS reminder_kind_patient ON monitoring_reminder (kind, patient_id)",
    ),
    (
        "reminder_active_kind_patient",
        "CREATE INDEX IF NOT EXISTS reminder_active_kind_patient ON monitoring_reminder "
        f"(kind, patient_id) WHERE {ACTIVE}",
    ),
    (
        "reminder_active_assignee",
        "CREATE INDEX IF NOT EXISTS reminder_active_assignee ON monitoring_reminder "
        f"(assignee_id, patient_id) WHERE {ACTIVE}",
    ),
    (
        "reminder_active_by_patient",
        "CREATE INDEX IF NOT EXISTS reminder_active_by_patient ON monitoring_reminder (patient_id) "
        f"INCLUDE (status, due, snoozed_until, severity, kind, assignee_id) WHERE {ACTIVE}",
    ),
    (
        "reminder_active_critical_patient",
        "CREATE INDEX IF NOT EXISTS reminder_active_critical_patient ON monitoring_reminder "
        f"(patient_id, due) WHERE {ACTIVE} AND severity = 'critical'",
    ),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _, sql in INDEXES:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0011_scan_run_batches"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
