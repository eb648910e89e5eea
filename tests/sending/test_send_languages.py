"""Every reader gets the issue in the language they chose: an English reader's copy has the English subject,
preheader and editorial where the editor wrote them (the German ones where not), and its links, footer and
donation ask in English; a German reader's copy is German throughout. Sent for real: the ledger, a worker,
the SMTP capture. Also tried: a reader whose stored language is neither German nor English (German), an
issue without any English text (German text, English chrome), and the send confirmation's count per
language."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from newsletter.sending.models import Delivery
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_newsletter, make_reader
from tests.sending.factories import start_send
from tests.staff.factories import sign_in, staff_user
from tests.support.web import text_of
from tests.support.worker import run_jobs


@pytest.fixture
def news(db):
    news = make_newsletter(db, is_default=True)
    make_reader(db, "anna@example.org", newsletters=[news], locale="de")
    make_reader(db, "emma@example.org", newsletters=[news], locale="en")
    make_reader(db, "felix@example.org", newsletters=[news], locale="fr")  # no mail exists in French
    return news


def _issue(db, news, **fields):
    article = make_article(db, "Sprachmodelle erklärt", teaser="Was steckt dahinter?", body="Text")
    return make_issue(db, articles=[article], newsletters=[news], subject="Die KI-Woche",
                      preheader="Was diese Woche zählt", intro="Liebe Leser*innen, **willkommen**.",
                      **fields)  # fmt: skip


def _by_reader(relay, count: int) -> dict:
    messages = relay.wait_for(count)
    return {m["To"]: m for m in messages}


def _parts(message) -> tuple[str, str]:
    return message.get_body(("html",)).get_content(), message.get_body(("plain",)).get_content()


def test_each_reader_gets_the_issue_in_their_own_language(app, db, relay, news):
    issue = _issue(db, news, subject_en="The AI week", preheader_en="What counted this week",
                   intro_en="Dear readers, **welcome**.")  # fmt: skip
    start_send(db, issue)
    locales = dict(db.session.execute(select(Delivery.subscriber_id, Delivery.locale)).all())
    assert sorted(locales.values()) == ["de", "de", "en"]
    run_jobs(app)
    mails = _by_reader(relay, 3)

    english = mails["emma@example.org"]
    html, text = _parts(english)
    assert english["Subject"] == "The AI week"
    assert "Dear readers" in text and "What counted this week" in text and "Liebe Leser" not in text
    assert "Unsubscribe:" in text and "Abmelden" not in text
    assert ">Unsubscribe</a>" in html and "Read in the browser" in html
    assert "Our journalism stays free" in text and "Support us" in html
    assert 'lang="en"' in html
    assert "Sprachmodelle erklärt" in text  # the articles are as the newsroom wrote them
    # Its web version and the ask open in English too, whatever language the browser asks for.
    web = re.search(r"http://localhost/archive/\S+", text).group(0)
    assert "lang=en" in web and "/spenden?issue=" in text and "&lang=en" in text
    page = app.test_client().get(web.removeprefix("http://localhost"), headers={"Accept-Language": "de"})
    assert page.status_code == 200 and 'lang="en"' in page.get_data(as_text=True)
    assert "Dear readers" in text_of(page)

    for address in ("anna@example.org", "felix@example.org"):
        german = mails[address]
        html, text = _parts(german)
        assert german["Subject"] == "Die KI-Woche", address
        assert "Liebe Leser*innen" in text and "Dear readers" not in text
        assert "Abmelden:" in text and ">Abmelden</a>" in html and "Unsubscribe" not in text
        assert "Unser Journalismus bleibt frei" in text and "Our journalism" not in text
        assert "Im Browser lesen" in html
        assert "lang=" not in re.search(r"http://localhost/archive/\S+", text).group(0)

    # Each copy's unsubscribe link is the reader's own, in either language.
    for address, message in mails.items():
        assert message["List-Unsubscribe"].startswith("<http://localhost/unsubscribe/"), address
    assert len({m["List-Unsubscribe"] for m in mails.values()}) == 3


def test_without_an_english_text_english_readers_get_the_german_one_with_english_links(app, db, relay, news):
    issue = _issue(db, news)
    start_send(db, issue)
    run_jobs(app)
    english = _by_reader(relay, 3)["emma@example.org"]
    _html, text = _parts(english)
    assert english["Subject"] == "Die KI-Woche"
    assert "Liebe Leser*innen" in text and "Was diese Woche zählt" in text
    assert "Unsubscribe:" in text and "Abmelden" not in text
    assert "Our journalism stays free" in text


def test_only_the_subject_in_english_keeps_the_german_editorial(app, db, relay, news):
    issue = _issue(db, news, subject_en="The AI week")
    start_send(db, issue)
    run_jobs(app)
    english = _by_reader(relay, 3)["emma@example.org"]
    _html, text = _parts(english)
    assert english["Subject"] == "The AI week"
    assert "Liebe Leser*innen" in text and "Was diese Woche zählt" in text


def test_the_send_confirmation_counts_the_readers_per_language(app, client, db, news):
    issue = _issue(db, news)
    sign_in(client, staff_user(db, "eda@example.org"))
    page = text_of(client.get(f"/staff/issues/{issue.id}/send"))
    assert "Auf Deutsch: 2, auf Englisch: 1." in page
    assert "keine englische Fassung" in page  # English readers would get the German text
    assert f"/staff/issues/{issue.id}/preview?mail_lang=en" in page

    issue.subject_en = "The AI week"
    db.session.commit()
    page = text_of(client.get(f"/staff/issues/{issue.id}/send"))
    assert "Auf Deutsch: 2, auf Englisch: 1." in page and "keine englische Fassung" not in page
