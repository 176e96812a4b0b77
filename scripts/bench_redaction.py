"""Micro-benchmark of payload capture and redaction (and, with --database-url, of the whole ingest path).

    SECRET_KEY=x .venv/bin/python scripts/bench_redaction.py                 # capture + redaction only
    SECRET_KEY=x .venv/bin/python scripts/bench_redaction.py --database-url postgres://postgres@127.0.0.1:5432/tf_bench

Spans are LLM spans with `--payload-bytes` of prompt and of completion each (GenAI and OpenInference
attributes, a message event, a few plausible secrets and emails so the patterns have work to do).
`payload_heavy_request()` builds such an OTLP request and is meant to be imported by `scripts/bench.py`.
Capture runs in this process only (no server): it prints spans/s per redaction mode.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

_WORDS = [
    "the",
    "agent",
    "called",
    "weather",
    "tool",
    "for",
    "paris",
    "then",
    "summarised",
    "answer",
    "user",
    "asked",
    "about",
    "flights",
    "hotels",
    "budget",
    "itinerary",
    "model",
    "returned",
    "json",
    "with",
    "fields",
    "city",
    "date",
    "price",
    "currency",
    "retry",
    "after",
    "timeout",
    "search",
    "results",
    "document",
    "chunk",
    "score",
    "context",
    "window",
    "tokens",
    "system",
    "prompt",
    "instructions",
    "assistant",
]
# Occasional realistic fragments: dates, amounts, URLs, an email, a phone number, rarely a leaked key.
_SPICE = [
    "contact jane.roe@example.org",
    "order 2024-05-01 total 129.90 EUR",
    "call +1 415 555 0199",
    "see https://docs.example.com/guide?page=3",
    "flight 2024-06-14 at 10:35",
    "the api key sk-proj-T3stOnlyFakeKey0123456789abcdefXYZ",
]


def _text(rng: random.Random, size: int) -> str:
    parts: list[str] = []
    length = 0
    while length < size:
        chunk = rng.choice(_SPICE) if rng.random() < 0.01 else rng.choice(_WORDS)
        parts.append(chunk)
        length += len(chunk) + 1
    return " ".join(parts)[:size]


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def payload_heavy_request(
    spans: int, payload_bytes: int = 2048, seed: int = 7, trace_size: int = 50
) -> ExportTraceServiceRequest:
    """`spans` LLM spans (`trace_size` per trace) with `payload_bytes` of prompt and of completion each."""
    rng = random.Random(seed)
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        [_kv("service.name", "bench-agent"), _kv("deployment.environment.name", "bench")]
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "bench"
    start = 1_700_000_000_000_000_000
    trace_id = b""
    for index in range(spans):
        if index % trace_size == 0:
            trace_id = rng.randbytes(16)
        span = scope_spans.spans.add()
        span.trace_id, span.span_id = trace_id, rng.randbytes(8)
        span.name = "chat gpt-4o"
        span.kind = 3
        span.start_time_unix_nano = start + index * 1_000_000
        span.end_time_unix_nano = span.start_time_unix_nano + 800_000_000
        prompt, completion = _text(rng, payload_bytes), _text(rng, payload_bytes)
        span.attributes.extend(
            [
                _kv("gen_ai.operation.name", "chat"),
                _kv("gen_ai.provider.name", "openai"),
                _kv("gen_ai.request.model", "gpt-4o"),
                _kv("gen_ai.response.model", "gpt-4o-2024-08-06"),
                _kv("gen_ai.usage.input_tokens", rng.randint(100, 3000)),
                _kv("gen_ai.usage.output_tokens", rng.randint(10, 800)),
                _kv("gen_ai.response.id", f"chatcmpl-{rng.getrandbits(64):x}"),
                _kv("gen_ai.conversation.id", f"conv-{index // trace_size}"),
                _kv("server.address", "api.openai.com"),
                _kv("http.response.status_code", 200),
                _kv(
                    "gen_ai.input.messages",
                    f'[{{"role":"user","parts":[{{"type":"text","content":"{prompt}"}}]}}]',
                ),
                _kv(
                    "gen_ai.output.messages",
                    f'[{{"role":"assistant","parts":[{{"type":"text","content":"{completion}"}}]}}]',
                ),
            ]
        )
    return request


def _setup_django(database_url: str | None, payload_dir: str) -> None:
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracefoundry_site.settings")
    os.environ["PAYLOAD_DIR"] = payload_dir
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()


def bench_capture(spans: int, payload_bytes: int) -> None:
    from payloads.contracts import OtlpSpan, RedactionMode
    from payloads.ingest import span_capture
    from payloads.redaction import redactor_for
    from traces import otlp

    decoded = [s for s in otlp.iter_spans(payload_heavy_request(spans, payload_bytes)) if isinstance(s, OtlpSpan)]
    for mode in RedactionMode:
        capture = span_capture(redactor_for(mode))
        capture.capture(decoded[0])  # warm the per-key caches
        began = time.perf_counter()
        for span in decoded:
            capture.capture(span)
        elapsed = time.perf_counter() - began
        print(
            f"capture+redaction mode={mode.value:<8} {len(decoded) / elapsed:>10,.0f} spans/s "
            f"({payload_bytes} B prompt + {payload_bytes} B completion per span, {len(decoded)} spans)"
        )


def bench_ingest(spans: int, payload_bytes: int, batch: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from traces.ingest import ingest_request

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE span_payload_refs, payload_blobs, spans, traces CASCADE"
            if connection.vendor == "postgresql"
            else "SELECT 1"
        )
    requests = [payload_heavy_request(batch, payload_bytes, seed=i) for i in range(max(1, spans // batch))]
    began = time.perf_counter()
    for request in requests:
        ingest_request(request)
    elapsed = time.perf_counter() - began
    total = batch * len(requests)
    print(
        f"ingest_request end to end ({connection.vendor}, batches of {batch}): "
        f"{total / elapsed:>8,.0f} spans/s "
        f"({total} spans, {elapsed:.2f} s)"
    )


def _ensure_postgres_database(database_url: str) -> None:
    name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=5000)
    parser.add_argument("--payload-bytes", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=500, help="spans per OTLP request for --database-url")
    parser.add_argument("--database-url", help="also time ingest_request end to end on this database")
    args = parser.parse_args()
    if args.database_url and args.database_url.startswith("postgres"):
        _ensure_postgres_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="tf-bench-payloads-") as payload_dir:
        _setup_django(args.database_url, payload_dir)
        bench_capture(args.spans, args.payload_bytes)
        if args.database_url:
            bench_ingest(args.spans, args.payload_bytes, args.batch)


if __name__ == "__main__":
    main()
