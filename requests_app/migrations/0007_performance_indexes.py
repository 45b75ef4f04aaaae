"""Indexes for a million requests (issue 6), written by hand.

The lists page by keyset (requests_app/keyset.py), so each needs an index in
exactly its order, ending with the id: triage and the board (`NOT is_urgent`,
created_at, id), every request newest first (created_at, id), and by status.
My history pages my prayers by (prayed_at, id) and my journal by (created_at,
id); the team page pages the intercessors by name; the dashboard counts
prayers by week over a range of prayed_at. An intercessor's load (active
assignments on open requests) checks "open" in a small partial index.

On PostgreSQL the text search of the list of requests (`icontains` on the
title, for whom and the details) gets trigram indexes, so a search that finds
little does not read the whole table; SQLite keeps its plain scan.
"""

import django.db.models.expressions
from django.db import migrations, models

SEARCHED_COLUMNS = ("title", "for_whom", "details")


def _trigram_index(column: str) -> str:
    return f"prayer_search_{column}"


def lift_statement_timeout(apps, schema_editor):
    # Building these indexes over ten million prayers takes longer than the
    # app's statement timeout (DATABASE_STATEMENT_TIMEOUT, meant for pages):
    # lifted for this migration's transaction only.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL statement_timeout = 0")


def add_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in SEARCHED_COLUMNS:
        # UPPER(...) because that is what Django's icontains compares on PostgreSQL.
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {_trigram_index(column)} ON requests_app_prayerrequest "
            f"USING gin (UPPER({column}) gin_trgm_ops)"
        )


def remove_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED_COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {_trigram_index(column)}")


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0006_notification_preferences"),
    ]

    operations = [
        migrations.RunPython(lift_statement_timeout, lift_statement_timeout, elidable=True),
        # Replaced by the keyset orders below.
        migrations.RemoveIndex(model_name="prayerrequest", name="prayer_status_urgency_age"),
        migrations.RemoveIndex(model_name="prayerrequest", name="prayer_board_urgency_age"),
        migrations.RemoveIndex(model_name="prayerlog", name="prayer_log_by_intercessor"),
        migrations.AddIndex(
            model_name="prayerrequest",
            index=models.Index(
                django.db.models.expressions.NegatedExpression(models.F("is_urgent")),
                models.F("created_at"),
                models.F("id"),
                condition=models.Q(("status", "new")),
                name="prayer_triage_order",
            ),
        ),
        migrations.AddIndex(
            model_name="prayerrequest",
            index=models.Index(
                django.db.models.expressions.NegatedExpression(models.F("is_urgent")),
                models.F("created_at"),
                models.F("id"),
                condition=models.Q(("is_confidential", False), ("status__in", ("new", "interceding", "breakthrough"))),
                name="prayer_board_order",
            ),
        ),
        migrations.AddIndex(
            model_name="prayerrequest",
            index=models.Index(fields=["created_at", "id"], name="prayer_newest"),
        ),
        migrations.AddIndex(
            model_name="prayerrequest",
            index=models.Index(fields=["status", "created_at", "id"], name="prayer_status_newest"),
        ),
        migrations.AddIndex(
            model_name="prayerrequest",
            index=models.Index(
                condition=models.Q(("status__in", ("new", "interceding", "breakthrough"))),
                fields=["id"],
                name="prayer_open",
            ),
        ),
        migrations.AddIndex(
            model_name="statusupdate",
            index=models.Index(
                condition=models.Q(("visibility", "private")),
                fields=["author", "created_at", "id"],
                name="status_update_journal",
            ),
        ),
        migrations.AddIndex(
            model_name="prayerlog",
            index=models.Index(fields=["intercessor", "prayed_at", "id"], name="prayer_log_intercessor_time"),
        ),
        migrations.AddIndex(
            model_name="prayerlog",
            index=models.Index(fields=["prayed_at"], name="prayer_log_prayed_at"),
        ),
        # The team page in its order, for keyset pages (auth_user is Django's
        # table; the index is ours, dropped on the way back).
        migrations.RunSQL(
            "CREATE INDEX intercession_user_name_order ON auth_user (first_name, last_name, username, id)",
            "DROP INDEX intercession_user_name_order",
        ),
        migrations.RunPython(add_trigram_indexes, remove_trigram_indexes, elidable=False),
    ]
