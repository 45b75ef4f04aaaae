"""Moves you can trust (issue 14), written by hand: a move can be undone.

An undo is a story entry of its own kind, `undone`: like a move, it changes
the status (back to the one before the undone move), so the check that ties
kinds to statuses lets it do so. No row is rewritten.
"""

from django.db import migrations, models

KINDS = [
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
    ("erased", "Text erased"),
    ("undone", "Move undone"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0016_audit_reason_encrypted"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="statusupdate",
            name="status_update_kind_matches_statuses",
        ),
        migrations.AlterField(
            model_name="statusupdate",
            name="kind",
            field=models.CharField(choices=KINDS, default="note", max_length=20),
        ),
        migrations.AddConstraint(
            model_name="statusupdate",
            constraint=models.CheckConstraint(
                condition=(
                    models.Q(
                        ("kind__in", ["move", "undone"]),
                        models.Q(("from_status", ""), _negated=True),
                        models.Q(("from_status", models.F("to_status")), _negated=True),
                    )
                    | models.Q(("from_status", ""), ("kind", "submitted"), ("to_status", "new"))
                    | models.Q(
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
                                "erased",
                            ],
                        ),
                        ("from_status", models.F("to_status")),
                    )
                ),
                name="status_update_kind_matches_statuses",
            ),
        ),
    ]
