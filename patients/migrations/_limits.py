"""Shared by the migrations that add the plausibility limits' CHECK constraints (not a migration:
the loader skips modules whose name starts with "_").

Adding a CHECK constraint fails on rows that break it, with a database error that names neither
the row nor the value. `refuse_rows_outside` runs first and, when stored rows are outside the new
limits, stops the migration with a list of them, so that they can be corrected (with the
previous version's forms, which accept every value inside the limits) before migrating again.
No clinical value is ever changed or dropped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import migrations, models

#: Rows listed per constraint; the count says how many more there are.
SHOWN = 20


def refuse_rows_outside(
    app_label: str, operations: Sequence[migrations.AddConstraint]
) -> migrations.RunPython:
    checks = [
        (op.model_name, op.constraint)
        for op in operations
        if isinstance(op.constraint, models.CheckConstraint)
    ]

    def forwards(apps: Any, schema_editor: Any) -> None:
        lines = []
        for model_name, constraint in checks:
            model = apps.get_model(app_label, model_name)
            outside = model._base_manager.using(schema_editor.connection.alias).exclude(
                constraint.condition
            )
            ids = list(outside.order_by("pk").values_list("pk", flat=True)[: SHOWN + 1])
            if ids:
                more = " and more" if len(ids) > SHOWN else ""
                shown = ", ".join(str(pk) for pk in ids[:SHOWN])
                lines.append(f"  {app_label}.{model.__name__} ids {shown}{more}: {constraint.name}")
        if lines:
            raise RuntimeError(
                "Stored rows are outside the plausibility limits this migration adds "
                "(patients/limits.py); correct them, then run migrate again:\n" + "\n".join(lines)
            )

    return migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)
