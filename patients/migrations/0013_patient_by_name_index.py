"""The patient list's "All" status at 100,000 patients (issue 14, part 5), PostgreSQL only.

0011's `patient_active_by_name` holds only active patients, so the list of every patient, in the
same order (family name, given name, id), sorted all of them to show 26: 64 ms at 100,000
patients (one user, in process). The same index over every patient reads the page in order and
stops after it: 16 ms. A list of one other status (deceased, moved…) is a few patients and is
sorted as before.
SQLite (`make run`) keeps the model's own indexes; there the migration does nothing.
"""

from django.db import migrations

NAME = "patient_by_name"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {NAME} ON patients_patient (family_name, given_name, id)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0012_patient_clinic_id_index"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
