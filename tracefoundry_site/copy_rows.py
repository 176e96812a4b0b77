"""Postgres `COPY ... FROM STDIN` for bulk inserts, with the database's errors raised as Django's.

psycopg's copy object sits under Django's cursor wrapper, so without `wrap_database_errors` a unique violation or
a lost connection would surface as a psycopg exception that the views' `IntegrityError` / `DatabaseError`
handling (400 and 503 answers) does not catch.
"""

from collections.abc import Iterable, Sequence

from django.db import connection


def copy_rows(copy_sql: str, rows: Iterable[Sequence[object]]) -> None:
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row(row)
