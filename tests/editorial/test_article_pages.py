"""Articles written here are read here: each has its page (``/artikel/<slug>``) with its text, author, date,
image and its description, the tags that link previews read, and at its end the sign-up form and the ask.
A mail, the archive, its Atom feed and the home page link an article to that page, or to its own address
when it has one (a feed item's source). The archive says which newsletter an issue was sent as.

Bad inputs and attacks tried: a <script>, an event handler and a javascript: link in the Markdown (gone); an
unknown slug, an article still to be published and an over-long slug (404); an article given its own
address after a mail linked to its page (the page sends readers there); content sealed before articles had
pages (still renders, the web version stands in as before)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import feedparser
from sqlalchemy import select

from db import utcnow
from newsletter.editorial import articles, issues
from newsletter.editorial.models import Article, Issue, IssueLayout, IssueState
from newsletter.readers.models import Subscriber
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_newsletter, make_reader
from tests.readers.web import form_token
from tests.sending.factories import start_send
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

BODY = """Ein **Roboterarm** sortiert im Lager Pakete.

## Was die Maschine kann

<script>alert("gestohlen")</script>
<p onclick="alert('klick')">Sie greift, was sie sieht.</p>

[Mehr dazu](javascript:alert(1)) und [die Studie](https://forschung.example/studie).
"""
EXTERNAL = "https://www.partner.example/ki/bericht?teil=2"


def _written_here(db, **fields) -> Article:
    values = {
        "title": "Wie Roboter greifen lernen", "teaser": "Ein Lager zeigt, was Greifroboter heute können.",
        "body": BODY, "author": "Mara Schulz", "image_url": "https://bilder.example/greifarm.jpg",
        "image_alt": "Ein Greifarm hebt ein Paket von einem Förderband", "image_credit": "Agentur Nord",
        "published_at": datetime(2026, 3, 14, 10, 0, tzinfo=UTC), **fields,
    }  # fmt: skip
    article = articles.create_article(db.session, articles.ArticleInput(**values))
    db.session.commit()
    return article


def _meta(page: str, key: str) -> str | None:
    """The content of ``<meta property|name="key" content="...">`` in the page."""
    found = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)"', page)
    return found[1] if found else None


def test_an_article_written_here_is_read_on_its_own_page(client, db, newsletter):
    article = _written_here(db)
    assert article.slug == "wie-roboter-greifen-lernen"
    response = client.get("/artikel/wie-roboter-greifen-lernen")
    assert response.status_code == 200
    page = text_of(response)
    assert "<h1>Wie Roboter greifen lernen</h1>" in page
    assert "Von Mara Schulz" in page and "14. März 2026" in page
    # The text as Markdown says, and nothing that would run.
    assert "<strong>Roboterarm</strong>" in page and "<h2>Was die Maschine kann</h2>" in page
    assert "Sie greift, was sie sieht." in page and 'href="https://forschung.example/studie"' in page
    assert "<script" not in page and "gestohlen" not in page and "onclick" not in page
    assert 'href="javascript:' not in page and "Mehr dazu" in page
    # The image says what it shows, and whose it is.
    alt = "Ein Greifarm hebt ein Paket von einem Förderband"
    assert f'<img src="https://bilder.example/greifarm.jpg" alt="{alt}">' in page
    assert "Bild: Agentur Nord" in page
    # Search engines and link previews get the page's own address, the teaser and the image.
    url = "http://localhost/artikel/wie-roboter-greifen-lernen"
    assert f'<link rel="canonical" href="{url}">' in page
    assert _meta(page, "og:url") == url and _meta(page, "og:type") == "article"
    assert _meta(page, "og:title") == "Wie Roboter greifen lernen"
    assert _meta(page, "og:description") == "Ein Lager zeigt, was Greifroboter heute können."
    assert _meta(page, "og:image") == "https://bilder.example/greifarm.jpg"
    assert _meta(page, "twitter:card") == "summary_large_image"
    # At its end: the sign-up form (its own token, the article as where the reader came from) and the ask.
    assert 'name="form_token"' in page and 'action="/subscribe"' in page
    assert 'name="source" type="hidden" value="artikel/wie-roboter-greifen-lernen"' in page
    assert "Unsere Inhalte bleiben frei" in page
    assert page.count("Unsere Inhalte bleiben frei") == 1  # not once more in the footer
    assert 'href="/spenden?link=article&amp;article=wie-roboter-greifen-lernen"' in page

    english = text_of(client.get("/artikel/wie-roboter-greifen-lernen?lang=en"))
    assert "By Mara Schulz" in english and "March 14, 2026" in english and "Our content stays free" in english


def test_an_image_without_a_description_is_described_by_the_title(client, db):
    _written_here(db, title="Ohne Beschreibung", image_alt="   ")
    page = text_of(client.get("/artikel/ohne-beschreibung"))
    assert '<img src="https://bilder.example/greifarm.jpg" alt="Ohne Beschreibung">' in page
    assert 'alt=""' not in page


def test_unknown_future_and_elsewhere_published_articles(client, db):
    soon = make_article(db, "Erscheint morgen", days_ago=-1)
    elsewhere = make_article(db, "Beim Partner erschienen", canonical_url=EXTERNAL)
    assert client.get("/artikel/gibt-es-nicht").status_code == 404
    assert client.get(f"/artikel/{soon.slug}").status_code == 404
    assert client.get("/artikel/" + "a" * 300).status_code == 404
    # An article read elsewhere: its address here (perhaps in an older mail) leads there.
    moved = client.get(f"/artikel/{elsewhere.slug}")
    assert moved.status_code == 302 and moved.headers["Location"] == EXTERNAL
    # The article still to come opens once its time has come.
    soon.published_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get(f"/artikel/{soon.slug}").status_code == 200


def test_the_home_page_links_each_article_where_it_is_read(client, db, newsletter):
    here = make_article(db, "Hier geschrieben")
    make_article(db, "Beim Partner erschienen", canonical_url=EXTERNAL)
    make_article(db, "Noch geheim", days_ago=-2)
    page = text_of(client.get("/"))
    assert f'<a href="/artikel/{here.slug}">Hier geschrieben</a>' in page
    assert f'<a href="{EXTERNAL.replace("&", "&amp;")}">Beim Partner erschienen</a>' in page
    assert "Noch geheim" not in page
    assert client.get(f"/artikel/{here.slug}").status_code == 200


def _mail_parts(message):
    return message.get_body(("html",)).get_content(), message.get_body(("plain",)).get_content()


def test_a_sent_issue_links_articles_to_their_pages_and_the_archive_names_its_newsletter(
    app, client, db, relay
):
    news = make_newsletter(db, is_default=True)
    weekly = make_newsletter(db, "wochenrueckblick", "Wochenrückblick")
    make_reader(db, "leserin@example.org", newsletters=[news])
    db.session.commit()
    here = _written_here(db)
    elsewhere = make_article(db, "Beim Partner erschienen", canonical_url=EXTERNAL)
    issue = make_issue(db, articles=[here, elsewhere], newsletters=[news], layout=IssueLayout.FEATURE)
    start_send(db, issue)
    run_jobs(app)
    (mail,) = relay.wait_for(1)
    html, text = _mail_parts(mail)
    page_url = f"http://localhost/artikel/{here.slug}"
    # The lead story: its title, its image and "read on" all lead to its page; its image is described.
    assert html.count(f'href="{page_url}"') >= 3
    assert 'alt="Ein Greifarm hebt ein Paket von einem Förderband"' in html
    assert f'href="{EXTERNAL.replace("&", "&amp;")}"' in html
    assert page_url in text and EXTERNAL in text
    followed = client.get(page_url.removeprefix("http://localhost"))
    assert followed.status_code == 200 and "<strong>Roboterarm</strong>" in text_of(followed)

    # The web version links the same way, says which newsletter it is, and offers it to subscribe to.
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).sent_content["articles"][0]["slug"] == here.slug
    web = text_of(client.get(f"/archive/{issue.id}"))
    assert f'href="{page_url}"' in web and f'href="{EXTERNAL.replace("&", "&amp;")}"' in web
    assert "Eine Ausgabe von KI-News täglich" in web and "Wochenrückblick" in web  # named; the other offered
    ticked = re.findall(r'<input checked[^>]*value="([\w-]+)"|<input[^>]*value="([\w-]+)"[^>]*checked', web)
    assert {a or b for a, b in ticked} == {"ki-news"} and weekly.slug != "ki-news"
    assert 'name="form_token"' in web and "Unsere Inhalte bleiben frei" in web
    assert f'href="/spenden?issue={issue.id}&amp;link=archive"' in web
    index = text_of(client.get("/archive"))
    assert "Die KI-Woche" in index and "KI-News täglich" in index
    assert 'name="form_token"' in index and 'href="/spenden?link=archive"' in index
    # The Atom feed's entry links the article's page by its full address.
    entry = feedparser.parse(client.get("/archive/feed.atom").get_data()).entries[0]
    assert page_url in entry.content[0].value and EXTERNAL.replace("&", "&amp;") in entry.content[0].value


def test_content_sealed_before_articles_had_pages_still_renders(app, client, db, newsletter):
    # What an issue sealed before this change holds: no slug, no image description.
    old = {
        "title": "Ein alter Artikel", "teaser": "Von früher.", "author": "", "url": None,
        "image_url": "https://bilder.example/alt.jpg", "image_credit": None, "sponsored": False,
    }  # fmt: skip
    issue = make_issue(db, newsletters=[newsletter], layout=IssueLayout.FEATURE)
    issue.state, issue.sent_at, issue.public_archive = IssueState.SENT, utcnow(), True
    issue.sent_content = {"articles": [old]}
    db.session.commit()
    web = text_of(client.get(f"/archive/{issue.id}"))
    assert "<h2>Ein alter Artikel</h2>" in web and "/artikel/" not in web
    rendered = issues.render_issue(issue, base_url="http://localhost")
    web_url = f"http://localhost/archive/{issue.id}"
    assert f'href="{web_url}"' in rendered.html and 'alt="Ein alter Artikel"' in rendered.html
    assert "/artikel/" not in rendered.html and web_url in rendered.text


def test_signing_up_from_an_article_page_keeps_where_the_reader_came_from(client, db, newsletter):
    article = _written_here(db)
    path = f"/artikel/{article.slug}"
    token = form_token(client, path)
    source = re.search(r'name="source" type="hidden" value="([^"]*)"', text_of(client.get(path)))[1]
    data = {"email": "neu@example.org", "language": "de", "form_token": token, "source": source,
            "newsletters": newsletter.slug}  # fmt: skip
    response = client.post("/subscribe", data=data, headers={"Referer": "http://localhost" + path})
    assert response.status_code == 200 and "Fast geschafft" in text_of(response)
    reader = db.session.scalar(select(Subscriber).where(Subscriber.email == "neu@example.org"))
    assert reader is not None and reader.source == f"artikel/{article.slug}"


def test_an_editor_describes_the_image_and_finds_the_page(client, db, editor):
    article = make_article(db, "Mit Bild")
    path = f"/staff/articles/{article.id}"
    page = text_of(client.get(path))
    assert "Bildbeschreibung (Alternativtext)" in page and f'href="/artikel/{article.slug}"' in page
    data = {
        "csrf_token": csrf_token(client, path), "title": "Mit Bild", "teaser": "Anriss", "body": "Text",
        "author": "Eda", "image_url": "https://bilder.example/foto.jpg", "image_alt": "Zwei Hände am Laptop",
        "image_credit": "", "canonical_url": "", "tags": "", "published_at": "2026-01-05T08:00",
    }  # fmt: skip
    assert client.post(path, data=data).status_code == 302
    shown = text_of(client.get(f"/artikel/{article.slug}"))
    assert '<img src="https://bilder.example/foto.jpg" alt="Zwei Hände am Laptop">' in shown
