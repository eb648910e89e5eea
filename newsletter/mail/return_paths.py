"""The signed bounce address every message is sent from (the SMTP envelope sender, which receivers copy
into ``Return-Path``). It names the issue and the ledger row, VERP style, and carries a MAC under
``SECRET_KEY``::

    bounces+i42-d1234-<mac>@BOUNCE_DOMAIN       a newsletter issue: issue 42, ledger row 1234
    bounces+t-<mac>@BOUNCE_DOMAIN               a transactional mail; the MAC is over the recipient

A report for an address we did not sign (a forged bounce, a bounce for somebody else's mail) changes
nothing (``sending.bounces``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

_LOCAL = "bounces"
_MAC_BYTES = 10  # 80 bits, 16 base32 characters: the local part stays well under 64 characters
_VERP = re.compile(
    rf"{_LOCAL}\+(?:i(?P<issue>\d{{1,12}})-d(?P<delivery>\d{{1,15}})|(?P<t>t))-(?P<mac>[a-z2-7]{{16}})@",
    re.IGNORECASE,
)


@lru_cache(maxsize=8)
def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), b"beitrag.bounces", hashlib.sha256).digest()


def _mac(secret_key: str, payload: str) -> str:
    digest = hmac.digest(_key(secret_key), payload.encode("utf-8"), "sha256")[:_MAC_BYTES]
    # Lower case: some mail systems lower-case the local part of the address they bounce to.
    return base64.b32encode(digest).decode("ascii").lower()


def return_path(secret_key: str, domain: str, issue_id: int, delivery_id: int) -> str:
    """The envelope sender for one reader's copy of one issue."""
    payload = f"i{int(issue_id)}-d{int(delivery_id)}"
    return f"{_LOCAL}+{payload}-{_mac(secret_key, payload)}@{domain}"


def transactional_return_path(secret_key: str, domain: str, recipient: str) -> str:
    """The envelope sender for a transactional mail to ``recipient``."""
    return f"{_LOCAL}+t-{_mac(secret_key, 't:' + recipient.strip().lower())}@{domain}"


@dataclass(frozen=True)
class BounceAddress:
    issue_id: int | None
    delivery_id: int | None
    mac: str  # for a transactional mail: checked against the reported recipient (see :func:`vouches_for`)


def read_return_path(secret_key: str, text: str) -> BounceAddress | None:
    """The first signed bounce address in ``text`` (an address, a header, a JSON value), or None when
    there is none or its MAC is wrong."""
    for match in _VERP.finditer(text or ""):
        mac = match["mac"].lower()
        if match["t"]:
            return BounceAddress(None, None, mac)
        payload = f"i{int(match['issue'])}-d{int(match['delivery'])}"
        if hmac.compare_digest(_mac(secret_key, payload), mac):
            return BounceAddress(int(match["issue"]), int(match["delivery"]), mac)
    return None


def vouches_for(secret_key: str, address: BounceAddress, recipient: str) -> bool:
    """Whether a transactional bounce address was made for mail to ``recipient``."""
    expected = _mac(secret_key, "t:" + recipient.strip().lower())
    return address.delivery_id is None and hmac.compare_digest(expected, address.mac)
