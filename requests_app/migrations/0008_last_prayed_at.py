"""The coverage gap kept on the request (issue 6), written by hand.

`last_prayed_at` (the latest prayer) and `entered_intercession_at` (the last
move into intercession) were a MAX over the prayer log and over the story
for every active request, read by the coverage page, my assignments, the
board and the dashboard: at ten million prayers that grew with the log. They
are filled here, in one pass over the requests, from the log and the story,
then kept by `services.log_prayer` and `services._apply_move`. The coverage
page's order, COALESCE(last prayer, entered intercession, submitted), gets a
partial index over the active requests, so a page of the longest gaps is one
index range, however many requests are active; on PostgreSQL it includes the
three columns, so the dashboard counts the gaps from the index alone.
"""

from django.db import migrations, models
from django.db.models.functions import Coalesce

BACKFILL = """
UPDATE requests_app_prayerrequest
SET last_prayed_at = (
        SELECT MAX(prayer.prayed_at) FROM requests_app_prayerlog prayer
        WHERE prayer.prayer_request_id = requests_app_prayerrequest.id
    ),
    entered_intercession_at = (
        SELECT MAX(entry.created_at) FROM requests_app_statusupdate entry
        WHERE entry.prayer_request_id = requests_app_prayerrequest.id
        AND entry.kind = 'move' AND entry.to_status = 'interceding'
    )
"""


def lift_statement_timeout(apps, schema_editor):
    # Filling a million requests from ten million prayers takes longer than
    # the app's statement timeout (DATABASE_STATEMENT_TIMEOUT, meant for
    # pages): lifted for this migration's transaction only.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL statement_timeout = 0")


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0007_performance_indexes"),
    ]

    operations = [
        migrations.RunPython(lift_statement_timeout, lift_statement_timeout, elidable=True),
        migrations.AddField(
            model_name="prayerrequest",
            name="last_prayed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="last prayed for"),
        ),
        migrations.AddField(
            model_name="prayerrequest",
            name="entered_intercession_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="entered intercession"),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop, elidable=True),
        migrations.AddIndex(
            model_name="prayerrequest",
            index=models.Index(
                Coalesce("last_prayed_at", "entered_intercession_at", "created_at"),
                models.F("id"),
                condition=models.Q(("status__in", ("interceding", "breakthrough"))),
                include=("last_prayed_at", "entered_intercession_at", "created_at"),
                name="prayer_coverage_order",
            ),
        ),
    ]
