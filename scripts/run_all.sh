#!/usr/bin/env bash
# `make run`: the Celery worker (with beat embedded, -B) and the OTLP/gRPC server (GRPC_PORT, default 4317) in the
# background beside the web server (Granian, tracefoundry_site/serve.py) in the foreground.
# Ctrl-C (INT) or TERM stops all three, and this script waits for them to exit.
# Without REDIS_URL the worker uses the embedded filesystem broker under VAR_DIR: no server needed.
# Usage: scripts/run_all.sh HOST PORT WEB_WORKERS   (run from the repository root, venv in .venv)
set -euo pipefail
cd "$(dirname "$0")/.."

host="${1:-127.0.0.1}"
port="${2:-8000}"
web_workers="${3:-2}"
venv=".venv/bin"

"$venv/celery" -A tracefoundry_site worker --beat --loglevel INFO --concurrency 1 &
worker_pid=$!
"$venv/python" -m tracefoundry_site.serve --host "$host" --port "$port" --workers "$web_workers" --access-log &
web_pid=$!
"$venv/python" manage.py serve_otlp_grpc --host "$host" &
grpc_pid=$!

stop() {
  trap - INT TERM
  kill -TERM "$web_pid" "$worker_pid" "$grpc_pid" 2>/dev/null || true
  wait "$web_pid" "$worker_pid" "$grpc_pid" 2>/dev/null || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

# Whichever stops first (a crash, or a signal), stop the other too.
set +e
wait -n "$web_pid" "$worker_pid" "$grpc_pid"
status=$?
set -e
stop
exit "$status"
