"""A reader, in the browser, follows an issue's "read on" link to an article written in the newsroom: the
article's own page, with its text, its described image, the sign-up form and the ask, at desktop and phone
width; then the issue's web version, which says which newsletter it is and links the article the same way.
A visitor signs up right there on the article page."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from tests.e2e.eyes import PHONE, sees
from tests.e2e.journeys import links, send_issue_behind_the_scenes

JOURNEY = "article"
READER = "artikel.leserin@example.org"
TITLE = "Wie Roboter greifen lernen"
BODY = "Ein **Roboterarm** sortiert Pakete.\n\n## Was die Maschine kann\n\nSie greift, was sie sieht."


def _article_sent_to_a_reader(app, base_url: str) -> str:
    """Behind the scenes: an article written here (its image served by the site itself), a members-only
    newsletter with one reader, and an issue of that article sent to it. Returns the article's slug."""
    from db import db, utcnow
    from newsletter.editorial import articles
    from newsletter.readers.models import Newsletter
    from tests.readers.factories import make_reader

    with app.app_context():
        article = articles.create_article(db.session, articles.ArticleInput(
            title=TITLE, teaser="Ein Lager zeigt, was Greifroboter heute können.",
            body=BODY,
            author="Mara Schulz", image_url=f"{base_url}/static/favicon.svg",
            image_alt="Das Zeichen des Newsrooms", image_credit="KI-Kompass",
            # Older than the demo's articles: the other journeys' "newest article" stays theirs.
            published_at=utcnow() - timedelta(days=400),
        ))  # fmt: skip
        letter = Newsletter(slug="greifer-briefing", name="Greifer-Briefing", is_public=False)
        db.session.add(letter)
        db.session.flush()
        make_reader(db, READER, newsletters=[letter])
        db.session.commit()
        slug, article_id = article.slug, article.id
        db.session.remove()
    send_issue_behind_the_scenes(app, "Greifer der Woche", "greifer-briefing", article_id=article_id,
                                 layout="feature")  # fmt: skip
    return slug


def test_from_the_mail_to_the_article_page(eyes, stack, e2e_app):
    page = eyes.page
    slug = _article_sent_to_a_reader(e2e_app, stack.base_url)
    (mail,) = stack.mails_to(READER)
    article_url = f"{stack.base_url}/artikel/{slug}"
    assert article_url in links(mail, stack.base_url, "/artikel/")

    page.goto(article_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    sees(page, "Von Mara Schulz")
    sees(page, "Sie greift, was sie sieht.")
    expect(page.locator(".article-body strong")).to_have_text("Roboterarm")
    expect(page.get_by_role("img", name="Das Zeichen des Newsrooms")).to_be_visible()
    expect(page.locator('link[rel="canonical"]')).to_have_attribute("href", article_url)
    expect(page.locator('meta[property="og:type"]')).to_have_attribute("content", "article")
    ask = page.get_by_role("link", name="Unterstützen Sie uns").last
    assert "link=article" in ask.get_attribute("href") and f"article={slug}" in ask.get_attribute("href")
    eyes.look("page")
    # On a phone nothing runs off the side: the page is as wide as the screen.
    page.set_viewport_size(PHONE)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size({"width": 1280, "height": 900})

    # The issue's web version names its newsletter and leads to the same page.
    (web_url,) = links(mail, stack.base_url, "/archive/")
    page.goto(web_url)
    sees(page, "Eine Ausgabe von Greifer-Briefing")
    eyes.look("issue-web")
    page.get_by_role("link", name=TITLE).click()
    page.wait_for_url(article_url)

    # Someone who came by a forwarded mail subscribes right there.
    page.get_by_label("E-Mail-Adresse").fill("neu.von.artikel@example.org")
    page.get_by_role("button", name="Abonnieren").click()
    sees(page, "Fast geschafft")
    (confirmation,) = stack.mails_to("neu.von.artikel@example.org")
    assert links(confirmation, stack.base_url, "/confirm/")
