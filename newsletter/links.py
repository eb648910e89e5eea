"""The signed links every newsletter carries, made per recipient by the sender without a request context.

* :func:`unsubscribe_url`: the RFC 8058 one-click address for ``List-Unsubscribe``. Its token never
  expires (a newsletter in an archive folder must still unsubscribe): ``<reader>-<newsletter>.<mac>``.
* :func:`preferences_url`: the preference center, valid for :data:`tokens.LIFETIMES` ``["preferences"]``
  from the moment it was made: ``<reader>.<issued>.<mac>``.

The MAC is HMAC-SHA256 (truncated to 160 bits) under a key derived once per purpose from ``SECRET_KEY``,
so a token made for one purpose is worthless for the other; it is checked in constant time. The sender
makes two of these for every recipient of every issue, so they are computed with the standard library's
one-shot ``hmac.digest`` (about 2 µs each) rather than itsdangerous's serializers (up to 19 µs), which
stay in use for the rarer links (``tokens``).

Both are pure functions of their arguments (plus the clock), safe to call from a worker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from functools import lru_cache

from . import tokens

_MAC_BYTES = 20


@lru_cache(maxsize=16)
def _key(secret_key: str, purpose: str) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), f"beitrag.links.{purpose}".encode(), hashlib.sha256).digest()


def _mac(secret_key: str, purpose: str, payload: str) -> str:
    digest = hmac.digest(_key(secret_key, purpose), payload.encode("ascii"), "sha256")[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _payload(secret_key: str, purpose: str, token: str) -> str:
    """The signed payload of ``token``; :class:`tokens.TokenError` for a forged or broken one."""
    if not token or len(token) > 200 or not token.isascii():
        raise tokens.TokenError("the link is broken")
    payload, _, mac = token.rpartition(".")
    if not payload or not hmac.compare_digest(_mac(secret_key, purpose, payload), mac):
        raise tokens.TokenError("the link is not valid")
    return payload


def unsubscribe_token(secret_key: str, subscriber_id: int, newsletter_id: int | None = None) -> str:
    payload = f"{int(subscriber_id)}-{int(newsletter_id) if newsletter_id is not None else 0}"
    return f"{payload}.{_mac(secret_key, 'unsubscribe', payload)}"


def unsubscribe_url(
    base_url: str, secret_key: str, subscriber_id: int, newsletter_id: int | None = None
) -> str:
    """The one-click unsubscribe URL for one recipient of one newsletter, e.g. for the header
    ``List-Unsubscribe: <URL>`` together with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``.

    ``base_url`` is the public address without a trailing slash (``config["BASE_URL"]``), ``secret_key``
    the app's ``SECRET_KEY``. With ``newsletter_id`` a POST leaves that newsletter only (everything when it
    was the reader's last one); with ``None`` it leaves every newsletter."""
    return f"{base_url}/unsubscribe/{unsubscribe_token(secret_key, subscriber_id, newsletter_id)}"


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, int | None]:
    """``(subscriber_id, newsletter_id or None)``; :class:`tokens.TokenError` for a forged or broken token."""
    payload = _payload(secret_key, "unsubscribe", token)
    try:
        subscriber_part, newsletter_part = payload.split("-")
        subscriber_id, newsletter_id = int(subscriber_part), int(newsletter_part)
    except ValueError:
        raise tokens.TokenError("the link is not valid") from None
    return subscriber_id, (newsletter_id or None)


def preferences_token(secret_key: str, subscriber_id: int, *, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    payload = f"{int(subscriber_id)}.{issued}"
    return f"{payload}.{_mac(secret_key, 'preferences', payload)}"


def preferences_url(base_url: str, secret_key: str, subscriber_id: int) -> str:
    """The signed link to the reader's preference center (newsletters, language, pause, donation asks,
    leave, download, erase). Expires ``tokens.LIFETIMES["preferences"]`` seconds (30 days) after it was
    made; every newsletter carries a fresh one. Same arguments as :func:`unsubscribe_url`."""
    return f"{base_url}/preferences/{preferences_token(secret_key, subscriber_id)}"


def read_preferences_token(secret_key: str, token: str) -> int:
    """The reader id in a valid preference link; :class:`tokens.TokenError` (``expired`` set) otherwise."""
    payload = _payload(secret_key, "preferences", token)
    try:
        subscriber_part, issued_part = payload.split(".")
        subscriber_id, issued = int(subscriber_part), int(issued_part)
    except ValueError:
        raise tokens.TokenError("the link is not valid") from None
    if time.time() - issued > tokens.LIFETIMES["preferences"]:
        raise tokens.TokenError("the link has expired", expired=True)
    return subscriber_id
