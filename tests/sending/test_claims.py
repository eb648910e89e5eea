"""Claims that hold across hosts: a worker's outcomes are fenced by its claim, leases are set and judged by
the database's clock, retries come back at their stated time, and an issue is never left final while
readers of it still wait.

Bad inputs tried: outcomes recorded by a worker after the sweeper decided its claim (and after another
worker sent the rows again); a worker whose own clock is ten minutes behind; a retry due in one minute
while the only job for its range is another retry due in an hour; a retry whose scheduler is away (the
worker holding RQ's scheduler lock cut off); an issue marked sent with a reader
still queued (as a stray write from before the fences could leave it).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update

from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.platform import queues
from newsletter.platform.queues import get_queue, get_redis
from newsletter.sending import batches, control, ledger, sweeper
from newsletter.sending import tasks as sending_tasks
from newsletter.sending.models import Delivery, DeliveryStatus
from tests.sending.factories import issue_with_readers, start_send
from tests.staff.factories import sign_in
from tests.support.web import text_of
from tests.support.worker import run_jobs


def _statuses(db, issue_id: int) -> dict[int, str]:
    db.session.expire_all()
    rows = db.session.execute(select(Delivery.id, Delivery.status).where(Delivery.issue_id == issue_id))
    return {row_id: DeliveryStatus(status).value for row_id, status in rows}


def test_a_worker_records_nothing_for_a_claim_the_sweeper_took_over(app, db):
    issue = issue_with_readers(db, readers=4)
    ledger.prepare_send(db.session, issue)
    db.session.commit()
    rows = batches._claim(db.session, issue.id, 0, 10**9, "slept", timedelta(minutes=2))
    assert len(rows) == 4
    # The worker froze; its lease ran out and its journal was lost with Redis: the sweeper decides.
    db.session.execute(update(Delivery).where(Delivery.claim == "slept")
                       .values(lease_until=utcnow() - timedelta(seconds=1)))  # fmt: skip
    db.session.commit()
    assert sweeper.decide_lost_rows(db.session, get_redis(app))["uncertain"] == 4
    decided = _statuses(db, issue.id)

    # It wakes and records what it did: a message sent, a refusal to retry, two it never tried.
    pending = [
        {"id": rows[0].id, "lease_until": None, "claim": None, "status": DeliveryStatus.SENT,
         "sent_at": utcnow(), "reply": "250 OK", "message_id": "<x@example.org>"},
        {"id": rows[1].id, "lease_until": None, "claim": None, "status": DeliveryStatus.QUEUED,
         "next_attempt_at": utcnow(), "reply": "451 later"},
    ]  # fmt: skip
    batches._record(db.session, issue.id, pending, [], [rows[2].id, rows[3].id], "slept")
    assert _statuses(db, issue.id) == decided == {row.id: "uncertain" for row in rows}


def test_a_worker_whose_clock_is_behind_keeps_its_claim(app, db, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lives on this machine: one clock for everyone")
    issue = issue_with_readers(db, readers=3)
    ledger.prepare_send(db.session, issue)
    db.session.commit()
    behind = utcnow() - timedelta(minutes=10)
    monkeypatch.setattr(batches, "utcnow", lambda: behind)
    rows = batches._claim(db.session, issue.id, 0, 10**9, "late-clock", timedelta(minutes=2))
    assert len(rows) == 3
    # Another host's sweep, with the right time, finds a live claim.
    assert sum(sweeper.decide_lost_rows(db.session, get_redis(app)).values()) == 0
    assert set(_statuses(db, issue.id).values()) == {"sending"}


def test_a_retry_comes_back_at_its_time_even_when_a_later_retry_covers_its_range(app, db):
    issue = issue_with_readers(db, readers=3)
    ledger.prepare_send(db.session, issue)
    db.session.commit()
    [(first, last)] = ledger.batch_ranges(db.session, issue.id)
    now = utcnow()
    soon, later = now + timedelta(minutes=1), now + timedelta(hours=1)
    db.session.execute(update(Delivery).where(Delivery.issue_id == issue.id).values(next_attempt_at=soon))
    db.session.commit()
    control.queue_batch_at(issue.id, first, last, later)  # an overlapping retry, due an hour later
    live = sweeper.live_send_job_ids(get_redis(app))
    assert sweeper.orphaned_batches(db.session, live, now=now) == [(issue.id, first, last, soon)]

    control.queue_batch_at(issue.id, first, last, soon)  # what the sweep queues: now it is covered
    live = sweeper.live_send_job_ids(get_redis(app))
    assert sweeper.orphaned_batches(db.session, live, now=now) == []
    scheduled = ScheduledJobRegistry(queue=get_queue(queues.SEND_BATCH.queue)).get_job_ids()
    assert queues.later_id(queues.send_batch_id(issue.id, first, last), soon) in scheduled


def test_a_retry_whose_scheduler_is_away_is_queued_by_the_sweep(app, db, relay):
    """RQ moves a due job to its queue only in the worker holding the scheduler lock; when that worker is
    cut off, another takes the lock over after one to three minutes. The sweep does not wait for it."""
    issue = issue_with_readers(db, readers=3)
    ledger.prepare_send(db.session, issue)
    db.session.commit()
    [(first, last)] = ledger.batch_ranges(db.session, issue.id)
    now = utcnow()
    due = now - timedelta(minutes=1)
    db.session.execute(update(Delivery).where(Delivery.issue_id == issue.id).values(next_attempt_at=due))
    db.session.commit()
    control.queue_batch_at(issue.id, first, last, due)  # scheduled, and a minute overdue: nobody moved it
    stuck = queues.later_id(queues.send_batch_id(issue.id, first, last), due)
    assert stuck in ScheduledJobRegistry(queue=get_queue(queues.SEND_BATCH.queue)).get_job_ids()

    assert sweeper.sweep(db.session, get_redis(app), app.config, now=now)["requeued_batches"] == 1
    assert queues.send_batch_id(issue.id, first, last) in get_queue(queues.SEND_BATCH.queue).get_job_ids()
    run_jobs(app, ["mail"])
    assert set(_statuses(db, issue.id).values()) == {"sent"}  # the readers did not wait for the scheduler
    assert len(relay.received) == 3


def test_an_issue_marked_sent_with_a_reader_waiting_is_reopened_and_finished(app, db, relay):
    issue = issue_with_readers(db, readers=3)
    start_send(db, issue)
    run_jobs(app)
    assert len(relay.received) == 3
    # A stray write (before the fences) put a row back in the queue after the issue was final.
    row_id = db.session.scalars(select(Delivery.id).where(Delivery.issue_id == issue.id)).first()
    db.session.execute(update(Delivery).where(Delivery.id == row_id)
                       .values(status=DeliveryStatus.QUEUED, next_attempt_at=None))  # fmt: skip
    db.session.commit()

    report = sending_tasks.sweep_sends()
    assert report["reopened"] == 1 and report["requeued_batches"] == 1
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.SENDING
    run_jobs(app)
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.SENT
    assert _statuses(db, issue.id)[row_id] == "sent"
    assert sending_tasks.sweep_sends()["reopened"] == 0
    # The editor learns of it on the issue page.
    client = app.test_client()
    sign_in(client, "editor")
    page = text_of(client.get(f"/staff/issues/{issue.id}"))
    assert "als abgeschlossen markiert, obwohl noch Leser*innen darauf warteten" in page
