"""Shapes of the accounts API (`GET /api/me`)."""

from rest_framework import serializers

from accounts.roles import Role


class MePermissionsSerializer(serializers.Serializer):
    view_traces = serializers.BooleanField()
    read_payload_content = serializers.BooleanField()
    export_bundles = serializers.BooleanField()
    export_with_payloads = serializers.BooleanField()
    export_unredacted = serializers.BooleanField()
    import_bundles = serializers.BooleanField()
    dry_replay = serializers.BooleanField()
    admin_site = serializers.BooleanField()


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices, allow_null=True)
    is_superuser = serializers.BooleanField()
    permissions = MePermissionsSerializer()
