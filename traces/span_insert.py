"""Insert a batch of new span rows: COPY on Postgres, Django's bulk_create elsewhere (SQLite).

Callers insert only spans not stored yet, while holding their traces' row locks (see `traces.ingest`), so no
row can collide. COPY streams the rows in one round trip, several times faster than a multi-row INSERT whose
thousands of parameters psycopg must quote one by one.
"""

from typing import Any

import orjson
from django.db import connection

from tracefoundry_site.copy_rows import copy_rows
from traces.models import Span

SpanRow = dict[str, Any]

_FIELDS = [field for field in Span._meta.concrete_fields if not field.primary_key]
_JSON_FIELDS = [field for field in _FIELDS if field.get_internal_type() == "JSONField"]
_PLAIN_FIELDS = [field for field in _FIELDS if field not in _JSON_FIELDS]
_PLAIN_ATTNAMES = tuple(field.attname for field in _PLAIN_FIELDS)
_JSON_ATTNAMES = tuple(field.attname for field in _JSON_FIELDS)
# Built from the model's own table and column names, never from input; the JSON columns last.
_COPY_INTO_SPANS = "COPY spans ({}) FROM STDIN".format(
    ", ".join(f'"{field.column}"' for field in (*_PLAIN_FIELDS, *_JSON_FIELDS))
)


def insert_spans(rows: list[SpanRow]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        plain, json = _PLAIN_ATTNAMES, _JSON_ATTNAMES
        copy_rows(
            _COPY_INTO_SPANS,
            ([*(row[name] for name in plain), *(_json(row[name]) for name in json)] for row in rows),
        )
    else:
        Span.objects.bulk_create([Span(**row) for row in rows], batch_size=500)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
