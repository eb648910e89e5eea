"""An issue's English version: the editor writes it in the issue form (optional), previews the mail in
English or German with the preview's own language switch (the staff page stays in its language), and an
emptied English field means the German text again; the web version shows the English text on an English
page. Bad inputs tried: an unknown preview language
(the page's language), an over-long English subject (refused, nothing saved)."""

from __future__ import annotations

from db import utcnow
from newsletter.editorial import issues
from newsletter.editorial.models import Issue, IssueState
from tests.editorial.factories import make_article, make_issue
from tests.support.web import csrf_token, text_of


def _save(client, url, **fields):
    data = {
        "csrf_token": csrf_token(client, url), "subject": "Die KI-Woche", "preheader": "Was zählt",
        "intro": "Liebe Leser*innen,", "layout": "digest", "sender_name": "KI-Kompass",
        "sender_address": "redaktion@ki-kompass.example", **fields,
    }  # fmt: skip
    return client.post(url, data=data)


def test_the_editor_writes_an_english_version_and_can_empty_it_again(client, db, editor, newsletter):
    english = {"subject_en": "  The   AI week ", "preheader_en": "What counts", "intro_en": "Dear readers,"}
    response = _save(client, "/staff/issues/new", newsletters=[str(newsletter.id)], **english)
    assert response.status_code == 302
    issue = db.session.query(Issue).one()
    saved = (issue.subject_en, issue.preheader_en, issue.intro_en)
    assert saved == ("The AI week", "What counts", "Dear readers,")
    page = text_of(client.get(f"/staff/issues/{issue.id}"))
    assert "Englische Fassung (optional)" in page and 'value="The AI week"' in page

    url = f"/staff/issues/{issue.id}"
    assert _save(client, url, subject_en="x" * 201).status_code == 400
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).subject_en == "The AI week"

    assert _save(client, url, subject_en="", preheader_en=" ", intro_en="\n").status_code == 302
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert (issue.subject_en, issue.preheader_en, issue.intro_en) == (None, None, None)
    rendered = issues.render_issue(issue, base_url="http://x", locale="en")
    assert rendered.subject == "Die KI-Woche" and "Liebe Leser*innen" in rendered.text


def test_the_preview_shows_the_mail_in_english_while_the_page_stays_german(client, db, editor, newsletter):
    issue = make_issue(db, articles=[make_article(db, "Chips aus Europa")], newsletters=[newsletter],
                       subject="Die KI-Woche", intro="Liebe Leser*innen,", subject_en="The AI week",
                       intro_en="Dear readers,")  # fmt: skip
    base = f"/staff/issues/{issue.id}/preview"
    german = text_of(client.get(base))
    assert "Liebe Leser*innen" in german and "Abmelden" in german and "Dear readers" not in german

    english = client.get(f"{base}?mail_lang=en&variant=monthly")
    page = text_of(english)
    assert english.status_code == 200
    text_part = page.split('class="mail-text">', 1)[1]
    assert "Dear readers" in text_part and "Unsubscribe:" in text_part and "Abmelden" not in text_part
    assert "Thank you for supporting us regularly" in text_part  # the variant and the language together
    assert "<strong>Betreff:</strong> The AI week" in page  # the staff page itself stays German
    assert "Vorschau" in page and "Textteil" in page
    assert f"{base}/frame?variant=monthly&amp;mail_lang=en" in page
    frame = text_of(client.get(f"{base}/frame?variant=monthly&mail_lang=en"))
    assert "Dear readers" in frame and ">Unsubscribe</a>" in frame
    # The switch keeps the variant; the page's own language switch is untouched.
    assert f"{base}?variant=monthly&amp;mail_lang=de" in page
    assert "beitrag_lang=en" not in english.headers.get("Set-Cookie", "")

    unknown = text_of(client.get(f"{base}?mail_lang=fr"))
    assert "Liebe Leser*innen" in unknown.split('class="mail-text">', 1)[1]


def test_the_preview_says_when_english_readers_would_get_the_german_text(client, db, editor, newsletter):
    issue = make_issue(db, articles=[make_article(db, "Chips aus Europa")], newsletters=[newsletter],
                       intro="Liebe Leser*innen,")  # fmt: skip
    page = text_of(client.get(f"/staff/issues/{issue.id}/preview?mail_lang=en"))
    assert "noch keine englische Fassung" in page
    assert "Liebe Leser*innen" in page.split('class="mail-text">', 1)[1]


def test_the_web_version_uses_the_english_text_on_an_english_page(client, db, newsletter):
    issue = make_issue(db, articles=[make_article(db, "Chips aus Europa")], newsletters=[newsletter],
                       subject="Die KI-Woche", intro="Liebe Leser*innen,", subject_en="The AI week",
                       intro_en="Dear readers,", state=IssueState.SENT, sent_at=utcnow(),
                       public_archive=True)  # fmt: skip
    german = text_of(client.get(f"/archive/{issue.id}"))
    assert "<h1>Die KI-Woche</h1>" in german and "Liebe Leser*innen" in german
    english = text_of(client.get(f"/archive/{issue.id}?lang=en"))
    assert "<h1>The AI week</h1>" in english and "Dear readers" in english and "Liebe Leser" not in english
    assert "The AI week" in text_of(client.get("/archive"))  # the language stays chosen
