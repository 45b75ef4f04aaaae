import secrets

from django import template

from requests_app.web import moments

register = template.Library()


@register.simple_tag
def submission_key() -> str:
    """A fresh key for one "I prayed" form: the same form sent twice logs once."""
    return secrets.token_hex(16)


@register.filter
def iso(moment) -> str:
    """A moment for `<time datetime>` (`requests_app.web.moments.iso`)."""
    return moments.iso(moment)


@register.filter
def days_since(moment) -> str:
    """'today', 'yesterday', 'N days ago' or 'never' (`requests_app.web.moments`)."""
    return moments.days_since(moment)


@register.filter
def waited(moment) -> str:
    """How long since `moment` (`requests_app.web.moments.waited`)."""
    return moments.waited(moment)
