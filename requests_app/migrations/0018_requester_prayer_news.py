"""The requester sees the prayer (issue 14), written by hand: the weekly
e-mail of how often the team prayed for a request.

`wants_prayer_news` is on for every request, old ones too: it only matters
for a requester who asked for updates, who stops it from the follow-up page.
`prayer_news_sent_at` is when the last one was written (null: never), so
`send_reminders` writes at most one a week.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0017_undo_moves"),
    ]

    operations = [
        migrations.AddField(
            model_name="prayerrequest",
            name="wants_prayer_news",
            field=models.BooleanField(default=True, editable=False, verbose_name="weekly prayer news"),
        ),
        migrations.AddField(
            model_name="prayerrequest",
            name="prayer_news_sent_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="weekly prayer news sent"),
        ),
    ]
