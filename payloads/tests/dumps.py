"""Everything TraceFoundry keeps or answers, as text, for the security scans: every table, every blob (inline
and in the payload storage, decompressed), every API answer a signed-in user can get for a trace, and the bundles
they may export (unzipped)."""

import io
import json
import zipfile

import zstandard
from django.conf import settings
from django.db import connection
from django.test import Client

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def database_dump() -> str:
    """Every row of every table of the database, as text (raw SQL, so no model can hide a column)."""
    rows: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (table names from introspection)
            rows.extend(repr(tuple(map(_shown, row))) for row in cursor.fetchall())
    return "\n".join(rows)


def _shown(value: object) -> object:
    # Postgres returns bytea as a memoryview, whose repr shows none of its bytes.
    return bytes(value) if isinstance(value, memoryview) else value


def blobs_dump() -> str:
    """Every blob's bytes, decompressed when they are zstd: the files under the payload folder and the bytes
    kept inline in `payload_blobs` (read with raw SQL, like the database dump)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT inline_data FROM payload_blobs WHERE inline_data IS NOT NULL ORDER BY sha256")
        inline = [bytes(data) for (data,) in cursor.fetchall()]
    files = [path.read_bytes() for path in sorted(p for p in settings.PAYLOAD_DIR.rglob("*") if p.is_file())]
    return "\n".join(decompressed(data).decode("utf-8", errors="replace") for data in inline + files)


def decompressed(data: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(data) if data.startswith(_ZSTD_MAGIC) else data


def api_answers(client: Client, trace_id: str, searches: list[str]) -> str:
    """Every read answer of the API about one trace, for the signed-in user: the trace list (plain and for each
    search), facets, the trace, its spans, each span's detail, and each payload the spans refer to."""
    answers = [client.get("/api/traces"), client.get("/api/facets"), client.get(f"/api/traces/{trace_id}")]
    answers += [client.get("/api/traces", {"q": search}) for search in searches]
    spans = client.get(f"/api/traces/{trace_id}/spans")
    answers.append(spans)
    details = [client.get(f"/api/spans/{span['span_id']}", {"trace_id": trace_id}) for span in spans.json()["items"]]
    answers += details
    refs = {ref["ref"] for detail in details for ref in detail.json().get("payload_refs", [])}
    answers += [client.get(f"/api/payloads/{ref}") for ref in sorted(refs)]
    return "\n".join(answer.content.decode() for answer in answers)


def bundle_text(client: Client, trace_id: str, *, include_payloads: bool, redaction: str) -> str:
    """The exported bundle, every file unzipped into one text (the export must be one the user may ask for)."""
    response = client.post(
        f"/api/traces/{trace_id}/export",
        json.dumps({"include_payloads": include_payloads, "redaction": redaction}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return "\n".join(archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist())
