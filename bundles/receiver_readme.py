"""The README.md written into every bundle: what the bundle is, for the person who receives it."""

from string import Template

# string.Template ($name) rather than str.format, because the shell and JSON examples are full of braces.
_TEMPLATE = Template("""\
# TraceFoundry trace bundle

This zip holds one trace of an LLM agent run, exported from TraceFoundry so that it can be inspected, shared
and loaded elsewhere.

- Trace id: `$trace_id`
- Spans: $span_count
- Exported at: $exported_at by TraceFoundry $tracefoundry_version
- Redaction applied on export: `$redaction`
- Payloads (prompts, completions, tool input/output): $payloads ($payload_count file(s))

## Files

- `manifest.json`: format version, trace id, exporter version, git commit, environment fingerprint,
  redaction mode, and the sha256 of every other file.
- `spans.otlp.json`: the spans as one OTLP/JSON `ExportTraceServiceRequest` (ids in hex, timestamps as
  exact nanosecond strings).
- `payloads/<sha256>`: payload contents, each named by the sha256 of its bytes; spans point at them with
  attributes `tracefoundry.payload.<role>_ref = sha256:<hex>`.
- `README.md`: this file.

## Redaction

`strict`: credentials and personal data masked, attributes outside the allowlist dropped, no payloads.
`standard`: credentials (API keys, bearer tokens, cloud keys, private keys, JWTs, passwords in URLs) masked.
`off`: exported as stored. An export is never less redacted than what the server stored.

## Verify the hashes

Every file except `manifest.json` is listed in it with its sha256. With `jq` and coreutils:

```sh
jq -r '.files | to_entries[] | "\\(.value.sha256)  \\(.key)"' manifest.json | sha256sum -c -
```

Or with Python only:

```sh
python3 - <<'EOF'
import hashlib, json
for path, entry in json.load(open("manifest.json"))["files"].items():
    ok = hashlib.sha256(open(path, "rb").read()).hexdigest() == entry["sha256"]
    print("OK " if ok else "BAD", path)
EOF
```

A payload file's name is also the sha256 of its content: `sha256sum payloads/*` must print each name twice.

## Load the spans into other OpenTelemetry tools

`spans.otlp.json` is the body of an OTLP/HTTP JSON export, so any OTLP/HTTP receiver accepts it as is, e.g. an
OpenTelemetry Collector, Jaeger (port 4318) or Arize Phoenix:

```sh
curl -X POST -H 'Content-Type: application/json' --data-binary @spans.otlp.json http://localhost:4318/v1/traces
```

The timestamps are the original ones, so search the receiving tool for the time of the run (or the trace id).

## Load it into another TraceFoundry

```sh
python manage.py import_trace bundle.zip   # or: POST /api/bundles/import (multipart field `bundle`)
python manage.py dry_replay bundle.zip     # checks the span tree, hashes and timing; writes nothing
```

Import checks every hash before writing anything, keeps the original ids, and tags the trace
`source=bundle_import`, environment `offline`. Importing the same bundle twice changes nothing.
""")


def readme_text(
    *,
    trace_id: str,
    span_count: int,
    exported_at: str,
    tracefoundry_version: str,
    redaction: str,
    payloads_included: bool,
    payload_count: int,
) -> str:
    return _TEMPLATE.substitute(
        trace_id=trace_id,
        span_count=span_count,
        exported_at=exported_at,
        tracefoundry_version=tracefoundry_version,
        redaction=redaction,
        payloads="included" if payloads_included else "not included",
        payload_count=payload_count,
    )
