"""A leader's reason in the audit log is encrypted at rest (issue 13),
written by hand.

Keeping a request's text longer and erasing it on someone's behalf ask the
leader why; the reason may name the person who phoned, so it moves out of
the entry's plain `details` into `reason`, encrypted with the newest key
like the request's own text. Entries written before this carry their reason
in `details`; they are moved here, in batches.
"""

from django.db import migrations

import requests_app.privacy.fields

BATCH = 500


def move_reasons_out_of_details(apps, schema_editor):
    entries = apps.get_model("requests_app", "AuditLogEntry").objects.using(schema_editor.connection.alias)
    last = 0
    while True:
        # Every entry is looked at (a JSON key lookup is not the same on
        # every database); the audit log is small next to the requests.
        batch = list(entries.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not batch:
            return
        last = batch[-1].pk
        moved = []
        for entry in batch:
            if isinstance(entry.details, dict) and "reason" in entry.details:
                details = dict(entry.details)
                entry.reason = str(details.pop("reason") or "")
                entry.details = details
                moved.append(entry)
        if moved:
            entries.bulk_update(moved, ["reason", "details"])


def put_reasons_back(apps, schema_editor):
    entries = apps.get_model("requests_app", "AuditLogEntry").objects.using(schema_editor.connection.alias)
    moved = [entry for entry in entries.exclude(reason="").order_by("pk").iterator(chunk_size=BATCH)]
    for entry in moved:
        entry.details = {**(entry.details or {}), "reason": entry.reason}
    entries.bulk_update(moved, ["details"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0015_retention_and_erasure"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditlogentry",
            name="reason",
            field=requests_app.privacy.fields.EncryptedTextField(blank=True),
        ),
        migrations.RunPython(move_reasons_out_of_details, put_reasons_back, elidable=False),
    ]
