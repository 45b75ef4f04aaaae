"""
Where a webhook may post: `check_url` when a leader registers one, and
`resolve` again at every delivery (a name can point somewhere else later).

A hook goes out over https to an address on the internet: never to this
machine or the church's own network (loopback, private, link-local,
reserved addresses), where it could reach a service beside the app, and no
redirect is followed. `INTERCESSION_WEBHOOK_LOCAL_TARGETS` allows plain
http and local addresses, for development and a church's own chat server.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from requests_app import text

MAX_LENGTH = 500

MESSAGES = {
    "invalid": _("Enter the whole address the other tool gave you, starting with https://."),
    "https": _("The address must start with https://, so that the events are sent encrypted."),
    "credentials": _("Leave the user name and password out of the address: the signature proves who sends."),
    "local": _("This address is on the server's own network: a webhook may only post to the internet."),
    "too_long": _("The address is too long (at most %(most)d characters)."),
}


def local_targets() -> bool:
    return settings.INTERCESSION_WEBHOOK_LOCAL_TARGETS


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(value: str) -> str:
    """The address as it will be used, or ValidationError with a message
    for the leader. No lookup of the name here (see `resolve`)."""
    value = text.normalise(str(value)).strip()
    if len(value) > MAX_LENGTH:
        raise ValidationError(MESSAGES["too_long"], code="too_long", params={"most": MAX_LENGTH})
    if not value or text.address_problem(value) or any(char.isspace() for char in value):
        raise ValidationError(MESSAGES["invalid"], code="invalid")
    try:
        parts = urlsplit(value)
        # A port out of range is a ValueError too.
        hostname, _port = parts.hostname, parts.port
    except ValueError:
        raise ValidationError(MESSAGES["invalid"], code="invalid") from None
    if parts.scheme not in ("https", "http") or not hostname:
        raise ValidationError(MESSAGES["invalid"], code="invalid")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(MESSAGES["credentials"], code="credentials")
    if parts.scheme == "http" and not local_targets():
        raise ValidationError(MESSAGES["https"], code="https")
    try:
        hostname.encode("idna")
    except UnicodeError:
        raise ValidationError(MESSAGES["invalid"], code="invalid") from None
    if not local_targets():
        try:
            literal = _is_public(hostname)
        except ValueError:  # a name, not an address
            literal = not (hostname == "localhost" or hostname.endswith((".localhost", ".local", ".internal")))
        if not literal:
            raise ValidationError(MESSAGES["local"], code="local")
    return value


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the address: the Host header and the certificate's name
    port: int
    address: str  # the IP connected to
    path: str


class Refused(Exception):
    """The address may not be posted to (now): its name does not resolve,
    or resolves to a local address. The message is for the hook's status."""


def resolve(url: str) -> Target:
    parts = urlsplit(url)
    if parts.scheme == "http" and not local_targets():
        raise Refused("http is not allowed")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname.encode("idna").decode("ascii")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused("name not found") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise Refused("name not found")
    if not local_targets() and not all(_is_public(address) for address in addresses):
        raise Refused("local address refused")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, addresses[0], path)
