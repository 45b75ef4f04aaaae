"""
The audit log: every change to the team or the church's settings, who made
it and when (`AuditLogEntry`), written in the transaction of the change so
that a change and its entry are saved together or not at all. Never request
content: details are field names and values of the team and the settings;
a leader's reason (free text) is encrypted at rest.
"""

from django.contrib.auth.models import AbstractBaseUser

from requests_app.models import AuditAction, AuditLogEntry


def name_of(user: AbstractBaseUser | None) -> str:
    """How an entry names a person: their full name, else their user name."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def record(
    action: AuditAction,
    *,
    actor: AbstractBaseUser | None,
    subject: AbstractBaseUser | None = None,
    reason: str = "",
    **details,
) -> AuditLogEntry:
    """Write one entry. `actor` None means a command run on the server
    (`create_leader`); `details` must be JSON (ids, field names, values),
    `reason` the leader's own words (stored encrypted)."""
    return AuditLogEntry.objects.create(
        reason=reason,
        action=action,
        actor=actor,
        actor_name=name_of(actor),
        subject=subject,
        subject_name=name_of(subject),
        details=details,
    )
