"""The accounts app: roles, ingest keys, login, and the admin site's gatekeeping."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    default = True

    def ready(self) -> None:
        import accounts.schema  # noqa: F401 (registers the OpenAPI descriptions of our authentication classes)
        from accounts.role_permissions import sync_after_migrate

        post_migrate.connect(sync_after_migrate, dispatch_uid="accounts.sync_role_groups")
