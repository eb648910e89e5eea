"""Signed tokens for the links in e-mails. Each purpose has its own salt, so a token made for one
purpose is worthless for another; itsdangerous compares signatures in constant time."""

from __future__ import annotations

import functools
import time
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

# How long a link stays valid, by purpose (seconds).
LIFETIMES = {
    "confirm": 7 * 24 * 3600,  # a confirmation mail may sit in a mailbox over a long weekend
    "preferences": 30 * 24 * 3600,
    "subscribe-form": 24 * 3600,  # the anti-forgery token in the (embeddable) subscribe form
    "staff-invitation": 72 * 3600,  # a new staff member may read the invitation only after a weekend
    "staff-password-reset": 2 * 3600,  # asked for by someone waiting for it
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
    secret_key = secret_key or current_app.config["SECRET_KEY"]
    key = (secret_key, purpose, token)
    known = _verified.get(key)
    if known is not None:  # signature checked before: only its age is left to check
        payload, signed_at = known
        if age is None or 0 <= time.time() - signed_at <= age:
            return payload
        raise TokenError("the link has expired", expired=True)
    try:
        payload, signed_at = _serializer(purpose, secret_key).loads(token, max_age=age, return_timestamp=True)
    except SignatureExpired:
        raise TokenError("the link has expired", expired=True) from None
    except BadSignature:
        raise TokenError("the link is not valid") from None
    if isinstance(payload, str):  # immutable: safe to hand out again (the subscribe form's token)
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[key] = (payload, signed_at.timestamp())
    return payload


# Tokens whose signature was found good, with the time they were signed: the subscribe form's token is
# read on every sign-up, and one page's token is sent by many. Only the age is checked again.
_VERIFIED_MAX = 4096
_verified: dict[tuple[str, str, str], tuple[Any, float]] = {}
