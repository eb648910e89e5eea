"""The preference center's services: newsletters, language, a pause, how often to be asked, and the
reader's data as JSON. Plain functions; the caller owns the transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.ports import supporter_export
from newsletter.readers.errors import SubscriberError
from newsletter.readers.models import AskFrequency, Newsletter, ReaderMail, Subscriber
from newsletter.readers.signup import set_subscriptions
from newsletter.readers.subscribers import record_event

MAX_PAUSE = timedelta(days=366)


def parse_pause(value: date | None, *, today: date | None = None) -> datetime | None:
    """The end of a pause as a UTC datetime: the morning of ``value``. Raises for a past or far date."""
    if value is None:
        return None
    today = today or utcnow().date()
    if value <= today:
        raise SubscriberError("the end of the pause must lie in the future")
    if value > today + MAX_PAUSE:
        raise SubscriberError("a pause can last at most a year")
    return datetime.combine(value, time(0, 0), tzinfo=UTC)


def update_preferences(
    session: Session,
    subscriber: Subscriber,
    *,
    newsletters: list[Newsletter],
    locale: str,
    paused_until: datetime | None,
    ask_frequency: AskFrequency,
) -> dict[str, Any]:
    """Apply the reader's own choice from the preference center; records what changed. Returns it."""
    changes: dict[str, Any] = {}
    before = sorted(s.newsletter.slug for s in subscriber.subscriptions)
    after = sorted(n.slug for n in newsletters)
    if before != after:
        set_subscriptions(session, subscriber, newsletters)
        changes["newsletters"] = after
    if subscriber.locale != locale:
        subscriber.locale = locale
        changes["locale"] = locale
    if subscriber.paused_until != paused_until:
        subscriber.paused_until = paused_until
        changes["paused_until"] = paused_until.date().isoformat() if paused_until else None
    if subscriber.ask_frequency is not ask_frequency:
        subscriber.ask_frequency = ask_frequency
        changes["ask_frequency"] = ask_frequency.value
    if changes:
        record_event(session, subscriber, "preferences_changed", via="preference center", **changes)
    return changes


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_data(session: Session, subscriber: Subscriber) -> dict[str, Any]:
    """Everything Beitrag holds about the reader (GDPR Art. 15 and 20), as plain JSON values."""
    mails = session.scalars(
        select(ReaderMail).where(ReaderMail.subscriber_id == subscriber.id).order_by(ReaderMail.id)
    ).all()
    return {
        "subscriber": {
            "email": subscriber.email,
            "status": subscriber.status.value,
            "language": subscriber.locale,
            "source": subscriber.source,
            "created_at": _iso(subscriber.created_at),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "unsubscribed_at": _iso(subscriber.unsubscribed_at),
            "paused_until": _iso(subscriber.paused_until),
            "donation_asks": subscriber.ask_frequency.value,
        },
        "consent": {
            "basis": subscriber.consent_basis.value if subscriber.consent_basis else None,
            "given_at": _iso(subscriber.consent_at),
            "detail": subscriber.consent_detail,
        },
        "subscriptions": [
            {"newsletter": s.newsletter.name, "slug": s.newsletter.slug, "since": _iso(s.created_at)}
            for s in subscriber.subscriptions
        ],
        "events": [{"kind": e.kind, "at": _iso(e.created_at), "detail": e.detail} for e in subscriber.events],
        "mails_requested": [
            {"kind": m.kind, "at": _iso(m.created_at), "queued_at": _iso(m.enqueued_at)} for m in mails
        ],
        "donations": supporter_export(session, subscriber),
    }
