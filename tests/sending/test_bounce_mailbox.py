"""Bounce and complaint reports read from a real mailbox: Debian's dovecot, started for the test with its
own configuration in a temporary folder, spoken to over IMAP and over POP3. Each report is matched to the
ledger row by the signed bounce address it was sent to. Bad inputs and faults tried: a bounce to a forged
bounce address (wrong MAC), an auto-reply that is no bounce, the same bounce delivered twice (a replay),
a poll repeated after everything was read, a wrong mailbox password, a bounce for a transactional mail to
another address than the one its bounce address vouches for, a message on which the bounce library
fails (the library's function made to raise: the only stand-in here)."""

from __future__ import annotations

from email.utils import make_msgid

import pytest
from sqlalchemy import select

from newsletter.mail import mailbox, return_paths
from newsletter.readers import addresses, subscribers
from newsletter.readers.models import SubscriberStatus, SuppressionReason
from newsletter.sending import tasks as sending_tasks
from newsletter.sending.models import Delivery, DeliveryStatus
from tests.readers.factories import make_pending_reader
from tests.sending.factories import issue_with_readers, start_send
from tests.support import dovecot as dovecot_support
from tests.support.worker import run_jobs

pytestmark = [
    pytest.mark.slow,  # a dovecot server per test
    pytest.mark.skipif(
        not dovecot_support.available(), reason="needs Debian's dovecot-imapd and dovecot-pop3d (see .ci/run)"
    ),
]


def dsn(to: str, recipient: str, *, action="failed", status="5.1.1", message_id=None) -> bytes:
    """A delivery status notification as Postfix writes it (RFC 3464), sent to our bounce address."""
    message_id = message_id or make_msgid(domain="mx.example.org")
    return f"""Return-Path: <>
Delivered-To: {to}
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"

--BOUND
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.org. I'm sorry to have to inform you that your message
could not be delivered to one or more recipients.

--BOUND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
Arrival-Date: Tue, 24 Nov 2026 23:00:00 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected

--BOUND
Content-Type: text/rfc822-headers

Return-Path: <{to}>
From: KI-Kompass <redaktion@ki-kompass.example>
To: {recipient}
Subject: Die KI-Woche

--BOUND--
""".replace("\n", "\r\n").encode()


def arf(to: str, original_from: str, recipient: str) -> bytes:
    """A feedback-loop complaint (RFC 5965) as a mailbox provider sends it."""
    return f"""From: feedbackloop@provider.example
To: {to}
Subject: Complaint about a message from ki-kompass.example
Message-ID: {make_msgid(domain="provider.example")}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"

--ARF
Content-Type: text/plain; charset=us-ascii

This is an e-mail abuse report for an e-mail message received from IP 192.0.2.1.

--ARF
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ProviderFBL/1.0
Version: 1
Original-Mail-From: <{original_from}>
Original-Rcpt-To: <{recipient}>
Arrival-Date: Tue, 24 Nov 2026 23:00:00 +0000

--ARF
Content-Type: message/rfc822

Return-Path: <{original_from}>
From: KI-Kompass <redaktion@ki-kompass.example>
To: {recipient}
Subject: Die KI-Woche

Text
--ARF--
""".replace("\n", "\r\n").encode()


def _sent_issue(app, db, relay):
    issue = issue_with_readers(db, readers=("weg@example.org", "voll@example.org", "genervt@example.org",
                                    "bleibt@example.org"))  # fmt: skip
    start_send(db, issue)
    run_jobs(app)
    relay.wait_for(4)
    return issue, {r.rcpt_tos[0]: r.mail_from for r in relay.received}


def _status(db, email):
    db.session.expire_all()
    return subscribers.find_subscriber(db.session, email)


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_bounces_and_complaints_from_the_mailbox_suppress_count_and_are_deleted(
    app, db, relay, dovecot, monkeypatch, protocol
):
    _, senders = _sent_issue(app, db, relay)
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", dovecot.url(protocol))
    soft_id = make_msgid(domain="mx.example.org")
    secret = app.config["SECRET_KEY"]
    forged = senders["bleibt@example.org"].replace(senders["bleibt@example.org"].split("@")[0][-4:], "aaaa")
    assert return_paths.read_return_path(secret, forged) is None
    dovecot.deliver(dsn(senders["weg@example.org"], "weg@example.org"))
    dovecot.deliver(dsn(senders["voll@example.org"], "voll@example.org", action="delayed", status="4.2.2",
                        message_id=soft_id))  # fmt: skip
    dovecot.deliver(arf("fbl@ki-kompass.example", senders["genervt@example.org"], "genervt@example.org"))
    dovecot.deliver(dsn(forged, "bleibt@example.org"))  # forged: changes nothing
    dovecot.deliver(b"From: urlaub@example.org\r\nTo: " + senders["bleibt@example.org"].encode()
                    + b"\r\nSubject: Abwesenheitsnotiz\r\n\r\nIch bin im Urlaub.\r\n")  # fmt: skip
    assert dovecot.count() == 5

    assert sending_tasks.poll_bounce_mailbox() == "5 messages: 1 complaint, 1 hard, 2 ignored, 1 soft"
    assert dovecot.count() == 0

    weg = _status(db, "weg@example.org")
    assert weg.status is SubscriberStatus.BOUNCED
    assert addresses.suppression_reason(db.session, "weg@example.org") is SuppressionReason.BOUNCED
    genervt = _status(db, "genervt@example.org")
    assert genervt.status is SubscriberStatus.COMPLAINED
    assert addresses.suppression_reason(db.session, "genervt@example.org") is SuppressionReason.COMPLAINED
    voll = _status(db, "voll@example.org")
    assert voll.status is SubscriberStatus.ACTIVE and voll.soft_bounces == 1
    assert not addresses.is_suppressed(db.session, "voll@example.org")
    bleibt = _status(db, "bleibt@example.org")
    assert bleibt.status is SubscriberStatus.ACTIVE and bleibt.soft_bounces == 0
    rows = {d.subscriber_id: d.status for d in db.session.scalars(select(Delivery))}
    assert rows[weg.id] is DeliveryStatus.BOUNCED and rows[genervt.id] is DeliveryStatus.BOUNCED
    assert rows[voll.id] is DeliveryStatus.SENT and rows[bleibt.id] is DeliveryStatus.SENT

    # The same soft bounce again (a second copy from the remote MTA) and a poll of an empty box: no change.
    dovecot.deliver(dsn(senders["voll@example.org"], "voll@example.org", action="delayed", status="4.2.2",
                        message_id=soft_id))  # fmt: skip
    assert sending_tasks.poll_bounce_mailbox() == "1 messages: 1 ignored"
    assert sending_tasks.poll_bounce_mailbox() == "0 messages"
    assert _status(db, "voll@example.org").soft_bounces == 1


def test_staff_see_the_soft_bounce_count_and_the_history(app, client, db, relay, dovecot, monkeypatch):
    from tests.staff.factories import sign_in, staff_user
    from tests.support.web import text_of

    _, senders = _sent_issue(app, db, relay)
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", dovecot.url("imap"))
    voll_sender = senders["voll@example.org"]
    for _ in range(2):
        dovecot.deliver(dsn(voll_sender, "voll@example.org", action="delayed", status="4.4.7"))
    dovecot.deliver(dsn(senders["weg@example.org"], "weg@example.org"))
    sign_in(client, staff_user(db, "eda@example.org"))
    result = app.test_cli_runner().invoke(args=["newsletter", "bounces", "poll"])
    assert result.exit_code == 0 and "3 messages: 1 hard, 2 soft" in result.output
    voll = _status(db, "voll@example.org")
    page = text_of(client.get(f"/staff/subscribers/{voll.id}"))
    assert "Soft Bounces" in page or "Soft-Bounces" in page
    assert "2" in page.split("Bounces", 1)[1][:40]
    weg = _status(db, "weg@example.org")
    assert "Hard Bounce" in text_of(client.get(f"/staff/subscribers/{weg.id}"))


def test_an_unreadable_message_is_deleted_and_does_not_block_the_rest(app, db, relay, dovecot, monkeypatch):
    from flufl import bounce

    _, senders = _sent_issue(app, db, relay)
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", dovecot.url("imap"))
    dovecot.deliver(b"Subject: broken\r\n\r\nThis one makes the detectors fail.\r\n")
    dovecot.deliver(dsn(senders["weg@example.org"], "weg@example.org"))
    real = bounce.all_failures

    def failing_on_the_broken_one(message):
        if message.get("Subject") == "broken":
            raise ValueError("a detector crashed")
        return real(message)

    # A fault of the detecting library:
    monkeypatch.setattr("newsletter.sending.bounces.all_failures", failing_on_the_broken_one)
    assert sending_tasks.poll_bounce_mailbox() == "2 messages: 1 hard, 1 ignored"
    assert dovecot.count() == 0
    assert _status(db, "weg@example.org").status is SubscriberStatus.BOUNCED


def test_a_wrong_password_is_a_clear_error_and_changes_nothing(app, db, relay, dovecot, monkeypatch):
    _, senders = _sent_issue(app, db, relay)
    dovecot.deliver(dsn(senders["weg@example.org"], "weg@example.org"))
    url = dovecot.url("imap").replace(dovecot_support.PASSWORD, "falsch")
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", url)
    result = app.test_cli_runner().invoke(args=["newsletter", "bounces", "poll"])
    assert result.exit_code == 1
    assert "could not be read" in result.output and "falsch" not in result.output
    assert dovecot.count() == 1
    assert _status(db, "weg@example.org").status is SubscriberStatus.ACTIVE
    with pytest.raises(mailbox.MailboxError):
        mailbox.MailboxTarget.from_url("imap://127.0.0.1/INBOX")


def test_a_bounced_confirmation_suppresses_only_the_vouched_address(app, db, relay, dovecot, monkeypatch):
    for email in ("tippfehler@example.org", "andere@example.org"):
        make_pending_reader(db, email)
    run_jobs(app)
    relay.wait_for(2)
    sender = next(r.mail_from for r in relay.received if r.rcpt_tos == ["tippfehler@example.org"])
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", dovecot.url("pop3"))
    dovecot.deliver(dsn(sender, "tippfehler@example.org"))
    dovecot.deliver(dsn(sender, "andere@example.org"))  # the bounce address was not made for this one
    sending_tasks.poll_bounce_mailbox()
    assert addresses.suppression_reason(db.session, "tippfehler@example.org") is SuppressionReason.BOUNCED
    assert _status(db, "tippfehler@example.org").status is SubscriberStatus.BOUNCED
    assert not addresses.is_suppressed(db.session, "andere@example.org")
    assert _status(db, "andere@example.org").status is SubscriberStatus.PENDING
