"""Password-reset e-mails go through the outbox like every other e-mail.

Django's reset form sends its e-mail itself, in the request: a known
address then answered in the time an SMTP conversation takes and an unknown
one at once, which told anyone who had an account. Written to the outbox
(and sent once the answer has gone, `views/password_reset.py`), a reset is
retried when the mail server is down, and its body, which holds the reset
link, is emptied once sent (`outbox.SECRET_LINK_KINDS`).
"""

from django.utils import timezone

from requests_app.mail import outbox
from requests_app.models import OutboxMessage

KIND = "password_reset"


def queue(to: str, subject: str, body_text: str, body_html: str = "") -> OutboxMessage:
    """Write one reset e-mail, delivered once the transaction commits."""
    message = OutboxMessage.objects.create(
        to=to, subject=subject, body_text=body_text, body_html=body_html, kind=KIND, next_attempt_at=timezone.now()
    )
    outbox.deliver_after_commit([message.pk])
    return message
