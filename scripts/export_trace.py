"""Download a trace bundle from a TraceFoundry server over HTTP (what `make export-trace` runs).

    python scripts/export_trace.py <trace_id> --url https://traces.example.com --token <API token>
        [--payloads] [--redaction strict|standard|off] [-o FILE]

Calls `POST <url>/api/traces/<trace_id>/export` with `Authorization: Token <token>` and saves the zip
(default name: the one the server proposes). The token may also come from TRACEFOUNDRY_API_TOKEN. Only the
standard library is used, so the script runs on any machine with Python 3.11.
"""

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

_FILENAME = re.compile(r'filename="([A-Za-z0-9._-]+)"')
_TIMEOUT_SECONDS = 300


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Download a trace bundle from a TraceFoundry server.")
    parser.add_argument("trace_id")
    parser.add_argument("--url", default=os.environ.get("TRACEFOUNDRY_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("TRACEFOUNDRY_API_TOKEN", ""))
    parser.add_argument("--payloads", action="store_true", help="include payload contents")
    parser.add_argument("--redaction", choices=("strict", "standard", "off"), default="strict")
    parser.add_argument("-o", "--output", help="file to write (default: the server's file name)")
    args = parser.parse_args(argv)
    if not args.token:
        print(
            "An API token is needed: --token or TRACEFOUNDRY_API_TOKEN (an admin creates one in /admin/).",
            file=sys.stderr,
        )
        return 2
    if not args.url.startswith(("http://", "https://")):
        print(f"--url must start with http:// or https://, got {args.url!r}", file=sys.stderr)
        return 2
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        f"{args.url.rstrip('/')}/api/traces/{args.trace_id}/export",
        data=json.dumps({"include_payloads": args.payloads, "redaction": args.redaction}).encode(),
        headers={
            "Authorization": f"Token {args.token}",
            "Content-Type": "application/json",
            "Accept": "application/zip, application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310
            content = response.read()
            disposition = response.headers.get("Content-Disposition", "")
    except urllib.error.HTTPError as error:
        print(f"Export refused: HTTP {error.code}: {_detail(error.read())}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"Cannot reach {args.url}: {error.reason}", file=sys.stderr)
        return 1
    match = _FILENAME.search(disposition)
    output = Path(args.output or (match.group(1) if match else f"trace-{args.trace_id}.tfbundle.zip"))
    output.write_bytes(content)
    print(f"Saved {output} ({len(content)} bytes)")
    return 0


def _detail(body: bytes) -> str:
    try:
        return str(json.loads(body).get("detail", body.decode(errors="replace")))
    except (ValueError, AttributeError):
        return body.decode(errors="replace")[:500]


if __name__ == "__main__":
    sys.exit(main())
