"""Consent on the public form and the church's privacy notice: what the
requester confirmed about the person the prayer is for (empty for every
request sent before: nobody was asked), whether the church asks it, and the
notice's text (empty: the standard notice)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0013_board_gate_and_flags"),
    ]

    operations = [
        migrations.AddField(
            model_name="churchsettings",
            name="asks_consent",
            field=models.BooleanField(default=True, verbose_name="the public form asks about consent"),
        ),
        migrations.AddField(
            model_name="churchsettings",
            name="privacy_notice",
            field=models.TextField(blank=True, max_length=4000, verbose_name="privacy notice"),
        ),
        migrations.AddField(
            model_name="prayerrequest",
            name="consent",
            field=models.CharField(
                blank=True,
                choices=[
                    ("self", "For the requester themselves"),
                    ("knows", "For someone who knows of the request"),
                    ("unidentified", "For someone the request does not identify"),
                ],
                max_length=12,
                verbose_name="who the prayer is for",
            ),
        ),
        migrations.AddConstraint(
            model_name="prayerrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(("consent__in", ["", "self", "knows", "unidentified"])),
                name="prayer_request_consent_valid",
            ),
        ),
    ]
