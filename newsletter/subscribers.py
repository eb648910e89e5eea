"""Readers: addresses, the suppression list, history, leaving and erasure. Plain functions; the caller
(view, job, CLI) owns the transaction.

The reader-facing flows (subscribe, confirm, preferences) build on these; staff actions and imports use
the same functions, so a suppressed address is refused the same way everywhere.
"""

from __future__ import annotations

import hashlib
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db import utcnow

from .models import (
    ConsentBasis,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)

MAX_EMAIL_LENGTH = 254  # RFC 5321: the longest address a mail server must accept in a path


class SubscriberError(ValueError):
    """The request cannot be carried out; the message is meant for the person who made it."""


class InvalidEmail(SubscriberError):
    pass


class Suppressed(SubscriberError):
    pass


def normalize_email(raw: str) -> str:
    """The address as Beitrag stores it: validated (syntax only, no DNS), domain lower-cased and IDNA
    decoded to Unicode, local part as typed. Refuses line breaks, NUL and over-long addresses."""
    if not isinstance(raw, str):
        raise InvalidEmail("the e-mail address is missing")
    if any(ch in raw for ch in "\r\n\0"):
        raise InvalidEmail("the e-mail address contains a line break or a NUL character")
    candidate = raw.strip()
    if not candidate:
        raise InvalidEmail("the e-mail address is missing")
    if len(candidate) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"the e-mail address is longer than {MAX_EMAIL_LENGTH} characters")
    try:
        result = validate_email(candidate, check_deliverability=False, allow_quoted_local=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return result.normalized


def email_hash(email: str) -> str:
    """SHA-256 of the lower-cased address: what the suppression list keeps."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(func.lower(Subscriber.email) == email.strip().lower()))


def is_suppressed(session: Session, email: str) -> bool:
    return session.get(Suppression, email_hash(email)) is not None


def suppression_reason(session: Session, email: str) -> SuppressionReason | None:
    row = session.get(Suppression, email_hash(email))
    return row.reason if row is not None else None


def suppress(session: Session, email: str, reason: SuppressionReason) -> None:
    """Put the address on the suppression list (once; the first reason is kept, except that erasure wins)."""
    key = email_hash(email)
    row = session.get(Suppression, key)
    if row is None:
        session.add(Suppression(email_hash=key, reason=reason))
    elif reason is SuppressionReason.ERASED:
        row.reason = reason


def lift_suppression(session: Session, email: str) -> None:
    """Only for the reader's own confirmed opt-in: they asked for mail again, from their own mailbox."""
    session.execute(delete(Suppression).where(Suppression.email_hash == email_hash(email)))


def record_event(session: Session, subscriber: Subscriber, kind: str, **detail: Any) -> SubscriberEvent:
    event = SubscriberEvent(subscriber=subscriber, kind=kind, detail=detail)
    session.add(event)
    return event


def unsubscribe(session: Session, subscriber: Subscriber, *, via: str, **detail: Any) -> bool:
    """Leave every newsletter at once. Idempotent: returns False when the reader had already left."""
    if subscriber.status is SubscriberStatus.UNSUBSCRIBED:
        return False
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    subscriber.unsubscribed_at = utcnow()
    suppress(session, subscriber.email, SuppressionReason.UNSUBSCRIBED)
    record_event(session, subscriber, "unsubscribed", via=via, **detail)
    return True


def erase(session: Session, subscriber: Subscriber, *, via: str) -> str:
    """Delete everything held about the reader; only the hash of the address stays, on the suppression
    list, so that no import can bring them back. Returns that hash."""
    key = email_hash(subscriber.email)
    suppress(session, subscriber.email, SuppressionReason.ERASED)
    session.delete(subscriber)
    session.flush()
    return key


# -- double opt-in ---------------------------------------------------------------------------------


def confirmation_token(subscriber: Subscriber) -> str:
    """Names the reader and the address: a token for an address that has since changed is void."""
    from . import tokens

    return tokens.make_token("confirm", {"s": subscriber.id, "h": email_hash(subscriber.email)[:16]})


def subscriber_for_confirmation(session: Session, token: str) -> Subscriber:
    """The reader a confirmation link belongs to. Raises ``tokens.TokenError`` for a bad or old link."""
    from . import tokens

    payload = tokens.read_token("confirm", token)
    subscriber = session.get(Subscriber, payload.get("s")) if isinstance(payload, dict) else None
    if subscriber is None or email_hash(subscriber.email)[:16] != payload.get("h"):
        raise tokens.TokenError("the link is not valid")
    return subscriber


def request_confirmation(session: Session, subscriber: Subscriber, *, base_url: str) -> None:
    """Queue the double opt-in mail. It carries nothing the reader typed but the address itself."""
    from . import api

    url = f"{base_url}/confirm/{confirmation_token(subscriber)}"
    api.send_transactional_mail(
        "confirm_subscription", subscriber.email, {"confirm_url": url}, subscriber.locale
    )
    record_event(session, subscriber, "confirmation_sent")


def confirm(session: Session, subscriber: Subscriber, **detail: Any) -> bool:
    """The reader confirmed from their mailbox: active, with double opt-in as the recorded consent.
    Their own confirmation lifts an earlier suppression. Idempotent: False when already active."""
    if subscriber.status is SubscriberStatus.ACTIVE:
        return False
    now = utcnow()
    subscriber.status = SubscriberStatus.ACTIVE
    subscriber.confirmed_at = now
    subscriber.unsubscribed_at = None
    subscriber.consent_basis = ConsentBasis.DOUBLE_OPT_IN
    subscriber.consent_at = now
    subscriber.consent_detail = "confirmed from the link in the confirmation mail"
    lift_suppression(session, subscriber.email)
    record_event(session, subscriber, "confirmed", **detail)
    return True
