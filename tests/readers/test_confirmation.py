"""Double opt-in: the mail arrives through the queue and a real SMTP server; its link opens a page whose
button confirms. Bad inputs tried: a GET on the link (a mail scanner), a POST without CSRF token, a tampered
token, an expired token, a token for an address that has since changed, a token of another purpose."""

from __future__ import annotations

import re

import pytest

from newsletter.platform import tokens
from newsletter.readers import addresses, reader_mails, subscribers
from newsletter.readers.models import ConsentBasis, Subscriber, SubscriberStatus, SuppressionReason
from tests.readers.factories import make_pending_reader, make_reader
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


def _link(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"http://localhost(/confirm/\S+)", text).group(1)


def test_confirmation_mail_arrives_and_its_button_confirms(app, client, db, relay):
    reader = make_pending_reader(db)
    run_jobs(app)
    [message] = relay.messages
    assert message["To"] == "leserin@example.org"
    assert message["Subject"] == "Bitte bestätigen Sie Ihr Abonnement bei KI-Kompass"
    path = _link(message)
    assert path in message.get_body(preferencelist=("html",)).get_content()

    page = client.get(path)  # what a mail scanner does: nothing changes
    assert page.status_code == 200 and "Ja, Abonnement bestätigen" in text_of(page)
    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id).status is SubscriberStatus.PENDING

    done = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert "Sie sind angemeldet" in text_of(done)
    db.session.expire_all()
    reader = db.session.get(Subscriber, reader.id)
    assert reader.status is SubscriberStatus.ACTIVE
    assert reader.consent_basis is ConsentBasis.DOUBLE_OPT_IN and reader.consent_at is not None
    assert [e.kind for e in reader.events] == ["confirmation_sent", "confirmed"]


def test_confirm_without_csrf_token_changes_nothing(app, client, db, relay):
    reader = make_pending_reader(db)
    run_jobs(app)
    response = client.post(_link(relay.messages[0]), data={})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id).status is SubscriberStatus.PENDING


def test_english_readers_get_the_mail_in_english(app, db, relay):
    make_pending_reader(db, locale="en")
    run_jobs(app)
    assert relay.messages[0]["Subject"] == "Please confirm your subscription to KI-Kompass"


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "x" + t]
)
def test_tampered_links_are_refused(app, client, db, relay, mangle):
    reader = make_pending_reader(db)
    run_jobs(app)
    path = _link(relay.messages[0])
    token = path.rsplit("/", 1)[1]
    response = client.get(f"/confirm/{mangle(token)}")
    assert response.status_code == 400
    assert "nicht gültig" in text_of(response)
    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id).status is SubscriberStatus.PENDING


def test_expired_links_say_so(app, client, db, relay, monkeypatch):
    make_pending_reader(db)
    run_jobs(app)
    monkeypatch.setitem(tokens.LIFETIMES, "confirm", -1)
    response = client.get(_link(relay.messages[0]))
    assert response.status_code == 400
    assert "abgelaufen" in text_of(response)


def test_a_link_for_an_old_address_is_void(app, client, db, relay):
    reader = make_pending_reader(db)
    run_jobs(app)
    reader.email = "neu@example.org"
    db.session.commit()
    assert client.get(_link(relay.messages[0])).status_code == 400


def test_a_token_of_another_purpose_is_refused(app, client, db):
    reader = make_reader(db, "leserin@example.org", status=SubscriberStatus.PENDING)
    db.session.commit()
    other = tokens.make_token("preferences", {"s": reader.id, "h": addresses.email_hash(reader.email)[:16]})
    assert client.get(f"/confirm/{other}").status_code == 400


def test_own_confirmation_lifts_an_earlier_unsubscribe(app, client, db, relay):
    reader = make_reader(db, "zurueck@example.org")
    subscribers.unsubscribe(db.session, reader, via="test")
    reader.status = SubscriberStatus.PENDING
    reader_mails.request_confirmation(db.session, reader)
    db.session.commit()
    assert addresses.suppression_reason(db.session, reader.email) is SuppressionReason.UNSUBSCRIBED
    run_jobs(app)
    path = _link(relay.messages[0])
    client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert not addresses.is_suppressed(db.session, "zurueck@example.org")
