"""The welcome-mail outbox, readers' half: the rows that say "welcome this reader to this newsletter",
written in the transaction that makes the reader active (their confirmation, or an import with consent
that asks for it). Each row is due ``delay_minutes`` after it was written; the sending side's sweep
(``sending.welcome``) queues it then, and composes the mail.

A reader gets a newsletter's welcome once, ever: ``welcome_mails`` is unique per reader and newsletter and
the rows are inserted with ``ON CONFLICT DO NOTHING``, so a confirmation clicked twice, two workers
confirming at once or a reader who leaves and comes back write no second row."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session

from db import dialect_insert, utcnow
from newsletter.readers.models import (
    ImportRow,
    NewsletterWelcome,
    Subscriber,
    SubscriberStatus,
    Subscription,
    WelcomeMail,
)


def welcome_settings(session: Session, newsletter_id: int) -> NewsletterWelcome:
    """The newsletter's welcome as stored, or a new (unsaved, turned off) one with the defaults."""
    found = session.get(NewsletterWelcome, newsletter_id)
    if found is not None:
        return found
    return NewsletterWelcome(
        newsletter_id=newsletter_id, enabled=False, delay_minutes=0, subject="", subject_en="", intro="",
        intro_en="", content="latest_issue", article_ids=[],
    )  # fmt: skip


def request_welcome(session: Session, subscriber: Subscriber, *, now: datetime | None = None) -> int:
    """Write the welcome rows for one reader who just became active: one per newsletter of theirs whose
    welcome is on. Returns how many rows are new."""
    if subscriber.id is None:
        session.flush()
    readers = select(Subscription.subscriber_id).where(Subscription.subscriber_id == subscriber.id)
    return _request(session, readers, now=now)


def request_welcome_for_import(session: Session, import_id: int, *, now: datetime | None = None) -> int:
    """Write the welcome rows for the active readers an import created (its rows read and accepted), when
    the editor asked for it on that import. Safe to run twice."""
    readers = (
        select(Subscription.subscriber_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .join(ImportRow, func.lower(Subscriber.email) == ImportRow.email_lower)
        .where(
            ImportRow.import_id == import_id, ImportRow.outcome == "read",
            Subscriber.status == SubscriberStatus.ACTIVE,
        )
    )  # fmt: skip
    return _request(session, readers, now=now)


def _request(session: Session, readers: Select, *, now: datetime | None) -> int:
    now = now or utcnow()
    welcomes = session.execute(
        select(NewsletterWelcome.newsletter_id, NewsletterWelcome.delay_minutes).where(
            NewsletterWelcome.enabled.is_(True)
        )
    ).all()
    added = 0
    for newsletter_id, delay in welcomes:
        due = now + timedelta(minutes=max(0, delay or 0))
        chosen = readers.where(Subscription.newsletter_id == newsletter_id).with_only_columns(
            Subscription.subscriber_id,
            literal(newsletter_id),
            literal(now, WelcomeMail.created_at.type),
            literal(due, WelcomeMail.due_at.type),
            literal("waiting"),
        )
        insert = dialect_insert(session, WelcomeMail.__table__).from_select(
            ["subscriber_id", "newsletter_id", "created_at", "due_at", "status"], chosen
        )
        added += len(session.execute(insert.on_conflict_do_nothing().returning(WelcomeMail.id)).all())
    return added
