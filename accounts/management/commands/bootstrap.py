import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from accounts.models import IngestKey
from accounts.roles import Role

ADMIN_USERNAME = "admin"
DEFAULT_INGEST_KEY_NAME = "default"


class Command(BaseCommand):
    help = "Make sure an admin login and an ingest key exist; print their secrets on the first run only."

    def handle(self, *args: object, **options: object) -> None:
        User = get_user_model()
        if not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            admin = User.objects.create_superuser(ADMIN_USERNAME, password=password)
            admin.groups.add(Group.objects.get(name=Role.ADMIN))
            self.stdout.write(f"Admin login created: {ADMIN_USERNAME} / {password}  (shown once; change it in /admin/)")
        if not IngestKey.objects.active().exists():
            _, raw_key = IngestKey.issue(DEFAULT_INGEST_KEY_NAME)
            self.stdout.write(f"Ingest key created: {raw_key}  (shown once; send as 'Authorization: Bearer <key>')")
