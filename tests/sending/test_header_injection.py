"""Header injection in every value that reaches a header: the reader's address, the sender's name, the
subject, the newsletter name in List-Id. Values saved through the services are made one line; values that
reach the send path some other way (written straight into the database) are refused for that reader and
nothing is sent to them, while everyone else gets a clean message. Every captured message parses without
defects, has no line over 998 characters, carries exactly one To and no smuggled header, and its DKIM
signature verifies. Bad inputs tried: CR LF, a lone LF, a lone CR, a NUL, "a@x>, <b@y" (a second
address), a quoted display name, a 990-character address, and the same line breaks in subject, sender
name and newsletter name."""

from __future__ import annotations

from sqlalchemy import select

from newsletter.editorial import issues
from newsletter.readers import newsletters
from newsletter.readers.models import Newsletter
from newsletter.sending import progress
from newsletter.sending.models import Delivery, DeliveryStatus
from tests.readers.factories import make_reader
from tests.sending.factories import issue_with_readers, start_send
from tests.support.dkim import dkim_verifies
from tests.support.worker import run_jobs

HOSTILE_ADDRESSES = [
    "crlf@example.org\r\nBcc: victim@example.net",
    "lf@example.org\nBcc: victim@example.net",
    "cr@example.org\rBcc: victim@example.net",
    "nul@example.org\0",
    "second@example.org>, <victim@example.net",
    '"Evil Name" <evil@example.org>',
    "x" * 978 + "@example.org",
]


EXPECTED_HEADERS = {
    b"dkim-signature", b"date", b"to", b"message-id", b"list-unsubscribe", b"from", b"subject",
    b"mime-version", b"content-type", b"list-id", b"list-unsubscribe-post", b"feedback-id", b"precedence",
}  # fmt: skip


def _check_clean(received, key):
    lines = received.raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    message = received.message
    assert message.defects == []
    assert len(message.get_all("To")) == 1 and message.get_all("Bcc") is None
    head = received.raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    names = {line.split(b":", 1)[0].lower() for line in head if not line.startswith((b" ", b"\t"))}
    assert names <= EXPECTED_HEADERS, names - EXPECTED_HEADERS
    assert received.rcpt_tos[0] == message["To"]
    assert dkim_verifies(received.raw, key)


def test_hostile_reader_addresses_are_refused_and_everyone_else_gets_a_clean_message(app, db, relay, signed):
    issue = issue_with_readers(db, readers=("fine@example.org", "also-fine@example.org"))
    news = issue.newsletters[0]
    # As if written by something that skipped the services' checks. PostgreSQL itself refuses a NUL in text
    # and an address over 320 characters, so those two reach the send path on SQLite only.
    sqlite = db.engine.dialect.name == "sqlite"
    hostile = [a for a in HOSTILE_ADDRESSES if sqlite or ("\0" not in a and len(a) <= 320)]
    for address in hostile:
        make_reader(db, address, newsletters=[news])
    db.session.commit()
    start_send(db, issue)
    run_jobs(app)
    relay.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in relay.received) == ["also-fine@example.org", "fine@example.org"]
    for received in relay.received:
        _check_clean(received, signed)
    counts = progress.progress(db.session, issue.id)
    assert counts["sent"] == 2 and counts["failed"] == len(hostile) and counts["queued"] == 0
    replies = db.session.scalars(select(Delivery.reply).where(Delivery.status == DeliveryStatus.FAILED)).all()
    assert all(reply.startswith("not sent:") for reply in replies)


def test_transactional_mail_to_a_hostile_address_is_refused_and_nothing_is_sent(app, relay):
    from newsletter.mail import tasks as mail_tasks

    for address in HOSTILE_ADDRESSES[:6]:
        assert mail_tasks.send_transactional_mail("test_message", address, {}).startswith("refused:")
    assert mail_tasks.send_transactional_mail("test_message", "fine@example.org", {}).startswith("250")
    (message,) = relay.wait_for(1)
    assert relay.received[0].rcpt_tos == ["fine@example.org"] and message["To"] == "fine@example.org"


def test_line_breaks_in_subject_sender_name_and_newsletter_name_are_neutralised(app, db, relay, signed):
    issue = issue_with_readers(db, readers=("fine@example.org",))
    news = issue.newsletters[0]
    newsletters.save_newsletter(db.session, news, name="KI-News\r\nBcc: victim@example.net", slug=news.slug,
                                description="", is_public=True, is_default=True, position=0)  # fmt: skip
    issues.update_issue(db.session, issue, issues.IssueInput(
        subject="Die KI-Woche\r\nBcc: victim@example.net", sender_name="KI\nBcc: victim@example.net",
        sender_address="redaktion@ki-kompass.example", newsletter_ids=[news.id],
    ))  # fmt: skip
    db.session.commit()
    assert "\n" not in issue.subject and "\n" not in issue.sender_name and "\r" not in news.name
    start_send(db, issue)
    run_jobs(app)
    (message,) = relay.wait_for(1)
    _check_clean(relay.received[0], signed)
    assert message["Subject"] == "Die KI-Woche Bcc: victim@example.net"  # one harmless line
    assert message["List-Id"].startswith("KI-News Bcc: victim@example.net")


def test_a_newsletter_name_with_a_line_break_in_the_database_stops_the_message_not_the_worker(app, db, relay):
    issue = issue_with_readers(db, readers=("fine@example.org", "other@example.org"))
    db.session.execute(
        Newsletter.__table__.update().values(name="KI\r\nBcc: victim@example.net")
    )  # straight into the database, past the service
    db.session.commit()
    db.session.expire_all()
    start_send(db, issue)
    run_jobs(app)
    assert relay.received == []
    counts = progress.progress(db.session, issue.id)
    assert counts["failed"] == 2 and counts["sending"] == 0 and counts["queued"] == 0
    reply = db.session.scalars(select(Delivery.reply)).first()
    assert "List-Id" in reply
