"""Tables for traces (one summary row per trace id) and spans.

Times are unix nanoseconds in BigIntegerFields so a stored span exports back to OTLP unchanged.
The trace row is a summary that `traces.ingest` updates once per ingest batch from the batch's new spans alone
(`traces.summary` says how each column folds).
"""

from decimal import Decimal

from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils import timezone

from traces import span_limits


class SpanCategory(models.TextChoices):
    AGENT = "agent"
    LLM = "llm"
    TOOL = "tool"
    RETRIEVER = "retriever"
    EMBEDDING = "embedding"
    CHAIN = "chain"
    OTHER = "other"


class TraceStatus(models.TextChoices):
    OK = "ok"
    ERROR = "error"


class TraceSource(models.TextChoices):
    OTLP = "otlp"
    BUNDLE_IMPORT = "bundle_import"


class StatusCode(models.IntegerChoices):
    UNSET = 0
    OK = 1
    ERROR = 2


_SESSION_SUM_COLUMNS = [
    "trace_id",
    "end_unix_nano",
    "status",
    "span_count",
    "error_count",
    "retry_count",
    "timeout_count",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
]


class Trace(models.Model):
    # On Postgres `traces` is partitioned by day of `ingested_at` (migration 0013): its primary key there is
    # (trace_id, ingested_at), and `trace_keys` keeps trace ids unique (`traces.ingest`).
    trace_id = models.CharField(max_length=32, primary_key=True)
    service = models.CharField(max_length=255, blank=True, default="")
    environment = models.CharField(max_length=255, blank=True, default="")
    root_span_id = models.CharField(max_length=16, blank=True, default="")
    root_span_name = models.CharField(max_length=1024, blank=True, default="")
    # The span the trace is named after (its root, else its earliest span): what a batch compares its spans with.
    top_span_id = models.CharField(max_length=16, blank=True, default="")
    start_unix_nano = models.BigIntegerField(default=0)
    end_unix_nano = models.BigIntegerField(default=0)
    duration_ns = models.BigIntegerField(default=0)
    status = models.CharField(max_length=8, choices=TraceStatus.choices, default=TraceStatus.OK)
    span_count = models.IntegerField(default=0)
    error_count = models.IntegerField(default=0)
    llm_call_count = models.IntegerField(default=0)
    tool_call_count = models.IntegerField(default=0)
    retry_count = models.IntegerField(default=0)
    timeout_count = models.IntegerField(default=0)
    orphan_count = models.IntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal(0))
    # The conversation the trace is a turn of (`settings.SESSION_ID_ATTRIBUTES`), set by the first batch naming one.
    session_id = models.CharField(max_length=255, blank=True, default="")
    # The end user the trace ran for (`settings.USER_ID_ATTRIBUTES`), set by the first batch naming one; in strict
    # mode an email address or phone number used as the id is stored masked, as on the span.
    user_id = models.CharField(max_length=255, blank=True, default="")
    models_used = models.JSONField(default=list)
    tools_used = models.JSONField(default=list)
    # The same names one a line, as plain text: the model and tool filters match substrings of these (on Postgres
    # through trigram indexes, migration 0010), not of the lists' JSON with its quotes and escapes.
    models_text = models.TextField(blank=True, default="")
    tools_text = models.TextField(blank=True, default="")
    # Spans (and failed spans) per service and spans per environment name: the trace's service when its top span
    # names none, and the per-service breakdown without reading the spans.
    service_span_counts = models.JSONField(default=dict)
    service_error_counts = models.JSONField(default=dict)
    environment_span_counts = models.JSONField(default=dict)
    # Distinct words (trace id, span names, models, tools, attribute values) for the free-text filter, one a line.
    search_text = models.TextField(blank=True, default="")
    # The first word that did not fit in search_text: words sorting after it stay out, whatever order they came in.
    search_text_left_out = models.TextField(blank=True, default="")
    source = models.CharField(max_length=16, choices=TraceSource.choices, default=TraceSource.OTLP)
    ingested_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When the last new span arrived: what retention dates a trace by (its spans' own times are the sender's word).
    last_ingested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "traces"
        indexes = [
            # Also the dashboards' trace figures and the look-ups of a day drop (on Postgres, from the index alone:
            # no visit to the wide rows).
            models.Index(
                fields=["start_unix_nano", "trace_id"],
                name="traces_newest_idx",
                include=[
                    "duration_ns",
                    "status",
                    "span_count",
                    "total_tokens",
                    "cost_usd",
                    "service",
                    "end_unix_nano",
                    "last_ingested_at",
                ],
            ),
            models.Index(fields=["duration_ns", "trace_id"], name="traces_slowest_idx"),
            models.Index(fields=["cost_usd", "trace_id"], name="traces_costliest_idx"),
            models.Index(fields=["total_tokens", "trace_id"], name="traces_most_tokens_idx"),
            models.Index(fields=["service", "start_unix_nano"], name="traces_service_idx"),
            models.Index(fields=["environment", "start_unix_nano"], name="traces_environment_idx"),
            models.Index(fields=["status", "start_unix_nano"], name="traces_status_idx"),
            models.Index(fields=["last_ingested_at", "trace_id"], name="traces_retention_idx"),
            # Dashboards of a time range with trace filters: the traces still running at the range's start.
            models.Index(fields=["end_unix_nano"], name="traces_ending_idx"),
            # Also the sessions list's sums (on Postgres, from the index alone, already grouped by session).
            models.Index(
                fields=["session_id", "start_unix_nano"],
                name="traces_session_turns_idx",
                condition=~models.Q(session_id=""),
                include=_SESSION_SUM_COLUMNS,
            ),
            models.Index(
                fields=["user_id", "start_unix_nano"],
                name="traces_user_idx",
                condition=~models.Q(user_id=""),
            ),
        ]
        constraints = [
            # Length and a character class rather than one anchored regex: Postgres checks it several times faster.
            models.CheckConstraint(
                condition=models.Q(Exact(Length("trace_id"), 32)) & ~models.Q(trace_id__regex=r"[^0-9a-f]"),
                name="traces_trace_id_hex",
            ),
            # Sums saturate at these (`traces.span_limits`): a read never meets a value it cannot convert.
            models.CheckConstraint(
                condition=models.Q(
                    input_tokens__range=(0, span_limits.MAX_TRACE_TOKENS),
                    output_tokens__range=(0, span_limits.MAX_TRACE_TOKENS),
                    total_tokens__range=(0, span_limits.MAX_TRACE_TOKENS),
                    cost_usd__range=(0, span_limits.MAX_TRACE_COST_USD),
                    retry_count__range=(0, span_limits.MAX_TRACE_RETRIES),
                ),
                name="traces_totals_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trace_id} {self.root_span_name}"


_METRIC_COLUMNS = ["duration_ns", "status_code", "trace", "retry_count", "is_timeout", "total_tokens", "cost_usd"]


class Span(models.Model):
    # No index of its own: spans_trace_span_start_unique (trace_id, span_id, start) serves every lookup by trace.
    # No database constraint either: checking it costs every inserted span a lookup at commit, ingest already
    # creates (and locks) the trace row before inserting its spans (`traces.ingest`), and on Postgres `spans` is
    # partitioned, which a foreign key could not name. Deletes cascade through the ORM.
    trace = models.ForeignKey(
        Trace,
        on_delete=models.CASCADE,
        related_name="spans",
        db_column="trace_id",
        db_index=False,
        db_constraint=False,
    )
    span_id = models.CharField(max_length=16)
    parent_span_id = models.CharField(max_length=16, blank=True, default="")
    name = models.CharField(max_length=1024)
    kind = models.SmallIntegerField(default=0)
    category = models.CharField(max_length=16, choices=SpanCategory.choices, default=SpanCategory.OTHER)
    service = models.CharField(max_length=255, blank=True, default="")
    environment = models.CharField(max_length=255, blank=True, default="")
    start_unix_nano = models.BigIntegerField()
    end_unix_nano = models.BigIntegerField()
    duration_ns = models.BigIntegerField()
    status_code = models.SmallIntegerField(choices=StatusCode.choices, default=StatusCode.UNSET)
    status_message = models.TextField(blank=True, default="")
    trace_state = models.TextField(blank=True, default="")
    flags = models.BigIntegerField(default=0)
    attributes = models.JSONField(default=dict)
    resource_attributes = models.JSONField(default=dict)
    events = models.JSONField(default=list)
    links = models.JSONField(default=list)
    # Instrumentation scope and the dropped-* counters and schema URLs, kept so the span exports back unchanged.
    scope = models.JSONField(default=dict)
    otlp_extra = models.JSONField(default=dict)
    operation_name = models.CharField(max_length=64, blank=True, default="")
    model = models.CharField(max_length=255, blank=True, default="")
    provider = models.CharField(max_length=64, blank=True, default="")
    tool_name = models.CharField(max_length=255, blank=True, default="")
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal(0))
    retry_count = models.IntegerField(default=0)
    is_timeout = models.BooleanField(default=False)

    class Meta:
        db_table = "spans"
        constraints = [
            # With the start time because on Postgres spans are partitioned by it (`traces.partitions`), and a
            # partitioned table's unique indexes must hold its partition key. A re-sent span (same start) is still
            # refused here; ingest checks the (trace_id, span_id) keys stored under the trace's row lock.
            models.UniqueConstraint(
                fields=["trace", "span_id", "start_unix_nano"], name="spans_trace_span_start_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(Exact(Length("span_id"), 16)) & ~models.Q(span_id__regex=r"[^0-9a-f]"),
                name="spans_span_id_hex",
            ),
            models.CheckConstraint(
                condition=models.Q(end_unix_nano__gte=models.F("start_unix_nano")), name="spans_end_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    input_tokens__range=(0, span_limits.MAX_TOKENS),
                    output_tokens__range=(0, span_limits.MAX_TOKENS),
                    total_tokens__range=(0, span_limits.MAX_TOKENS),
                    cost_usd__range=(0, span_limits.MAX_COST_USD),
                    retry_count__range=(0, span_limits.MAX_RETRIES),
                ),
                name="spans_mapped_values_in_range",
            ),
        ]
        # The model and tool indexes hold only the spans that have one (LLM and tool calls: a fraction of all
        # spans, so cheaper to keep at ingest than full ones) and, on Postgres, the columns the dashboards'
        # per-model and per-tool figures read, so those are answered from the index alone.
        indexes = [
            models.Index(fields=["span_id"], name="spans_by_span_id_idx"),
            # Ingest counts the stored orphans a new span adopts; the spans API walks children in start order.
            models.Index(fields=["trace", "parent_span_id", "start_unix_nano", "span_id"], name="spans_children_idx"),
            models.Index(
                fields=["model", "start_unix_nano"],
                name="spans_model_metrics_idx",
                condition=~models.Q(model=""),
                include=_METRIC_COLUMNS,
            ),
            models.Index(
                fields=["tool_name", "start_unix_nano"],
                name="spans_tool_metrics_idx",
                condition=~models.Q(tool_name=""),
                include=_METRIC_COLUMNS,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trace_id}/{self.span_id} {self.name}"


class SpanLogRecord(models.Model):
    """A log record received for a span (`/otlp/v1/logs`): pending until its span is stored, then attached.

    Pending, it holds the record as a redacted span event (`event`, its content already moved to the payload
    store, the blob's ref in `payload_*`); attached, only its key stays, so a re-sent record is recognised and
    never attached twice. Plain trace and span ids, no relation: a pending record's span (even its trace) may not
    exist yet. `traces.log_ingest` writes and attaches; retention deletes them with their trace, and pending ones
    past OTLP_LOGS_PENDING_MINUTES.
    """

    trace_id = models.CharField(max_length=32)
    span_id = models.CharField(max_length=16)
    # A keyed hash (HMAC with SECRET_KEY) of the record's canonical bytes: its identity, and no clue to its content.
    record_key = models.CharField(max_length=64)
    event = models.JSONField(null=True)
    payload_role = models.CharField(max_length=64, blank=True, default="")
    payload_attribute = models.CharField(max_length=255, blank=True, default="")
    payload_sha256 = models.CharField(max_length=64, blank=True, default="")
    received_at = models.DateTimeField()
    attached_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "span_log_records"
        constraints = [
            models.UniqueConstraint(fields=["trace_id", "span_id", "record_key"], name="span_log_records_unique"),
        ]
        indexes = [
            # Every span batch asks for the pending records of its traces: only pending rows are indexed.
            models.Index(
                fields=["trace_id"], condition=models.Q(attached_at__isnull=True), name="span_log_records_pending_idx"
            ),
            models.Index(
                fields=["received_at"],
                condition=models.Q(attached_at__isnull=True),
                name="span_log_records_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trace_id}/{self.span_id} log record {self.record_key[:12]}"
