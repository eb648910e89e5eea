"""Pause, resume, cancel and schedule a send, from the issue page, the JSON API and the command line,
against the real queue and SMTP server; and the sweeper's decisions for the rows of a worker that died.

Bad inputs tried: pausing a draft, resuming an issue that is sending, cancelling a sent issue, a POST
without CSRF token, a signed-out POST, scheduling in the past, an empty and a malformed time, a time more
than a year ahead, scheduling an issue without articles, unscheduling a draft, firing a schedule twice,
firing a schedule that was moved later, the scheduler's job lost with Redis.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from db import db as database
from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.platform.queues import get_queue, get_redis
from newsletter.sending import control, gate, ledger, progress, sweeper
from newsletter.sending import tasks as sending_tasks
from newsletter.sending.models import Delivery, DeliveryStatus
from tests.editorial.factories import make_issue
from tests.sending.factories import issue_with_readers, start_send
from tests.staff.factories import sign_in, staff_user
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

READERS = 40
BATCH_SIZE = 10  # readers per batch job: a send to READERS readers is several jobs


def state(db, issue_id) -> IssueState:
    db.session.expire_all()
    return db.session.get(Issue, issue_id).state


def after_messages(relay, count: int, action) -> None:
    """Run ``action`` inside the SMTP server while it accepts message number ``count``, i.e. while a
    worker is in the middle of a batch with that message in flight."""
    seen = []
    original = relay._controller.handler.handle_DATA

    async def handle_DATA(server, session, envelope):
        seen.append(1)
        if len(seen) == count:
            action()
        return await original(server, session, envelope)

    relay._controller.handler.handle_DATA = handle_DATA


def in_other_session(app, change) -> None:
    """What an editor's request does, from another thread with its own database session."""

    def run():
        with app.app_context():
            issue = database.session.get(Issue, change.issue_id)
            result = change(database.session, issue)
            database.session.commit()
            control.signal_send(issue.id, change.word)
            change.result = result
            database.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


class Change:
    def __init__(self, issue_id, function, word):
        self.issue_id, self.function, self.word = issue_id, function, word

    def __call__(self, session, issue):
        return self.function(session, issue)


def test_pause_stops_after_the_message_in_flight_and_resume_finishes_without_repeats(app, db, relay, runner):
    issue = issue_with_readers(db, READERS)
    start_send(db, issue, batch_size=BATCH_SIZE)
    after_messages(relay, 7, lambda: in_other_session(app, Change(issue.id, control.pause_send, "pause")))
    run_jobs(app)
    # The seventh message was on its way when the editor paused: it finished and is recorded.
    assert len(relay.received) == 7
    counts = progress.progress(db.session, issue.id)
    assert counts["sent"] == 7 and counts["queued"] == READERS - 7 and counts["sending"] == 0
    assert state(db, issue.id) is IssueState.PAUSED
    run_jobs(app)  # a stray worker run while paused sends nothing
    assert len(relay.received) == 7

    result = runner.invoke(args=["newsletter", "resume", str(issue.id)])
    assert result.exit_code == 0, result.output
    assert f"Issue {issue.id} is sending" in result.output
    run_jobs(app)
    recipients = [r.rcpt_tos[0] for r in relay.received]
    assert sorted(recipients) == sorted(f"leser{i}@example.org" for i in range(READERS))
    assert state(db, issue.id) is IssueState.SENT
    again = runner.invoke(args=["newsletter", "resume", str(issue.id)])
    assert again.exit_code == 1 and "pausiert" in again.output  # only a paused issue can be resumed


def test_cancel_mid_send_leaves_sent_rows_alone_and_sends_nothing_more(app, db, relay, runner):
    issue = issue_with_readers(db, READERS)
    start_send(db, issue, batch_size=BATCH_SIZE)
    after_messages(relay, 12, lambda: in_other_session(app, Change(issue.id, control.cancel_send, "cancel")))
    run_jobs(app)
    assert len(relay.received) == 12
    counts = progress.progress(db.session, issue.id)
    assert counts["sent"] == 12 and counts["cancelled"] == READERS - 12
    assert counts["queued"] == counts["sending"] == 0
    assert state(db, issue.id) is IssueState.CANCELLED
    # Nothing brings it back: not a worker, not the sweeper, not Send.
    control.queue_batches(issue.id, [(1, 10_000)])
    sending_tasks.sweep_sends()
    run_jobs(app)
    assert len(relay.received) == 12
    sent = runner.invoke(args=["newsletter", "send", str(issue.id)])
    assert sent.exit_code == 1
    cancelled = runner.invoke(args=["newsletter", "cancel", str(issue.id)])
    assert cancelled.exit_code == 1 and "abgebrochen" in cancelled.output


def test_the_issue_page_and_the_json_api_pause_resume_and_cancel(app, client, db, relay):
    issue = issue_with_readers(db, readers=12)
    eda = staff_user(db, "eda@example.org")
    start_send(db, issue, batch_size=BATCH_SIZE)
    page = f"/staff/issues/{issue.id}"

    # Signed out: to the login, nothing changes.
    token_less = client.post(f"{page}/pause")
    assert token_less.status_code in (302, 400) and state(db, issue.id) is IssueState.SENDING

    sign_in(client, eda)
    html = text_of(client.get(page))
    assert "Pausieren" in html and "Versand abbrechen" in html
    # No CSRF token: refused, nothing changes.
    assert client.post(f"{page}/pause").status_code == 400
    assert client.post(f"{page}/pause", json={}, headers={"Accept": "application/json"}).status_code == 400
    assert state(db, issue.id) is IssueState.SENDING

    token = csrf_token(client, page)
    api = {"Accept": "application/json", "X-CSRFToken": token}
    paused = client.post(f"{page}/pause", json={}, headers=api)
    assert paused.status_code == 200 and paused.get_json()["state"] == "paused"
    assert get_redis(app).get(gate.control_key(issue.id)) == b"pause"
    twice = client.post(f"{page}/pause", json={}, headers=api)
    assert twice.status_code == 409 and "error" in twice.get_json()
    run_jobs(app)
    assert relay.received == []
    assert "Fortsetzen" in text_of(client.get(page))

    resumed = client.post(f"{page}/resume", data={"csrf_token": token})
    assert resumed.status_code == 302
    assert "Der Versand geht weiter" in text_of(client.get(resumed.headers["Location"]))
    assert get_redis(app).get(gate.control_key(issue.id)) is None
    run_jobs(app)
    assert len(relay.received) == 12
    progress = client.get(f"{page}/progress.json").get_json()
    assert progress["state"] == "sent" and progress["sent"] == 12 and progress["total"] == 12
    assert progress["rate"] > 0 and progress["eta_seconds"] == 0
    for key in ("queued", "sending", "failed", "bounced", "skipped", "uncertain", "cancelled"):
        assert progress[key] == 0
    late = client.post(f"{page}/cancel", json={}, headers=api)
    assert late.status_code == 409 and late.get_json()["state"] == "sent"


def test_schedule_in_berlin_time_stored_in_utc_and_fired_once(app, client, db, relay):
    issue = issue_with_readers(db, readers=5)
    sign_in(client, staff_user(db, "eda@example.org"))
    page = f"/staff/issues/{issue.id}"
    token = csrf_token(client, page)
    next_year = utcnow().year + 1

    for bad in ("", "morgen früh", "2020-01-01T10:00", f"{next_year + 1}-12-31T10:00"):
        response = client.post(f"{page}/schedule", data={"csrf_token": token, "send_at": bad})
        assert "Nichts wurde geändert" in text_of(client.get(response.headers["Location"]))
        assert state(db, issue.id) is IssueState.DRAFT

    # A winter date: Berlin is UTC+1, so 09:30 there is 08:30 UTC.
    when = f"{next_year}-01-15T09:30"
    response = client.post(f"{page}/schedule", data={"csrf_token": token, "send_at": when})
    shown = text_of(client.get(response.headers["Location"]))
    assert "15. Januar" in shown and "09:30" in shown and "Europe/Berlin" in shown
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.state is IssueState.SCHEDULED
    assert issue.scheduled_at == datetime(next_year, 1, 15, 8, 30, tzinfo=UTC)
    job_ids = ScheduledJobRegistry(queue=get_queue("mail")).get_job_ids()
    assert job_ids == [f"issue-{issue.id}-at-{int(issue.scheduled_at.timestamp())}"]

    # The scheduler's job fires before the time (a moved schedule): nothing happens.
    assert sending_tasks.fire_scheduled_issue(issue.id) == "nothing to do"
    # The time passes; Redis lost the job; the clock's sweep starts the issue from the database.
    issue.scheduled_at = utcnow() - timedelta(seconds=5)
    db.session.commit()
    get_redis(app).flushdb()
    report = sending_tasks.sweep_sends()
    assert report["started"] == 1
    # The scheduler's job, late: nothing.
    assert sending_tasks.fire_scheduled_issue(issue.id) == "nothing to do"
    assert sending_tasks.sweep_sends()["started"] == 0
    run_jobs(app)
    assert sorted(r.rcpt_tos[0] for r in relay.received) == sorted(f"leser{i}@example.org" for i in range(5))
    assert state(db, issue.id) is IssueState.SENT


def test_unschedule_goes_back_to_draft_and_the_job_then_does_nothing(app, client, db, relay):
    issue = issue_with_readers(db, readers=3)
    empty = make_issue(
        db, subject="Leer", sender_name="KI", sender_address="a@ki.example", newsletters=issue.newsletters
    )
    with pytest.raises(ledger.SendError):
        control.schedule_send(db.session, empty, utcnow() + timedelta(hours=1))
    with pytest.raises(ledger.SendError):
        control.unschedule_send(db.session, issue)  # a draft is not scheduled
    with pytest.raises(ledger.SendError):
        control.schedule_send(db.session, issue, datetime(2030, 1, 1, 10, 0))  # no time zone
    db.session.rollback()

    sign_in(client, staff_user(db, "eda@example.org"))
    page = f"/staff/issues/{issue.id}"
    token = csrf_token(client, page)
    client.post(f"{page}/schedule", data={"csrf_token": token, "send_at": f"{utcnow().year + 1}-06-01T07:00"})
    assert state(db, issue.id) is IssueState.SCHEDULED
    assert "Zeitplan aufheben" in text_of(client.get(page))
    response = client.post(f"{page}/unschedule", data={"csrf_token": token})
    assert "wieder ein Entwurf" in text_of(client.get(response.headers["Location"]))
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.state is IssueState.DRAFT and issue.scheduled_at is None
    issue_id = issue.id
    database.session.execute(
        Issue.__table__.update()
        .where(Issue.id == issue_id)
        .values(scheduled_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    assert sending_tasks.fire_scheduled_issue(issue_id) == "nothing to do"
    assert sending_tasks.sweep_sends()["started"] == 0
    run_jobs(app)
    assert relay.received == []


def _claimed_rows(db, issue, claim: str, count: int) -> list[int]:
    ledger.prepare_send(db.session, issue)
    db.session.commit()
    ids = db.session.scalars(
        select(Delivery.id).where(Delivery.issue_id == issue.id).order_by(Delivery.id)
    ).all()
    mine = ids[:count]
    db.session.execute(
        Delivery.__table__.update()
        .where(Delivery.id.in_(mine))
        .values(status="sending", claim=claim, lease_until=utcnow() - timedelta(seconds=1), attempts=1)
    )
    db.session.commit()
    return list(mine)


def test_the_sweeper_decides_a_dead_workers_rows_from_its_journal(app, db):
    """A worker claimed six rows; the relay accepted the first two, refused the third for now, the fourth
    was in flight when the worker died, the last two never left. Only the fourth is uncertain."""
    issue = issue_with_readers(db, readers=8)
    rows = _claimed_rows(db, issue, "c0ffee", 6)
    connection = get_redis(app)
    doorway = gate.Gate(connection, gate.Rate(), issue_id=issue.id, job_id="send-x", heartbeat=5)
    doorway.open_journal("c0ffee")
    doorway.enter(None, "", rows[0])
    doorway.enter(rows[0], "s", rows[1])
    doorway.enter(rows[1], "s", rows[2])
    doorway.enter(rows[2], "r", rows[3])
    decided = sweeper.decide_lost_rows(db.session, connection)
    assert decided == {"queued": 3, "sent": 2, "failed": 0, "skipped": 0, "uncertain": 1}
    statuses = dict(
        db.session.execute(select(Delivery.id, Delivery.status).where(Delivery.id.in_(rows))).all()
    )
    assert [statuses[r] for r in rows] == ["sent", "sent", "queued", "uncertain", "queued", "queued"]
    assert connection.exists(gate.journal_key("c0ffee")) == 0
    # Deciding again changes nothing.
    assert sum(sweeper.decide_lost_rows(db.session, connection).values()) == 0
    counts = progress.progress(db.session, issue.id)
    assert counts["uncertain"] == 1 and counts["sent"] == 2 and counts["queued"] == 5


def test_rows_whose_journal_redis_lost_are_uncertain_not_resent(app, db):
    issue = issue_with_readers(db, readers=4)
    rows = _claimed_rows(db, issue, "deadbeef", 3)
    decided = sweeper.decide_lost_rows(db.session, get_redis(app))
    assert decided["uncertain"] == 3 and decided["queued"] == 0
    statuses = db.session.scalars(select(Delivery.status).where(Delivery.id.in_(rows))).all()
    assert set(statuses) == {DeliveryStatus.UNCERTAIN}


def test_the_sweeper_queues_batches_that_redis_lost_and_leaves_live_ones(app, db, relay):
    issue = issue_with_readers(db, readers=30)
    start_send(db, issue, batch_size=BATCH_SIZE)
    # Three jobs wait in the queue: nothing to add.
    assert sending_tasks.sweep_sends()["requeued_batches"] == 0
    get_redis(app).flushdb()  # the queue is gone; the ledger still says 30 readers wait
    assert sending_tasks.sweep_sends()["requeued_batches"] == 1
    # The same job id: the second sweep adds nothing.
    assert sending_tasks.sweep_sends()["requeued_batches"] == 0
    run_jobs(app)
    assert sorted(r.rcpt_tos[0] for r in relay.received) == sorted(f"leser{i}@example.org" for i in range(30))
    assert state(db, issue.id) is IssueState.SENT


def test_the_shared_rate_limit_books_evenly_spaced_slots(app):
    """Per hour: 3600 an hour is one a second; every caller gets the next free slot and waits for it."""
    connection = get_redis(app)
    doors = [
        gate.Gate(connection, gate.Rate(per_hour=3600), issue_id=1, job_id=f"j{n}", heartbeat=5)
        for n in (1, 2)
    ]
    for n, door in enumerate(doors):
        door.open_journal(f"claim{n}")
    waits = [doors[n % 2].enter(None, "", n).wait for n in range(4)]
    assert waits[0] < 0.05
    for n in range(1, 4):
        assert n - 0.05 < waits[n] <= n + 0.01
    unlimited = gate.Gate(connection, gate.Rate(), issue_id=1, job_id="j3", heartbeat=5)
    unlimited.open_journal("claim3")
    assert unlimited.enter(None, "", 1).wait == 0


def test_a_stale_pause_signal_does_not_stop_a_send_the_database_says_is_running(app, db, relay):
    """Resumed while Redis was away: the pause word is still in Redis, the ledger says sending."""
    issue = issue_with_readers(db, readers=6)
    start_send(db, issue, batch_size=BATCH_SIZE)
    gate.set_control(get_redis(app), issue.id, "pause")
    run_jobs(app)
    assert len(relay.received) == 6 and state(db, issue.id) is IssueState.SENT
    assert get_redis(app).get(gate.control_key(issue.id)) is None


def test_a_worker_whose_claim_the_sweeper_took_over_sends_nothing_more(app, db):
    """The journal is gone (the sweeper decided the claim, or Redis lost it): the gate says stop."""
    connection = get_redis(app)
    doorway = gate.Gate(connection, gate.Rate(), issue_id=1, job_id="send-y", heartbeat=5)
    doorway.open_journal("beef")
    assert not doorway.enter(None, "", 1).journal_lost
    connection.delete(gate.journal_key("beef"))
    assert doorway.enter(1, "s", 2).journal_lost
    assert connection.exists(gate.journal_key("beef")) == 0  # nothing written for a claim that is gone
