"""Serializers of `GET /api/traces/{trace_id}/search`."""

from rest_framework import serializers

from traces.span_search import MAX_QUERY_LENGTH


class SpanSearchParamsSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=MAX_QUERY_LENGTH, help_text="Text to find (case-insensitive)")


class SpanSearchSerializer(serializers.Serializer):
    span_ids = serializers.ListField(child=serializers.CharField(), help_text="Matching spans, in start order")
