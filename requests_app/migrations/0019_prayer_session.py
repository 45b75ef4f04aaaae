"""A prayer session ("Pray now"): per user, the choice of what to pray
through (also the team board, which categories), kept for next time, and
the session under way (the requests snapshotted at its start, how far it
has come, how many were prayed for and skipped)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0018_requester_prayer_news"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PrayerSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("include_board", models.BooleanField(default=False, verbose_name="also the team board")),
                ("categories", models.JSONField(blank=True, default=list, verbose_name="categories")),
                ("request_ids", models.JSONField(blank=True, default=list, editable=False)),
                ("position", models.PositiveIntegerField(default=0, editable=False)),
                ("prayed_count", models.PositiveIntegerField(default=0, editable=False)),
                ("skipped_count", models.PositiveIntegerField(default=0, editable=False)),
                ("started_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="prayer_session",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "prayer session",
                "verbose_name_plural": "prayer sessions",
            },
        ),
    ]
