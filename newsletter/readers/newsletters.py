"""Newsletters (lists) as editors manage them: create, change, order, choose the default, count readers.
Plain functions; the caller owns the transaction."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from newsletter.readers.addresses import SubscriberError
from newsletter.readers.models import Newsletter, Subscriber, SubscriberStatus, Subscription

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class NewsletterError(SubscriberError):
    pass


def list_newsletters(session: Session) -> list[Newsletter]:
    return list(session.scalars(select(Newsletter).order_by(Newsletter.position, Newsletter.id)))


def subscriber_counts(session: Session) -> dict[int, dict[str, int]]:
    """Readers per newsletter by status: ``{newsletter_id: {"active": n, "pending": m, ...}}``."""
    rows = session.execute(
        select(Subscription.newsletter_id, Subscriber.status, func.count())
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .group_by(Subscription.newsletter_id, Subscriber.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for newsletter_id, status, n in rows:
        counts.setdefault(newsletter_id, {})[SubscriberStatus(status).value] = n
    return counts


def save_newsletter(
    session: Session,
    newsletter: Newsletter | None,
    *,
    name: str,
    slug: str,
    description: str,
    is_public: bool,
    is_default: bool,
    position: int,
) -> Newsletter:
    """Create (``newsletter=None``) or change a newsletter. Exactly one newsletter is the default:
    choosing a new default takes the mark from the old one; the last default cannot give it up."""
    # One line: the name stands in every newsletter's List-Id header.
    name, slug = " ".join(name.split()), slug.strip().lower()
    if not name:
        raise NewsletterError("the newsletter needs a name")
    if not SLUG.match(slug):
        raise NewsletterError("the short name may hold only lower-case letters, digits and hyphens")
    clash = session.scalar(select(Newsletter).where(Newsletter.slug == slug))
    if clash is not None and clash is not newsletter:
        raise NewsletterError("another newsletter already has this short name")
    others_default = session.scalar(
        select(func.count())
        .select_from(Newsletter)
        .where(Newsletter.is_default.is_(True), Newsletter.id != (newsletter.id if newsletter else -1))
    )
    if not is_default and not others_default:
        # The first newsletter, or the current default: someone must stay the default.
        is_default = True
    if is_default:
        session.execute(update(Newsletter).where(Newsletter.is_default.is_(True)).values(is_default=False))
    if newsletter is None:
        newsletter = Newsletter()
        session.add(newsletter)
    newsletter.name = name
    newsletter.slug = slug
    newsletter.description = description.strip()
    newsletter.is_public = is_public
    newsletter.is_default = is_default
    newsletter.position = position
    session.flush()
    return newsletter


def newsletters_by_key(session: Session) -> dict[str, int]:
    """Slug, name and id (as text), lower-cased, to id: how an import file may name a newsletter."""
    keys: dict[str, int] = {}
    for n in list_newsletters(session):
        keys[n.slug.lower()] = n.id
        keys[n.name.strip().lower()] = n.id
        keys[str(n.id)] = n.id
    return keys
