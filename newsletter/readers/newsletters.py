"""Newsletters (lists): as editors manage them (create, change, order, choose the default, count readers),
and as the sign-up form offers them to readers (kept in memory a few seconds per process). Plain
functions; the caller owns the transaction."""

from __future__ import annotations

import re
from time import monotonic
from typing import Any, NamedTuple

from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.orm import Session, scoped_session

from newsletter.platform import audit
from newsletter.readers.errors import SubscriberError
from newsletter.readers.models import Newsletter, Subscriber, SubscriberStatus, Subscription, in_language

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
    name_en: str = "",
    description_en: str = "",
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
    created = newsletter is None
    if newsletter is None:
        newsletter = Newsletter()
        session.add(newsletter)
    newsletter.name = name
    newsletter.slug = slug
    newsletter.description = description.strip()
    # Empty: readers who chose English see the German name and description.
    newsletter.name_en = " ".join((name_en or "").split()) or None
    newsletter.description_en = (description_en or "").strip() or None
    newsletter.is_public = is_public
    newsletter.is_default = is_default
    newsletter.position = position
    session.flush()
    audit.record(session, "newsletter.create" if created else "newsletter.update", target=newsletter,
                 detail={"name": name, "slug": slug, "public": is_public, "default": is_default,
                         "position": position})  # fmt: skip
    return newsletter


def newsletters_by_key(session: Session) -> dict[str, int]:
    """Slug, name and id (as text), lower-cased, to id: how an import file may name a newsletter."""
    keys: dict[str, int] = {}
    for n in list_newsletters(session):
        keys[n.slug.lower()] = n.id
        keys[n.name.strip().lower()] = n.id
        keys[str(n.id)] = n.id
    return keys


# -- the newsletters a reader may choose on the sign-up form ------------------------------------------


def public_newsletters(session: Session) -> list[Newsletter]:
    return list(
        session.scalars(
            select(Newsletter)
            .where(Newsletter.is_public.is_(True))
            .order_by(Newsletter.position, Newsletter.id)
        )
    )


class OfferedNewsletter(NamedTuple):
    id: int
    slug: str
    name: str
    is_default: bool
    name_en: str | None = None
    description: str = ""
    description_en: str | None = None

    def name_for(self, locale: object) -> str:
        return in_language(self.name, self.name_en, locale)

    def description_for(self, locale: object) -> str:
        return in_language(self.description, self.description_en, locale)


OFFERED_NEWSLETTERS_SECONDS = 5.0  # how long a process reuses the list of public newsletters
_offered: dict[Any, tuple[float, int, list[OfferedNewsletter]]] = {}  # database URL -> (time, version, list)
_newsletters_version = 0  # bumped whenever this process changes a newsletter


def forget_offered_newsletters(*_: Any) -> None:
    """Newsletters changed: the next sign-up reads them again."""
    global _newsletters_version
    _newsletters_version += 1


def offered_newsletters(session: Session | Engine) -> list[OfferedNewsletter]:
    """The public newsletters as plain tuples for the sign-up form and API, which need them on every
    request. They change rarely: each process keeps them for :data:`OFFERED_NEWSLETTERS_SECONDS` (a change
    made by staff in this process shows at once, one made elsewhere within those seconds). The sign-up
    forms pass the engine: they open no session."""
    bind = session if isinstance(session, Engine) else session.get_bind()
    key = bind.url  # hashable; rendering it as text on every sign-up cost more than the lookup
    now = monotonic()
    cached = _offered.get(key)
    if (
        cached is not None
        and cached[1] == _newsletters_version
        and now - cached[0] < OFFERED_NEWSLETTERS_SECONDS
    ):
        return cached[2]
    version = _newsletters_version
    query = (
        select(
            Newsletter.id,
            Newsletter.slug,
            Newsletter.name,
            Newsletter.is_default,
            Newsletter.name_en,
            Newsletter.description,
            Newsletter.description_en,
        )
        .where(Newsletter.is_public.is_(True))
        .order_by(Newsletter.position, Newsletter.id)
    )
    actual = session() if isinstance(session, scoped_session) else session
    if not isinstance(actual, Engine) and actual.in_transaction():
        # the caller's transaction may hold changes of its own: read inside it
        rows = [OfferedNewsletter(*row) for row in session.execute(query)]
    else:  # a connection for this read only, back in the pool at once: a sign-up thread holds none while
        # it waits out the answer floor, and its statement (see _subscribe_postgresql) takes its own
        with bind.connect() as connection:
            rows = [OfferedNewsletter(*row) for row in connection.execute(query)]
    _offered[key] = (now, version, rows)
    return rows


def choose_newsletters(
    session: Session, slugs: list[str] | None, available: list[Any] | None = None
) -> list[Newsletter]:
    """The public newsletters named by ``slugs``; the default ones when none is named. Raises
    :class:`SubscriberError` for a slug that names no public newsletter (hidden ones cannot be chosen)."""
    available = available if available is not None else offered_newsletters(session)
    if not slugs:
        chosen = [n for n in available if n.is_default] or available[:1]
        if not chosen:
            raise SubscriberError("there is no newsletter to subscribe to yet")
        return chosen
    by_slug = {n.slug: n for n in available}
    unknown = [s for s in slugs if s not in by_slug]
    if unknown:
        raise SubscriberError("unknown newsletter")
    return [by_slug[s] for s in dict.fromkeys(slugs)]


_CHANGES = ("after_insert", "after_update", "after_delete")


def register_hooks() -> None:
    """Forget the offered newsletters whenever this process changes one (once per process)."""
    for change in _CHANGES:
        if not event.contains(Newsletter, change, forget_offered_newsletters):
            event.listen(Newsletter, change, forget_offered_newsletters)
