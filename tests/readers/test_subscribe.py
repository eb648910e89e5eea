"""Signing up on the site and on the embeddable page: the reader is stored as pending with their choice,
the confirmation mail arrives through the queue and a real SMTP server, and the answer gives nothing away.

Bad inputs tried: CR/LF, NUL, 300 characters, no @, a quoted local part and an empty address; an IDN
address (accepted, stored decoded); header-injection attempts in the address, the newsletters, the
language and the source; a hidden or unknown newsletter; an expired and a forged form token; a filled
honeypot; sign-ups for addresses that are pending, active, unsubscribed and bounced."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from newsletter.platform import tokens
from newsletter.platform.queues import get_queue
from newsletter.readers import addresses, subscribers
from newsletter.readers.models import (
    ReaderMail,
    Subscriber,
    SubscriberStatus,
    SuppressionReason,
)
from tests.readers.factories import make_reader
from tests.readers.web import form_token, sign_up
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

DONE = "Fast geschafft"


def _count(db, model=Subscriber) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _queued() -> int:
    return sum(get_queue(name).count for name in ("transactional", "mail", "default"))


def _confirm_path(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"http://localhost(/confirm/\S+)", text).group(1)


def test_home_page_form_signs_up_and_the_mail_confirms(app, client, db, newsletters, relay):
    home = text_of(client.get("/"))
    assert 'action="/subscribe"' in home and "Unseren Newsletter abonnieren" in home
    assert '<input checked id="newsletters-0" name="newsletters" type="checkbox" value="ki-news">' in home
    assert "intern" not in home  # hidden newsletters are not offered

    response = sign_up(client, "Lena.Brandt@Example.ORG", token=form_token(client, "/"))
    assert response.status_code == 200 and DONE in text_of(response)
    reader = subscribers.find_subscriber(db.session, "lena.brandt@example.org")
    assert reader.email == "Lena.Brandt@example.org" and reader.status is SubscriberStatus.PENDING
    assert [s.newsletter.slug for s in reader.subscriptions] == ["ki-news"]

    run_jobs(app)
    [message] = relay.messages
    assert message["To"] == "Lena.Brandt@example.org"
    path = _confirm_path(message)
    client.post(path, data={"csrf_token": csrf_token(client, path)})
    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id).status is SubscriberStatus.ACTIVE


def test_choice_language_and_source_are_kept(app, client, db, newsletters, relay):
    response = sign_up(
        client, "reader@example.org", newsletters=["ki-news", "wochenrueckblick"], language="en",
        source="utm:herbst\r\nBcc: victim@example.org\x00\x1b[31m" + "x" * 400,
    )  # fmt: skip
    assert response.status_code == 200
    reader = subscribers.find_subscriber(db.session, "reader@example.org")
    assert reader.locale == "en"
    assert sorted(s.newsletter.slug for s in reader.subscriptions) == ["ki-news", "wochenrueckblick"]
    assert reader.source.startswith("utm:herbst Bcc: victim@example.org [31mxxx")
    assert len(reader.source) == 255 and not any(ch in reader.source for ch in "\r\n\0\x1b")
    run_jobs(app)
    [message] = relay.messages
    assert message["Subject"] == "Please confirm your subscription to KI-Kompass"
    assert "Bcc" not in message and "victim" not in message.as_string()  # none of the reader's text


def test_source_comes_from_the_embedding_page(client, db, newsletters, relay):
    token = form_token(client, "/subscribe?embed=1&utm_campaign=artikel-ki-act")
    page = client.get("/subscribe?embed=1&utm_campaign=artikel-ki-act")
    assert 'name="source" type="hidden" value="artikel-ki-act"' in text_of(page)
    sign_up(client, "embed@example.org", token=token, source="artikel-ki-act")
    assert subscribers.find_subscriber(db.session, "embed@example.org").source == "artikel-ki-act"


def test_the_answer_is_the_same_for_every_kind_of_address(app, client, db, newsletters, relay):
    states = {
        "pending@example.org": SubscriberStatus.PENDING,
        "active@example.org": SubscriberStatus.ACTIVE,
        "left@example.org": SubscriberStatus.UNSUBSCRIBED,
        "bounced@example.org": SubscriberStatus.BOUNCED,
    }
    for email, status in states.items():
        make_reader(db, email, status=status)
    addresses.suppress(db.session, "left@example.org", SuppressionReason.UNSUBSCRIBED)
    addresses.suppress(db.session, "bounced@example.org", SuppressionReason.BOUNCED)
    db.session.commit()

    answers = {}
    for email in ["new@example.org", *states]:
        response = sign_up(client, email)
        answers[email] = (response.status_code, text_of(response))
    assert len(set(answers.values())) == 1, "the answer must not tell addresses apart"

    run_jobs(app)
    mailed = sorted(m["To"] for m in relay.messages)
    assert mailed == ["bounced@example.org", "left@example.org", "new@example.org", "pending@example.org"]
    db.session.expire_all()
    # Leaving and bouncing stay on record (and suppressed) until the reader's own confirmation.
    left = subscribers.find_subscriber(db.session, "left@example.org")
    assert left.status is SubscriberStatus.UNSUBSCRIBED
    assert addresses.is_suppressed(db.session, "left@example.org")
    assert subscribers.find_subscriber(db.session, "active@example.org").status is SubscriberStatus.ACTIVE

    path = _confirm_path(next(m for m in relay.messages if m["To"] == "left@example.org"))
    client.post(path, data={"csrf_token": csrf_token(client, path)})
    db.session.expire_all()
    assert subscribers.find_subscriber(db.session, "left@example.org").status is SubscriberStatus.ACTIVE
    assert not addresses.is_suppressed(db.session, "left@example.org")


@pytest.mark.parametrize(
    "email",
    [
        "leser@example.org\r\nBcc: opfer@example.org",
        "leser@example.org\nX-Injected: 1",
        "leser\0@example.org",
        "a" * 300 + "@example.org",
        "no-at-sign.example.org",
        '"quoted local"@example.org',
        "",
    ],
)
def test_bad_addresses_get_a_clear_message_and_change_nothing(app, client, db, newsletters, email):
    response = sign_up(client, email)
    assert response.status_code == 400
    body = text_of(response)
    assert "nicht gültig" in body or "markierten Felder" in body
    assert 'name="email"' in body  # the form is shown again
    assert _count(db) == 0 and _count(db, ReaderMail) == 0 and _queued() == 0


def test_international_domains_are_accepted(client, db, newsletters, relay):
    assert sign_up(client, "leser@xn--bcher-kva.example").status_code == 200
    assert subscribers.find_subscriber(db.session, "leser@bücher.example") is not None


@pytest.mark.parametrize(
    "fields",
    [
        {"newsletters": ["ki-news\r\nBcc: opfer@example.org"]},
        {"newsletters": ["intern"]},  # hidden: not for sign-up
        {"newsletters": ["gibt-es-nicht"]},
        {"language": "de\r\nBcc: opfer@example.org"},
        {"language": "fr"},
    ],
)
def test_injected_or_unknown_choices_are_refused(app, client, db, newsletters, fields):
    response = sign_up(client, "leser@example.org", **fields)
    assert response.status_code == 400 and "markierten Felder" in text_of(response)
    assert _count(db) == 0 and _queued() == 0


def test_a_forged_or_expired_form_token_is_refused(client, db, newsletters, monkeypatch):
    forged = sign_up(client, "leser@example.org", token="x" + form_token(client))
    assert forged.status_code == 400 and "Formular ist abgelaufen" in text_of(forged)
    token = form_token(client)
    monkeypatch.setitem(tokens.LIFETIMES, "subscribe-form", -1)
    assert sign_up(client, "leser@example.org", token=token).status_code == 400
    assert _count(db) == 0


def test_the_honeypot_answers_the_same_and_stores_nothing(client, db, newsletters):
    response = sign_up(client, "bot@example.org", website="http://spam.example")
    assert response.status_code == 200 and DONE in text_of(response)
    assert _count(db) == 0 and _queued() == 0


def test_only_the_embed_page_may_be_framed_by_configured_sites(app, client, newsletters, monkeypatch):
    monkeypatch.setitem(app.config, "EMBED_ORIGINS", ("https://www.example.org",))
    embed = client.get("/subscribe?embed=1")
    assert "frame-ancestors 'self' https://www.example.org" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers
    assert 'class="site-header"' not in text_of(embed)  # the bare form, without the site around it
    home = client.get("/")
    assert "frame-ancestors 'none'" in home.headers["Content-Security-Policy"]
    assert home.headers["X-Frame-Options"] == "DENY"


def test_a_repeated_sign_up_is_stored_once(app, client, db, newsletters, relay):
    for _ in range(2):
        assert sign_up(client, "zweimal@example.org").status_code == 200
    assert _count(db) == 1
    run_jobs(app)
    assert len(relay.messages) == 2  # a second confirmation mail, as the reader asked again


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "   "},
        {"email": "a" * 310 + "@example.org"},  # 322 characters: the form's own length check
        {"language": ""},
        {"newsletters": ["ki-news", "intern"]},
    ],
)
def test_what_the_quick_reading_does_not_accept_the_form_explains(app, client, db, newsletters, fields):
    """Sign-ups whose fields look wrong skip the quick reading and get the form's own messages."""
    data = {"email": "leser@example.org", "language": "de", "form_token": form_token(client), **fields}
    response = client.post("/subscribe", data=data)
    assert response.status_code == 400
    body = text_of(response)
    assert "markierten Felder" in body and 'name="email"' in body and 'name="form_token"' in body
    assert _count(db) == 0 and _queued() == 0


def test_a_missing_language_field_is_refused(app, client, db, newsletters):
    data = {"email": "leser@example.org", "form_token": form_token(client)}
    assert client.post("/subscribe", data=data).status_code == 400
    assert _count(db) == 0


def test_the_accepted_answer_comes_in_the_readers_language_and_layout(client, db, newsletters, relay):
    token = form_token(client)
    german = text_of(sign_up(client, "de@example.org", token=token))
    english = client.post(
        "/subscribe?lang=en", data={"email": "en@example.org", "language": "en", "form_token": token}
    )
    embedded = client.post(
        "/subscribe?embed=1&lang=de", data={"email": "em@example.org", "language": "de", "form_token": token}
    )
    again = text_of(sign_up(client, "de2@example.org", token=token))
    assert DONE in german and 'class="site-header"' in german and german == again
    assert "Almost done" in text_of(english) and 'lang="en"' in text_of(english)
    assert DONE in text_of(embedded) and 'class="site-header"' not in text_of(embedded)
    assert _count(db) == 4


def test_a_known_reader_signing_up_again_gets_the_new_choice_and_an_active_one_keeps_theirs(
    app, client, db, newsletters, relay
):
    """The known-address path (one statement on PostgreSQL, the ORM on SQLite) changes the same things."""
    token = form_token(client)
    sign_up(client, "wieder@example.org", token=token, newsletters=["ki-news", "wochenrueckblick"],
            source="erstes-mal")  # fmt: skip
    make_reader(db, "aktiv@example.org", locale="de", source="alt", newsletters=[newsletters["ki-news"]])
    db.session.commit()

    sign_up(client, "Wieder@Example.org", token=token, newsletters=["wochenrueckblick"], language="en",
            source="zweites-mal")  # fmt: skip
    sign_up(client, "aktiv@example.org", token=token, newsletters=["wochenrueckblick"], language="en")
    db.session.expire_all()
    again = subscribers.find_subscriber(db.session, "wieder@example.org")
    assert again.status is SubscriberStatus.PENDING and again.locale == "en"
    assert again.source == "erstes-mal"  # the first source is kept
    assert [s.newsletter.slug for s in again.subscriptions] == ["wochenrueckblick"]
    assert [e.kind for e in again.events] == ["subscribed", "confirmation_sent"] * 2
    assert again.events[2].detail["newsletters"] == ["wochenrueckblick"]
    assert again.events[2].detail["source"] == "zweites-mal"
    active = subscribers.find_subscriber(db.session, "aktiv@example.org")
    assert active.locale == "de" and [s.newsletter.slug for s in active.subscriptions] == ["ki-news"]
    assert active.events == []
    run_jobs(app)
    assert sorted(m["To"] for m in relay.messages) == ["wieder@example.org", "wieder@example.org"]
