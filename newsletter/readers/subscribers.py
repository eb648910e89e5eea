"""Readers: finding one, their history, confirming, leaving a newsletter or all of them, erasure, and the
expiry of unconfirmed sign-ups. Plain functions; the caller (view, job, CLI) owns the transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.platform import tokens
from newsletter.ports import supporter_erase
from newsletter.readers import sharing, welcome_mails
from newsletter.readers.addresses import email_hash, lift_suppression, suppress
from newsletter.readers.models import (
    ConsentBasis,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    SuppressionReason,
)


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(func.lower(Subscriber.email) == email.strip().lower()))


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
    supporter_erase(session, subscriber)  # the donations side forgets what it may (see its README part)
    session.delete(subscriber)
    session.flush()
    return key


def confirmation_token(subscriber: Subscriber) -> str:
    """Names the reader and the address: a token for an address that has since changed is void."""
    return tokens.make_token("confirm", {"s": subscriber.id, "h": email_hash(subscriber.email)[:16]})


def subscriber_for_confirmation(session: Session, token: str) -> Subscriber:
    """The reader a confirmation link belongs to. Raises ``tokens.TokenError`` for a bad or old link."""
    payload = tokens.read_token("confirm", token)
    subscriber = session.get(Subscriber, payload.get("s")) if isinstance(payload, dict) else None
    if subscriber is None or email_hash(subscriber.email)[:16] != payload.get("h"):
        raise tokens.TokenError("the link is not valid")
    return subscriber


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
    welcome_mails.request_welcome(session, subscriber, now=now)
    sharing.credit_referral(session, subscriber)
    return True


PENDING_LIFETIME = timedelta(days=7)  # unconfirmed sign-ups are deleted after this


def expire_pending_signups(session: Session, *, now: datetime | None = None) -> int:
    """Delete sign-ups that were never confirmed within :data:`PENDING_LIFETIME` (their subscriptions,
    history and mail records go with them). Returns how many."""
    cutoff = (now or utcnow()) - PENDING_LIFETIME
    ids = list(
        session.scalars(
            select(Subscriber.id).where(
                Subscriber.status == SubscriberStatus.PENDING,
                Subscriber.confirmed_at.is_(None),
                Subscriber.updated_at < cutoff,
            )
        )
    )
    for start in range(0, len(ids), 1000):
        session.execute(delete(Subscriber).where(Subscriber.id.in_(ids[start : start + 1000])))
    return len(ids)


def leave_newsletter(
    session: Session, subscriber: Subscriber, newsletter_id: int | None, *, via: str,
    issue_id: int | None = None,
) -> bool:  # fmt: skip
    """One-click unsubscribe (the link, the header's POST, the mailto address): leave one newsletter (or,
    with ``None`` or when it was the last one, everything). ``issue_id`` is the issue whose mail the
    request came from (the signed token names it): kept in the event's details, where the send path's
    statistics read it (``sending.tallies``). Idempotent: False when nothing was left to leave."""
    detail: dict[str, Any] = {"issue_id": int(issue_id)} if issue_id else {}
    if newsletter_id is not None:
        row = next((s for s in subscriber.subscriptions if s.newsletter_id == newsletter_id), None)
        remaining = [s for s in subscriber.subscriptions if s.newsletter_id != newsletter_id]
        if remaining:
            if row is None:
                return False
            subscriber.subscriptions.remove(row)
            record_event(session, subscriber, "left_newsletter", via=via, newsletter_id=newsletter_id,
                         **detail)  # fmt: skip
            return True
    return unsubscribe(session, subscriber, via=via, **detail)
