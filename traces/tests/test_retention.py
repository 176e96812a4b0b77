"""Metadata retention: what is deleted, in bounded batches, by the use case, the command and the Celery tasks.

The worker tests run the real `celery` command in a subprocess against the test database: once with Redis as
the broker (db 5 of the local Redis, a queue of its own per test) and once with the embedded filesystem broker
and beat, as `make run` starts them.
"""

import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from payloads.retention import unix_nanos
from testing.factories import SpanSpec, export_request, new_span_id, new_trace_id
from testing.servers import database_url
from traces import ingest, retention
from traces.ingest import ingest_request
from traces.models import Span, Trace

PROJECT_DIR = Path(__file__).resolve().parents[2]
REDIS_TEST_URL = "redis://127.0.0.1:6379/5"
DAY_NS = 86_400 * 1_000_000_000
MINUTE_NS = 60 * 1_000_000_000


def ingest_trace(start_ns: int, span_count: int = 3) -> str:
    """One trace: a root span at `start_ns` and children starting one millisecond apart after it, as if
    ingested when it ran (retention dates a trace by when its spans last arrived)."""
    trace_id, root = new_trace_id(), new_span_id()
    specs = [SpanSpec(trace_id, root, "invoke_agent planner", start_ns=start_ns, duration_ns=50_000_000)]
    specs += [
        SpanSpec(
            trace_id,
            new_span_id(),
            f"step {i}",
            root,
            start_ns + (i + 1) * 1_000_000,
            1_000_000,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 5,
            },
        )
        for i in range(span_count - 1)
    ]
    ingest_request(export_request(specs))
    Trace.objects.filter(trace_id=trace_id).update(last_ingested_at=datetime.fromtimestamp(start_ns / 1e9, tz=UTC))
    return trace_id


def summary(trace_id: str) -> tuple:
    t = Trace.objects.get(trace_id=trace_id)
    return (
        t.span_count,
        t.llm_call_count,
        t.input_tokens,
        t.output_tokens,
        t.start_unix_nano,
        t.end_unix_nano,
        t.root_span_name,
    )


@pytest.fixture
def now_ns() -> int:
    return unix_nanos(timezone.now())


@pytest.mark.django_db
class TestExpireTraceMetadata:
    def test_deletes_exactly_the_traces_past_their_age(self, now_ns: int) -> None:
        now = timezone.now()
        cutoff_ns = unix_nanos(now - timedelta(days=7))
        old = ingest_trace(now_ns - 30 * DAY_NS)
        just_old = ingest_trace(cutoff_ns - MINUTE_NS)
        just_young = ingest_trace(cutoff_ns + MINUTE_NS)
        young = ingest_trace(now_ns - DAY_NS)
        kept_summaries = {t: summary(t) for t in (just_young, young)}

        result = retention.expire_trace_metadata(now=now, days=7)

        assert (result.traces_deleted, result.spans_deleted, result.dry_run) == (2, 6, False)
        assert set(Trace.objects.values_list("trace_id", flat=True)) == {just_young, young}
        assert not Span.objects.filter(trace_id__in=[old, just_old]).exists()
        assert Span.objects.count() == 6
        assert {t: summary(t) for t in (just_young, young)} == kept_summaries

    def test_reads_age_and_batch_size_from_settings(self, settings, now_ns: int) -> None:
        settings.RETENTION_METADATA_DAYS = 2
        settings.RETENTION_BATCH_SIZE = 2
        three_days = [ingest_trace(now_ns - 3 * DAY_NS, span_count=1) for _ in range(3)]
        one_day = ingest_trace(now_ns - DAY_NS, span_count=1)

        result = retention.expire_trace_metadata()

        assert (result.traces_deleted, result.spans_deleted, result.batches) == (3, 3, 2)
        assert not Trace.objects.filter(trace_id__in=three_days).exists()
        assert Trace.objects.filter(trace_id=one_day).exists()

    def test_a_trace_larger_than_a_batch_is_trimmed_newest_first_with_a_right_summary(self, now_ns: int) -> None:
        big = ingest_trace(now_ns - 10 * DAY_NS, span_count=5)
        root_start = Trace.objects.get(trace_id=big).start_unix_nano

        first = retention.expire_trace_metadata(days=7, batch_size=3, max_batches=1)

        assert (first.traces_deleted, first.spans_deleted) == (0, 3)
        remaining = list(Span.objects.filter(trace_id=big).order_by("start_unix_nano").values_list("name", flat=True))
        assert remaining == ["invoke_agent planner", "step 0"]
        trace = Trace.objects.get(trace_id=big)
        assert (trace.span_count, trace.llm_call_count, trace.input_tokens, trace.start_unix_nano) == (
            2,
            1,
            10,
            root_start,
        )

        rest = retention.expire_trace_metadata(days=7, batch_size=3)

        assert (rest.traces_deleted, rest.spans_deleted) == (1, 2)
        assert not Trace.objects.filter(trace_id=big).exists()
        assert not Span.objects.filter(trace_id=big).exists()

    def test_a_span_dated_1970_does_not_make_a_fresh_trace_expire(self, now_ns: int) -> None:
        trace_id = new_trace_id()
        ingest_request(export_request([SpanSpec(trace_id, new_span_id(), "agent run", start_ns=now_ns)]))
        ingest_request(export_request([SpanSpec(trace_id, new_span_id(), "outlier", start_ns=1_000_000_000)]))
        assert Trace.objects.get(trace_id=trace_id).start_unix_nano == 1_000_000_000

        due = retention.expire_trace_metadata(days=7, dry_run=True)
        result = retention.expire_trace_metadata(days=7)

        assert (due.traces_deleted, result.traces_deleted) == (0, 0)
        assert Span.objects.filter(trace_id=trace_id).count() == 2

    def test_a_trace_lives_as_long_as_new_spans_arrive(self, now_ns: int) -> None:
        trace_id = ingest_trace(now_ns - 30 * DAY_NS, span_count=1)
        ingest_request(export_request([SpanSpec(trace_id, new_span_id(), "late step", start_ns=now_ns - 30 * DAY_NS)]))
        resent = retention.expire_trace_metadata(days=7)
        assert (resent.traces_deleted, Span.objects.filter(trace_id=trace_id).count()) == (0, 2)

        a_month_later = timezone.now() + timedelta(days=30)
        assert retention.expire_trace_metadata(now=a_month_later, days=7).traces_deleted == 1

    def test_a_re_sent_batch_does_not_keep_a_trace_alive(self, now_ns: int) -> None:
        trace_id, span_id = new_trace_id(), new_span_id()
        request = export_request([SpanSpec(trace_id, span_id, "agent run", start_ns=now_ns - 30 * DAY_NS)])
        ingest_request(request)
        Trace.objects.filter(trace_id=trace_id).update(last_ingested_at=timezone.now() - timedelta(days=8))

        ingest_request(request)

        assert retention.expire_trace_metadata(days=7).traces_deleted == 1

    def test_dry_run_counts_and_deletes_nothing(self, now_ns: int) -> None:
        ingest_trace(now_ns - 8 * DAY_NS, span_count=4)
        ingest_trace(now_ns - DAY_NS)

        result = retention.expire_trace_metadata(days=7, dry_run=True)

        assert (result.traces_deleted, result.spans_deleted, result.dry_run) == (1, 4, True)
        assert (Trace.objects.count(), Span.objects.count()) == (2, 7)


@pytest.mark.django_db
class TestRunRetentionCommand:
    def test_dry_run_prints_counts_and_keeps_everything(self, settings, now_ns: int) -> None:
        settings.RETENTION_METADATA_DAYS = 7
        ingest_trace(now_ns - 9 * DAY_NS, span_count=2)
        out = io.StringIO()

        call_command("run_retention", "--dry-run", stdout=out)

        assert "traces older than 7 days" in out.getvalue()
        assert "would delete 1 traces, 2 spans" in out.getvalue()
        assert Trace.objects.count() == 1

    def test_run_deletes_and_prints_counts(self, settings, now_ns: int) -> None:
        settings.RETENTION_METADATA_DAYS = 7
        ingest_trace(now_ns - 9 * DAY_NS, span_count=2)
        young = ingest_trace(now_ns)
        out = io.StringIO()

        call_command("run_retention", stdout=out)

        assert "deleted 1 traces, 2 spans" in out.getvalue()
        assert list(Trace.objects.values_list("trace_id", flat=True)) == [young]


class TestCeleryConfiguration:
    def test_beat_schedule_runs_retention_and_partition_tasks_every_interval(self) -> None:
        from tracefoundry_site.celery import app

        app.loader.import_default_modules()
        schedule = app.conf.beat_schedule
        tasks = {entry["task"]: entry["schedule"] for entry in schedule.values()}
        interval = settings.RETENTION_INTERVAL_MINUTES * 60
        assert tasks == {
            "traces.tasks.expire_trace_metadata": interval,
            "payloads.tasks.expire_payloads": interval,
            "traces.tasks.create_span_partitions": settings.SPAN_PARTITION_INTERVAL_MINUTES * 60,
        }
        assert set(tasks) <= set(app.tasks)
        assert app.conf.beat_schedule_filename.startswith(str(settings.VAR_DIR))

    def test_redis_url_selects_redis_and_no_setting_selects_the_embedded_broker(self, tmp_path: Path) -> None:
        show = (
            "from tracefoundry_site.celery import app; "
            "print(app.conf.broker_url, app.conf.broker_transport_options.get('data_folder_in', '-'))"
        )
        base = {**os.environ, "SECRET_KEY": "test", "VAR_DIR": str(tmp_path)}

        with_redis = subprocess.run(
            [sys.executable, "-c", show],
            env={**base, "REDIS_URL": REDIS_TEST_URL},
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
        embedded = subprocess.run(
            [sys.executable, "-c", show],
            env={**base, "REDIS_URL": ""},
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        )

        assert with_redis.stdout.split() == [REDIS_TEST_URL, "-"]
        assert embedded.stdout.split() == ["filesystem://", str(tmp_path / "celery-broker" / "queue")]
        assert (tmp_path / "celery-broker" / "control").is_dir()


@contextmanager
def celery_process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run `celery -A tracefoundry_site <args>` against the test database; stop it on exit."""
    full_env = {
        **os.environ,
        "SECRET_KEY": "test",
        "DEBUG": "0",
        "DATABASE_URL": database_url(connection.settings_dict),
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tracefoundry_site", *args, "--loglevel=INFO"],
            cwd=PROJECT_DIR,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


def wait_for(condition: Callable[[], bool], seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.25)


@pytest.mark.django_db(transaction=True)
class TestWorkers:
    def test_worker_on_redis_runs_the_retention_task(self, tmp_path: Path, now_ns: int) -> None:
        old = ingest_trace(now_ns - 8 * DAY_NS, span_count=3)
        young = ingest_trace(now_ns - 6 * DAY_NS)
        queue = f"retention-test-{uuid.uuid4().hex}"
        client = Celery("retention-test-client", broker=REDIS_TEST_URL, backend=REDIS_TEST_URL)
        env = {
            "REDIS_URL": REDIS_TEST_URL,
            "CELERY_RESULT_BACKEND": REDIS_TEST_URL,
            "VAR_DIR": str(tmp_path),
            "RETENTION_METADATA_DAYS": "7",
        }

        with celery_process(
            ["worker", "--pool=solo", "-Q", queue, "--without-mingle", "--without-gossip"],
            env,
            tmp_path / "worker.log",
        ):
            result = client.send_task("traces.tasks.expire_trace_metadata", queue=queue).get(timeout=90)

        assert (result["traces_deleted"], result["spans_deleted"]) == (1, 3)
        assert list(Trace.objects.values_list("trace_id", flat=True)) == [young]
        assert not Span.objects.filter(trace_id=old).exists()

    def test_beat_on_redis_schedules_retention_and_the_worker_runs_it(self, tmp_path: Path, now_ns: int) -> None:
        old = ingest_trace(now_ns - 8 * DAY_NS, span_count=2)
        young = ingest_trace(now_ns - 6 * DAY_NS)
        env = {
            "REDIS_URL": REDIS_TEST_URL,
            "VAR_DIR": str(tmp_path),
            "RETENTION_METADATA_DAYS": "7",
            "RETENTION_INTERVAL_MINUTES": "0.02",
        }
        log = tmp_path / "redis-worker-beat.log"

        with celery_process(["worker", "--beat", "--pool=solo", "--without-mingle", "--without-gossip"], env, log):
            wait_for(lambda: not Trace.objects.filter(trace_id=old).exists(), 90, log)

        assert list(Trace.objects.values_list("trace_id", flat=True)) == [young]
        assert ".> transport:   redis://" in log.read_text()

    def test_embedded_broker_worker_and_beat_expire_on_schedule_without_any_server(
        self, tmp_path: Path, now_ns: int
    ) -> None:
        old = ingest_trace(now_ns - 8 * DAY_NS, span_count=2)
        young = ingest_trace(now_ns - 6 * DAY_NS)
        env = {
            "REDIS_URL": "",
            "CELERY_RESULT_BACKEND": "",
            "VAR_DIR": str(tmp_path),
            "RETENTION_METADATA_DAYS": "7",
            "RETENTION_INTERVAL_MINUTES": "0.02",
        }
        log = tmp_path / "worker-beat.log"

        with celery_process(["worker", "--beat", "--pool=solo"], env, log):
            wait_for(lambda: not Trace.objects.filter(trace_id=old).exists(), 90, log)

        assert list(Trace.objects.values_list("trace_id", flat=True)) == [young]
        assert not Span.objects.filter(trace_id=old).exists()
        assert list(tmp_path.glob("celerybeat-schedule*"))
        assert "traces.tasks.expire_trace_metadata" in log.read_text()


@pytest.mark.django_db
def test_a_trace_row_retention_deletes_while_a_batch_is_being_written_is_created_again(monkeypatch) -> None:
    """Retention deleting the trace row between ingest's insert and its lock must not leave spans without it."""
    trace_id = ingest_trace(unix_nanos(timezone.now()), span_count=2)
    more = SpanSpec(trace_id, new_span_id(), "late step", start_ns=unix_nanos(timezone.now()))
    create_rows = ingest._create_missing_traces
    calls = []

    def create_then_lose_the_row(trace_ids, source):
        create_rows(trace_ids, source)
        calls.append(len(trace_ids))
        if len(calls) == 1:
            retention._delete_traces([trace_id])  # what an expiry batch does, committed in between

    monkeypatch.setattr(ingest, "_create_missing_traces", create_then_lose_the_row)
    ingest_request(export_request([more]))

    assert calls == [1, 1]
    assert Trace.objects.get(trace_id=trace_id).span_count == 1
    assert list(Span.objects.filter(trace_id=trace_id).values_list("name", flat=True)) == ["late step"]
