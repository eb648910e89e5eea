"""The one surface ``payments`` may import from ``newsletter`` (besides ``newsletter.platform``): readers and
issues as plain values, signed tokens, the mail outbox, the statistics' reader and issue figures, staff
access, and the registration of what the donations side provides (``newsletter.ports``). Nothing inside
``newsletter`` imports this module."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, select, update

from newsletter.editorial.models import Article, Issue, IssueState
from newsletter.mail import outbox
from newsletter.mail.tasks import Message as Message
from newsletter.platform.access import StaffRole as StaffRole
from newsletter.platform.access import guard_blueprint as guard_blueprint
from newsletter.platform.tokens import TokenError as TokenError
from newsletter.platform.tokens import make_token as make_token
from newsletter.platform.tokens import read_token as read_token
from newsletter.ports import register_demo_loader as register_demo_loader
from newsletter.ports import register_money_report as register_money_report
from newsletter.ports import register_supporter_provider as register_supporter_provider
from newsletter.readers import sharing
from newsletter.readers.models import Subscriber, SubscriberStatus
from newsletter.readers.subscribers import find_subscriber
from newsletter.sending.models import Delivery, DeliveryStatus
from newsletter.stats.figures import issue_recipients as issue_recipients
from newsletter.stats.figures import issue_rows as issue_rows
from newsletter.stats.figures import reader_figures as reader_figures
from newsletter.stats.figures import readers_by_newsletter as readers_by_newsletter
from newsletter.stats.figures import readers_by_source as readers_by_source
from newsletter.stats.figures import subscribers_summary as subscribers_summary
from newsletter.stats.periods import edge_index as edge_index

# The outbox every mail of Beitrag shares (``newsletter.mail.outbox``): the donor mails use it too.
sweep_outbox = outbox.sweep
sweep_outbox_all = outbox.sweep_all


def find_subscriber_id(session, email: str) -> int | None:
    """The id of the reader with this address (regardless of case), or None."""
    subscriber = find_subscriber(session, email)
    return subscriber.id if subscriber is not None else None


def set_first_gifts(session, first_gifts: dict[int, datetime | None]) -> None:
    """Record when each of these readers first gave (None: not, or no longer, linked to a gift), as the
    donations side computed it, in the caller's transaction (see ``Subscriber.first_gift_at``)."""
    if not first_gifts:
        return
    table = Subscriber.__table__
    session.connection().execute(
        update(table).where(table.c.id == bindparam("reader")).values(first_gift_at=bindparam("at")),
        [{"reader": reader, "at": at} for reader, at in sorted(first_gifts.items())],
    )


def share_url(subscriber_id: int, *, base_url: str, via: str) -> str:
    """The reader's own share link (``newsletter.readers.sharing``), with the place it stands in."""
    return sharing.share_url(base_url, current_app.config["SECRET_KEY"], subscriber_id, via)


def article_titles(session, slugs: list[str]) -> dict[str, str]:
    """The titles of the articles with these slugs (slugs of no article are left out)."""
    if not slugs:
        return {}
    return dict(session.execute(select(Article.slug, Article.title).where(Article.slug.in_(slugs))).all())


def issue_exists(session, issue_id: int) -> bool:
    return session.get(Issue, issue_id) is not None


def demo_readers(session) -> list[tuple[int, str, str]]:
    """``(id, email, locale)`` of the active readers, by id: for demo data of other packages."""
    rows = session.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.locale)
        .where(Subscriber.status == SubscriberStatus.ACTIVE)
        .order_by(Subscriber.id)
    )
    return [tuple(row) for row in rows]


def demo_reader_history(session) -> dict[int, tuple[datetime | None, list[tuple[int, datetime]]]]:
    """For each active reader (by id): since when they are a confirmed reader, and the issues they were
    sent (``(issue id, sent at)``, oldest first): for demo gifts that come after the giver subscribed and
    name an issue they received."""
    history: dict[int, tuple[datetime | None, list[tuple[int, datetime]]]] = {
        reader: (confirmed, [])
        for reader, confirmed in session.execute(
            select(Subscriber.id, Subscriber.confirmed_at).where(Subscriber.status == SubscriberStatus.ACTIVE)
        )
    }
    rows = session.execute(
        select(Delivery.subscriber_id, Delivery.issue_id, Delivery.sent_at)
        .where(
            Delivery.sent_at.is_not(None), Delivery.status.in_([DeliveryStatus.SENT, DeliveryStatus.BOUNCED])
        )
        .order_by(Delivery.sent_at)
    )
    for reader, issue_id, sent_at in rows:
        if reader in history:
            history[reader][1].append((issue_id, sent_at))
    return history


def sent_issue_ids(session) -> list[int]:
    return list(session.scalars(select(Issue.id).where(Issue.state == IssueState.SENT).order_by(Issue.id)))
