"""Fixtures of the editor's desk: a signed-in editor, newsletters, articles, local feed servers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db import utcnow
from newsletter.editorial import articles
from newsletter.readers.models import Newsletter
from tests.staff.factories import sign_in, staff_user
from tests.support.feedserver import FeedServer


@pytest.fixture
def editor(client, db):
    """Eda, an editor; the test client is signed in as her."""
    return sign_in(client, staff_user(db, "eda@example.org", name="Eda"))


@pytest.fixture
def newsletter(db):
    item = Newsletter(slug="ki-news", name="KI-News täglich", is_default=True)
    db.session.add(item)
    db.session.commit()
    return item


def make_article(db, title: str, days_ago: float = 1, **kw):
    data = articles.ArticleInput(
        title=title,
        teaser=kw.pop("teaser", f"Worum es in {title} geht."),
        author=kw.pop("author", "Mara Schulz"),
        canonical_url=kw.pop("canonical_url", None),
        published_at=utcnow() - timedelta(days=days_ago),
        **kw,
    )
    article = articles.create_article(db.session, data)
    db.session.commit()
    return article


@pytest.fixture
def feed_server():
    server = FeedServer("127.0.0.1").start()
    yield server
    server.stop()


@pytest.fixture
def second_server():
    """Another loopback address (Linux routes all of 127.0.0.0/8 to the loopback interface)."""
    server = FeedServer("127.0.0.2").start()
    yield server
    server.stop()
