"""Redis down during a sign-up, and sign-ups that are never confirmed.

Choice (see README): the reader and a "mail pending" record (the outbox) are written in one transaction and
the request never talks to the queue; the sweeper (run every 2 s by the clock, also a CLI command) claims
the record and queues the mail. With Redis unreachable the reader gets the usual answer, the sweep queues
nothing and leaves the record unclaimed, and the next sweep after Redis is back sends it once. Bad inputs
tried: a sign-up, a "send me my link" request and a sweep while the queue's Redis is a closed port;
running the sweeper twice, and two sweeps racing on one database; sign-ups 8 days old, 6 days old, and an
old sign-up that was renewed yesterday."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from db import utcnow
from newsletter.platform.redis_server import limiter_storage_uri
from newsletter.readers import subscribers
from newsletter.readers import tasks as readers_tasks
from newsletter.readers.models import ReaderMail, Subscriber, SubscriberStatus
from tests.readers.factories import make_reader
from tests.readers.web import form_token, sign_up
from tests.support.smtp import free_port
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


@pytest.fixture
def redis_down_app(make_app, redis_url):
    """The app with its queue pointed at a closed port: Redis is really unreachable for it. The rate
    limiter keeps its counters on the suite's Redis, so the limiter shared by every app stays usable."""
    return make_app(
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        CHECK_SERVICES=False,
        RATELIMIT_STORAGE_URI=limiter_storage_uri(redis_url),
    )


def test_redis_down_the_reader_is_stored_and_the_mail_goes_out_later(
    app, client, db, newsletters, relay, runner, redis_down_app
):
    down = redis_down_app.test_client()
    response = sign_up(down, "geduldig@example.org", token=form_token(client))
    assert response.status_code == 200 and "Fast geschafft" in text_of(response)
    reader = subscribers.find_subscriber(db.session, "geduldig@example.org")
    assert reader.status is SubscriberStatus.PENDING
    [mail] = db.session.scalars(select(ReaderMail)).all()
    assert mail.enqueued_at is None

    with redis_down_app.app_context():  # the clock's sweep while Redis is still down
        assert readers_tasks.sweep_reader_mails() == 0
    db.session.expire_all()
    assert db.session.scalars(select(ReaderMail.enqueued_at)).all() == [None]  # not claimed

    result = runner.invoke(args=["newsletter", "sweep-reader-mails"])
    assert "Queued 1 reader mails." in result.output
    assert "Queued 0 reader mails." in runner.invoke(args=["newsletter", "sweep-reader-mails"]).output
    run_jobs(app)
    [message] = relay.messages
    assert message["To"] == "geduldig@example.org"
    path = (
        message.get_body(preferencelist=("plain",)).get_content().split("http://localhost", 1)[1].split()[0]
    )
    client.post(path, data={"csrf_token": csrf_token(client, path)})
    db.session.expire_all()
    assert subscribers.find_subscriber(db.session, "geduldig@example.org").status is SubscriberStatus.ACTIVE


def test_redis_down_the_link_request_waits_for_the_sweeper(app, client, db, relay, runner, redis_down_app):
    make_reader(db, "leser@example.org")
    db.session.commit()
    down = redis_down_app.test_client()
    token = csrf_token(down, "/preferences")
    response = down.post("/preferences", data={"email": "leser@example.org", "csrf_token": token})
    assert response.status_code == 200 and "Wenn wir diese Adresse kennen" in text_of(response)
    with redis_down_app.app_context():
        assert readers_tasks.sweep_reader_mails() == 0
    assert relay.messages == []
    runner.invoke(args=["newsletter", "sweep-reader-mails"])
    run_jobs(app)
    [message] = relay.messages
    assert "/preferences/" in message.get_body(preferencelist=("plain",)).get_content()


def _pending(db, email, age_days, *, renewed_days=None):
    created = utcnow() - timedelta(days=age_days)
    updated = utcnow() - timedelta(days=renewed_days) if renewed_days is not None else created
    return make_reader(db, email, status=SubscriberStatus.PENDING, created_at=created, updated_at=updated)


def test_unconfirmed_sign_ups_expire_after_a_week(app, db, runner, newsletters):
    _pending(db, "alt@example.org", 8)
    _pending(db, "frisch@example.org", 6)
    _pending(db, "erneuert@example.org", 10, renewed_days=1)
    make_reader(db, "aktiv@example.org", created_at=utcnow() - timedelta(days=300))
    subscribers.record_event(
        db.session, subscribers.find_subscriber(db.session, "alt@example.org"), "subscribed"
    )
    db.session.commit()

    result = runner.invoke(args=["newsletter", "expire-pending"])
    assert result.exit_code == 0 and "Deleted 1 unconfirmed sign-ups." in result.output
    db.session.expire_all()
    left = sorted(db.session.scalars(select(Subscriber.email)))
    assert left == ["aktiv@example.org", "erneuert@example.org", "frisch@example.org"]
    assert runner.invoke(args=["newsletter", "expire-pending"]).output.startswith("Deleted 0")


def test_an_expired_sign_up_can_start_again(app, client, db, newsletters, relay):
    _pending(db, "spaet@example.org", 9)
    db.session.commit()
    assert readers_tasks.expire_pending_signups() == 1
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 0
    assert sign_up(client, "spaet@example.org").status_code == 200
    run_jobs(app)
    assert [m["To"] for m in relay.messages] == ["spaet@example.org"]


def test_a_database_restart_costs_no_sign_up(app, client, db, newsletters):
    """The database server drops every connection between two sign-ups, as a restart does (each of the
    app's backends terminated), so every connection in the app's pool is dead. Bad input tried: a sign-up
    right after the drop. The reader gets the usual answer and is stored: the pool finds the closed
    sockets at checkout, without a ping round trip, and takes fresh connections."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server to restart")
    assert sign_up(client, "vorher@example.org").status_code == 200
    db.session.remove()
    killer = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:
        dropped = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    killer.dispose()
    assert dropped >= 1
    time.sleep(0.5)  # the backends exit and close their sockets

    response = sign_up(client, "nachher@example.org")
    assert response.status_code == 200 and "Fast geschafft" in text_of(response)
    assert subscribers.find_subscriber(db.session, "nachher@example.org") is not None
