"""One-click unsubscribe per RFC 8058, and the link functions the sender calls per recipient.

Bad inputs tried: a GET (what mail scanners do), a POST without the ``List-Unsubscribe=One-Click`` body,
tampered tokens (signature, reader id, newsletter id swapped in), a token signed with another key, an
over-long token, a replayed POST (idempotent), a token for a reader erased since, and the preference
token used as an unsubscribe token.

Attack tried: a forwarded issue. Whoever holds it holds its never-expiring unsubscribe links (header and
footer); opening them (GET and POST, with and without cookies, in German and English) must yield neither a
preference link nor the address (the pages speak the reader's language, as the issue did), and the "mail
me my link" button must mail the link only to the address on file, in the reader's language, without its
CSRF token not at all, and no more than the daily cap."""

from __future__ import annotations

import re

import pytest

from db import utcnow
from newsletter.readers import addresses, links, subscribers
from newsletter.readers.models import Subscriber, SubscriberStatus, SuppressionReason
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_reader
from tests.sending.factories import start_send
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

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


# --- A forwarded issue ------------------------------------------------------------------------------------

MARIE = "marie.muster@example.org"


@pytest.fixture
def forwarded(app, db, newsletters, relay):
    """An issue as Marie (who reads in English) received it, then forwarded: its message, and her."""
    marie = make_reader(db, MARIE, newsletters=[newsletters["ki-news"]], locale="en", confirmed_at=utcnow())
    issue = make_issue(db, subject="Die KI-Woche", articles=[make_article(db, "Chips aus Europa")],
                       newsletters=[newsletters["ki-news"]])  # fmt: skip
    start_send(db, issue)
    run_jobs(app)
    [message] = relay.wait_for(1)
    assert message["To"] == MARIE
    return message, marie


def _unsubscribe_links(message) -> list[str]:
    """The header's web address and the footer's link, as paths."""
    listed = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    header = next(u for u in listed if u.startswith("http"))
    text = message.get_body(("plain",)).get_content()
    footer = re.findall(r"http://localhost/unsubscribe/[^\s/]+(?!\S)", text)  # not the settings link
    assert footer, "the footer carries an unsubscribe link"
    return [u.removeprefix("http://localhost") for u in (header, footer[-1])]


def _gives_nothing_away(response) -> None:
    body = text_of(response)
    assert "/preferences/" not in body, "a preference link"
    assert "marie" not in body.lower() and "@example.org" not in body, "the address, whole or masked"


def _clients(app):
    bare = app.test_client(use_cookies=False)  # a mail provider's one-click POST, a scanner
    browser = app.test_client()  # a person, with the site's cookies (language, session) from before
    browser.get("/?lang=de")
    return {"without cookies": bare, "with cookies": browser}


def test_a_forwarded_issues_unsubscribe_links_never_yield_a_preference_link_or_the_address(
    app, db, forwarded, relay
):
    message, marie = forwarded
    for path in _unsubscribe_links(message):
        for name, client in _clients(app).items():
            for lang in ("", "?lang=en"):
                page = client.get(path + lang)
                assert page.status_code == 200, name
                _gives_nothing_away(page)
                done = client.post(path + lang, data=ONE_CLICK)
                assert done.status_code == 200, name
                _gives_nothing_away(done)
    assert _status(db, marie) is SubscriberStatus.UNSUBSCRIBED
    run_jobs(app)
    assert len(relay.messages) == 1  # only the issue itself: opening the links mails nothing


def test_the_button_mails_the_link_to_the_address_on_file_in_the_readers_language(app, db, forwarded, relay):
    message, _marie = forwarded
    path = _unsubscribe_links(message)[1]
    # Whoever the issue was forwarded to: the page speaks Marie's language, as the issue did, unless the
    # visitor chooses another one.
    stranger = app.test_client()
    done = stranger.post(path, data=ONE_CLICK)
    assert "Mail me a link to my settings" in text_of(done)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text_of(done))[1]

    sent = stranger.post(f"{path}/settings-link?lang=de", data={"csrf_token": token})
    assert sent.status_code == 200
    assert "an die Adresse gesendet, an die dieser Newsletter ging" in text_of(sent)
    _gives_nothing_away(sent)
    run_jobs(app)
    [_issue, link_mail] = relay.wait_for(2)
    assert link_mail["To"] == MARIE  # the address on file, never one the visitor could choose
    # Marie reads English, whatever language the visitor's page was in.
    assert link_mail["Subject"] == "Your link to your newsletter settings at KI-Kompass"
    mailed = re.search(r"http://localhost(/preferences/\S+)", link_mail.get_body(("plain",)).get_content())[1]
    assert MARIE in text_of(stranger.get(mailed))  # the link works, for whoever reads Marie's inbox

    english = stranger.post(f"{path}/settings-link?lang=en", data={"csrf_token": csrf_token(stranger, path)})
    assert "Mail me a link to my settings" not in text_of(english)
    assert "We have sent a link to your settings to the address this newsletter came to" in text_of(english)
    _gives_nothing_away(english)


def test_a_forwarded_issues_settings_link_asks_for_a_mail_instead_of_opening_the_settings(
    app, db, forwarded, relay
):
    message, marie = forwarded
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "/preferences/" not in html and "/preferences/" not in text
    found = re.findall(r"http://localhost/unsubscribe/\S+/settings", text)
    [path] = {u.removeprefix("http://localhost") for u in found}
    assert f'href="http://localhost{path}"' in html  # the footer's "Change settings" in both parts
    # Marie's language; the browser that chose German on the site before keeps German.
    expected = {"without cookies": "Mail me a link to my settings",
                "with cookies": "Link zu meinen Einstellungen per E-Mail senden"}  # fmt: skip
    for name, client in _clients(app).items():
        page = client.get(path)
        assert page.status_code == 200, name
        _gives_nothing_away(page)
        assert expected[name] in text_of(page), name
    assert _status(db, marie) is SubscriberStatus.ACTIVE  # looking changes nothing
    stranger = app.test_client()
    token = csrf_token(stranger, path)
    sent = stranger.post(path.removesuffix("/settings") + "/settings-link", data={"csrf_token": token})
    assert "We have sent a link to your settings to the address this newsletter came to" in text_of(sent)
    run_jobs(app)
    [_issue, link_mail] = relay.wait_for(2)
    assert link_mail["To"] == MARIE
    forged = path.replace("/unsubscribe/", "/unsubscribe/9", 1)
    assert stranger.get(forged).status_code == 400


def test_the_button_needs_its_form_token_and_is_capped(app, db, forwarded, relay):
    message, marie = forwarded
    path = _unsubscribe_links(message)[0]
    bare = app.test_client(use_cookies=False)
    assert bare.post(f"{path}/settings-link", data={}).status_code == 400  # a forged cross-site post
    browser = app.test_client()
    token = csrf_token(browser, path)
    press = lambda: browser.post(f"{path}/settings-link", data={"csrf_token": token})  # noqa: E731
    answers = [press().status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]  # the address's window of the sign-up limits (5 an hour)
    run_jobs(app)
    assert [m["To"] for m in relay.messages[1:]] == [MARIE] * 3  # the daily cap of preference links
    forged = links.unsubscribe_token("another-key-another-key-another-key", marie.id)
    assert browser.post(f"/unsubscribe/{forged}/settings-link", data={"csrf_token": token}).status_code == 400
