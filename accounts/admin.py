"""Admin pages of the accounts app: users with their role groups, and ingest keys (shown once, revocable).

API tokens are DRF authtoken's own admin ("Tokens"); traces and spans are in traces/admin.py.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from accounts.forms import UserWithRoleCreationForm
from accounts.models import IngestKey

admin.site.unregister(User)


@admin.register(User)
class TraceFoundryUserAdmin(UserAdmin):
    list_display = ("username", "roles", "is_superuser", "is_active", "last_login", "date_joined")
    list_filter = ("groups", "is_superuser", "is_active")
    # Pick the role while creating the user, not in a second step.
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        ("Role", {"fields": ("role",)}),
    )
    add_form = UserWithRoleCreationForm

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def roles(self, user: User) -> str:
        return ", ".join(sorted(group.name for group in user.groups.all())) or "—"


@admin.register(IngestKey)
class IngestKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "key_prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "key_prefix")
    readonly_fields = ("key_prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def get_readonly_fields(self, request: HttpRequest, obj: IngestKey | None = None) -> tuple[str, ...]:
        return () if obj is None else self.readonly_fields

    def get_fields(self, request: HttpRequest, obj: IngestKey | None = None) -> tuple[str, ...]:
        return ("name",) if obj is None else ("name", *self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: IngestKey, form: ModelForm, change: bool) -> None:
        raw_key = None if change else obj.set_new_secret()
        super().save_model(request, obj, form, change)
        if raw_key is not None:
            messages.warning(
                request,
                f"Ingest key {obj.name!r}: {raw_key} — copy it now, it is not shown again "
                "(send it as 'Authorization: Bearer <key>').",
            )

    @admin.action(description="Revoke selected ingest keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[IngestKey]) -> None:
        for key in queryset.filter(revoked_at__isnull=True):
            key.revoke()
        self.message_user(request, "Revoked; clients using these keys now get 401.", messages.SUCCESS)
