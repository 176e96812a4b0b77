"""The `critical_path` part of a trace's detail: `traces.critical_path.SlownessReport` in milliseconds.

Offsets are from the trace's start (context `trace_start_unix_nano`), as the spans list gives them. At most
`MAX_SEGMENTS` segments are listed (the earliest): a path that zigzags between a parent and thousands of short
children would otherwise make the answer megabytes long; `span_ids` and the sums always cover the whole path.
"""

from typing import Any

from rest_framework import serializers

from traces.critical_path import SlownessReport
from traces.timefmt import ms_from_ns

MAX_SEGMENTS = 2000


class CriticalSegmentSerializer(serializers.Serializer):
    span_id = serializers.CharField()
    start_offset_ms = serializers.FloatField()
    end_offset_ms = serializers.FloatField()


class ContributorSerializer(serializers.Serializer):
    span_id = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    critical_ms = serializers.FloatField(help_text="The span's own time on the critical path")
    self_time_ms = serializers.FloatField()
    share = serializers.FloatField(help_text="critical_ms over the trace's duration, 0 to 1")


class CriticalPathSerializer(serializers.Serializer):
    span_ids = serializers.ListField(child=serializers.CharField(), help_text="Spans on the path, in path order")
    segments = CriticalSegmentSerializer(many=True, help_text=f"The path in time order (the first {MAX_SEGMENTS})")
    segments_truncated = serializers.BooleanField()
    self_time_ms = serializers.DictField(
        child=serializers.FloatField(), help_text="Every span's duration minus the time its children cover"
    )
    top_contributors = ContributorSerializer(many=True)
    path_ms = serializers.FloatField()
    llm_ms = serializers.FloatField()
    tool_ms = serializers.FloatField()
    own_ms = serializers.FloatField(help_text="Agent, chain and other spans' own time on the path")
    untracked_ms = serializers.FloatField(help_text="Time on the path in no span")
    retry_ms = serializers.FloatField(help_text="Failed attempts and backoff before the last retry, on the path")
    backoff_ms = serializers.FloatField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        report: SlownessReport = instance
        trace_start = self.context.get("trace_start_unix_nano", 0)
        return {
            "span_ids": report.span_ids,
            "segments": [
                {
                    "span_id": segment.span_id,
                    "start_offset_ms": ms_from_ns(segment.start - trace_start),
                    "end_offset_ms": ms_from_ns(segment.end - trace_start),
                }
                for segment in report.segments[:MAX_SEGMENTS]
            ],
            "segments_truncated": len(report.segments) > MAX_SEGMENTS,
            "self_time_ms": {span_id: ms_from_ns(nanos) for span_id, nanos in report.self_time_ns.items()},
            "top_contributors": [
                {
                    "span_id": item.span_id,
                    "name": item.name,
                    "category": item.category,
                    "critical_ms": ms_from_ns(item.critical_ns),
                    "self_time_ms": ms_from_ns(item.self_ns),
                    "share": round(item.critical_ns / report.path_ns, 4) if report.path_ns else 0.0,
                }
                for item in report.top_contributors
            ],
            "path_ms": ms_from_ns(report.path_ns),
            "llm_ms": ms_from_ns(report.llm_ns),
            "tool_ms": ms_from_ns(report.tool_ns),
            "own_ms": ms_from_ns(report.own_ns),
            "untracked_ms": ms_from_ns(report.untracked_ns),
            "retry_ms": ms_from_ns(report.retry_ns),
            "backoff_ms": ms_from_ns(report.backoff_ns),
        }
