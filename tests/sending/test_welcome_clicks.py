"""Click counting in welcome mails (``CLICK_COUNTING``): a reader's welcome, captured by the real SMTP
server, carries counting links in its HTML and text, the same for every reader; following one counts it
once and lands on the article; the reader's own links and ``mailto:`` stay as they were. Off (the
default), the links are the plain addresses and nothing is registered. The welcome's staff page and the
statistics show the clicks per link and in all.

Bad input tried: a signature changed by one character, a link number that does not exist, the link of
another newsletter, an issue's counting path for the same numbers, a HEAD request (not counted), the page
signed out."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from newsletter.sending import welcome, welcome_clicks
from newsletter.sending.models import WelcomeLink
from tests.editorial.factories import make_article
from tests.readers.factories import make_newsletter
from tests.sending.test_welcome_mail import _html, _sign_up_and_confirm, _text, _welcomes
from tests.staff.factories import sign_in, sign_out
from tests.support.web import text_of

ARTICLE_URL = "https://www.ki-kompass.example/artikel/sprachmodelle?teil=1&quelle=willkommen"
DOSSIER_URL = "https://www.ki-kompass.example/dossier"
COUNTED = re.compile(r"http://localhost(/l/w/(\d+)/(\d+)/([A-Za-z0-9_-]+))")


@pytest.fixture
def news(db):
    newsletter = make_newsletter(db, "ki-news", "KI-News täglich", name_en="AI News Daily", is_default=True)
    db.session.commit()
    return newsletter


@pytest.fixture
def counting(app, monkeypatch):
    monkeypatch.setitem(app.config, "CLICK_COUNTING", True)


def _turn_on(db, newsletter) -> None:
    article = make_article(db, "Sprachmodelle erklärt", canonical_url=ARTICLE_URL)
    db.session.commit()
    intro = (
        f"Schön, dass Sie da sind. Lesen Sie [unser Dossier]({DOSSIER_URL}) "
        "oder [schreiben Sie uns](mailto:redaktion@example.org)."
    )
    data = welcome.WelcomeInput(enabled=True, subject="Willkommen", intro=intro, content="articles",
                                article_ids=[article.id])  # fmt: skip
    welcome.save_welcome(db.session, newsletter.id, data)
    db.session.commit()


def _counted_links(message) -> tuple[set, set]:
    return set(COUNTED.findall(_html(message))), set(COUNTED.findall(_text(message)))


def _clicks(db, newsletter) -> dict[str, int]:
    db.session.expire_all()
    return dict(welcome_clicks.link_clicks(db.session, newsletter.id))


def _article_path(client, links) -> str:
    return next(path for path, *_ in links if client.head(path).headers.get("Location") == ARTICLE_URL)


def test_a_welcome_with_counting_on_carries_counting_links_and_a_click_counts(
    app, client, db, relay, news, counting
):
    _turn_on(db, news)
    _sign_up_and_confirm(app, client, db, relay, news, email="a@example.org")
    _sign_up_and_confirm(app, client, db, relay, news, email="b@example.org")
    [first] = _welcomes(relay, "a@example.org")
    [second] = _welcomes(relay, "b@example.org")

    html, text = _html(first), _text(first)
    assert ARTICLE_URL not in text and ARTICLE_URL.replace("&", "&amp;") not in html
    assert DOSSIER_URL not in html and DOSSIER_URL not in text
    html_links, text_links = _counted_links(first)
    assert html_links and text_links
    # The reader's own links and mailto stay as they are.
    assert "http://localhost/unsubscribe/" in html and "/settings" in html
    assert "http://localhost/unsubscribe/" in text
    assert "mailto:redaktion@example.org" in html
    # No reader in the address: the second reader's welcome has the very same counting links.
    assert _counted_links(second) == (html_links, text_links)

    assert _clicks(db, news)[ARTICLE_URL] == 0
    article_path = _article_path(client, html_links)
    assert _clicks(db, news)[ARTICLE_URL] == 0  # HEAD counts nothing
    assert article_path in {path for path, *_ in text_links}

    for message in (first, second):
        assert article_path in {path for path, *_ in _counted_links(message)[0]}
        response = client.get(article_path)
        assert response.status_code == 302
        assert response.headers["Location"] == ARTICLE_URL
    counts = _clicks(db, news)
    assert counts[ARTICLE_URL] == 2
    assert counts[DOSSIER_URL] == 0
    # The donate button is counted too, and keeps its attribution.
    assert any("/spenden?link=welcome" in url for url in counts)
    assert not any("unsubscribe" in url or url.startswith("mailto:") for url in counts)


def test_a_forged_or_changed_link_counts_nothing(app, client, db, relay, news, counting):
    _turn_on(db, news)
    _sign_up_and_confirm(app, client, db, relay, news)
    [mail] = _welcomes(relay)
    html_links, _ = _counted_links(mail)
    _, newsletter_id, link_no, signature = next(iter(html_links))
    forged = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for path in (
        f"/l/w/{newsletter_id}/{link_no}/{forged}",  # signature changed
        f"/l/w/{newsletter_id}/999/{signature}",  # no such link
        f"/l/w/{int(newsletter_id) + 1}/{link_no}/{signature}",  # another newsletter
        f"/l/{newsletter_id}/{link_no}/{signature}",  # an issue's path with the welcome's numbers
        f"/l/w/{newsletter_id}/{link_no}/{'x' * 5000}",  # far too long
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Location" not in response.headers
        page = response.get_data(as_text=True)
        assert "Dieser Link funktioniert nicht" in page or "This link does not work" in page
    assert all(count == 0 for count in _clicks(db, news).values())


def test_a_stored_address_that_is_not_http_is_never_a_redirect(app, client, db, news):
    """Only http(s) is ever registered; should another address reach the table, its link leads nowhere."""
    db.session.add(WelcomeLink(newsletter_id=news.id, link_no=1, url="javascript:alert(1)", clicks=0))
    db.session.commit()
    signature = welcome_clicks.signature(app.config["SECRET_KEY"], news.id, 1, "javascript:alert(1)")
    response = client.get(f"/l/w/{news.id}/1/{signature}")
    assert response.status_code == 404 and "Location" not in response.headers
    assert _clicks(db, news) == {"javascript:alert(1)": 0}


def test_with_counting_off_the_links_are_direct_and_nothing_is_registered(app, client, db, relay, news):
    assert app.config["CLICK_COUNTING"] is False  # the default
    _turn_on(db, news)
    _sign_up_and_confirm(app, client, db, relay, news)
    [mail] = _welcomes(relay)
    assert ARTICLE_URL.replace("&", "&amp;") in _html(mail) and ARTICLE_URL in _text(mail)
    assert DOSSIER_URL in _html(mail)
    assert not COUNTED.search(_html(mail)) and not COUNTED.search(_text(mail))
    assert db.session.scalars(select(WelcomeLink)).all() == []


def test_the_welcome_page_and_the_statistics_show_the_clicks(app, client, db, relay, news, counting):
    _turn_on(db, news)
    _sign_up_and_confirm(app, client, db, relay, news)
    [mail] = _welcomes(relay)
    article_path = _article_path(client, _counted_links(mail)[0])
    for _ in range(3):
        assert client.get(article_path).status_code == 302
    shown = ARTICLE_URL.replace("&", "&amp;")

    sign_in(client)
    page = text_of(client.get(f"/staff/newsletters/{news.id}/welcome"))
    assert "Klicks auf die Links der Willkommensmail" in page
    row = page.split(shown, 1)[1].split("</tr>", 1)[0]
    assert re.search(r">\s*3\s*<", row)
    total = page.split("Alle Links", 1)[1].split("</tr>", 1)[0]
    assert re.search(r">\s*3\s*<", total)

    stats = text_of(client.get("/staff/stats/issues?period=30d"))
    row = re.search(
        r"<th scope=\"row\">KI-News täglich</th><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>",
        stats,
    )
    assert row and row.groups() == ("1", "3")
    assert "Klicks je Link der Willkommensmail: KI-News täglich" in stats
    row = stats.split(shown, 1)[1].split("</tr>", 1)[0]
    assert re.search(r">\s*3\s*<", row)

    # The page stays for staff: signed out, the clicks are not shown and the counters stay as they are.
    sign_out(client)
    response = client.get(f"/staff/newsletters/{news.id}/welcome")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert client.get("/staff/stats/issues?period=30d").status_code == 302
    assert _clicks(db, news)[ARTICLE_URL] == 3


def test_an_address_keeps_its_number_when_the_welcome_changes(db, news):
    """A new latest issue or an edited intro: new addresses get the next numbers, old ones keep theirs
    (and their clicks), and numbering the same addresses again adds nothing."""
    first = welcome_clicks.register_links(db.session, news.id, [ARTICLE_URL, DOSSIER_URL])
    db.session.commit()
    again = welcome_clicks.register_links(db.session, news.id, ["https://example.org/neu", ARTICLE_URL])
    db.session.commit()
    assert first == {ARTICLE_URL: 1, DOSSIER_URL: 2}
    assert again == {"https://example.org/neu": 3, ARTICLE_URL: 1}
    assert welcome_clicks.register_links(db.session, news.id, [DOSSIER_URL]) == {DOSSIER_URL: 2}
    assert len(db.session.scalars(select(WelcomeLink)).all()) == 3
