"""Serializers of the bundles API: export options in, import results and dry-replay reports out."""

from typing import Any

from rest_framework import serializers

from bundles.format import export_options_problem
from payloads.contracts import RedactionMode


class ExportRequestSerializer(serializers.Serializer):
    include_payloads = serializers.BooleanField(required=False, default=False)
    redaction = serializers.ChoiceField(choices=RedactionMode.choices, required=False, default=RedactionMode.STRICT)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        problem = export_options_problem(attrs["include_payloads"], attrs["redaction"])
        if problem:
            raise serializers.ValidationError({"include_payloads": problem})
        return attrs


class BundleUploadSerializer(serializers.Serializer):
    bundle = serializers.FileField(help_text="The bundle zip, as exported by TraceFoundry.")


class ImportRequestSerializer(BundleUploadSerializer):
    as_new_trace = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Import under a new random trace id (returned as trace_id), even if the bundle's id is stored.",
    )


class ImportConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    trace_id = serializers.CharField()
    differences = serializers.ListField(
        child=serializers.CharField(), help_text="Spans added, removed or changed, and the summary fields that differ."
    )


class DryReplayRequestSerializer(serializers.Serializer):
    tolerance_ms = serializers.FloatField(
        required=False,
        default=1.0,
        min_value=0,
        max_value=3_600_000,
        help_text="How far a child may start before or end after its parent before it counts as a problem.",
    )


class ImportResultSerializer(serializers.Serializer):
    trace_id = serializers.CharField()
    span_count = serializers.IntegerField()
    payload_count = serializers.IntegerField()
    created = serializers.BooleanField(help_text="False when the trace was already stored (nothing changed).")
    redaction = serializers.ChoiceField(choices=RedactionMode.choices)
    payloads_included = serializers.BooleanField()
    original_trace_id = serializers.CharField(help_text="The bundle's trace id (differs with as_new_trace).")


class ReplayCheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    ok = serializers.BooleanField()
    skipped = serializers.BooleanField()
    detail = serializers.CharField()
    findings = serializers.ListField(child=serializers.CharField())


class ReplayReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    trace_id = serializers.CharField()
    subject = serializers.ChoiceField(choices=["stored", "bundle"])
    span_count = serializers.IntegerField()
    checks = ReplayCheckSerializer(many=True)
    rerun_differences = serializers.ListField(child=serializers.CharField())
