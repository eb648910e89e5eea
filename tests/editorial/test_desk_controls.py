"""The editor's desk without dead ends: newsletters as checkboxes, the live Markdown preview, a sent issue's
page with its results and where to read more, "Duplicate issue", and articles already sent marked where
they are offered.

Bad inputs and attacks tried: a preview text with <script>, an event handler and a javascript: link (only
sanitised HTML comes back); the preview without a CSRF token, signed out, and far longer than an article
may be; a duplicate of a sent issue (a draft, nothing of the send copied); the new routes signed out."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from newsletter.editorial.models import Issue, IssueState
from newsletter.platform.audit import AuditEntry
from newsletter.sending.models import Delivery, DeliveryStatus
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_newsletter
from tests.sending.factories import issue_with_readers, start_send
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


def _issue_data(client, url, **fields):
    return {
        "csrf_token": csrf_token(client, url),
        "subject": "KI-News am Dienstag",
        "preheader": "Chips, Agenten",
        "intro": "Guten Morgen!",
        "layout": "digest",
        "sender_name": "KI-Kompass",
        "sender_address": "redaktion@ki-kompass.example",
        **fields,
    }


def test_newsletters_are_checkboxes_and_two_ticked_are_saved(client, db, editor, newsletter):
    members = make_newsletter(db, slug="foerderkreis", name="Förderkreis", is_public=False)
    db.session.commit()
    page = text_of(client.get("/staff/issues/new"))
    # One checkbox per newsletter, in a fieldset named by its legend; the default one ticked.
    assert "<legend>Newsletter</legend>" in page
    boxes = re.findall(r'<input[^>]*name="newsletters" type="checkbox"[^>]*>', page)
    assert len(boxes) == 2
    ticked = f'<input checked id="newsletters-0" name="newsletters" type="checkbox" value="{newsletter.id}">'
    assert ticked in page
    assert "<select multiple" not in page
    assert "KI-News täglich</label>" in page and "Förderkreis</label>" in page

    data = _issue_data(client, "/staff/issues/new", newsletters=[str(newsletter.id), str(members.id)])
    response = client.post("/staff/issues/new", data=data)
    assert response.status_code == 302
    issue = db.session.scalars(select(Issue)).one()
    assert sorted(n.name for n in issue.newsletters) == ["Förderkreis", "KI-News täglich"]
    edit = text_of(client.get(response.headers["Location"]))
    assert edit.count('<input checked id="newsletters-') == 2


def _preview(client, text, token=None, url="/staff/articles/new"):
    token = token if token is not None else csrf_token(client, url)
    return client.post("/staff/markdown-preview", data={"csrf_token": token, "text": text})


def test_the_live_preview_renders_markdown_sanitised(client, db, editor):
    page = text_of(client.get("/staff/articles/new"))
    assert 'data-preview-url="/staff/markdown-preview"' in page
    assert '<script src="/static/js/markdown-preview.js" defer></script>' in page
    assert 'data-preview-url="/staff/markdown-preview"' in text_of(client.get("/staff/issues/new"))

    response = _preview(
        client,
        "## Zwischentitel\n\nEin **fetter** Satz. <script>alert(1)</script>"
        '<img src="https://bild.example/a.png" onerror="alert(2)"> [Link](javascript:alert(3))',
    )
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = text_of(response)
    assert "<h2>Zwischentitel</h2>" in html and "<strong>fetter</strong>" in html
    assert "<script" not in html and "alert(1)" not in html and "onerror" not in html
    assert 'href="javascript' not in html and "<a " not in html  # no link to a script
    assert '<img src="https://bild.example/a.png">' in html


def test_the_live_preview_is_for_signed_in_staff_only_and_bounded(app, client, db, editor):
    assert _preview(client, "x", token="falsch").status_code == 400  # no valid CSRF token
    assert _preview(client, "x" * 200_001).status_code == 400  # longer than any Markdown field
    assert _preview(client, "x" * 200_000).status_code == 200
    # A body larger than the route's own limit is refused before it is read.
    assert client.post("/staff/markdown-preview", data={"text": "x" * (3 * 1024 * 1024)}).status_code == 413

    anonymous = app.test_client()  # a visitor, or a reader with their own links: no staff session
    response = anonymous.post("/staff/markdown-preview", data={"text": "**x**"})
    assert response.status_code in (302, 400, 403)
    assert b"<strong>" not in response.data
    if response.status_code == 302:
        assert "/staff/login" in response.headers["Location"]


@pytest.fixture
def sent_issue(app, db, relay):
    """An issue sent to three readers by the real send path; one row then failed for good, one uncertain."""
    issue = issue_with_readers(db, subject="Die KI-Woche: Chips")
    start_send(db, issue)
    run_jobs(app)
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.state == IssueState.SENT
    ledger = select(Delivery.id).where(Delivery.issue_id == issue.id).order_by(Delivery.id)
    rows = db.session.scalars(ledger).all()
    db.session.execute(update(Delivery).where(Delivery.id == rows[0]).values(status=DeliveryStatus.FAILED))
    uncertain = update(Delivery).where(Delivery.id == rows[1]).values(status=DeliveryStatus.UNCERTAIN)
    db.session.execute(uncertain)
    db.session.commit()
    return issue


def test_a_sent_issue_page_shows_its_results_and_links_not_a_form(client, db, editor, sent_issue):
    page = text_of(client.get(f"/staff/issues/{sent_issue.id}"))
    assert '<h2 id="sending-heading">Ergebnis</h2>' in page
    counts = dict(re.findall(r'data-count="(\w+)">([^<]+)</dd>', page))
    assert counts["total"] == "3" and counts["sent"] == "1" and counts["failed"] == "1"
    assert counts["uncertain"] == "1"
    # No form to change it: the subject is shown, not offered in an input.
    assert 'name="subject"' not in page and 'name="intro"' not in page and "Ausgabe speichern" not in page
    assert "data-issue-summary" in page and "Die KI-Woche: Chips" in page
    links = page.split("data-results-links", 1)[1].split("</p>", 1)[0]
    stats_href = re.search(r'href="([^"]*/staff/stats/issues[^"]*)"', links).group(1).replace("&amp;", "&")
    web_href = re.search(r'href="([^"]*/archive/[^"]*)"', links).group(1).replace("&amp;", "&")
    assert "Statistik dieser Ausgabe" in links and "Webversion im Archiv" in links
    stats = client.get(stats_href)
    assert stats.status_code == 200 and "Die KI-Woche: Chips" in text_of(stats)
    web_url = urlsplit(web_href)
    web = client.get(f"{web_url.path}?{web_url.query}")
    assert web.status_code == 200 and "Sprachmodelle erklärt" in text_of(web)


def test_duplicate_makes_a_draft_with_the_same_content_and_articles_in_order(client, db, editor, sent_issue):
    extra = make_article(db, "Agenten im Büro")
    sent = db.session.get(Issue, sent_issue.id)
    # Give the sent issue a second article (as a composed issue would have) to check the order.
    from newsletter.editorial.models import IssueArticle

    db.session.add(IssueArticle(issue_id=sent.id, article_id=extra.id, position=-1))
    sent.intro, sent.preheader, sent.show_goal = "Hallo **Welt**", "Vorzeile", True
    sent.subject_en, sent.intro_en = "The AI week: chips", "Hello **world**"
    db.session.commit()
    db.session.expire_all()
    sent = db.session.get(Issue, sent_issue.id)
    order = [i.article.title for i in sent.items]
    assert order == ["Agenten im Büro", "Sprachmodelle erklärt"]

    page = f"/staff/issues/{sent.id}"
    response = client.post(f"{page}/duplicate", data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 302
    copy = db.session.scalars(select(Issue).where(Issue.id != sent.id)).one()
    assert response.headers["Location"].endswith(f"/staff/issues/{copy.id}")
    assert copy.state == IssueState.DRAFT and copy.sent_at is None and copy.scheduled_at is None
    assert copy.sent_content is None and copy.public_archive is None and copy.reopened_at is None
    assert copy.subject == "Kopie von Die KI-Woche: Chips"
    assert (copy.preheader, copy.intro, copy.layout, copy.show_goal) == (
        "Vorzeile",
        "Hallo **Welt**",
        sent.layout,
        True,
    )
    assert (copy.sender_name, copy.sender_address) == (sent.sender_name, sent.sender_address)
    assert (copy.subject_en, copy.intro_en) == ("The AI week: chips", "Hello **world**")
    assert [n.id for n in copy.newsletters] == [n.id for n in sent.newsletters]
    assert [i.article.title for i in copy.items] == order
    assert db.session.scalar(select(Delivery.id).where(Delivery.issue_id == copy.id)) is None
    draft_page = text_of(client.get(response.headers["Location"]))
    assert "eine Kopie von Ausgabe" in draft_page and 'name="subject"' in draft_page
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "issue.duplicate")).one()
    assert entry.target_id == str(copy.id) and entry.detail == {"from": sent.id}
    assert entry.actor == editor.email
    # Without the token nothing is made.
    assert client.post(f"{page}/duplicate").status_code == 400
    assert db.session.query(Issue).count() == 2


def test_a_draft_can_be_duplicated_too(client, db, editor, newsletter):
    a, b = make_article(db, "Erster"), make_article(db, "Zweiter")
    draft = make_issue(db, articles=[b, a], newsletters=[newsletter], subject="Entwurf")
    page = f"/staff/issues/{draft.id}"
    client.post(f"{page}/duplicate", data={"csrf_token": csrf_token(client, page)})
    copy = db.session.scalars(select(Issue).where(Issue.id != draft.id)).one()
    assert copy.subject == "Kopie von Entwurf"
    assert [i.article.title for i in copy.items] == ["Zweiter", "Erster"]


def test_articles_already_sent_are_marked_and_still_offered(client, db, editor, sent_issue):
    sent_article = sent_issue.items[0].article
    fresh = make_article(db, "Ganz neu")
    draft = make_issue(db, newsletters=sent_issue.newsletters, subject="Nächste Woche")
    page = text_of(client.get(f"/staff/issues/{draft.id}"))
    offered = page.split('class="candidates"', 1)[1]
    mark = re.search(r'data-sent-in="(\d+)">\s*gesendet in Ausgabe (\d+) \(([^)]+)\)', offered)
    assert mark and mark.group(1) == mark.group(2) == str(sent_issue.id)
    assert f'href="/staff/issues/{sent_issue.id}">Die KI-Woche: Chips</a>' in offered
    # Still selectable: its Add button is there, and the new article has no mark.
    row = offered.split(sent_article.title, 1)[0].rsplit("<li>", 1)[1]
    assert f'name="article_id" value="{sent_article.id}"' in row
    fresh_row = offered.split(fresh.title, 1)[1].split("</li>", 1)[0]
    assert "gesendet in Ausgabe" not in fresh_row
    listing = text_of(client.get("/staff/articles"))
    assert listing.count("gesendet in Ausgabe") == 1 and f"/staff/issues/{sent_issue.id}" in listing


@pytest.mark.parametrize(
    "path",
    ["/staff/markdown-preview", "/staff/issues/1/duplicate"],
)
def test_new_issue_routes_refuse_a_visitor_without_a_staff_session(client, db, path):
    response = client.post(path, data={"text": "x"})
    assert response.status_code in (302, 400, 403)
    if response.status_code == 302:
        assert "/staff/login" in response.headers["Location"]
    assert db.session.query(Issue).count() == 0
