"""Retention and erasure (issue 13), written by hand.

A request's text can be erased (`text_erased_at`, its story's entry of kind
`erased`): after the church's retention period (`retention_days`), unless a
leader keeps it longer (`keep_text_until`, audited), at the requester's
request or by a leader on their behalf (audited).
"""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0014_consent_and_privacy_notice"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="auditlogentry",
            name="audit_action_valid",
        ),
        migrations.RemoveConstraint(
            model_name="statusupdate",
            name="status_update_kind_matches_statuses",
        ),
        migrations.AddField(
            model_name="churchsettings",
            name="retention_days",
            field=models.PositiveSmallIntegerField(
                default=180,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(3650),
                ],
                verbose_name="days a manifested or closed request keeps its text",
            ),
        ),
        migrations.AddField(
            model_name="prayerrequest",
            name="keep_text_until",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="text kept until"),
        ),
        migrations.AddField(
            model_name="prayerrequest",
            name="text_erased_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="text erased"),
        ),
        migrations.AlterField(
            model_name="auditlogentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("leader_created", "Leader created on the server"),
                    ("invited", "Invited to the team"),
                    ("invitation_resent", "Invitation sent again"),
                    ("invitation_revoked", "Invitation revoked"),
                    ("invitation_accepted", "Invitation accepted"),
                    ("made_leader", "Made a leader"),
                    ("leader_role_removed", "Leader role removed"),
                    ("made_intercessor", "Made an intercessor"),
                    ("intercessor_role_removed", "Intercessor role removed"),
                    ("limits_changed", "Capacity or availability changed"),
                    ("deactivated", "Deactivated"),
                    ("reactivated", "Reactivated"),
                    ("settings_changed", "Church settings changed"),
                    ("text_kept_longer", "Request text kept longer"),
                    ("text_erased", "Request text erased on someone's behalf"),
                ],
                max_length=40,
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
                    ("erased", "Text erased"),
                ],
                default="note",
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="auditlogentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "action__in",
                        [
                            "leader_created",
                            "invited",
                            "invitation_resent",
                            "invitation_revoked",
                            "invitation_accepted",
                            "made_leader",
                            "leader_role_removed",
                            "made_intercessor",
                            "intercessor_role_removed",
                            "limits_changed",
                            "deactivated",
                            "reactivated",
                            "settings_changed",
                            "text_kept_longer",
                            "text_erased",
                        ],
                    )
                ),
                name="audit_action_valid",
            ),
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
                                "erased",
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
