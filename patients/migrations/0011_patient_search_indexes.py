"""Indexes for the patient list at 100,000 patients (issue 14), on PostgreSQL only.

The list searches `name` by substring (`UPPER(name) LIKE UPPER('%…%')`, Django's icontains) and
`mrn` exactly or by prefix (iexact / istartswith, also on `UPPER(mrn)`): a trigram GIN index on
`UPPER(name)` and a `text_pattern_ops` B-tree on `UPPER(mrn)` serve them. The default order (active
patients by family name, given name, id) reads a partial index in order and stops after a page
(the clinics come from a subquery of the user's memberships, so the index does not lead with the
clinic; a second one does, for a list narrowed to one clinic).
SQLite (`make run`) has neither pg_trgm nor operator classes: there the migration does nothing.
"""

from django.db import migrations

INDEXES = [
    (
        "patient_name_upper_trgm",
        "CREATE INDEX IF NOT EXISTS patient_name_upper_trgm ON patients_patient "
        "USING gin ((UPPER(name::text)) gin_trgm_ops)",
    ),
    (
        "patient_mrn_upper_prefix",
        "CREATE INDEX IF NOT EXISTS patient_mrn_upper_prefix ON patients_patient "
        "((UPPER(mrn::text)) text_pattern_ops)",
    ),
    (
        "patient_active_by_name",
        "CREATE INDEX IF NOT EXISTS patient_active_by_name ON patients_patient "
        "(family_name, given_name, id) WHERE status = 'active'",
    ),
    (
        "patient_clinic_active_by_name",
        "CREATE INDEX IF NOT EXISTS patient_clinic_active_by_name ON patients_patient "
        "(clinic_id, family_name, given_name, id) WHERE status = 'active'",
    ),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for _, sql in INDEXES:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0010_clinic_caseload_and_audit_key"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
