"""Without DATABASE_REPLICA_URL (and always on SQLite) the replica router changes nothing: every query, read or
write, goes to the primary and no request is marked (tracefoundry_site/db_routing.py)."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.test import Client

from testing.servers import PROJECT_DIR
from traces.models import Trace


@pytest.mark.django_db
def test_without_replicas_reads_and_writes_use_the_primary_and_set_no_cookie(viewer: User) -> None:
    client = Client()
    client.force_login(viewer)

    listed = client.get("/api/traces")
    logged_out = client.post("/accounts/logout/")

    assert listed.status_code == 200
    assert logged_out.status_code == 302
    assert "tf_read_primary" not in listed.cookies
    assert "tf_read_primary" not in logged_out.cookies
    assert Trace.objects.all().db == "default"


def test_replicas_with_sqlite_are_refused_at_start_up() -> None:
    env = {
        **os.environ,
        "SECRET_KEY": "x",
        "DATABASE_URL": "sqlite:////tmp/tf-routing-check.sqlite3",
        "DATABASE_REPLICA_URL": "postgres://postgres@127.0.0.1:5432/elsewhere",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False
    )

    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL needs a Postgres DATABASE_URL (SQLite has no replicas)." in result.stderr
