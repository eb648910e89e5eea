"""One-click unsubscribe per RFC 8058, and the link functions the sender calls per recipient.

Bad inputs tried: a GET (what mail scanners do), a POST without the ``List-Unsubscribe=One-Click`` body,
tampered tokens (signature, reader id, newsletter id swapped in), a token signed with another key, an
over-long token, a replayed POST (idempotent), a token for a reader erased since, and the preference
token used as an unsubscribe token."""

from __future__ import annotations

import pytest

from db import utcnow
from newsletter.readers import addresses, links, subscribers
from newsletter.readers.models import Subscriber, SubscriberStatus, SuppressionReason
from tests.readers.factories import make_reader
from tests.support.web import text_of

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def reader(db, newsletters):
    both = [newsletters["ki-news"], newsletters["wochenrueckblick"]]
    person = make_reader(db, "leser@example.org", newsletters=both, confirmed_at=utcnow())
    db.session.commit()
    return person


def _path(app, reader, newsletter=None) -> str:
    return links.unsubscribe_url(
        "", app.config["SECRET_KEY"], reader.id, newsletter.id if newsletter else None
    )


def _status(db, reader):
    db.session.expire_all()
    return db.session.get(Subscriber, reader.id).status


def test_a_get_shows_a_button_and_changes_nothing(app, client, db, reader):
    page = client.get(_path(app, reader))
    assert page.status_code == 200 and "Ja, abmelden" in text_of(page)
    assert 'name="List-Unsubscribe" value="One-Click"' in text_of(page)
    assert _status(db, reader) is SubscriberStatus.ACTIVE


@pytest.mark.parametrize("multipart", [False, True])
def test_one_click_post_unsubscribes_at_once_without_cookie_or_token(app, db, reader, multipart):
    client = app.test_client(use_cookies=False)
    kwargs = {"content_type": "multipart/form-data"} if multipart else {}
    response = client.post(_path(app, reader), data=ONE_CLICK, **kwargs)
    assert response.status_code == 200 and "Location" not in response.headers
    assert "Sie sind abgemeldet" in text_of(response)
    assert _status(db, reader) is SubscriberStatus.UNSUBSCRIBED
    assert addresses.suppression_reason(db.session, "leser@example.org") is SuppressionReason.UNSUBSCRIBED
    again = client.post(_path(app, reader), data=ONE_CLICK, **kwargs)  # replayed: still 200, nothing new
    assert again.status_code == 200
    reader = db.session.get(Subscriber, reader.id)
    assert [e.kind for e in reader.events] == ["unsubscribed"]


def test_a_newsletter_link_leaves_only_that_newsletter(app, client, db, reader, newsletters):
    response = client.post(_path(app, reader, newsletters["wochenrueckblick"]), data=ONE_CLICK)
    assert response.status_code == 200 and "Wochenrückblick" in text_of(response)
    db.session.expire_all()
    reader = db.session.get(Subscriber, reader.id)
    assert reader.status is SubscriberStatus.ACTIVE
    assert [s.newsletter.slug for s in reader.subscriptions] == ["ki-news"]
    # The last newsletter left means leaving altogether.
    client.post(_path(app, reader, newsletters["ki-news"]), data=ONE_CLICK)
    assert _status(db, reader) is SubscriberStatus.UNSUBSCRIBED


def test_a_post_without_the_one_click_body_changes_nothing(app, client, db, reader):
    assert client.post(_path(app, reader), data={}).status_code == 400
    assert client.post(_path(app, reader), data={"List-Unsubscribe": "Yes"}).status_code == 400
    assert _status(db, reader) is SubscriberStatus.ACTIVE


def test_tampered_tokens_change_nothing(app, client, db, reader, newsletters):
    key = app.config["SECRET_KEY"]
    token = links.unsubscribe_token(key, reader.id)
    payload, signature = token.split(".")
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        f"{reader.id + 1}-0.{signature}",
        f"{payload.split('-')[0]}-{newsletters['ki-news'].id}.{signature}",
        links.unsubscribe_token("another-key-another-key-another-key", reader.id),
        "x" * 500,
        links.preferences_token(key, reader.id),
    ]
    for bad in forged:
        response = client.post(f"/unsubscribe/{bad}", data=ONE_CLICK)
        assert response.status_code == 400, bad
        assert "nicht gültig" in text_of(response)
    assert _status(db, reader) is SubscriberStatus.ACTIVE


def test_a_link_for_an_erased_reader_answers_calmly(app, client, db, reader):
    path = _path(app, reader)
    subscribers.erase(db.session, reader, via="test")
    db.session.commit()
    response = client.post(path, data=ONE_CLICK)
    assert response.status_code == 200 and "keine Newsletter mehr" in text_of(response)


def test_links_are_made_without_an_app_or_request_context():
    key = "a-secret-key-for-links-a-secret-key-for-links"
    url = links.unsubscribe_url("https://news.example.org", key, 42, 7)
    assert url.startswith("https://news.example.org/unsubscribe/42-7.")
    assert links.read_unsubscribe_token(key, url.rsplit("/", 1)[1]) == (42, 7)
    assert links.read_unsubscribe_token(key, links.unsubscribe_token(key, 42)) == (42, None)
    pref = links.preferences_url("https://news.example.org", key, 42)
    assert links.read_preferences_token(key, pref.rsplit("/", 1)[1]) == 42
