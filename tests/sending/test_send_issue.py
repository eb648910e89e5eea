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
from newsletter.editorial.models import Article, Issue, IssueArticle, IssueState
from newsletter.platform.queues import get_queue
from newsletter.readers import addresses, subscribers
from newsletter.readers.models import (
    Newsletter,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SuppressionReason,
)
from newsletter.sending import control, ledger, progress
from tests.support.worker import run_jobs


def _reader(db, email, newsletters, status=SubscriberStatus.ACTIVE, **kw) -> Subscriber:
    reader = Subscriber(email=email, status=status, **kw)
    db.session.add(reader)
    db.session.flush()
    for n in newsletters:
        db.session.add(Subscription(subscriber_id=reader.id, newsletter_id=n.id))
    return reader


@pytest.fixture
def issue(db):
    ki = Newsletter(slug="ki-news", name="KI-News täglich", is_default=True)
    weekly = Newsletter(slug="woche", name="Wochenrückblick")
    other = Newsletter(slug="alltag", name="KI im Alltag")
    db.session.add_all([ki, weekly, other])
    db.session.flush()
    for i in range(25):
        _reader(db, f"leser{i}@example.org", [ki])
    _reader(db, "beide@example.org", [ki, weekly])  # on two target newsletters: one message
    _reader(db, "woche@example.org", [weekly])
    _reader(db, "weg@example.org", [ki], status=SubscriberStatus.UNSUBSCRIBED)
    _reader(db, "offen@example.org", [ki], status=SubscriberStatus.PENDING)
    _reader(db, "pause@example.org", [ki], paused_until=utcnow() + timedelta(days=3))
    _reader(db, "anderswo@example.org", [other])
    article = Article(slug="a", title="Sprachmodelle erklärt", teaser="Was steckt dahinter?", body="Text")
    issue = Issue(
        subject="Die KI-Woche", sender_name="KI-Kompass", sender_address="redaktion@ki-kompass.example",
        newsletters=[ki, weekly],
    )  # fmt: skip
    db.session.add_all([article, issue])
    db.session.flush()
    db.session.add(IssueArticle(issue_id=issue.id, article_id=article.id, position=0))
    db.session.commit()
    return issue


def _send(app, db, issue, batch_size=500):
    prepared = ledger.prepare_send(db.session, issue)
    db.session.commit()
    prepared = ledger.PreparedSend(prepared.issue_id, prepared.added,
                                    ledger.batch_ranges(db.session, issue.id, batch_size))  # fmt: skip
    control.queue_batches(prepared.issue_id, prepared.batches)
    return prepared


def test_every_eligible_reader_gets_exactly_one_message(app, client, db, relay, issue):
    prepared = _send(app, db, issue, batch_size=7)
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
    _send(app, db, issue)
    again = _send(app, db, issue)
    assert again.added == 0
    run_jobs(app)
    relay.wait_for(27)
    control.queue_batches(issue.id, [(1, 10_000)])  # a stray job for the whole range
    run_jobs(app)
    assert len(relay.received) == 27


def test_an_unsubscribe_after_send_was_pressed_is_honoured(app, client, db, relay, issue):
    _send(app, db, issue)
    leaving = subscribers.find_subscriber(db.session, "leser5@example.org")
    subscribers.unsubscribe(db.session, leaving, via="test")
    db.session.commit()
    run_jobs(app)
    relay.wait_for(26)
    assert "leser5@example.org" not in [r.rcpt_tos[0] for r in relay.received]
    assert progress.progress(db.session, issue.id)["skipped"] == 1


def test_temporary_refusals_are_retried_later_and_hard_bounces_suppress(app, db, relay, issue):
    relay.replies.extend(["451 4.3.0 Try again later", "550 5.1.1 No such mailbox"])
    _send(app, db, issue)
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


def test_issues_that_cannot_be_sent_say_why_and_write_nothing(app, db, issue):
    empty = Issue(
        subject="Leer", sender_name="KI", sender_address="a@ki.example", newsletters=issue.newsletters
    )
    nowhere = Issue(subject="Niemand", sender_name="KI", sender_address="a@ki.example")
    db.session.add_all([empty, nowhere])
    db.session.commit()
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
    response = client.post(f"{page}/send", data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 302
    assert "Der Versand an 27 Leserinnen und Leser hat begonnen" in text_of(client.get(page))
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
