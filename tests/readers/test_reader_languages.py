"""Readers meet the newsroom in the language they chose: newsletter names and descriptions in English where
the newsroom wrote them (on the sign-up form, the home page, the preference center and in the confirmation
mail), and the pages behind a reader's signed link (confirmation, preferences, unsubscribe) in the reader's
stored language. An explicit switch on the site (``?lang=`` and the cookie it leaves) wins; the browser's
Accept-Language alone does not. Also tried: a newsletter without an English name (the German one), an
English name emptied again on the staff page."""

from __future__ import annotations

import re

import pytest

from newsletter.readers import links
from newsletter.readers.models import Newsletter
from tests.readers.factories import make_pending_reader, make_reader
from tests.readers.web import form_token, sign_up
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


@pytest.fixture
def english_names(db, newsletters):
    daily = newsletters["ki-news"]
    daily.name_en, daily.description_en = "AI news daily", "Every morning, what matters in AI."
    daily.description = "Jeden Morgen das Wichtigste zur KI."
    db.session.commit()
    return newsletters


def test_the_sign_up_form_and_home_page_name_newsletters_in_the_pages_language(client, english_names):
    english = text_of(client.get("/subscribe?lang=en"))
    assert "AI news daily" in english and "KI-News täglich" not in english
    assert "Wochenrückblick" in english  # no English name: the German one
    home = text_of(client.get("/?lang=en"))
    assert "AI news daily" in home and "Every morning, what matters in AI." in home
    german = text_of(client.get("/subscribe?lang=de"))
    assert "KI-News täglich" in german and "AI news daily" not in german
    home = text_of(client.get("/"))
    assert "Jeden Morgen das Wichtigste zur KI." in home and "Every morning" not in home


def test_the_confirmation_mail_names_the_newsletters_in_the_readers_language(
    app, client, db, relay, english_names
):
    english_page = app.test_client()
    token = form_token(english_page, "/subscribe?lang=en")
    assert sign_up(english_page, "emma@example.org", token=token, language="en",
                   newsletters=["ki-news", "wochenrueckblick"]).status_code == 200  # fmt: skip
    assert sign_up(client, "anna@example.org", newsletters=["ki-news"]).status_code == 200
    run_jobs(app)
    mails = {m["To"]: m for m in relay.wait_for(2)}

    english = mails["emma@example.org"]
    text = english.get_body(("plain",)).get_content()
    assert english["Subject"] == "Please confirm your subscription to KI-Kompass"
    assert "You chose the newsletters AI news daily, Wochenrückblick." in text
    assert "AI news daily" in english.get_body(("html",)).get_content()

    german = mails["anna@example.org"]
    text = german.get_body(("plain",)).get_content()
    assert "Sie haben den Newsletter KI-News täglich gewählt." in text and "AI news" not in text

    # The confirmation link opens in English for Emma, whatever her browser prefers.
    path = re.search(r"http://localhost(/confirm/\S+)", english.get_body(("plain",)).get_content())[1]
    page = app.test_client().get(path, headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert "Yes, confirm my subscription" in text_of(page)


def test_a_signed_preference_link_opens_in_the_readers_stored_language(app, db, english_names):
    emma = make_reader(db, "emma@example.org", newsletters=[english_names["ki-news"]], locale="en")
    anna = make_reader(db, "anna@example.org", newsletters=[english_names["ki-news"]], locale="de")
    db.session.commit()
    key = app.config["SECRET_KEY"]
    emma_path, anna_path = links.preferences_url("", key, emma.id), links.preferences_url("", key, anna.id)

    page = text_of(app.test_client().get(emma_path, headers={"Accept-Language": "de"}))
    assert "Settings for emma@example.org." in page and 'lang="en"' in page
    assert "AI news daily" in page and "KI-News täglich" not in page

    page = text_of(app.test_client().get(anna_path, headers={"Accept-Language": "en"}))
    assert "Einstellungen für anna@example.org." in page and "KI-News täglich" in page

    # An explicit choice on the site wins over the stored one: on the link, and remembered after.
    browser = app.test_client()
    assert "Einstellungen für emma@example.org." in text_of(browser.get(f"{emma_path}?lang=de"))
    assert "Einstellungen für emma@example.org." in text_of(browser.get(emma_path))


def test_the_unsubscribe_pages_speak_the_readers_language(app, db, english_names):
    emma = make_reader(db, "emma@example.org", newsletters=[english_names["ki-news"]], locale="en")
    db.session.commit()
    path = links.unsubscribe_url("", app.config["SECRET_KEY"], emma.id, english_names["ki-news"].id)
    page = text_of(app.test_client().get(path, headers={"Accept-Language": "de"}))
    assert "Do you want to stop receiving “AI news daily”?" in page
    settings = text_of(app.test_client().get(f"{path}/settings"))
    assert "Mail me a link to my settings" in settings


def test_a_german_readers_confirmation_link_stays_german_for_an_english_browser(app, db, relay, newsletters):
    make_pending_reader(db, "anna@example.org", locale="de")
    run_jobs(app)
    [message] = relay.messages
    path = re.search(r"http://localhost(/confirm/\S+)", message.get_body(("plain",)).get_content())[1]
    page = app.test_client().get(path, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Ja, Abonnement bestätigen" in text_of(page)


def test_staff_give_a_newsletter_an_english_name_and_take_it_back(db, editor, newsletters):
    daily = newsletters["ki-news"]
    url = f"/staff/newsletters/{daily.id}"
    form = text_of(editor.get(url))
    assert "Name auf Englisch" in form and "Englische Fassung (optional)" in form
    fields = {"name": "KI-News täglich", "slug": "ki-news", "description": "Täglich", "position": "0",
              "is_public": "y", "is_default": "y"}  # fmt: skip
    english = {"name_en": "  AI   news daily ", "description_en": "Daily"}
    response = editor.post(url, data={"csrf_token": csrf_token(editor, url), **fields, **english})
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Newsletter, daily.id)
    assert (saved.name_en, saved.description_en) == ("AI news daily", "Daily")
    assert saved.name_for("en") == "AI news daily" and saved.name_for("de") == "KI-News täglich"

    emptied = {"name_en": "", "description_en": ""}
    editor.post(url, data={"csrf_token": csrf_token(editor, url), **fields, **emptied})
    db.session.expire_all()
    saved = db.session.get(Newsletter, daily.id)
    assert saved.name_en is None and saved.name_for("en") == "KI-News täglich"
    assert saved.description_for("en") == "Täglich"
