"""Serve the site with Granian, as `make run`, the Docker image and the tests do: `python -m tracefoundry_site.serve`.

Why Granian (README "Web server: slow clients and bounded requests"): its connections live in a Rust (tokio/hyper)
event loop, so a slow or idle client costs a socket and a little memory, never a worker; hyper closes a connection
whose request headers are not complete within a total deadline (`WEB_HEADER_TIMEOUT_SECONDS`), and the ASGI
wrapper of tracefoundry_site/asgi_body.py bounds the body's total time and size before Django runs the view.
Gunicorn's sync workers are held by one slow socket each (measured: 200 dribbling sockets, and a plain page did not
answer in 10 s); its gevent workers and uvicorn have no header deadline; hypercorn's read timeout is per read, not
a total; nginx in front would be a second server for `make run`. Ingest throughput measured the same as gunicorn's.

Django runs each request's sync view in a thread of its own under ASGI, so Postgres connections come from a pool
(settings). Known limits: hyper caps the header timeout at 60 s; nothing kills a view that runs long (the request
limits bound the work instead). Workers are respawned if they die, and replaced when their memory stays above
`WEB_WORKER_MAX_RSS_MIB`.
"""

import argparse
import os

from granian import Granian
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracefoundry_site.settings")
    from django.conf import settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--access-log", action="store_true", help="log every request on standard output")
    parser.add_argument("--log-level", choices=[level.value for level in LogLevels], default="info")
    args = parser.parse_args()
    Granian(
        "tracefoundry_site.asgi:application",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGINL,  # Django needs no lifespan events
        # HTTP/1.1 only: hyper's header deadline applies to HTTP/1, and OTLP/HTTP clients and browsers on plain
        # http speak HTTP/1.1 (HTTP/2 without TLS needs prior knowledge).
        http=HTTPModes.http1,
        workers=args.workers,
        http1_settings=HTTP1Settings(header_read_timeout=round(settings.WEB_HEADER_TIMEOUT_SECONDS * 1000)),
        respawn_failed_workers=True,
        # A worker still busy this long after the stop signal is killed (Granian would otherwise wait forever,
        # also for a worker that was still starting when the signal came).
        workers_kill_timeout=15,
        workers_max_rss=settings.WEB_WORKER_MAX_RSS_MIB or None,
        log_access=args.access_log,
        log_level=LogLevels(args.log_level),
    ).serve()


if __name__ == "__main__":
    main()
