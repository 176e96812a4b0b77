"""Retention dates a trace by when its last new span arrived; existing traces start from their last update."""

import django.utils.timezone
from django.db import migrations, models


def from_last_update(apps, schema_editor):
    Trace = apps.get_model("traces", "Trace")
    Trace.objects.update(last_ingested_at=models.F("updated_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("traces", "0005_span_values_in_range"),
    ]

    operations = [
        migrations.AddField(
            model_name="trace",
            name="last_ingested_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(from_last_update, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="trace",
            index=models.Index(fields=["last_ingested_at", "trace_id"], name="traces_retention_idx"),
        ),
    ]
