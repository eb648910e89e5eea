"""The signed links every newsletter carries, made per recipient by the sender without a request context.

* :func:`unsubscribe_url`: the RFC 8058 one-click address for ``List-Unsubscribe``. Its token never
  expires (a newsletter in an archive folder must still unsubscribe); it is an HMAC-SHA256 signature over
  the reader's id and the newsletter's id, checked in constant time by itsdangerous.
* :func:`preferences_url`: the preference center, valid for :data:`tokens.LIFETIMES` ``["preferences"]``.

Both are pure functions of their arguments (plus the clock for the second), safe to call from a worker.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from itsdangerous import BadSignature, Signer

from . import tokens

UNSUBSCRIBE_SALT = "beitrag.unsubscribe"


@lru_cache(maxsize=8)
def _unsubscribe_signer(secret_key: str) -> Signer:
    return Signer(secret_key, salt=UNSUBSCRIBE_SALT, digest_method=hashlib.sha256)


def unsubscribe_token(secret_key: str, subscriber_id: int, newsletter_id: int | None = None) -> str:
    payload = f"{int(subscriber_id)}-{int(newsletter_id) if newsletter_id is not None else 0}"
    return _unsubscribe_signer(secret_key).sign(payload).decode("ascii")


def unsubscribe_url(
    base_url: str, secret_key: str, subscriber_id: int, newsletter_id: int | None = None
) -> str:
    """The one-click unsubscribe URL for one recipient of one newsletter, e.g. for the header
    ``List-Unsubscribe: <URL>`` together with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``.

    ``base_url`` is the public address without a trailing slash (``config["BASE_URL"]``), ``secret_key``
    the app's ``SECRET_KEY``. With ``newsletter_id`` a POST leaves that newsletter only (everything when it
    was the reader's last one); with ``None`` it leaves every newsletter. About 10 µs a call."""
    return f"{base_url}/unsubscribe/{unsubscribe_token(secret_key, subscriber_id, newsletter_id)}"


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, int | None]:
    """``(subscriber_id, newsletter_id or None)``; :class:`tokens.TokenError` for a forged or broken token."""
    if not token or len(token) > 200:
        raise tokens.TokenError("the link is broken")
    try:
        payload = _unsubscribe_signer(secret_key).unsign(token).decode("ascii")
        subscriber_part, newsletter_part = payload.split("-")
        subscriber_id, newsletter_id = int(subscriber_part), int(newsletter_part)
    except (BadSignature, ValueError, UnicodeDecodeError):
        raise tokens.TokenError("the link is not valid") from None
    return subscriber_id, (newsletter_id or None)


def preferences_token(secret_key: str, subscriber_id: int) -> str:
    return tokens.make_token("preferences", {"s": int(subscriber_id)}, secret_key=secret_key)


def preferences_url(base_url: str, secret_key: str, subscriber_id: int) -> str:
    """The signed link to the reader's preference center (newsletters, language, pause, donation asks,
    leave, download, erase). Expires after ``tokens.LIFETIMES["preferences"]`` seconds (30 days); every
    newsletter carries a fresh one. Same arguments as :func:`unsubscribe_url`."""
    return f"{base_url}/preferences/{preferences_token(secret_key, subscriber_id)}"


def read_preferences_token(secret_key: str, token: str) -> int:
    """The reader id in a valid preference link; :class:`tokens.TokenError` (``expired`` set) otherwise."""
    payload = tokens.read_token("preferences", token, secret_key=secret_key)
    subscriber_id = payload.get("s") if isinstance(payload, dict) else None
    if not isinstance(subscriber_id, int):
        raise tokens.TokenError("the link is not valid")
    return subscriber_id
