"""Create the two groups that roles are made of (see requests_app.roles)."""

from django.db import migrations

GROUP_NAMES = ("Leaders", "Intercessors")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GROUP_NAMES:
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    # Only the groups themselves; memberships go with them, accounts stay.
    apps.get_model("auth", "Group").objects.filter(name__in=GROUP_NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("requests_app", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
