"""Newsletters and readers as rows, in the states the reader flows leave them in.

``make_newsletter`` and ``make_reader`` only flush (the rows have their ids), so that several go into one
transaction: commit before a request or a worker reads them. ``make_pending_reader`` commits: it is a
finished sign-up, its confirmation mail waiting in the outbox."""

from __future__ import annotations

from collections.abc import Iterable

from newsletter.readers import reader_mails
from newsletter.readers.models import Newsletter, Subscriber, SubscriberStatus, Subscription


def make_newsletter(db, slug: str = "ki-news", name: str = "KI-News täglich", **fields) -> Newsletter:
    newsletter = Newsletter(slug=slug, name=name, **fields)
    db.session.add(newsletter)
    db.session.flush()
    return newsletter


def make_reader(
    db, email: str, *, status: SubscriberStatus = SubscriberStatus.ACTIVE,
    newsletters: Iterable[Newsletter] = (), **fields,
) -> Subscriber:  # fmt: skip
    """A reader in ``status`` (active unless told), on ``newsletters``; other columns as given."""
    reader = Subscriber(email=email, status=status, **fields)
    db.session.add(reader)
    db.session.flush()
    for newsletter in newsletters:
        db.session.add(Subscription(subscriber_id=reader.id, newsletter_id=newsletter.id))
    return reader


def make_pending_reader(
    db, email: str = "leserin@example.org", *, locale: str = "de", **fields
) -> Subscriber:
    """A sign-up waiting for its confirmation: pending, the confirmation mail written to the outbox."""
    reader = make_reader(db, email, status=SubscriberStatus.PENDING, locale=locale, **fields)
    reader_mails.request_confirmation(db.session, reader)
    db.session.commit()
    return reader
