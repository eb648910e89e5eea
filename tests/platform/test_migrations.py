"""Upgrading a database that already holds readers keeps every row: the migrations that rebuild tables on
SQLite must not cascade-delete subscriptions or history (foreign keys are off while migrating)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

FIRST = "0001"


@pytest.fixture
def empty_database(tmp_path):
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    name = f"beitrag_upgrade_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


OLD_ROWS = [
    "INSERT INTO newsletters (id, slug, name, description, is_public, is_default, position, created_at)"
    " VALUES (1, 'ki', 'KI-News', '', true, true, 0, :now)",
    "INSERT INTO subscribers (id, email, status, locale, created_at)"
    " VALUES (1, 'Leserin@example.org', 'active', 'de', :now)",
    "INSERT INTO subscriptions (subscriber_id, newsletter_id, created_at) VALUES (1, 1, :now)",
    "INSERT INTO staff_users (id, email, name, password_hash, role, active, session_version, created_at)"
    " VALUES (1, 'Chefin@example.org', '', 'x', 'admin', true, 1, :now)",
]
SAME_STAFF_ADDRESS_OTHER_CASE = (
    "INSERT INTO staff_users (email, name, password_hash, role, active, created_at)"
    " VALUES ('CHEFIN@example.org', '', 'x', 'editor', true, :now)"
)
SAME_ADDRESS_OTHER_CASE = (
    "INSERT INTO subscribers (email, status, locale, created_at, updated_at, ask_frequency)"
    " VALUES ('LESERIN@example.org', 'pending', 'de', :now, :now, 'normal')"
)


def test_upgrading_a_populated_database_keeps_readers_and_their_newsletters(app, make_app, empty_database):
    from db import db

    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    old = make_app(DATABASE_URL=empty_database)
    with old.app_context():
        upgrade(revision=FIRST)
        with db.engine.begin() as conn:
            for statement in OLD_ROWS:
                conn.execute(text(statement), {"now": now})
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM subscriptions")).scalar() == 1
            assert conn.execute(text("SELECT email FROM subscribers")).scalar() == "Leserin@example.org"
            # The case-insensitive uniqueness survived every rebuild of the table.
            with pytest.raises(IntegrityError):
                conn.execute(text(SAME_ADDRESS_OTHER_CASE), {"now": now})
        with db.engine.connect() as conn:  # the staff table was rebuilt too (0021)
            assert conn.execute(text("SELECT email FROM staff_users")).scalar() == "Chefin@example.org"
            with pytest.raises(IntegrityError):
                conn.execute(text(SAME_STAFF_ADDRESS_OTHER_CASE), {"now": now})
        db.session.remove()
        db.engine.dispose()


BEFORE_CONTENT = "0019_import_resume"
CONTENT = "0024_content"
_ARTICLE = (
    "INSERT INTO articles (id, slug, title, teaser, body, author, guid, canonical_url, tags, sponsored,"
    " published_at, created_at, updated_at) VALUES (:id, :slug, :title, '', '', '', :guid, :url, '[]', false,"
    " :now, :now, :now)"
)
CONTENT_ROWS = [
    ("INSERT INTO newsletters (id, slug, name, description, is_public, is_default, position, created_at)"
     " VALUES (1, 'ki', 'KI-News', '', true, true, 0, :now),"
     " (2, 'kreis', 'Förderkreis', '', false, false, 1, :now)"),
    ("INSERT INTO feeds (id, url, title, interval_minutes, active, last_new, last_updated, created_at) VALUES"
     " (1, 'https://www.ki-kompass.example/feed.xml', '', 60, true, 0, 0, :now),"
     " (2, 'https://partner.example/rss', '', 60, true, 0, 0, :now)"),
    ("INSERT INTO issues (id, subject, preheader, intro, layout, state, sender_name, sender_address, sent_at,"
     " created_at, updated_at, show_goal) VALUES"
     " (1, 'Für alle', '', '', 'digest', 'sent', 'KI', 'r@ki.example', :now, :now, :now, false),"
     " (2, 'Nur Förderkreis', '', '', 'digest', 'sent', 'KI', 'r@ki.example', :now, :now, :now, false),"
     " (3, 'Entwurf', '', '', 'digest', 'draft', 'KI', 'r@ki.example', NULL, :now, :now, false)"),
    "INSERT INTO issue_newsletters (issue_id, newsletter_id) VALUES (1, 1), (1, 2), (2, 2), (3, 2)",
]
ISSUE_ARTICLES = (
    "INSERT INTO issue_articles (issue_id, article_id, position)"
    " VALUES (1, 2, 0), (1, 1, 1), (2, 1, 0), (3, 1, 0)"
)


def test_upgrading_gives_feed_items_their_feed_and_seals_sent_issues(app, make_app, empty_database):
    """Before 0024 no article said which feed brought it, and sent issues showed the articles as they are."""
    from db import db

    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    old = make_app(DATABASE_URL=empty_database)
    with old.app_context():
        upgrade(revision=BEFORE_CONTENT)
        with db.engine.begin() as conn:
            for statement in CONTENT_ROWS:
                conn.execute(text(statement), {"now": now})
            for row in (
                (1, "chips", "Chips", "https://ki-kompass.example/artikel/chips", "https://ki-kompass.example/artikel/chips"),
                (2, "partner", "Vom Partner", "p-1", "https://partner.example/p/1"),
                (3, "eigen", "Eigener Text", None, "https://ki-kompass.example/artikel/eigen"),
                (4, "fremd", "Fremd", "urn:fremd", "https://anderswo.example/x"),
            ):  # fmt: skip
                values = dict(zip(("id", "slug", "title", "guid", "url"), row, strict=True), now=now)
                conn.execute(text(_ARTICLE), values)
            conn.execute(text(ISSUE_ARTICLES))
        upgrade(revision=CONTENT)
        with db.engine.begin() as conn:
            owners = dict(conn.execute(text("SELECT id, feed_id FROM articles")).all())
            assert owners == {1: 1, 2: 2, 3: None, 4: None}  # by the feed on the article's own site, if one
            issues = {
                row.id: (row.public_archive, row.sent_content)
                for row in conn.execute(text("SELECT id, public_archive, sent_content FROM issues"))
            }
            assert issues[3] == (None, None)  # a draft is sealed when its send starts
            assert bool(issues[1][0]) is True and bool(issues[2][0]) is False  # members only stays so
            sent = issues[1][1] if isinstance(issues[1][1], dict) else json.loads(issues[1][1])
            assert [a["title"] for a in sent["articles"]] == ["Vom Partner", "Chips"]
            assert sent["articles"][1]["url"] == "https://ki-kompass.example/artikel/chips"
            # A GUID is unique per feed now: another feed may carry the same one, the same feed may not.
            conn.execute(text(_ARTICLE.replace(":guid", "'p-1'")), {"id": 5, "slug": "p2", "title": "x",
                                                                     "guid": None, "url": None, "now": now})
            conn.execute(text("UPDATE articles SET feed_id = 1 WHERE id = 5"))
            with pytest.raises(IntegrityError), conn.begin_nested():
                conn.execute(text("UPDATE articles SET feed_id = 2 WHERE id = 5"))
        db.session.remove()
        db.engine.dispose()
