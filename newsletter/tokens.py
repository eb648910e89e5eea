"""Signed tokens for the links in e-mails. Each purpose has its own salt, so a token made for one
purpose is worthless for another; itsdangerous compares signatures in constant time."""

from __future__ import annotations

import functools
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

# How long a link stays valid, by purpose (seconds).
LIFETIMES = {
    "confirm": 7 * 24 * 3600,  # a confirmation mail may sit in a mailbox over a long weekend
    "preferences": 30 * 24 * 3600,
    "subscribe-form": 24 * 3600,  # the anti-forgery token in the (embeddable) subscribe form
}


class TokenError(ValueError):
    """The link is not valid. ``expired`` tells an old link from a forged or broken one."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


def _serializer(purpose: str, secret_key: str | None = None) -> URLSafeTimedSerializer:
    return _serializer_for(secret_key or current_app.config["SECRET_KEY"], purpose)


@functools.lru_cache(maxsize=64)
def _serializer_for(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    """Made once per key and purpose (the subscribe form reads a token on every sign-up)."""
    return URLSafeTimedSerializer(secret_key, salt=f"beitrag.{purpose}")


def make_token(purpose: str, payload: Any, *, secret_key: str | None = None) -> str:
    return _serializer(purpose, secret_key).dumps(payload)


def read_token(purpose: str, token: str, *, max_age: int | None = None, secret_key: str | None = None) -> Any:
    """The payload of a valid token; :class:`TokenError` for an expired, forged or broken one."""
    if not token or len(token) > 2000:
        raise TokenError("the link is broken")
    age = max_age if max_age is not None else LIFETIMES.get(purpose)
    try:
        return _serializer(purpose, secret_key).loads(token, max_age=age)
    except SignatureExpired:
        raise TokenError("the link has expired", expired=True) from None
    except BadSignature:
        raise TokenError("the link is not valid") from None
