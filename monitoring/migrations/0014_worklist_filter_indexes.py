"""The worklist's kind filter at 500,000 reminders (issue 14, part 5), PostgreSQL only.

The current tab's capped count of a filtered worklist ("Next dose", open, anyone's: 6–11 ms)
read 0012's `reminder_active_by_patient` in patient order and dropped 22,000 active reminders of
other kinds to find 1,001 of the kind. 0012's `reminder_active_kind_patient` (kind, patient)
has them in patient order already, but not their status, assignee or severity, which the other
filters test: it is rebuilt with them included, so that the count reads only the kind's rows,
index-only (about 1,200 for 1,001 counted). Joined to the clinic's patients through
`patients.0012`'s (clinic, id) index: 2 ms. The patient list's kind filter reads it as before.
SQLite (`make run`) keeps the model's own indexes; there the migration does nothing.
"""

from django.db import migrations

ACTIVE = "status IN ('open', 'snoozed')"
WITH_FILTERS = (
    "CREATE INDEX reminder_active_kind_patient ON monitoring_reminder (kind, patient_id) "
    f"INCLUDE (status, assignee_id, severity) WHERE {ACTIVE}"
)
AS_IN_0012 = (
    "CREATE INDEX reminder_active_kind_patient ON monitoring_reminder (kind, patient_id) "
    f"WHERE {ACTIVE}"
)


def _rebuild(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute("DROP INDEX IF EXISTS reminder_active_kind_patient")
        schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0013_dashboard_indexes"),
        ("patients", "0012_patient_clinic_id_index"),
    ]

    operations = [
        migrations.RunPython(_rebuild(WITH_FILTERS), _rebuild(AS_IN_0012), elidable=False)
    ]
