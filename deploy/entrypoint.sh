#!/usr/bin/env bash
# Entry point of the TraceFoundry image: one image, one role per container.
#   web      migrate, make sure an admin login and an ingest key exist, then serve on :8000 (Granian, tracefoundry_site/serve.py)
#   grpc     OTLP/gRPC server (traces and logs) on :${GRPC_PORT:-4317}; run `web` first (it migrates)
#   worker   Celery worker (retention and other background work)
#   beat     Celery beat (the schedule is CELERY_BEAT_SCHEDULE in settings; its state file under VAR_DIR)
#   manage   python manage.py <args>, e.g. `manage create_ingest_key collector`
#   anything else is run as a command.
set -euo pipefail

role="${1:-web}"
log_level="${LOG_LEVEL:-INFO}"

case "$role" in
  web)
    python manage.py migrate --no-input
    python manage.py bootstrap
    exec python -m tracefoundry_site.serve \
      --host 0.0.0.0 \
      --port "${PORT:-8000}" \
      --workers "${WEB_WORKERS:-2}" \
      --access-log
    ;;
  grpc)
    exec python manage.py serve_otlp_grpc --host "${GRPC_HOST:-0.0.0.0}"
    ;;
  worker)
    exec celery -A tracefoundry_site worker \
      --loglevel "$log_level" \
      --concurrency "${CELERY_WORKER_CONCURRENCY:-2}"
    ;;
  beat)
    exec celery -A tracefoundry_site beat --loglevel "$log_level"
    ;;
  manage)
    shift
    exec python manage.py "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
