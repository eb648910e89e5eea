"""Sending an issue through the ledger, the mail queue and a real SMTP server. Every eligible reader gets
exactly one message; what arrives parses cleanly and carries the reader's own one-click unsubscribe link,
which works. Bad inputs and faults tried: pressing Send twice, readers who left, paused or are on another
newsletter only, a reader on two target newsletters, an unsubscribe after Send was pressed, a 451 from the
relay (retried later), a 550 5.1.1 (failed, the address suppressed), an issue without articles or
newsletters, sending a sent issue again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.platform.queues import get_queue
from newsletter.readers import addresses, subscribers
from newsletter.readers.models import (
    Subscriber,
    SubscriberStatus,
    SuppressionReason,
)
from newsletter.sending import control, ledger, progress
from newsletter.sending.models import Delivery, DeliveryStatus
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_newsletter, make_reader
from tests.sending.factories import start_send
from tests.support.worker import run_jobs

BATCH_SIZE = 500  # readers per batch job; the batches are made again each time Send is pressed


@pytest.fixture
def issue(db):
    ki = make_newsletter(db, is_default=True)
    weekly = make_newsletter(db, "woche", "Wochenrückblick")
    other = make_newsletter(db, "alltag", "KI im Alltag")
    for i in range(25):
        make_reader(db, f"leser{i}@example.org", newsletters=[ki])
    make_reader(db, "beide@example.org", newsletters=[ki, weekly])  # on two target newsletters: one message
    make_reader(db, "woche@example.org", newsletters=[weekly])
    make_reader(db, "weg@example.org", status=SubscriberStatus.UNSUBSCRIBED, newsletters=[ki])
    make_reader(db, "offen@example.org", status=SubscriberStatus.PENDING, newsletters=[ki])
    make_reader(db, "pause@example.org", newsletters=[ki], paused_until=utcnow() + timedelta(days=3))
    make_reader(db, "anderswo@example.org", newsletters=[other])
    article = make_article(db, "Sprachmodelle erklärt", teaser="Was steckt dahinter?", body="Text")
    return make_issue(db, articles=[article], newsletters=[ki, weekly])


def test_every_eligible_reader_gets_exactly_one_message(app, client, db, relay, issue):
    prepared = start_send(db, issue, batch_size=7)
    assert prepared.added == 27 and len(prepared.batches) == 4
    run_jobs(app)
    messages = relay.wait_for(27)
    recipients = sorted(r.rcpt_tos[0] for r in relay.received)
    expected = sorted(
        [f"leser{i}@example.org" for i in range(25)] + ["beide@example.org", "woche@example.org"]
    )
    assert recipients == expected
    for message in messages:
        assert message["Subject"] == "Die KI-Woche"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "KI-News" in message["List-Id"] or "Wochenr" in message["List-Id"]
        assert message.defects == []
    assert progress.progress(db.session, issue.id)["sent"] == 27
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.SENT

    # The header's one-click link unsubscribes exactly that reader.
    target = next(m for m in messages if m["To"] == "leser3@example.org")
    url = target["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert url.startswith("http://localhost/unsubscribe/")
    response = client.post(url.removeprefix("http://localhost"), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.session.expire_all()
    assert (
        subscribers.find_subscriber(db.session, "leser3@example.org").status is SubscriberStatus.UNSUBSCRIBED
    )
    assert subscribers.find_subscriber(db.session, "leser4@example.org").status is SubscriberStatus.ACTIVE


def test_pressing_send_twice_sends_nothing_twice(app, db, relay, issue):
    start_send(db, issue, batch_size=BATCH_SIZE)
    again = start_send(db, issue, batch_size=BATCH_SIZE)
    assert again.added == 0
    run_jobs(app)
    relay.wait_for(27)
    control.queue_batches(issue.id, [(1, 10_000)])  # a stray job for the whole range
    run_jobs(app)
    assert len(relay.received) == 27


def test_an_unsubscribe_after_send_was_pressed_is_honoured(app, client, db, relay, issue):
    start_send(db, issue, batch_size=BATCH_SIZE)
    leaving = subscribers.find_subscriber(db.session, "leser5@example.org")
    subscribers.unsubscribe(db.session, leaving, via="test")
    db.session.commit()
    run_jobs(app)
    relay.wait_for(26)
    assert "leser5@example.org" not in [r.rcpt_tos[0] for r in relay.received]
    assert progress.progress(db.session, issue.id)["skipped"] == 1


def test_temporary_refusals_are_retried_later_and_hard_bounces_suppress(app, db, relay, issue):
    relay.replies.extend(["451 4.3.0 Try again later", "550 5.1.1 No such mailbox"])
    start_send(db, issue, batch_size=BATCH_SIZE)
    run_jobs(app)
    relay.wait_for(25)
    counts = progress.progress(db.session, issue.id)
    assert counts["sent"] == 25 and counts["queued"] == 1 and counts["failed"] == 1
    scheduled = ScheduledJobRegistry(queue=get_queue("mail")).get_job_ids()
    assert len(scheduled) == 1 and scheduled[0].startswith(f"send-{issue.id}-")
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.SENDING  # not finished while one waits
    bounced = db.session.scalars(
        select(Subscriber).where(Subscriber.status == SubscriberStatus.BOUNCED)
    ).one()
    assert addresses.suppression_reason(db.session, bounced.email) is SuppressionReason.BOUNCED


@pytest.mark.parametrize("offer", [True, False], ids=["pipelining", "one command at a time"])
def test_each_verdict_at_the_end_of_data_lands_on_the_reader_it_was_for(app, db, relay, issue, offer):
    # The worker makes the next reader's message before it reads the relay's verdict on the one before:
    # a verdict taken for the wrong row would mark a delivered reader bounced and a bounced one sent.
    relay.pipelining = offer
    relay.data_replies.update({
        "leser3@example.org": "550 5.1.1 No such mailbox",
        "leser4@example.org": "451 4.3.0 Try again later",
        "woche@example.org": "550 5.1.1 No such mailbox",  # the last message of the chunk
    })  # fmt: skip
    start_send(db, issue, batch_size=BATCH_SIZE)
    run_jobs(app)
    relay.wait_for(24)
    statuses = dict(
        db.session.execute(
            select(Subscriber.email, Delivery.status).join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.issue_id == issue.id)
        ).all()
    )  # fmt: skip
    assert statuses.pop("leser3@example.org") is DeliveryStatus.FAILED
    assert statuses.pop("woche@example.org") is DeliveryStatus.FAILED
    assert statuses.pop("leser4@example.org") is DeliveryStatus.QUEUED
    assert set(statuses.values()) == {DeliveryStatus.SENT} and len(statuses) == 24
    received = sorted(r.rcpt_tos[0] for r in relay.received)
    assert received == sorted(statuses)
    bounced = set(
        db.session.scalars(select(Subscriber.email).where(Subscriber.status == SubscriberStatus.BOUNCED))
    )
    assert bounced == {"leser3@example.org", "woche@example.org"}


def test_issues_that_cannot_be_sent_say_why_and_write_nothing(app, db, issue):
    empty = make_issue(
        db, subject="Leer", sender_name="KI", sender_address="a@ki.example", newsletters=issue.newsletters
    )
    nowhere = make_issue(db, subject="Niemand", sender_name="KI", sender_address="a@ki.example")
    with pytest.raises(ledger.SendError, match="mindestens einen Artikel"):
        ledger.prepare_send(db.session, empty)
    with pytest.raises(ledger.SendError, match="mindestens einen Newsletter"):
        ledger.prepare_send(db.session, nowhere)
    issue.state = IssueState.SENT
    with pytest.raises(ledger.SendError, match="„sent“ kann nicht gesendet"):
        ledger.prepare_send(db.session, issue)
    db.session.rollback()
    assert progress.progress(db.session, empty.id)["total"] == 0


def test_an_editor_sends_from_the_issue_page_and_watches_progress(app, client, db, relay, issue):
    from tests.staff.factories import sign_in, staff_user
    from tests.support.web import csrf_token, text_of

    sign_in(client, staff_user(db, "eda@example.org"))
    page = f"/staff/issues/{issue.id}"
    assert "Jetzt senden" in text_of(client.get(page))
    assert "an 27 Leser*innen" in text_of(client.get(f"{page}/send"))  # the confirmation
    response = client.post(f"{page}/send", data={"csrf_token": csrf_token(client, f"{page}/send")})
    assert response.status_code == 302
    assert "Der Versand an 27 Leser*innen hat begonnen" in text_of(client.get(page))
    assert client.get(f"{page}/progress.json").get_json()["queued"] == 27
    run_jobs(app)
    relay.wait_for(27)
    progress = client.get(f"{page}/progress.json").get_json()
    assert progress["sent"] == 27 and progress["state"] == "sent"
    again = client.post(f"{page}/send", data={"csrf_token": csrf_token(client, page)})
    assert "nicht gesendet" in text_of(client.get(again.headers["Location"]))
    run_jobs(app)
    assert len(relay.received) == 27


def test_the_command_line_sends_and_reports(app, runner, db, relay, issue):
    result = runner.invoke(args=["newsletter", "send", str(issue.id)])
    assert result.exit_code == 0, result.output
    assert f"Issue {issue.id}: 27 new recipients, 1 batches queued." in result.output
    run_jobs(app)
    relay.wait_for(27)
    waited = runner.invoke(args=["newsletter", "send", str(issue.id), "--wait"])
    assert waited.exit_code == 1 and "„sent“ kann nicht gesendet" in waited.output
    missing = runner.invoke(args=["newsletter", "send", "999"])
    assert missing.exit_code == 1 and "no issue 999" in missing.output
