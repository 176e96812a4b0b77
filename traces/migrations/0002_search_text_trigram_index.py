"""On Postgres, a trigram index so the free-text filter (`UPPER(search_text) LIKE '%…%'`) avoids a full scan.

pg_trgm ships with Postgres but creating an extension needs rights a managed database may withhold: without
them the index is skipped (the filter still works, by scanning) and a warning says so.
"""

import logging

from django.db import migrations, transaction

logger = logging.getLogger(__name__)


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                "CREATE INDEX IF NOT EXISTS traces_search_text_trgm_idx "
                "ON traces USING gin (UPPER(search_text) gin_trgm_ops)"
            )
    except Exception as exc:
        logger.warning("free-text index not created (pg_trgm unavailable: %s); `q` filters will scan", exc)


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS traces_search_text_trgm_idx")


class Migration(migrations.Migration):
    atomic = True
    dependencies = [("traces", "0001_initial")]

    operations = [migrations.RunPython(create_trigram_index, drop_trigram_index)]
