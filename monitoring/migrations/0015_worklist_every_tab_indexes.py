"""The worklist's other tabs at 500,000 reminders (issue 14, part 5), PostgreSQL only.

0012's `reminder_active_action_on` orders the active reminders; the "Done", "Dismissed",
"Resolved" and "All" tabs had no index in their order (the day a reminder needs attention, then
due, then id), so PostgreSQL sorted every reminder of the tab to show 51: "All" 184–308 ms,
"Done" 133 ms, "Dismissed" 86 ms (one user, in process, bench/pages.py's data). Two indexes on
that order, one after the status (a tab), one for every status ("All"), read the page in order
and stop after 51: 18–22 ms, as the active tab. Their expression is 0012's, which is how
Django compiles `action_date()`; `test_worklist_plans` fails if the two part.

0012's `reminder_kind_patient` (kind, patient; 43 MB at 500,000 reminders) served the kind
filter's choices, one EXISTS probe per kind; those choices no longer read the database
(`patients.selectors.reminder_kinds`), no other query starts from the kind of every reminder,
and PostgreSQL had not used it once in the page benchmark: it is dropped, so that the nightly
scan's inserts keep one index more, not two.
SQLite (`make run`) keeps the model's own indexes; there the migration does nothing.
"""

from django.db import migrations

ACTION_ON = "(CASE WHEN status = 'snoozed' THEN COALESCE(snoozed_until, due) ELSE due END)"
CREATE = [
    "CREATE INDEX IF NOT EXISTS reminder_status_action_on ON monitoring_reminder "
    f"(status, {ACTION_ON}, due, id)",
    f"CREATE INDEX IF NOT EXISTS reminder_action_on ON monitoring_reminder ({ACTION_ON}, due, id)",
    "DROP INDEX IF EXISTS reminder_kind_patient",
]
REVERSE = [
    "DROP INDEX IF EXISTS reminder_status_action_on",
    "DROP INDEX IF EXISTS reminder_action_on",
    "CREATE INDEX IF NOT EXISTS reminder_kind_patient ON monitoring_reminder (kind, patient_id)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0014_worklist_filter_indexes"),
    ]

    operations = [migrations.RunPython(_run(CREATE), _run(REVERSE), elidable=False)]
