"""The team board's triage gate and flags (issue 13), written by hand.

A request reaches the team board only once a leader has shared it with the
team (`shared_with_team_at`: by assigning it, or "Share with the team"), and
leaves it while an intercessor's flag waits for a leader (`flagged_at`).
Requests that already left `new` were triaged by a leader: they count as
shared since they entered intercession (or were sent); the new ones wait for
a leader, as every new request does from now on. The board's partial index
takes the new condition, so the board stays one seek into it.
"""

import django.db.models.expressions
from django.db import migrations, models
from django.db.models.functions import Coalesce


def lift_statement_timeout(apps, schema_editor):
    # Filling the column and building the indexes over a large table takes
    # longer than the app's statement timeout (meant for pages): lifted for
    # this migration's transaction only.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL statement_timeout = 0")


def share_the_triaged(apps, schema_editor):
    PrayerRequest = apps.get_model("requests_app", "PrayerRequest")
    PrayerRequest.objects.exclude(status="new").filter(shared_with_team_at__isnull=True).update(
        shared_with_team_at=Coalesce("entered_intercession_at", "created_at")
    )


BOARD_CONDITION = models.Q(
    ("flagged_at__isnull", True),
    ("is_confidential", False),
    ("shared_with_team_at__isnull", False),
    ("status__in", ("new", "interceding", "breakthrough")),
)


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0012_encrypted_request_text"),
    ]

    operations = [
        migrations.RunPython(lift_statement_timeout, migrations.RunPython.noop, elidable=True),
        migrations.AddField(
            model_name="prayerrequest",
            name="shared_with_team_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="shared with the team"),
        ),
        migrations.AddField(
            model_name="prayerrequest",
            name="flagged_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="flagged for review"),
        ),
        migrations.RunPython(share_the_triaged, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="prayerrequest",
            name="prayer_board_order",
        ),
        migrations.AddIndex(
            model_name="prayerrequest",
            index=models.Index(
                django.db.models.expressions.NegatedExpression(models.F("is_urgent")),
                models.F("created_at"),
                models.F("id"),
                condition=BOARD_CONDITION,
                name="prayer_board_order",
            ),
        ),
        migrations.AddIndex(
            model_name="prayerrequest",
            index=models.Index(
                condition=models.Q(("flagged_at__isnull", False)), fields=["flagged_at", "id"], name="prayer_flagged"
            ),
        ),
        migrations.AlterField(
            model_name="statusupdate",
            name="kind",
            field=models.CharField(
                choices=[
                    ("submitted", "Submitted"),
                    ("move", "Status changed"),
                    ("note", "Update"),
                    ("assigned", "Intercessor assigned"),
                    ("released", "Assignment released"),
                    ("left_team", "Released: left the team"),
                    ("confidentiality", "Confidentiality changed"),
                    ("shared", "Shared with the team"),
                    ("flagged", "Flagged by the team"),
                    ("returned_to_board", "Returned to the team board"),
                    ("kept_off_board", "Kept off the team board"),
                ],
                default="note",
                max_length=20,
            ),
        ),
        migrations.RemoveConstraint(
            model_name="statusupdate",
            name="status_update_kind_matches_statuses",
        ),
        migrations.AddConstraint(
            model_name="statusupdate",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("kind", "move"),
                        models.Q(("from_status", ""), _negated=True),
                        models.Q(("from_status", models.F("to_status")), _negated=True),
                    ),
                    models.Q(("from_status", ""), ("kind", "submitted"), ("to_status", "new")),
                    models.Q(
                        (
                            "kind__in",
                            [
                                "note",
                                "assigned",
                                "released",
                                "left_team",
                                "confidentiality",
                                "shared",
                                "flagged",
                                "returned_to_board",
                                "kept_off_board",
                            ],
                        ),
                        ("from_status", models.F("to_status")),
                    ),
                    _connector="OR",
                ),
                name="status_update_kind_matches_statuses",
            ),
        ),
    ]
