"""Unsubscribe requests mailed to the mailto half of an issue's ``List-Unsubscribe`` header, read from a
real mailbox (Debian's dovecot, over IMAP and POP3) by the poller the clock runs. The mails are written
the way Gmail and Outlook send them: to the mailto address, with the header's subject and an empty body.

Bad inputs tried: a token whose MAC was changed (forged), a token signed with another installation's
key, a subject with a reader and newsletter number but no MAC (unsigned), a test send's token, the same
mail read again (a poller that crashed between applying and deleting it, here after the reader had joined
the newsletter again), a second request of the same reader, and a request whose reader has since been
erased."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import make_msgid
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from newsletter.readers import addresses, links, subscribers
from newsletter.readers.models import SubscriberEvent, SubscriberStatus, Subscription, SuppressionReason
from newsletter.sending import tasks as sending_tasks
from newsletter.stats import figures
from newsletter.stats.periods import parse_period
from tests.readers.factories import make_newsletter
from tests.sending.factories import issue_with_readers, start_send
from tests.support import dovecot as dovecot_support
from tests.support.worker import run_jobs

pytestmark = [
    pytest.mark.slow,  # a dovecot server per test
    pytest.mark.skipif(
        not dovecot_support.available(), reason="needs Debian's dovecot-imapd and dovecot-pop3d (see .ci/run)"
    ),
]

MAILTO = re.compile(r"<mailto:(?P<address>[^?>]+)\?subject=(?P<subject>[^>]+)>")


def request_mail(sender: str, to: str, subject: str, message_id: str | None = None) -> bytes:
    """An unsubscribe request as a mail program sends it from the List-Unsubscribe mailto address."""
    return (
        f"Return-Path: <{sender}>\r\nDelivered-To: {to}\r\nFrom: {sender}\r\nTo: {to}\r\n"
        f"Subject: {subject}\r\nMessage-ID: {message_id or make_msgid(domain='mail.example.org')}\r\n"
        "Date: Mon, 07 Dec 2026 18:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n\r\n\r\n"
    ).encode()


@pytest.fixture(autouse=True)
def _unsubscribe_address(app, monkeypatch):
    """The newsroom names the address whose mail arrives in the mailbox each test reads."""
    monkeypatch.setitem(app.config, "MAIL_UNSUBSCRIBE_ADDRESS", "unsubscribe@ki-kompass.example")


def _sent_issue(app, db, relay):
    """An issue of "ki-news" sent to four readers; two of them also read "wochenbrief"."""
    readers = ("geht@example.org", "ganz@example.org", "bleibt@example.org", "zweimal@example.org")
    issue = issue_with_readers(db, readers=readers)
    weekly = make_newsletter(db, slug="wochenbrief", name="Der Wochenbrief")
    for email in ("geht@example.org", "zweimal@example.org"):
        reader = subscribers.find_subscriber(db.session, email)
        db.session.add(Subscription(subscriber_id=reader.id, newsletter_id=weekly.id))
    db.session.commit()
    start_send(db, issue)
    run_jobs(app)
    messages = relay.wait_for(4)
    mailto = {}
    for message in messages:
        match = MAILTO.search(str(message["List-Unsubscribe"]))
        assert match, message["List-Unsubscribe"]
        mailto[str(message["To"])] = (match["address"], unquote(match["subject"]))
    return issue, weekly, mailto


def _reader(db, email):
    db.session.expire_all()
    return subscribers.find_subscriber(db.session, email)


def _newsletters(db, email) -> set[str]:
    return {s.newsletter.slug for s in _reader(db, email).subscriptions}


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_mailed_unsubscribe_leaves_what_the_header_names_once_and_forgeries_change_nothing(
    app, db, relay, dovecot, monkeypatch, protocol
):
    issue, _, mailto = _sent_issue(app, db, relay)
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", dovecot.url(protocol))
    address, subject = mailto["geht@example.org"]
    assert address == "unsubscribe@ki-kompass.example" and subject.startswith("unsubscribe-")
    secret = app.config["SECRET_KEY"]
    bleibt = _reader(db, "bleibt@example.org")
    news_id = issue.newsletters[0].id
    real_bleibt = mailto["bleibt@example.org"][1]
    forged = real_bleibt[:-4] + ("AAAA" if not real_bleibt.endswith("AAAA") else "BBBB")
    foreign = links.unsubscribe_token("another-installation-another-key-1234", bleibt.id, news_id, issue.id)
    test_token = links.test_reader_token(secret, "de", "abc123")

    first_id = make_msgid(domain="mail.example.org")
    dovecot.deliver(request_mail("geht@example.org", address, subject, first_id))
    dovecot.deliver(request_mail("ganz@example.org", *mailto["ganz@example.org"]))
    dovecot.deliver(request_mail("boese@example.org", address, forged))
    dovecot.deliver(request_mail("boese@example.org", address, f"unsubscribe-{foreign}"))
    dovecot.deliver(request_mail("boese@example.org", address, f"unsubscribe-{bleibt.id}-{news_id}"))
    dovecot.deliver(request_mail("boese@example.org", address, f"unsubscribe-{test_token}"))
    assert dovecot.count() == 6

    assert sending_tasks.poll_bounce_mailbox() == "6 messages: 4 ignored, 2 unsubscribe"
    assert dovecot.count() == 0

    # geht left "ki-news" only and still reads the weekly letter; ganz had nothing else: gone, suppressed.
    geht = _reader(db, "geht@example.org")
    assert geht.status is SubscriberStatus.ACTIVE and _newsletters(db, "geht@example.org") == {"wochenbrief"}
    ganz = _reader(db, "ganz@example.org")
    assert ganz.status is SubscriberStatus.UNSUBSCRIBED
    assert addresses.suppression_reason(db.session, "ganz@example.org") is SuppressionReason.UNSUBSCRIBED
    assert _reader(db, "bleibt@example.org").status is SubscriberStatus.ACTIVE
    assert _newsletters(db, "bleibt@example.org") == {"ki-news"}
    left = db.session.scalars(
        select(SubscriberEvent).where(SubscriberEvent.kind.in_(("left_newsletter", "unsubscribed")))
    ).all()
    assert sorted((e.subscriber_id, e.kind, e.detail["via"], e.issue_id) for e in left) == sorted(
        [(geht.id, "left_newsletter", "mail", issue.id), (ganz.id, "unsubscribed", "mail", issue.id)]
    )
    period = parse_period("this_month", None, None, zone="Europe/Berlin", now=datetime.now(UTC))
    assert figures.issue_rows(db.session, period)[0]["unsubscribed"] == 2

    # geht joins "ki-news" again; then the first mail is read once more (a poller that crashed after
    # committing, before deleting) and geht's mail program sends a second request: nothing changes.
    db.session.add(Subscription(subscriber_id=geht.id, newsletter_id=news_id))
    db.session.commit()
    dovecot.deliver(request_mail("geht@example.org", address, subject, first_id))
    dovecot.deliver(request_mail("ganz@example.org", *mailto["ganz@example.org"]))
    assert sending_tasks.poll_bounce_mailbox() == "2 messages: 2 ignored"
    assert dovecot.count() == 0
    assert _newsletters(db, "geht@example.org") == {"ki-news", "wochenbrief"}
    later = select(SubscriberEvent).where(SubscriberEvent.id > max(e.id for e in left))
    assert [e.kind for e in db.session.scalars(later)] == []
    assert figures.issue_rows(db.session, period)[0]["unsubscribed"] == 2


def test_a_separate_unsubscribe_mailbox_is_read_too_and_an_erased_reader_changes_nothing(
    app, client, db, relay, dovecot, monkeypatch
):
    from tests.staff.factories import sign_in, staff_user
    from tests.support.web import text_of

    issue, _, mailto = _sent_issue(app, db, relay)
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", None)
    monkeypatch.setitem(app.config, "UNSUBSCRIBE_MAILBOX_URL", dovecot.url("imap"))
    gone = _reader(db, "bleibt@example.org")
    subscribers.erase(db.session, gone, via="test")
    db.session.commit()
    dovecot.deliver(request_mail("bleibt@example.org", *mailto["bleibt@example.org"]))
    dovecot.deliver(request_mail("zweimal@example.org", *mailto["zweimal@example.org"]))
    result = app.test_cli_runner().invoke(args=["newsletter", "bounces", "poll"])
    assert result.exit_code == 0 and "2 messages: 1 ignored, 1 unsubscribe" in result.output
    assert dovecot.count() == 0
    assert _newsletters(db, "zweimal@example.org") == {"wochenbrief"}
    assert subscribers.find_subscriber(db.session, "bleibt@example.org") is None
    # Staff see in the reader's history how and from which issue they left.
    sign_in(client, staff_user(db, "eda@example.org"))
    page = text_of(client.get(f"/staff/subscribers/{_reader(db, 'zweimal@example.org').id}"))
    assert "E-Mail an die Abmeldeadresse" in page and f"aus Ausgabe Nr.: {issue.id}" in page


def test_a_malformed_unsubscribe_mailbox_url_stops_the_start(tmp_path):
    from newsletter.platform.settings import ConfigError, load_config

    env = {"BEITRAG_ENV": "testing", "SECRET_KEY": "x" * 40}
    with pytest.raises(ConfigError, match="UNSUBSCRIBE_MAILBOX_URL must start with imaps://"):
        load_config({**env, "UNSUBSCRIBE_MAILBOX_URL": "https://mail.example.org"}, tmp_path)
    config = load_config({**env, "UNSUBSCRIBE_MAILBOX_URL": "pop3s://u:p@mail.example.org"}, tmp_path)
    assert config["UNSUBSCRIBE_MAILBOX_URL"] == "pop3s://u:p@mail.example.org"
    assert load_config(env, tmp_path)["UNSUBSCRIBE_MAILBOX_URL"] is None
