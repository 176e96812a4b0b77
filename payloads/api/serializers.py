"""Shapes of the payload API's answers (for the OpenAPI schema and the explorer's types)."""

from rest_framework import serializers


class StoredPayloadSerializer(serializers.Serializer):
    ref = serializers.CharField()
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField()
    content_type = serializers.CharField()
    redaction_mode = serializers.CharField()
    redacted = serializers.BooleanField()


class PayloadContentSerializer(serializers.Serializer):
    ref = serializers.CharField()
    # The content hash, for those who may read the content anyway.
    sha256 = serializers.CharField()
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    redaction_mode = serializers.CharField()
    content = serializers.CharField()
