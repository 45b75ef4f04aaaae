"""
The blind index: how leaders search text the database holds only
encrypted, and how "Lost your link?" finds the requests of an address.

A word is normalised (NFKC, then case-folded: "Zoé", "ZOÉ" and "zoé" are
one word) and kept as a keyed digest: the first 16 bytes of an
HMAC-SHA256 under the index key of an encryption key
(`requests_app.privacy.keys`), in hex. The digest is made with the newest
key; a search asks for the digests under every configured key, so it keeps
finding what was indexed before a rotation until `rotate_encryption_key`
has indexed it again.

What the index tells someone who reads the database without the key: how
many distinct words a request's text has, and that two requests share a
word (the same digest), never which word. Someone who also holds the key
can test guesses, as they could decrypt the text itself.
"""

import hmac
import re
import unicodedata
from collections.abc import Iterable

from requests_app.privacy import keys

DIGEST_BYTES = 16
DIGEST_LENGTH = 2 * DIGEST_BYTES
# A word is a run of letters, digits and joiners (so "O'Brien" is two
# words, "co-worker" two, "👨‍👩‍👧" none); a search takes at most this many.
_WORD = re.compile(r"\w+")
MAX_SEARCH_WORDS = 10
_ADDRESS_LABEL = b"address:"
_WORD_LABEL = b"word:"


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def words(*texts: str) -> set[str]:
    """The distinct normalised words of `texts`."""
    found = set()
    for text in texts:
        found.update(_WORD.findall(normalise(text or "")))
    return found


def _digest(index_key: bytes, label: bytes, value: str) -> str:
    return hmac.digest(index_key, label + value.encode(), "sha256")[:DIGEST_BYTES].hex()


def word_digests(*texts: str) -> set[str]:
    """What the index keeps for `texts`: one digest per distinct word, with the newest key."""
    index_key = keys.configured()[0].index_key
    return {_digest(index_key, _WORD_LABEL, word) for word in words(*texts)}


def search_digests(word: str) -> list[str]:
    """The digests of one normalised word under every configured key."""
    return [_digest(key.index_key, _WORD_LABEL, word) for key in keys.configured()]


def search_words(query: str) -> list[str]:
    """The words a search looks for, at most `MAX_SEARCH_WORDS`, in order."""
    return list(dict.fromkeys(_WORD.findall(normalise(query))))[:MAX_SEARCH_WORDS]


def _address(address: str) -> str:
    return normalise(address.strip())


def address_digest(address: str) -> str:
    """The digest kept for a requester's address ("" for none), with the newest key."""
    if not address.strip():
        return ""
    return _digest(keys.configured()[0].index_key, _ADDRESS_LABEL, _address(address))


def address_digests(address: str) -> list[str]:
    """The digests of an address under every configured key: "Martha@…" and
    "martha@…" are one."""
    return [_digest(key.index_key, _ADDRESS_LABEL, _address(address)) for key in keys.configured()]


def is_current(digests: Iterable[str], *texts: str) -> bool:
    """Whether `digests` are exactly what the newest key gives for `texts`."""
    return set(digests) == word_digests(*texts)
