from django.contrib import admin

from accounts.models import IngestKey


@admin.register(IngestKey)
class IngestKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "key_prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_prefix", "created_at", "last_used_at")
