"""What editors change about a feed after adding it (address, title, interval), pausing and resuming it,
removing it, and the count of failed imports in a row that pauses a broken feed on its own.

A paused feed is ``active`` false with ``paused_at`` set: its scheduled import does nothing and queues no
next run (``tasks.import_feed``); resuming schedules it again. Removing a feed keeps its articles: their
``feed_id`` becomes empty, as for the newsroom's own articles, and issues that hold them are untouched.
Every change an editor makes is audit-logged here, in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.editorial.articles import FeedError
from newsletter.editorial.feeds import check_url
from newsletter.editorial.models import Article, Feed
from newsletter.platform import audit

# Failed imports in a row after which a feed pauses itself: with the default interval of an hour, a feed
# that is gone stops trying after five hours instead of failing every run forever.
MAX_FAILURES = 5
MIN_INTERVAL, MAX_INTERVAL = 5, 7 * 24 * 60


def paused_by_failures(feed: Feed) -> bool:
    """Whether the feed paused itself (the feeds page says why) rather than an editor pausing it."""
    return feed.paused_at is not None and feed.failures >= MAX_FAILURES


def update_feed(session: Session, feed: Feed, *, url: str, title: str, interval_minutes: int) -> bool:
    """Change the feed's address, title and interval; True when the interval changed (the caller then
    schedules the feed's next run on the new interval). Raises ``FeedError`` or ``FetchRefused``."""
    url = (url or "").strip()
    check_url(url)
    taken = session.scalar(select(Feed.id).where(Feed.url == url, Feed.id != feed.id))
    if taken is not None:
        raise FeedError(_l("this feed is already in the list"))
    if not MIN_INTERVAL <= interval_minutes <= MAX_INTERVAL:
        raise FeedError(_l("the interval must be between 5 minutes and one week"))
    changed = {}
    if url != feed.url:
        changed["url"] = url
    title = " ".join((title or "").split())[:300]
    if title != feed.title:
        changed["title"] = title
    if interval_minutes != feed.interval_minutes:
        changed["minutes"] = interval_minutes
    feed.url, feed.title, feed.interval_minutes = url, title, interval_minutes
    if "url" in changed:
        feed.failures = 0  # a new address starts a new count
    session.flush()
    if changed:
        audit.record(session, "feed.update", target=feed, detail=changed)
    return "minutes" in changed


def pause_feed(session: Session, feed: Feed, *, now: datetime | None = None) -> None:
    if feed.paused_at is not None:
        raise FeedError(_l("this feed is paused already"))
    feed.active, feed.paused_at = False, now or utcnow()
    session.flush()
    audit.record(session, "feed.pause", target=feed, detail={"url": feed.url})


def resume_feed(session: Session, feed: Feed) -> None:
    """Import the feed on its schedule again, with a fresh count of failures."""
    if feed.paused_at is None and feed.active:
        raise FeedError(_l("this feed is not paused"))
    feed.active, feed.paused_at, feed.failures = True, None, 0
    session.flush()
    audit.record(session, "feed.resume", target=feed, detail={"url": feed.url})


def remove_feed(session: Session, feed: Feed) -> int:
    """Delete the feed; its articles stay, no longer tied to it. Returns how many articles it had. The
    column's ``ON DELETE SET NULL`` would do the same; doing it here does not depend on the database
    enforcing foreign keys."""
    kept = session.execute(update(Article).where(Article.feed_id == feed.id).values(feed_id=None)).rowcount
    audit.record(session, "feed.delete", target=feed, detail={"url": feed.url, "articles_kept": kept})
    session.delete(feed)
    session.flush()
    return kept


def record_failure(session: Session, feed: Feed, error: str, *, now: datetime | None = None) -> bool:
    """Note a failed import; True when this failure paused the feed (``MAX_FAILURES`` in a row)."""
    now = now or utcnow()
    feed.last_error = error[:1000]
    feed.last_fetched_at = now
    feed.failures = (feed.failures or 0) + 1
    if feed.failures < MAX_FAILURES or feed.paused_at is not None:
        return False
    feed.active, feed.paused_at = False, now
    audit.record(session, "feed.pause", actor=audit.SYSTEM, target=feed,
                 detail={"url": feed.url, "failures": feed.failures})  # fmt: skip
    return True


def record_success(feed: Feed, *, new: int, updated: int, now: datetime | None = None) -> None:
    feed.last_error = None
    feed.last_fetched_at = now or utcnow()
    feed.last_new, feed.last_updated = new, updated
    feed.failures = 0
