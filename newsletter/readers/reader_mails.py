"""The reader-mail outbox: confirmation and preference-link mails written as rows in the transaction that
asks for them, capped per address and day, and put on the queue by the clock's sweep."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.mail import outbox
from newsletter.readers import links
from newsletter.readers.models import Newsletter, ReaderMail, Subscriber, SubscriberStatus, Subscription
from newsletter.readers.subscribers import confirmation_token, record_event


def request_confirmation(session: Session, subscriber: Subscriber) -> bool:
    """Queue the double opt-in mail. It carries nothing the reader typed but the address itself.

    At most :data:`MAILS_PER_DAY` confirmation mails go to one address in 24 hours, counted in the
    database (so the cap holds when Redis forgets). The request is written as a :class:`ReaderMail` row in
    the caller's transaction; when Redis is unreachable the row stays unqueued and
    :func:`send_unqueued_reader_mails` sends it later. Returns False when the cap held the mail back."""
    return _request_reader_mail(session, subscriber, "confirm")


MAILS_PER_DAY = 3  # confirmation (or preference-link) mails one address can receive in 24 hours
UNQUEUED_MAIL_LIFETIME = timedelta(days=3)  # the sweeper gives up on mails older than this


def mails_sent_today(
    session: Session, subscriber: Subscriber, kind: str, *, now: datetime | None = None
) -> int:
    since = (now or utcnow()) - timedelta(days=1)
    return session.scalar(
        select(func.count())
        .select_from(ReaderMail)
        .where(
            ReaderMail.subscriber_id == subscriber.id,
            ReaderMail.kind == kind,
            ReaderMail.created_at >= since,
        )
    )


def _request_reader_mail(
    session: Session, subscriber: Subscriber, kind: str, *, new_reader: bool = False
) -> bool:
    """``new_reader``: the reader was created in this transaction, so nothing was mailed to them yet."""
    if subscriber.id is None:
        session.flush()
    if not new_reader and mails_sent_today(session, subscriber, kind) >= MAILS_PER_DAY:
        record_event(session, subscriber, "mail_held_back", mail=kind, reason="daily limit reached")
        return False
    # The outbox: the row is written with the caller's commit, together with the reader; the sweeper
    # (send_unqueued_reader_mails, run every few seconds by the clock) puts it on the queue.
    session.add(ReaderMail(subscriber_id=subscriber.id, kind=kind, created_at=utcnow()))
    record_event(session, subscriber, "confirmation_sent" if kind == "confirm" else "preferences_link_sent")
    return True


def _messages(base_url: str, secret_key: str):
    """What the claimed rows ``(subscriber_id, kind)`` stand for: the confirmation or the preference link
    for each reader still there; a confirmation for a reader who has confirmed meanwhile is dropped."""
    def compose(session: Session, claimed) -> list[outbox.Message]:
        readers = session.execute(
            select(Subscriber.id, Subscriber.email, Subscriber.locale, Subscriber.status)
            .where(Subscriber.id.in_({row.subscriber_id for row in claimed}))
        )  # fmt: skip
        by_id = {reader.id: reader for reader in readers}
        chosen = _newsletters_chosen(session, [row.subscriber_id for row in claimed if row.kind == "confirm"])
        messages = []
        for subscriber_id, kind in claimed:
            reader = by_id.get(subscriber_id)
            if reader is None or (kind == "confirm" and reader.status is SubscriberStatus.ACTIVE):
                continue
            if kind == "confirm":
                token = confirmation_token(reader)
                url = f"{base_url}/confirm/{token}"
                names = [n.name_for(reader.locale) for n in chosen.get(reader.id, [])]
                context = {"confirm_url": url, "newsletter_names": names}
                message = ("confirm_subscription", reader.email, context)
            else:
                url = links.preferences_url(base_url, secret_key, reader.id)
                message = ("preferences_link", reader.email, {"preferences_url": url})
            messages.append(((*message, reader.locale), None))
        return messages

    return compose


def _newsletters_chosen(session: Session, subscriber_ids: list[int]) -> dict[int, list[Newsletter]]:
    """The newsletters each of these readers signed up for, in the order the sign-up form shows them: the
    confirmation names them in the reader's language."""
    if not subscriber_ids:
        return {}
    rows = session.execute(
        select(Subscription.subscriber_id, Newsletter)
        .join(Newsletter, Newsletter.id == Subscription.newsletter_id)
        .where(Subscription.subscriber_id.in_(set(subscriber_ids)))
        .order_by(Newsletter.position, Newsletter.id)
    )
    chosen: dict[int, list[Newsletter]] = {}
    for subscriber_id, newsletter in rows:
        chosen.setdefault(subscriber_id, []).append(newsletter)
    return chosen


def send_unqueued_reader_mails(session: Session, *, base_url: str, secret_key: str, limit: int = 1000) -> int:
    """The sweep (``mail.outbox``): queue up to ``limit`` reader mails not on the queue yet and not older
    than :data:`UNQUEUED_MAIL_LIFETIME`. Returns how many were queued; the caller commits."""
    return outbox.sweep(
        session, ReaderMail.__table__, _messages(base_url, secret_key), returning=("subscriber_id", "kind"),
        limit=limit, not_before=utcnow() - UNQUEUED_MAIL_LIFETIME,
    )  # fmt: skip


def request_preferences_link(session: Session, subscriber: Subscriber) -> bool:
    """Mail the reader a signed link to their preference center (capped per day like confirmations)."""
    return _request_reader_mail(session, subscriber, "preferences")
