"""The preference center behind a mailed, signed and expiring link: newsletters, language, pause, donation
asks, leaving, downloading every datum held, erasure.

Bad inputs tried: a "send me my link" request for an unknown address (same answer, no mail), a malformed
address and a header-injection attempt there, a fourth link request in a day, a tampered, an expired and
a replayed link (after erasure), a link of another purpose, posts without CSRF token, a hidden newsletter
the reader is not on, an injected language, a pause in the past and beyond a year, erasure without the
confirming tick."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db import utcnow
from newsletter.platform import tokens
from newsletter.readers import addresses, links, subscribers
from newsletter.readers.models import (
    AskFrequency,
    ConsentBasis,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    SuppressionReason,
)
from tests.readers.factories import make_reader
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


@pytest.fixture
def reader(db, newsletters):
    person = make_reader(
        db, "Lena@example.org", newsletters=[newsletters["ki-news"]], source="utm:herbst",
        consent_basis=ConsentBasis.DOUBLE_OPT_IN, consent_at=utcnow(), consent_detail="confirmed",
    )  # fmt: skip
    subscribers.record_event(db.session, person, "confirmed", via="confirmation link")
    db.session.commit()
    return person


def _path(app, reader) -> str:
    return links.preferences_url("", app.config["SECRET_KEY"], reader.id)


def _ask_link(client, email):
    return client.post(
        "/preferences", data={"email": email, "csrf_token": csrf_token(client, "/preferences")}
    )


def test_the_link_is_mailed_and_the_answer_is_the_same_for_strangers(app, client, db, reader, relay):
    known, stranger = _ask_link(client, "lena@EXAMPLE.org"), _ask_link(client, "fremd@example.org")
    assert known.status_code == stranger.status_code == 200
    assert text_of(known) == text_of(stranger)
    run_jobs(app)
    [message] = relay.messages
    assert message["To"] == "Lena@example.org"
    assert message["Subject"] == "Ihr Link zu Ihren Newsletter-Einstellungen bei KI-Kompass"
    path = re.search(r"http://localhost(/preferences/\S+)", message.get_body(("plain",)).get_content())[1]
    page = client.get(path)
    assert page.status_code == 200 and "Einstellungen für Lena@example.org" in text_of(page)


@pytest.mark.parametrize("email", ["lena@example.org\r\nBcc: opfer@example.org", "kein-at", "a" * 300])
def test_bad_addresses_for_the_link_are_refused(app, client, reader, relay, email):
    assert _ask_link(client, email).status_code == 400
    run_jobs(app)
    assert relay.messages == []


def test_at_most_three_links_a_day(app, client, reader, relay):
    for _ in range(4):
        _ask_link(client, "lena@example.org")
    run_jobs(app)
    assert len(relay.messages) == 3


def test_the_reader_changes_newsletters_language_pause_and_asks(app, client, db, reader):
    path = _path(app, reader)
    pause = (utcnow() + timedelta(days=20)).date()
    response = client.post(path, data={
        "csrf_token": csrf_token(client, path), "newsletters": ["wochenrueckblick"], "language": "en",
        "paused_until": pause.isoformat(), "ask_frequency": "never",
    })  # fmt: skip
    # The answer is in the language just chosen.
    assert response.status_code == 200 and "Saved. Your choice applies" in text_of(response)
    db.session.expire_all()
    reader = db.session.get(Subscriber, reader.id)
    assert [s.newsletter.slug for s in reader.subscriptions] == ["wochenrueckblick"]
    assert reader.locale == "en" and reader.paused_until.date() == pause
    assert reader.ask_frequency is AskFrequency.NEVER
    assert reader.events[-1].kind == "preferences_changed"
    assert reader.events[-1].detail["newsletters"] == ["wochenrueckblick"]


@pytest.mark.parametrize(
    "fields",
    [
        {"newsletters": ["intern"]},
        {"language": "en\r\nBcc: opfer@example.org"},
        {"paused_until": "2001-01-01"},
        {"paused_until": "2999-01-01"},
        {"paused_until": "morgen"},
        {"ask_frequency": "always"},
    ],
)
def test_bad_choices_change_nothing(app, client, db, reader, fields):
    path = _path(app, reader)
    data = {"csrf_token": csrf_token(client, path), "newsletters": ["ki-news"], "language": "de",
            "ask_frequency": "normal", **fields}  # fmt: skip
    assert client.post(path, data=data).status_code == 400
    db.session.expire_all()
    reader = db.session.get(Subscriber, reader.id)
    assert [s.newsletter.slug for s in reader.subscriptions] == ["ki-news"]
    assert reader.locale == "de" and reader.paused_until is None
    assert reader.ask_frequency is AskFrequency.NORMAL


def test_a_post_without_csrf_token_changes_nothing(app, client, db, reader):
    path = _path(app, reader)
    assert (
        client.post(path, data={"newsletters": [], "language": "en", "ask_frequency": "never"}).status_code
        == 400
    )
    assert client.post(path + "/leave").status_code == 400
    assert client.post(path + "/erase", data={"confirm": "y"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id).status is SubscriberStatus.ACTIVE


@pytest.mark.parametrize("mangle", [lambda t: t[:-3] + "AAA", lambda t: "x" + t, lambda t: t[: len(t) // 2]])
def test_tampered_links_show_a_clear_page(app, client, reader, mangle):
    token = links.preferences_token(app.config["SECRET_KEY"], reader.id)
    response = client.get(f"/preferences/{mangle(token)}")
    assert response.status_code == 400 and "nicht gültig" in text_of(response)


def test_expired_and_foreign_links_are_refused(app, client, reader, monkeypatch):
    confirm_token = subscribers.confirmation_token(reader)
    assert client.get(f"/preferences/{confirm_token}").status_code == 400
    path = _path(app, reader)
    monkeypatch.setitem(tokens.LIFETIMES, "preferences", -1)
    response = client.get(path)
    assert response.status_code == 400 and "abgelaufen" in text_of(response)


def test_leave_everything(app, client, db, reader):
    path = _path(app, reader)
    response = client.post(path + "/leave", data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 200 and "Sie sind abgemeldet" in text_of(response)
    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id).status is SubscriberStatus.UNSUBSCRIBED
    assert addresses.suppression_reason(db.session, "lena@example.org") is SuppressionReason.UNSUBSCRIBED


def test_download_holds_everything_about_the_reader(app, client, reader):
    path = _path(app, reader)
    response = client.post(path + "/export", data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(response.get_data())
    assert data["subscriber"]["email"] == "Lena@example.org" and data["subscriber"]["source"] == "utm:herbst"
    assert data["consent"]["basis"] == "double_opt_in" and data["consent"]["given_at"]
    assert [s["slug"] for s in data["subscriptions"]] == ["ki-news"]
    assert [e["kind"] for e in data["events"]] == ["confirmed"]


def test_erase_deletes_everything_and_the_link_is_dead_afterwards(app, client, db, reader):
    path = _path(app, reader)
    refused = client.post(path + "/erase", data={"csrf_token": csrf_token(client, path)})
    assert refused.status_code == 400 and "Häkchen" in text_of(refused)
    assert db.session.get(Subscriber, reader.id) is not None

    done = client.post(path + "/erase", data={"csrf_token": csrf_token(client, path), "confirm": "y"})
    assert done.status_code == 200 and "Ihre Daten sind gelöscht" in text_of(done)
    db.session.expire_all()
    for model in (Subscriber, Subscription, SubscriberEvent):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0
    assert addresses.suppression_reason(db.session, "LENA@example.org") is SuppressionReason.ERASED
    replay = client.get(path)
    assert replay.status_code == 400 and "keine Daten mehr" in text_of(replay)
