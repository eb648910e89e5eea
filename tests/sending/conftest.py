"""Fixtures for the send path: an issue with readers, and for the fault tests an app on a Redis server of the
test's own, with a short lease, and real worker processes."""

from __future__ import annotations

import pytest

from newsletter.editorial.models import Article, Issue, IssueArticle
from newsletter.readers.models import Newsletter, Subscriber, SubscriberStatus, Subscription
from newsletter.sending import control, ledger
from tests.support.processes import Workers

LEASE_SECONDS = 2  # short, so that a killed worker's rows are decided within the test


def add_reader(db, email, newsletters, status=SubscriberStatus.ACTIVE, **kw) -> Subscriber:
    reader = Subscriber(email=email, status=status, **kw)
    db.session.add(reader)
    db.session.flush()
    for n in newsletters:
        db.session.add(Subscription(subscriber_id=reader.id, newsletter_id=n.id))
    return reader


def make_issue(db, readers=("a@example.org", "b@example.org", "c@example.org"), **fields) -> Issue:
    news = Newsletter(slug="ki-news", name="KI-News täglich", is_default=True)
    db.session.add(news)
    db.session.flush()
    for email in readers:
        add_reader(db, email, [news])
    article = Article(slug="a", title="Sprachmodelle erklärt", teaser="Was steckt dahinter?", body="Text")
    values = {"subject": "Die KI-Woche", "sender_name": "KI-Kompass",
              "sender_address": "redaktion@ki-kompass.example", **fields}  # fmt: skip
    issue = Issue(newsletters=[news], **values)
    db.session.add_all([article, issue])
    db.session.flush()
    db.session.add(IssueArticle(issue_id=issue.id, article_id=article.id, position=0))
    db.session.commit()
    return issue


def start_send(db, issue):
    prepared = ledger.prepare_send(db.session, issue)
    db.session.commit()
    control.queue_batches(prepared.issue_id, prepared.batches)
    return prepared


@pytest.fixture
def fault_app(own_redis_app, monkeypatch):
    """The app on the test's own Redis, with a short lease so that a killed worker's rows are decided
    within the test."""
    monkeypatch.setitem(own_redis_app.config, "MAIL_LEASE_SECONDS", float(LEASE_SECONDS))
    return own_redis_app


@pytest.fixture
def workers(fault_app, database_url, base_config, own_redis, relay, tmp_path):
    """Real ``flask newsletter worker`` processes on the same database, Redis and SMTP server."""
    env = {
        "BEITRAG_ENV": "testing", "DATABASE_URL": database_url, "REDIS_URL": own_redis.url,
        "SMTP_URL": relay.url, "SECRET_KEY": base_config["SECRET_KEY"], "BASE_URL": base_config["BASE_URL"],
        "MAIL_LEASE_SECONDS": str(LEASE_SECONDS), "BEITRAG_INSTANCE": str(tmp_path / "instance"),
    }  # fmt: skip
    (tmp_path / "instance").mkdir()
    pool = Workers(env, tmp_path)
    yield pool
    pool.stop()
