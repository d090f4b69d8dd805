# Reminders written before engine version 2 were all written by engine version 1: the column
# is added with "1" for them (and their history), then defaults to empty for new rows, which the
# scan stamps with its own version. The first scan under version 2 resolves those that edition 2
# no longer asks for with the reason "rule book edition 2" (monitoring/scan.py).

from django.db import migrations, models


def _field(default: str) -> models.CharField:
    return models.CharField(blank=True, default=default, max_length=10)


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0004_plausibility_limits"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalreminder", name="engine_version", field=_field("1")
        ),
        migrations.AddField(model_name="reminder", name="engine_version", field=_field("1")),
        migrations.AlterField(
            model_name="historicalreminder", name="engine_version", field=_field("")
        ),
        migrations.AlterField(model_name="reminder", name="engine_version", field=_field("")),
    ]
