"""Small steps the journeys share: reading links out of captured mail, arranging data behind the scenes."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage

_URL = re.compile(r"https?://[^\s<>\"']+")


def plain_text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def links(message: EmailMessage, base_url: str, path: str) -> list[str]:
    """The app's links in the text part whose path starts with ``path``, in order."""
    return [u for u in _URL.findall(plain_text(message)) if u.startswith(base_url + path)]


def list_unsubscribe_url(message: EmailMessage) -> str:
    """The https/http half of ``List-Unsubscribe`` (RFC 2369: URLs in angle brackets)."""
    for part in re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"])):
        if part.startswith("http"):
            return part
    raise AssertionError(f"no web address in List-Unsubscribe: {message['List-Unsubscribe']}")


def send_issue_behind_the_scenes(
    app, subject: str, newsletter_slug: str, *, article_id: int | None = None, **fields
) -> int:  # fmt: skip
    """An editor's send, done with the project's services: the worker process of the stack delivers it.
    The issue holds ``article_id`` (the newest article when not given); ``fields`` are further
    ``IssueInput`` fields (layout, intro, the English version)."""
    from sqlalchemy import select

    from db import db
    from newsletter.editorial import issues
    from newsletter.editorial.models import Article
    from newsletter.readers.models import Newsletter
    from newsletter.sending import control, ledger

    with app.app_context():
        newsletter = db.session.scalars(select(Newsletter).where(Newsletter.slug == newsletter_slug)).one()
        if article_id is None:
            article_id = db.session.scalars(select(Article.id).order_by(Article.published_at.desc())).first()
        issue = issues.create_issue(
            db.session,
            issues.IssueInput(
                subject=subject, newsletter_ids=[newsletter.id], sender_name="KI-Kompass",
                sender_address=app.config["MAIL_FROM"], **fields,
            ),
        )
        db.session.flush()
        issues.add_article(db.session, issue, article_id)
        db.session.commit()
        prepared = ledger.prepare_send(db.session, issue)
        db.session.commit()
        control.queue_batches(prepared.issue_id, prepared.batches)
        issue_id = issue.id
        db.session.remove()
    return issue_id


def wait_until(check, timeout: float = 30.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
