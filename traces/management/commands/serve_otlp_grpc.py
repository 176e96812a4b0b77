"""`manage.py serve_otlp_grpc`: serve OTLP/gRPC (traces and logs) until INT or TERM (`traces.otlp_grpc`)."""

import signal
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from traces.otlp_grpc import build_server

_GRACE_SECONDS = 10


class Command(BaseCommand):
    help = "Serve OTLP/gRPC TraceService and LogsService on GRPC_HOST:GRPC_PORT (default 127.0.0.1:4317)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=settings.GRPC_HOST, help="address to listen on (GRPC_HOST)")
        parser.add_argument("--port", type=int, default=settings.GRPC_PORT, help="port (GRPC_PORT)")
        parser.add_argument("--workers", type=int, default=settings.GRPC_WORKERS, help="threads (GRPC_WORKERS)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            server, port = build_server(options["host"], options["port"], options["workers"])
        except RuntimeError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}") from exc

        def stop(signum: int, frame: FrameType | None) -> None:
            # In-flight exports finish (their batch is committed or not at all); new calls are refused.
            server.stop(_GRACE_SECONDS)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        server.start()
        self.stdout.write(f"OTLP/gRPC listening on {options['host']}:{port}", ending="\n")
        self.stdout.flush()
        server.wait_for_termination()
