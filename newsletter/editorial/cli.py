"""``flask --app app newsletter schedule-feeds``."""

from __future__ import annotations

import click
from sqlalchemy import select

from db import db
from newsletter.editorial import tasks as editorial_tasks
from newsletter.editorial.models import Feed
from newsletter.platform.cli import newsletter_cli


@newsletter_cli.command("schedule-feeds")
def schedule_feeds() -> None:
    """Queue the next scheduled import of every active feed (after Redis was flushed or restored)."""
    feeds = db.session.scalars(select(Feed).where(Feed.active.is_(True)).order_by(Feed.id)).all()
    for feed in feeds:
        editorial_tasks.schedule_feed(feed.id, feed.interval_minutes)
    click.echo(f"Scheduled {len(feeds)} feeds.")
