"""Readers' share links: every reader has one, and the readers who sign up through it and confirm are
counted for them ("3 readers came through you").

The link is ``<base>/share/<code>?via=<where>``. The code names the reader without showing their id or
address: it is one AES block (16 bytes, 22 characters of URL-safe base64) holding the reader's id and a
64-bit HMAC of it, both under keys derived from ``SECRET_KEY``. It is the same for a reader every time
(an issue's footer, the preference center and the supporters' mail show one link), a worker makes it
per recipient without the database (a few microseconds: the key set-ups are made once), and a forged or
altered code fails the HMAC.
Codes made under an earlier key stay valid as long as that key is listed in ``SECRET_KEY_FALLBACKS``,
the same rule as Flask's session cookie.

A sign-up through a link is an ordinary sign-up (double opt-in, the same form, the same limits) that
also writes a :class:`Referral` row for a new address; the sharer is credited only when the new reader
confirms (:func:`credit_referral`), once per new reader, never for themselves. Nothing is stored in the
visitor's browser: the code travels in the sign-up form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from collections.abc import Iterable
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.readers.models import Referral, Subscriber

# Where a share link stood: the forward-to-a-friend line at the foot of every issue, the preference
# center, the supporters' mail; anything else is counted as "link".
PLACES = ("issue", "preferences", "supporters")
OTHER_PLACE = "link"
SOURCE_PREFIX = "share:"  # the reader's sign-up source: "share:issue", ...

_CODE_LENGTH = 22  # 16 bytes in URL-safe base64 without padding


def place(raw: object) -> str:
    """The ``via`` of a share link as counted: one of :data:`PLACES`, else :data:`OTHER_PLACE`."""
    return raw if isinstance(raw, str) and raw in PLACES else OTHER_PLACE


@lru_cache(maxsize=16)
def _keys(secret_key: str) -> tuple[object, object, tuple[object, object]]:
    """The encryptor, the decryptor and the MAC's padded-key hashes for one ``SECRET_KEY``, made once (a
    cipher context costs ten times the block it encrypts, an HMAC key set-up more than the MAC); the
    contexts are used under :data:`_lock`."""
    root = secret_key.encode("utf-8")
    cipher_key = hmac.new(root, b"beitrag.links.share-cipher", hashlib.sha256).digest()[:16]
    mac_key = hmac.new(root, b"beitrag.links.share-mac", hashlib.sha256).digest().ljust(64, b"\0")
    inner, outer = bytes(b ^ 0x36 for b in mac_key), bytes(b ^ 0x5C for b in mac_key)
    pads = (hashlib.sha256(inner), hashlib.sha256(outer))
    # One block per code, never two: ECB is then AES itself, a keyed permutation of the block.
    cipher = Cipher(algorithms.AES(cipher_key), modes.ECB())  # noqa: S305
    return cipher.encryptor(), cipher.decryptor(), pads


_lock = threading.Lock()  # an ECB context keeps no state between blocks, but is not made for two threads


def _tag(pads: tuple, id_bytes: bytes) -> bytes:
    """HMAC-SHA256 of the id (RFC 2104, from the padded key's hashes), its first 64 bits."""
    inner, outer = pads[0].copy(), pads[1].copy()
    inner.update(id_bytes)
    outer.update(inner.digest())
    return outer.digest()[:8]


def share_code(secret_key: str, subscriber_id: int) -> str:
    """The reader's share code: the same every time under the same key."""
    encryptor, _decryptor, pads = _keys(secret_key)
    id_bytes = int(subscriber_id).to_bytes(8, "big")
    plain = id_bytes + _tag(pads, id_bytes)
    with _lock:
        block = encryptor.update(plain)  # type: ignore[attr-defined]
    return base64.urlsafe_b64encode(block).rstrip(b"=").decode("ascii")


def share_url(base_url: str, secret_key: str, subscriber_id: int, via: str | None = None) -> str:
    url = f"{base_url}/share/{share_code(secret_key, subscriber_id)}"
    return f"{url}?via={place(via)}" if via else url


def read_share_code(secret_keys: Iterable[str], code: str) -> int | None:
    """The sharer's id in a valid code, trying the current key and then the earlier ones; None for a
    forged, altered or broken code (the caller treats it as an ordinary sign-up)."""
    if not isinstance(code, str) or len(code) != _CODE_LENGTH or not code.isascii():
        return None
    try:
        block = base64.urlsafe_b64decode(code + "==")
    except (binascii.Error, ValueError):
        return None
    if len(block) != 16:
        return None
    for secret_key in secret_keys:
        if not secret_key:
            continue
        _encryptor, decryptor, pads = _keys(secret_key)
        with _lock:
            plain = decryptor.update(block)  # type: ignore[attr-defined]
        id_bytes, tag = plain[:8], plain[8:]
        if hmac.compare_digest(_tag(pads, id_bytes), tag):
            return int.from_bytes(id_bytes, "big")
    return None


def record_referral(session: Session, referred_id: int, sharer_id: int | None, via: str) -> bool:
    """A new reader signed up through ``sharer_id``'s link: remembered until they confirm. Nothing for
    an unknown sharer, for the reader themselves, or when the new reader already has a referral (the
    first link counts). The caller commits."""
    if sharer_id is None or sharer_id == referred_id:
        return False
    if session.get(Subscriber, sharer_id) is None or session.get(Referral, referred_id) is not None:
        return False
    session.add(Referral(referred_id=referred_id, sharer_id=sharer_id, via=place(via), created_at=utcnow()))
    session.flush()
    return True


def credit_referral(session: Session, subscriber: Subscriber) -> bool:
    """The reader confirmed: the share link that brought them now counts for its sharer, once."""
    result = session.execute(
        update(Referral)
        .where(Referral.referred_id == subscriber.id, Referral.confirmed_at.is_(None),
               Referral.sharer_id != subscriber.id)
        .values(confirmed_at=utcnow())
    )  # fmt: skip
    return bool(result.rowcount)


def readers_brought(session: Session, sharer_id: int) -> int:
    """How many readers came through this reader's link and confirmed."""
    return int(
        session.scalar(
            select(func.count()).select_from(Referral)
            .where(Referral.sharer_id == sharer_id, Referral.confirmed_at.is_not(None))
        ) or 0
    )  # fmt: skip


def signups_by_place(session: Session, start, end) -> list[dict]:
    """Sign-ups through share links in ``[start, end)``, per place of the link: how many signed up, and
    how many of them have confirmed (and so count for their sharer)."""
    confirmed = func.count(Referral.confirmed_at)
    rows = session.execute(
        select(Referral.via, func.count(), confirmed)
        .where(Referral.created_at >= start, Referral.created_at < end)
        .group_by(Referral.via).order_by(Referral.via)
    ).all()  # fmt: skip
    return [{"via": via, "signups": int(n), "confirmed": int(c)} for via, n, c in rows]
