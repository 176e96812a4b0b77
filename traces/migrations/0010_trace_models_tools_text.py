"""Models and tools of a trace as plain text (one name a line) for the `model` and `tool` filters, filled from the
JSON lists, and on Postgres a trigram index on each (`UPPER(…) LIKE '%…%'`, as the free-text index of 0002).

Matching the lists' JSON text made Postgres convert every row's JSON and guess the filter's selectivity; a text
column has statistics, and its index finds the traces of a rare model without a scan. The fill is one UPDATE in
SQL (a trace's names in list order, which is sorted); without pg_trgm the indexes are skipped with a warning.
Also for the dashboards (`traces.metrics`): an index on traces' end (a time range with trace filters), and the
newest-first index made covering for the trace figures; and the sessions index covering the sessions list's sums.
"""

import logging

from django.db import migrations, models, transaction

logger = logging.getLogger(__name__)

_FILL = {
    "postgresql": (
        "UPDATE traces SET {text} = COALESCE((SELECT string_agg(name, E'\\n' ORDER BY position) "
        "FROM jsonb_array_elements_text({list}) WITH ORDINALITY AS names(name, position)), '') "
        "WHERE jsonb_array_length({list}) > 0"
    ),
    "sqlite": (
        "UPDATE traces SET {text} = COALESCE((SELECT group_concat(value, char(10)) "
        "FROM (SELECT value FROM json_each(traces.{list}) ORDER BY key)), '') "
        "WHERE json_array_length({list}) > 0"
    ),
}
_COLUMNS = (("models_text", "models_used"), ("tools_text", "tools_used"))


def fill_texts(apps, schema_editor):
    statement = _FILL[schema_editor.connection.vendor]
    for text, names in _COLUMNS:
        schema_editor.execute(statement.format(text=text, list=names))


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for text, _ in _COLUMNS:
                schema_editor.execute(
                    f"CREATE INDEX IF NOT EXISTS traces_{text}_trgm_idx ON traces USING gin (UPPER({text}) gin_trgm_ops)"
                )
    except Exception as exc:
        logger.warning("model and tool indexes not created (pg_trgm unavailable: %s); those filters will scan", exc)


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for text, _ in _COLUMNS:
            schema_editor.execute(f"DROP INDEX IF EXISTS traces_{text}_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("traces", "0009_trace_user_id")]

    operations = [
        migrations.AddField(model_name="trace", name="models_text", field=models.TextField(blank=True, default="")),
        migrations.AddField(model_name="trace", name="tools_text", field=models.TextField(blank=True, default="")),
        migrations.RunPython(fill_texts, migrations.RunPython.noop),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
        migrations.AddIndex(model_name="trace", index=models.Index(fields=["end_unix_nano"], name="traces_ending_idx")),
        migrations.RemoveIndex(model_name="trace", name="traces_newest_idx"),
        migrations.AddIndex(
            model_name="trace",
            index=models.Index(
                fields=["start_unix_nano", "trace_id"],
                name="traces_newest_idx",
                include=["duration_ns", "status", "span_count", "total_tokens", "cost_usd", "service"],
            ),
        ),
        migrations.RemoveIndex(model_name="trace", name="traces_session_turns_idx"),
        migrations.AddIndex(
            model_name="trace",
            index=models.Index(
                condition=~models.Q(session_id=""),
                fields=["session_id", "start_unix_nano"],
                include=[
                    "trace_id",
                    "end_unix_nano",
                    "status",
                    "span_count",
                    "error_count",
                    "retry_count",
                    "timeout_count",
                    "input_tokens",
                    "output_tokens",
                    "total_tokens",
                    "cost_usd",
                ],
                name="traces_session_turns_idx",
            ),
        ),
    ]
