"""The relay misbehaving, against a real aiosmtpd server that answers as told: 421, 451 and 452 (at DATA
and at RCPT), 550, 554 and 550 5.1.1, the connection dropped after the whole message (kept by the
receiver or not), and a server that stalls past the client's timeout after it. Every time the send
finishes, the ledger counts are right, every reader is in the capture at most once (exactly once unless
refused for good or uncertain), temporary failures come back after a growing backoff, a message whose
answer was lost after it went out whole is ``uncertain`` and not sent again (unless the newsroom asks for
at least once: then again, with the same Message-ID), and only a 5.1.x refusal suppresses the address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update

from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.platform.queues import get_queue
from newsletter.readers import addresses, subscribers
from newsletter.readers.models import SuppressionReason
from newsletter.sending import batches, ledger, progress
from newsletter.sending import tasks as sending_tasks
from newsletter.sending.models import Delivery, DeliveryStatus
from tests.sending.factories import issue_with_readers, start_send
from tests.support.faulty_smtp import FaultySMTP
from tests.support.worker import run_jobs

READERS = ("a@example.org", "b@example.org", "c@example.org")


@pytest.fixture
def faulty(app, monkeypatch):
    server = FaultySMTP(stall_seconds=3.0)
    server.start()
    monkeypatch.setitem(app.config, "SMTP_URL", server.url(timeout=1))
    yield server
    server.stop()


def _retry_due_rows_now(app, db, issue_id):
    """The backoff has passed (the clock moved on): the batch job runs again, as RQ's scheduler would."""
    db.session.execute(
        update(Delivery)
        .where(Delivery.issue_id == issue_id, Delivery.status == DeliveryStatus.QUEUED)
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    for first, last in ledger.batch_ranges(db.session, issue_id):
        sending_tasks.send_issue_batch(issue_id, first, last)


def _row(db, email) -> Delivery:
    db.session.expire_all()
    reader = subscribers.find_subscriber(db.session, email)
    return db.session.scalars(select(Delivery).where(Delivery.subscriber_id == reader.id)).one()


TEMPORARY = ["421 4.7.0 Closing connection", "451 4.3.0 Try again later", "452 4.2.2 Mailbox full"]
AMBIGUOUS = ["close", "keep-close", "stall"]  # the whole message went out; the answer never came
PERMANENT = ["550 5.7.1 Message rejected as spam", "554 5.7.1 Transaction failed", "550 5.1.1 No such user"]


@pytest.mark.parametrize("fault", TEMPORARY)
def test_temporary_faults_are_retried_after_a_backoff_and_nobody_gets_two(app, db, faulty, fault):
    faulty.script.append(fault)
    issue = issue_with_readers(db, readers=READERS)
    started = utcnow()
    start_send(db, issue)
    run_jobs(app)

    counts = progress.progress(db.session, issue.id)
    assert counts["sent"] == 2 and counts["queued"] == 1, counts
    assert faulty.recipients() == ["b@example.org", "c@example.org"]
    waiting = _row(db, "a@example.org")
    assert waiting.attempts == 1 and waiting.reply
    assert timedelta(seconds=55) <= waiting.next_attempt_at - started <= timedelta(seconds=75)
    assert ScheduledJobRegistry(queue=get_queue("mail")).get_job_ids()  # the retry is on its way
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.SENDING

    _retry_due_rows_now(app, db, issue.id)
    assert faulty.recipients() == sorted(READERS)  # everyone once, no duplicates
    assert progress.progress(db.session, issue.id)["sent"] == 3
    assert _row(db, "a@example.org").attempts == 2
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.SENT
    assert not addresses.is_suppressed(db.session, "a@example.org")
    for received in faulty.received:
        assert received.message.defects == []


@pytest.mark.parametrize("fault", AMBIGUOUS)
def test_a_lost_answer_after_the_whole_message_is_uncertain_and_never_sent_again(app, db, faulty, fault):
    faulty.script.append(fault)
    issue = issue_with_readers(db, readers=READERS)
    start_send(db, issue)
    run_jobs(app)

    counts = progress.progress(db.session, issue.id)
    assert (counts["sent"], counts["uncertain"], counts["queued"]) == (2, 1, 0), counts
    row = _row(db, "a@example.org")
    assert row.status is DeliveryStatus.UNCERTAIN and "may have accepted" in row.reply
    kept = ["a@example.org"] if fault == "keep-close" else []
    assert faulty.recipients() == sorted(["b@example.org", "c@example.org", *kept])
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.SENT

    _retry_due_rows_now(app, db, issue.id)  # the retries and the sweeper's orphan check find nothing
    sending_tasks.sweep_sends()
    run_jobs(app)
    assert faulty.recipients() == sorted(["b@example.org", "c@example.org", *kept])  # never a second copy


def test_at_least_once_sends_an_uncertain_message_again_with_the_same_id(app, db, faulty, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_RESEND_UNCERTAIN", True)
    faulty.script.append("keep-close")
    issue = issue_with_readers(db, readers=READERS)
    start_send(db, issue)
    run_jobs(app)
    waiting = _row(db, "a@example.org")
    assert waiting.status is DeliveryStatus.QUEUED and waiting.next_attempt_at is not None

    _retry_due_rows_now(app, db, issue.id)
    copies = [r.message for r in faulty.received if r.rcpt_tos == ["a@example.org"]]
    assert len(copies) == 2
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"]  # receivers can fold the two
    assert progress.progress(db.session, issue.id)["sent"] == 3


@pytest.mark.parametrize("fault", PERMANENT)
def test_permanent_refusals_fail_the_row_and_only_5_1_x_suppresses(app, db, faulty, fault):
    faulty.script.append(fault)
    issue = issue_with_readers(db, readers=READERS)
    start_send(db, issue)
    run_jobs(app)
    counts = progress.progress(db.session, issue.id)
    assert counts["sent"] == 2 and counts["failed"] == 1 and counts["queued"] == 0, counts
    assert faulty.recipients() == ["b@example.org", "c@example.org"]
    row = _row(db, "a@example.org")
    assert row.status is DeliveryStatus.FAILED and row.reply.startswith(fault[:3])
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.SENT
    reason = addresses.suppression_reason(db.session, "a@example.org")
    assert reason is (SuppressionReason.BOUNCED if "5.1.1" in fault else None)
    assert faulty.attempts == 3  # nothing was tried twice


RCPT_FAULTS = ["452 4.5.3 Too many recipients", "550 5.1.1 <a@example.org>: User unknown"]


@pytest.mark.parametrize("fault", RCPT_FAULTS)
def test_refusals_at_rcpt_are_handled_like_refusals_at_data(app, db, faulty, fault):
    faulty.rcpt_script.append(fault)
    issue = issue_with_readers(db, readers=READERS)
    start_send(db, issue)
    run_jobs(app)
    temporary = fault.startswith("4")
    counts = progress.progress(db.session, issue.id)
    assert counts["sent"] == 2 and counts["queued" if temporary else "failed"] == 1, counts
    assert addresses.is_suppressed(db.session, "a@example.org") is not temporary
    if temporary:
        _retry_due_rows_now(app, db, issue.id)
    assert faulty.recipients() == (sorted(READERS) if temporary else ["b@example.org", "c@example.org"])


def test_the_backoff_grows_and_ends_in_failed_after_the_last_attempt(app, db, faulty):
    faulty.script.extend(["451 4.3.0 Greylisted"] * batches.MAX_ATTEMPTS)
    issue = issue_with_readers(db, readers=("a@example.org",))
    start_send(db, issue)
    run_jobs(app)
    waits = []
    for _ in range(batches.MAX_ATTEMPTS - 1):
        row = _row(db, "a@example.org")
        assert row.status is DeliveryStatus.QUEUED
        tried_at = utcnow()
        waits.append(round((row.next_attempt_at - tried_at).total_seconds() / 60))
        _retry_due_rows_now(app, db, issue.id)
    assert waits == [1, 5, 15, 60, 240]  # minutes: 60 s, 5 min, 15 min, 1 h, 4 h
    row = _row(db, "a@example.org")
    assert row.status is DeliveryStatus.FAILED and row.attempts == batches.MAX_ATTEMPTS
    assert "Greylisted" in row.reply
    assert faulty.received == [] and faulty.attempts == batches.MAX_ATTEMPTS
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.SENT


def test_a_relay_that_is_down_then_back(app, db, faulty, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://127.0.0.1:1?timeout=1")  # nothing listens there
    issue = issue_with_readers(db, readers=READERS)
    start_send(db, issue)
    run_jobs(app)
    assert progress.progress(db.session, issue.id)["queued"] == 3
    monkeypatch.setitem(app.config, "SMTP_URL", faulty.url(timeout=1))
    _retry_due_rows_now(app, db, issue.id)
    assert faulty.recipients() == sorted(READERS)
    assert progress.progress(db.session, issue.id)["sent"] == 3
