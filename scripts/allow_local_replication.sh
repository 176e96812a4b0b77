#!/usr/bin/env bash
# Lets the Postgres server at 127.0.0.1:5432 (on this machine) accept replication connections from 127.0.0.1 with
# the same trust rule as its other local connections, so the tests can make a streaming replica of it with
# `pg_basebackup -R` (testing/replica.py). One-time and idempotent; `.ci/run` calls it, and so does the replica
# fixture when the server refuses a replication connection. Needs write access to the server's pg_hba.conf (root
# or the postgres user); wal_level=replica and max_wal_senders>0 are already Postgres' defaults.
set -euo pipefail
PSQL=(psql -h 127.0.0.1 -p 5432 -U postgres -X -q -At)
probe() { psql "host=127.0.0.1 port=5432 user=postgres dbname=postgres replication=true" -X -q -c IDENTIFY_SYSTEM >/dev/null 2>&1; }
probe && exit 0
hba_file="$("${PSQL[@]}" -c 'SHOW hba_file')"
echo "host replication all 127.0.0.1/32 trust  # added by scripts/allow_local_replication.sh" >>"$hba_file"
"${PSQL[@]}" -c 'SELECT pg_reload_conf()' >/dev/null
for _ in $(seq 1 20); do probe && exit 0; sleep 0.25; done
echo "Postgres still refuses replication connections from 127.0.0.1 (see $hba_file)" >&2
exit 1
