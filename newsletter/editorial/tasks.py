"""The editorial jobs and how they are queued: feed imports (now, and on each feed's schedule), and the
queueing of an issue's test send (the job itself is the send path's). Jobs take ids and plain values, own
their transaction, and are safe to run twice."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app

from db import db, utcnow
from newsletter.editorial import articles, feeds
from newsletter.editorial.feeds import FetchPolicy
from newsletter.editorial.models import Feed
from newsletter.platform import queues


def feed_fetch_policy():
    config = current_app.config
    return FetchPolicy(
        timeout=float(config.get("FEED_TIMEOUT", 10.0)),
        max_bytes=int(config.get("FEED_MAX_BYTES", 5 * 1024 * 1024)),
        allowed_loopback=frozenset(config.get("FEED_ALLOWED_LOOPBACK") or ()),
    )


def import_feed(feed_id: int, *, reschedule: bool = False, slot: int | None = None) -> str:
    """Fetch one feed through the guard and import its items. A refusal or a broken feed is recorded on
    the feed (shown to editors), not retried. With ``reschedule`` (the scheduled runs) the next run is
    queued for the feed's next slot after this one (see :func:`schedule_feed`)."""
    feed = db.session.get(Feed, feed_id)
    if feed is None or (reschedule and not feed.active):
        return "no such active feed"
    try:
        fetched = feeds.fetch(feed.url, feed_fetch_policy())
        parsed = articles.parse_feed(fetched.body)
        result = articles.import_entries(db.session, feed.id, parsed)
    except (feeds.FetchRefused, articles.FeedError, articles.ArticleError) as exc:
        db.session.rollback()
        feed = db.session.get(Feed, feed_id)
        feed.last_error = str(exc)[:1000]
        feed.last_fetched_at = utcnow()
        outcome = f"failed: {exc}"
    else:
        feed.title = articles.plain_text(parsed.feed.get("title") or "")[:300] or feed.title
        feed.last_error = None
        feed.last_fetched_at = utcnow()
        feed.last_new, feed.last_updated = result.new, result.updated
        outcome = f"{result.new} new, {result.updated} updated"
    interval = feed.interval_minutes
    db.session.commit()
    if reschedule:
        schedule_feed(feed_id, interval, after=slot)
    return outcome


def next_feed_slot(interval_minutes: int, after: float) -> int:
    """The first multiple of the interval (Unix seconds) strictly after ``after``."""
    step = interval_minutes * 60
    return (int(after) // step + 1) * step


def schedule_feed(feed_id: int, interval_minutes: int, *, after: int | None = None):
    """Queue the feed's scheduled import for its next slot (RQ's scheduler runs it when due).

    Slots are multiples of the interval, and the job id names feed and slot: scheduling again before the
    slot (a second click, the ``schedule-feeds`` command, a job run twice) replaces the same waiting job,
    and a running job never shares its id with the next one, so finishing it cannot touch its successor.
    """
    now = utcnow().timestamp()
    slot = next_feed_slot(interval_minutes, max(now, after or 0))
    return queues.enqueue(
        queues.FEED_IMPORT, feed_id, reschedule=True, slot=slot, job_id=queues.feed_import_id(feed_id, slot),
        at=datetime.fromtimestamp(slot, UTC),
    )  # fmt: skip


def queue_feed_import(feed_id: int) -> None:
    """Import the feed now (the editor's button). A fresh job each time: a second click while one runs
    imports again, which is harmless (nothing doubles)."""
    queues.enqueue(queues.FEED_IMPORT, feed_id)


def queue_issue_test(issue_id: int, recipients: list[str], variant: str, locale: str, *, audit_entry_id: int):
    """Queue an editor's test send. The job is the send path's (``sending.tasks.send_issue_test``, named by
    its path: the message is assembled and relayed as a reader's copy is)."""
    return queues.enqueue(
        queues.ISSUE_TEST, issue_id, list(recipients), variant, locale,
        job_id=queues.issue_test_id(issue_id, audit_entry_id),
    )  # fmt: skip
