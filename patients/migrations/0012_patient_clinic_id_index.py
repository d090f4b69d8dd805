"""A clinic's patients in id order (issue 14, part 5), PostgreSQL only.

The reminder pages count and list the reminders of a clinic's patients by merging reminders in
patient order with the clinic's patients in id order. Without this index PostgreSQL walked the
primary key and read each patient's row to test its clinic (13,955 rows for a count of 1,001
"Next dose" reminders: 3 ms of the filtered worklist's 4); with it, an index-only scan (1 ms).
SQLite (`make run`) keeps the model's own indexes; there the migration does nothing.
"""

from django.db import migrations

NAME = "patient_clinic_id"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {NAME} ON patients_patient (clinic_id, id)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0011_patient_search_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
