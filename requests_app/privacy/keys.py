"""
The keys of encryption at rest, and the cipher that uses them.

`settings.INTERCESSION_ENCRYPTION_KEYS` lists urlsafe-base64 32-byte keys,
newest first. The newest encrypts; any of them decrypts, because a stored
value names the key that sealed it. A stored value is the text envelope

    v1:<key id>:<urlsafe base64 of nonce (12 bytes) + ciphertext + tag (16 bytes)>

AES-256-GCM: authenticated, so a changed byte or another key fails to open
instead of giving wrong text. Each value has a random 96-bit nonce, and the
envelope's header ("v1:<key id>") is bound to it as associated data, so the
header cannot be altered either. The key id (8 hex digits) is the start of
an HMAC-SHA256 of a fixed label under the key: it tells the keys apart and
says nothing about them. Key rotation (issue 13, later) re-encrypts every
value whose key id is not the newest key's.
"""

import base64
import binascii
import functools
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_BYTES = 4
_KEY_ID_LABEL = b"intercession encryption key id"
_INDEX_KEY_LABEL = b"intercession blind index key"

# What to tell an operator, wherever a key is missing or malformed.
GENERATE_COMMAND = (
    "python3 -c 'import secrets,base64; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'"
)


class DecryptionError(Exception):
    """A stored value that cannot be decrypted: its key is not configured,
    or the value (or the key) is not the one that sealed it. The message
    names the key id and the reason only, never any of the value."""

    def __init__(self, reason: str, key_id: str = "") -> None:
        self.reason = reason
        self.key_id = key_id
        super().__init__(f"cannot decrypt a stored value (key id {key_id or 'unknown'}): {reason}")


@dataclass(frozen=True)
class Key:
    id: str
    cipher: AESGCM
    # The key of the blind index (`requests_app.privacy.blind_index`),
    # derived from this one: a digest made with it never opens a value.
    index_key: bytes


def generate_key() -> str:
    """A new key, as INTERCESSION_ENCRYPTION_KEYS takes it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_id(raw_key: bytes) -> str:
    return hmac.new(raw_key, _KEY_ID_LABEL, hashlib.sha256).digest()[:KEY_ID_BYTES].hex()


def _ordinal(number: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(number, f"{number}th")


def _decoded(text: str, number: int) -> bytes:
    # The message never quotes the key: it ends up in logs.
    problem = (
        f"the {_ordinal(number)} key of INTERCESSION_ENCRYPTION_KEYS is not a urlsafe-base64 key of "
        f"{KEY_BYTES} bytes; generate one with {GENERATE_COMMAND}"
    )
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(problem) from None
    if len(raw) != KEY_BYTES:
        raise ValueError(problem)
    return raw


def parse_keys(values: Iterable[str]) -> tuple[Key, ...]:
    """The keys of INTERCESSION_ENCRYPTION_KEYS, newest first. ValueError,
    with a message that never quotes a key, for none, a malformed one or the
    same key twice."""
    keys, seen = [], set()
    for number, text in enumerate(values, start=1):
        raw = _decoded(text.strip(), number)
        identity = key_id(raw)
        if identity in seen:
            raise ValueError(f"the {_ordinal(number)} key of INTERCESSION_ENCRYPTION_KEYS is listed twice")
        seen.add(identity)
        keys.append(Key(identity, AESGCM(raw), hmac.new(raw, _INDEX_KEY_LABEL, hashlib.sha256).digest()))
    if not keys:
        raise ValueError(f"INTERCESSION_ENCRYPTION_KEYS holds no key; generate one with {GENERATE_COMMAND}")
    return tuple(keys)


@functools.cache
def _keyring(values: tuple[str, ...]) -> tuple[tuple[Key, ...], dict[str, Key]]:
    keys = parse_keys(values)
    return keys, {key.id: key for key in keys}


def _current() -> tuple[tuple[Key, ...], dict[str, Key]]:
    # Keyed on the setting itself, so a changed setting (a test) takes effect.
    return _keyring(tuple(settings.INTERCESSION_ENCRYPTION_KEYS))


def newest_key_id() -> str:
    return _current()[0][0].id


def configured() -> tuple[Key, ...]:
    """Every configured key, newest first."""
    return _current()[0]


def _header(identity: str) -> str:
    return f"{VERSION}:{identity}"


def encrypt(text: str) -> str:
    """`text` sealed with the newest key, as a text envelope."""
    key = _current()[0][0]
    header = _header(key.id)
    nonce = os.urandom(NONCE_BYTES)
    sealed = key.cipher.encrypt(nonce, text.encode(), header.encode())
    return f"{header}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def key_id_of(envelope: str) -> str:
    """The id of the key that sealed `envelope` ("" if it is not one)."""
    version, _, rest = envelope.partition(":")
    identity, separator, _ = rest.partition(":")
    return identity if version == VERSION and separator else ""


def decrypt(envelope: str) -> str:
    """The text sealed in `envelope`, by whichever configured key sealed it.
    DecryptionError if that key is not configured, or the envelope was
    altered or is not one."""
    identity = key_id_of(envelope)
    if not identity:
        raise DecryptionError("not an encrypted value")
    key = _current()[1].get(identity)
    if key is None:
        raise DecryptionError("no key with this id is in INTERCESSION_ENCRYPTION_KEYS", identity)
    try:
        data = base64.urlsafe_b64decode(envelope[len(_header(identity)) + 1 :].encode())
        text = key.cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], _header(identity).encode())
    except (InvalidTag, binascii.Error, ValueError):
        raise DecryptionError("the value was altered, or was sealed by another key with this id", identity) from None
    return text.decode()
