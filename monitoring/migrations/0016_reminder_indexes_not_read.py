"""Three indexes that nothing reads, dropped: every reminder the scan creates, and every change
to one, wrote an entry into each.

- `monitoring_reminder.patient_id`: `reminder_unique_per_due_date` (patient, kind, drug, due)
  begins with the patient, so it serves every lookup by patient and the cascade of a deleted
  patient. Only the index goes; the foreign key stays as it is (Django's own AlterField would
  drop and re-add, so re-check, the constraint on every row).
- the audit rows' `patient_id` and `assignee_id`: a reminder's history is read by reminder
  (`id`, still indexed), never by patient or assignee.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0015_worklist_every_tab_indexes"),
        ("patients", "0013_patient_by_name_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalreminder",
            name="assignee",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalreminder",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="patients.patient",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="reminder",
                    name="patient",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reminders",
                        to="patients.patient",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "monitoring_reminder_patient_id_71772f78"',
                    reverse_sql=(
                        'CREATE INDEX "monitoring_reminder_patient_id_71772f78" '
                        'ON "monitoring_reminder" ("patient_id")'
                    ),
                ),
            ],
        ),
    ]
