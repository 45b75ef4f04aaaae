"""Assignment.request_open: whether the assignment's request is open, kept by
the services with the request's status, so that an intercessor's load reads
what they carry now over an index of exactly those rows (issue 16)."""

from django.conf import settings
from django.db import migrations, models

OPEN_STATUSES = ("new", "interceding", "breakthrough")


def fill(apps, schema_editor):
    Assignment = apps.get_model("requests_app", "Assignment")
    PrayerRequest = apps.get_model("requests_app", "PrayerRequest")
    finished = PrayerRequest.objects.exclude(status__in=OPEN_STATUSES).values("pk")
    Assignment.objects.filter(prayer_request__in=finished).update(request_open=False)


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0020_languages"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="request_open",
            field=models.BooleanField(default=True, editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.AddIndex(
            model_name="assignment",
            index=models.Index(
                condition=models.Q(("released_at__isnull", True), ("request_open", True)),
                fields=["intercessor", "prayer_request"],
                name="assignment_carrying_by_user",
            ),
        ),
    ]
