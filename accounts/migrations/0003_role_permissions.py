"""Create the custom permissions and give the role groups theirs (also re-done after every migrate)."""

from django.db import migrations


def sync(apps, schema_editor):
    from accounts.role_permissions import sync_role_groups

    sync_role_groups(apps, schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
