"""The outbox: a sign-up only writes its confirmation mail to ``reader_mails``; the clock's sweeper claims
the rows and puts them on the queue; a worker sends them.

Bad inputs tried: two sweeps at the same moment on one database (PostgreSQL; SQLite has one writer at a
time), a sweep with nothing to do, the clock's first tick before any sign-up, a newsletter hidden by staff
while the sign-up form keeps its list of offered newsletters for a few seconds."""

from __future__ import annotations

import pytest
from rq import SimpleWorker
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.platform import clock
from newsletter.platform.queues import QUEUE_NAMES, get_queue, get_redis
from newsletter.readers import reader_mails
from newsletter.readers import tasks as readers_tasks
from newsletter.readers.models import Newsletter, ReaderMail
from tests.readers.web import sign_up
from tests.support.web import text_of


def _work(app) -> None:
    """A burst worker alone, without the test helper's own sweep: only what the clock queued runs."""
    SimpleWorker([get_queue(n, app) for n in QUEUE_NAMES], connection=get_redis(app)).work(burst=True)


def test_the_clock_sweeps_the_outbox_and_the_worker_sends_the_mail(app, client, db, newsletters, relay):
    _work(app)
    assert relay.messages == []
    assert sign_up(client, "uhr@example.org").status_code == 200
    _work(app)
    assert relay.messages == []  # the request did not queue anything itself
    assert [kind for (kind,) in db.session.execute(select(ReaderMail.kind))] == ["confirm"]

    due = clock.scheduler(app).enqueue_jobs()  # the clock's first tick: every queued job is due
    assert {job.func_name for job in due} == {
        "newsletter.readers.tasks.expire_pending_signups",
        "newsletter.sending.tasks.poll_bounce_mailbox",  # a no-op here: no BOUNCE_MAILBOX_URL
        "payments.events.tasks.sweep_parked_events", "newsletter.readers.tasks.sweep_imports",
        "newsletter.staff.tasks.purge_audit_log",
    }  # fmt: skip
    # The sweeps run in the clock's own process (a busy worker would reach them only after its job).
    inline = clock.inline_jobs(app)
    assert {p.kind.function for p in inline} == {
        "newsletter.readers.tasks.sweep_reader_mails", "payments.supporters.tasks.sweep_donor_mails",
        "newsletter.sending.tasks.sweep_sends", "newsletter.sending.tasks.sweep_welcome_mails",
        "newsletter.sending.tasks.build_digests",
    }  # fmt: skip
    clock.tick_inline(app, inline, {})
    _work(app)
    [message] = relay.messages
    assert message["To"] == "uhr@example.org"
    assert "/confirm/" in message.get_body(preferencelist=("plain",)).get_content()
    db.session.expire_all()
    assert db.session.scalar(select(ReaderMail.enqueued_at)) is not None

    clock.scheduler(app).enqueue_jobs()  # a second clock (another host): nothing is sent twice
    clock.tick_inline(app, inline, {})
    _work(app)
    assert len(relay.messages) == 1


def test_two_sweeps_at_once_queue_each_mail_once(app, client, db, newsletters, relay):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: two sweeps cannot overlap there")
    for i in range(3):
        assert sign_up(client, f"leser{i}@example.org").status_code == 200
    first = Session(db.engine)
    try:
        # The first sweep has claimed and queued the rows but not committed yet: they are locked.
        where = {"base_url": "http://localhost", "secret_key": app.secret_key}
        assert reader_mails.send_unqueued_reader_mails(first, **where) == 3
        assert reader_mails.send_unqueued_reader_mails(db.session, **where) == 0
        first.commit()
    finally:
        first.close()
    db.session.commit()
    assert readers_tasks.sweep_reader_mails() == 0
    _work(app)
    assert sorted(m["To"] for m in relay.messages) == [f"leser{i}@example.org" for i in range(3)]


def test_a_newsletter_hidden_by_staff_leaves_the_form_at_once(app, client, db, newsletters):
    assert "Wochenrückblick" in text_of(client.get("/subscribe"))
    db.session.get(Newsletter, newsletters["wochenrueckblick"].id).is_public = False
    db.session.commit()
    page = text_of(client.get("/subscribe"))
    assert "Wochenrückblick" not in page and page.count('name="email"') == 1
    response = sign_up(client, "versteckt@example.org", newsletters="wochenrueckblick")
    assert response.status_code == 400
