"""Two readers of one issue, one who chose English and one who reads German: each mailbox gets the issue in
its reader's language (subject, editorial, the footer's words), and the English reader's links open English
pages in a browser that asks for German: the unsubscribe page and its answer, at desktop and phone width."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.eyes import PHONE, sees
from tests.e2e.journeys import links, list_unsubscribe_url, plain_text, send_issue_behind_the_scenes

JOURNEY = "english-reader"
ENGLISH = "english.reader@example.org"
GERMAN = "deutsche.leserin@example.org"


def _issue_to_both(app) -> None:
    """Behind the scenes: a newsletter with an English name, its two readers, an issue with an English
    version, sent through the stack's worker."""
    from db import db
    from newsletter.readers.models import Newsletter
    from tests.readers.factories import make_reader

    with app.app_context():
        letter = Newsletter(slug="ki-briefing-zweisprachig", name="KI-Briefing", name_en="AI briefing",
                            is_public=False)  # fmt: skip
        db.session.add(letter)
        db.session.flush()
        make_reader(db, ENGLISH, newsletters=[letter], locale="en")
        make_reader(db, GERMAN, newsletters=[letter], locale="de")
        db.session.commit()
        db.session.remove()
    send_issue_behind_the_scenes(
        app, "Die KI-Woche: Sprache", "ki-briefing-zweisprachig",
        intro="Diese Woche geht es um Sprachmodelle.",
        subject_en="The AI week: language", intro_en="This week is about language models.",
    )  # fmt: skip


def test_an_english_reader_gets_english_mail_and_pages(eyes, stack, e2e_app):
    _issue_to_both(e2e_app)
    (english,) = stack.mails_to(ENGLISH)
    (german,) = stack.mails_to(GERMAN)
    assert english["Subject"] == "The AI week: language" and german["Subject"] == "Die KI-Woche: Sprache"
    english_text, german_text = plain_text(english), plain_text(german)
    assert "This week is about language models." in english_text and "Unsubscribe" in english_text
    assert "Abmelden" not in english_text
    assert "Diese Woche geht es um Sprachmodelle." in german_text and "Abmelden" in german_text

    # The browser asks for German (the context's locale); the signed link knows its reader chose English.
    page = eyes.page
    (unsubscribe,) = [u for u in links(english, stack.base_url, "/unsubscribe/") if "/settings" not in u]
    page.goto(unsubscribe)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    sees(page, "AI briefing")
    eyes.look("unsubscribe")
    page.set_viewport_size(PHONE)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Yes, unsubscribe me").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    eyes.look("left", shots=False)

    # The German reader leaves the way a mail client does it (RFC 8058): a POST without cookie or token.
    answer = page.request.post(
        list_unsubscribe_url(german), form={"List-Unsubscribe": "One-Click"}, max_redirects=0
    )
    assert 200 <= answer.status < 300
