"""A real Postgres streaming replica of the test server, for the read-replica tests.

`streaming_replica()` copies the Postgres server at 127.0.0.1:5432 with `pg_basebackup -R` into a temporary
folder and runs the copy as a hot standby on a free loopback port (as the `postgres` user when the tests run as
root, since Postgres refuses to run as root). The server must accept replication connections from 127.0.0.1:
`scripts/allow_local_replication.sh` makes it do so (CI runs it; it is run here when the server refuses).
"""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from testing.servers import PROJECT_DIR, free_port

PRIMARY = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def postgres_bindir() -> Path | None:
    """The folder of the server binaries matching the primary's major version, if installed."""
    with psycopg.connect(PRIMARY, autocommit=True) as primary:
        major = int(primary.info.server_version) // 10000
    bindir = Path(f"/usr/lib/postgresql/{major}/bin")
    return bindir if (bindir / "pg_basebackup").exists() and (bindir / "postgres").exists() else None


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _primary_settings() -> dict[str, str]:
    # A hot standby refuses to start with less of these than its primary has.
    names = (
        "max_connections",
        "max_worker_processes",
        "max_wal_senders",
        "max_prepared_transactions",
        "max_locks_per_transaction",
    )
    with psycopg.connect(PRIMARY, autocommit=True) as primary:
        rows = primary.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [list(names)]).fetchall()
    return dict(rows)


@dataclass
class Replica:
    bindir: Path
    data_dir: Path
    port: int

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True)

    def start(self) -> None:
        """Start the replica if it is stopped."""
        if self.is_running():
            return
        log = self.data_dir.parent / "replica.log"
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(log), "-w", "-t", "60", "start"]
        subprocess.run(_as_postgres(pg_ctl), check=True, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
        subprocess.run(_as_postgres(pg_ctl), check=True, stdout=subprocess.DEVNULL)

    def is_running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def pause_replay(self) -> None:
        with self._connect() as replica:
            replica.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self._connect() as replica:
            replica.execute("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self, timeout: float = 60) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        with psycopg.connect(PRIMARY, autocommit=True) as primary:
            row = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + timeout
        with self._connect() as replica:
            while time.monotonic() < deadline:
                behind = replica.execute("SELECT pg_last_wal_replay_lsn() < %s::pg_lsn", [target]).fetchone()
                if behind == (False,):
                    return
                time.sleep(0.05)
        raise TimeoutError(f"the replica did not replay up to {target} within {timeout} s")


def allow_replication() -> None:
    subprocess.run([str(PROJECT_DIR / "scripts" / "allow_local_replication.sh")], check=True)


@contextmanager
def streaming_replica(bindir: Path) -> Iterator[Replica]:
    """A running hot standby of the primary; stopped and deleted on exit."""
    allow_replication()
    folder = Path(tempfile.mkdtemp(prefix="tf-replica-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data_dir = folder / "data"
    replica = Replica(bindir=bindir, data_dir=data_dir, port=free_port())
    try:
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "pg_basebackup"),
                    *("-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-D", str(data_dir)),
                    *("-R", "-X", "stream", "--checkpoint=fast", "--no-sync", "--no-manifest"),
                ]
            ),
            check=True,
        )
        # A Debian cluster keeps postgresql.conf and pg_hba.conf outside its data folder, so the copy has neither.
        settings = {
            **_primary_settings(),
            "port": str(replica.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{folder}'",
            "hot_standby": "on",
            "shared_buffers": "'32MB'",
            "fsync": "off",
        }
        (data_dir / "postgresql.conf").write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        (data_dir / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        if os.geteuid() == 0:
            for path in ("postgresql.conf", "pg_hba.conf"):
                shutil.chown(data_dir / path, "postgres")
        replica.start()
        replica.wait_caught_up()
        yield replica
    finally:
        if replica.is_running():
            replica.stop()
        shutil.rmtree(folder, ignore_errors=True)
