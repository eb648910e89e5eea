"""Feeds an editor can change, pause, resume and remove, and a broken feed that stops trying on its own,
against a real HTTP server on the loopback address and the real import job.

Bad inputs tried: an edit to a javascript: address and to the address of another feed (refused, nothing
changed), a pause without a CSRF token, pausing a paused feed, the routes signed out; a feed that answers
500 on every run (paused after five failures in a row, and then not fetched any more)."""

from __future__ import annotations

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from newsletter.editorial import feed_controls
from newsletter.editorial import tasks as editorial_tasks
from newsletter.editorial.models import Article, Feed
from newsletter.platform.audit import AuditEntry
from newsletter.platform.queues import get_queue
from tests.support.feedserver import Route, rss, rss_item
from tests.support.web import csrf_token, text_of


@pytest.fixture
def loopback_allowed(app, monkeypatch):
    monkeypatch.setitem(app.config, "FEED_ALLOWED_LOOPBACK", ("127.0.0.1",))
    monkeypatch.setitem(app.config, "FEED_TIMEOUT", 1.0)


@pytest.fixture
def feed(db, feed_server, loopback_allowed) -> Feed:
    """A feed of two items, imported once by the real job."""
    feed_server.routes["/feed.xml"] = Route(
        body=rss(rss_item("a-1", "Chips aus Europa"), rss_item("a-2", "Agenten im Büro"))
    )
    feed = Feed(url=feed_server.url("/feed.xml"), interval_minutes=60)
    db.session.add(feed)
    db.session.commit()
    assert editorial_tasks.import_feed(feed.id) == "2 new, 0 updated"
    return feed


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/staff/feeds"), **data})


def _actions(db, action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_an_editor_changes_a_feeds_address_title_and_interval(client, db, editor, feed, feed_server):
    other = Feed(url="https://partner.example/rss")
    db.session.add(other)
    db.session.commit()
    path = f"/staff/feeds/{feed.id}/edit"
    form = text_of(client.get(path))
    assert "Feed bearbeiten" in form and feed.url in form

    for bad in ("javascript:alert(1)", "https://partner.example/rss"):
        refused = client.post(path, data={"csrf_token": csrf_token(client, path), "url": bad,
                                          "title": "X", "interval_minutes": "30"})  # fmt: skip
        assert refused.status_code == 400 and "Der Feed wurde nicht geändert" in text_of(refused)
    db.session.expire_all()
    assert db.session.get(Feed, feed.id).interval_minutes == 60

    new_url = feed_server.url("/neu.xml")
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "url": new_url,
                                       "title": "Partnerredaktion", "interval_minutes": "30"})  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    changed = db.session.get(Feed, feed.id)
    assert (changed.url, changed.title, changed.interval_minutes) == (new_url, "Partnerredaktion", 30)
    page = text_of(client.get("/staff/feeds"))
    assert "Partnerredaktion" in page and "30 Min." in page
    [entry] = _actions(db, "feed.update")
    assert entry.detail == {"url": new_url, "title": "Partnerredaktion", "minutes": 30}
    # The next scheduled run is on the new interval: a slot on a half hour.
    registry = ScheduledJobRegistry(queue=get_queue("default"))
    ids = [i for i in registry.get_job_ids() if i.startswith(f"feed-import-{feed.id}-")]
    slots = [int(i.rsplit("-", 1)[1]) for i in ids]
    assert slots and all(slot % 1800 == 0 for slot in slots)
    # The editor's title stays when the feed is imported again.
    feed_server.routes["/neu.xml"] = Route(body=rss(rss_item("a-1", "Chips aus Europa")))
    editorial_tasks.import_feed(feed.id)
    db.session.expire_all()
    assert db.session.get(Feed, feed.id).title == "Partnerredaktion"


def test_a_paused_feed_is_not_fetched_by_its_scheduled_run_until_resumed(
    client, db, editor, feed, feed_server
):
    assert _post(client, f"/staff/feeds/{feed.id}/pause").status_code == 302
    page = text_of(client.get("/staff/feeds"))
    assert "data-feed-paused" in page and "von der Redaktion pausiert" in page
    assert "Fortsetzen</button>" in page
    asked = len(feed_server.requests)
    db.session.expire_all()  # the job reads the feed as a worker would, fresh
    assert editorial_tasks.import_feed(feed.id, reschedule=True) == "no such active feed"
    assert len(feed_server.requests) == asked  # not contacted
    refused = _post(client, f"/staff/feeds/{feed.id}/pause")  # paused already: said, nothing changes
    assert "dieser Feed ist schon pausiert" in text_of(client.get(refused.headers["Location"]))
    assert len(_actions(db, "feed.pause")) == 1

    assert _post(client, f"/staff/feeds/{feed.id}/resume").status_code == 302
    db.session.expire_all()
    resumed = db.session.get(Feed, feed.id)
    assert resumed.active and resumed.paused_at is None
    assert editorial_tasks.import_feed(feed.id, reschedule=True) == "0 new, 2 updated"
    assert len(feed_server.requests) == asked + 1
    assert [e.actor for e in _actions(db, "feed.resume")] == [editor.email]
    assert client.post(f"/staff/feeds/{feed.id}/pause").status_code == 400  # no CSRF token


def test_a_removed_feed_leaves_its_articles(client, db, editor, feed):
    feed_id = feed.id
    response = _post(client, f"/staff/feeds/{feed_id}/remove")
    assert response.status_code == 302
    said = text_of(client.get(response.headers["Location"]))
    assert "die Artikel, die er gebracht hat, bleiben erhalten" in said
    db.session.expunge_all()
    assert db.session.scalar(select(Feed).where(Feed.id == feed_id)) is None
    kept = db.session.scalars(select(Article).order_by(Article.title)).all()
    assert [a.title for a in kept] == ["Agenten im Büro", "Chips aus Europa"]
    assert all(a.feed_id is None for a in kept)
    [entry] = _actions(db, "feed.delete")
    assert entry.target_id == str(feed_id) and entry.detail["articles_kept"] == 2
    assert editorial_tasks.import_feed(feed_id, reschedule=True) == "no such active feed"
    assert _post(client, f"/staff/feeds/{feed_id}/remove").status_code == 404


def test_a_feed_that_fails_five_times_in_a_row_pauses_itself(client, db, editor, feed, feed_server):
    feed_server.routes["/feed.xml"] = Route(status=500, body=b"kaputt")
    for run in range(1, feed_controls.MAX_FAILURES):
        assert "failed" in editorial_tasks.import_feed(feed.id, reschedule=True)
        db.session.expire_all()
        assert db.session.get(Feed, feed.id).failures == run and db.session.get(Feed, feed.id).active
    outcome = editorial_tasks.import_feed(feed.id, reschedule=True)
    assert outcome.endswith("(feed paused)")
    db.session.expire_all()
    paused = db.session.get(Feed, feed.id)
    assert not paused.active and paused.paused_at is not None and paused.failures == 5
    page = text_of(client.get("/staff/feeds"))
    assert "data-paused-why" in page and "nach 5 fehlgeschlagenen Importen in Folge" in page
    asked = len(feed_server.requests)
    assert editorial_tasks.import_feed(feed.id, reschedule=True) == "no such active feed"
    assert len(feed_server.requests) == asked  # the broken feed is not tried again on its schedule
    [entry] = _actions(db, "feed.pause")
    assert entry.actor == "system" and entry.detail["failures"] == 5


def test_a_success_between_failures_starts_the_count_again(db, feed, feed_server):
    body = feed_server.routes["/feed.xml"].body
    feed_server.routes["/feed.xml"] = Route(status=500)
    for _ in range(3):
        editorial_tasks.import_feed(feed.id)
    feed_server.routes["/feed.xml"] = Route(body=body)
    editorial_tasks.import_feed(feed.id)
    db.session.expire_all()
    assert db.session.get(Feed, feed.id).failures == 0


@pytest.mark.parametrize("action", ["edit", "pause", "resume", "remove"])
def test_feed_routes_refuse_a_visitor_without_a_staff_session(client, db, feed, action):
    response = client.post(f"/staff/feeds/{feed.id}/{action}", data={})
    assert response.status_code in (302, 400, 403)
    if response.status_code == 302:
        assert "/staff/login" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.get(Feed, feed.id) is not None and db.session.get(Feed, feed.id).active
