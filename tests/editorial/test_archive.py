"""The public archive: sent issues only, one web version each, an Atom feed; no reader's personal links.
Bad inputs tried: a draft's, a cancelled issue's and an unknown issue's address (404); a subject with
markup (shown as text, escaped in the feed); demo data loaded twice (refused, nothing doubled)."""

from __future__ import annotations

from datetime import timedelta

import feedparser

from db import utcnow
from newsletter.editorial import issues
from newsletter.editorial.models import Issue, IssueState
from tests.editorial.factories import make_article
from tests.support.web import text_of


def _issue(db, subject, state, days_ago=1):
    make_article(db, f"Artikel zu {subject}", days_ago=days_ago + 0.5, sponsored=subject.startswith("A"))
    issue = issues.create_issue_from_recent(db.session, 90, sender_name="KI", sender_address="r@ki.example")
    issue.subject, issue.state, issue.intro = subject, state, "Hallo **Welt** <script>alert(1)</script>"
    if state == IssueState.SENT:
        issue.sent_at = utcnow() - timedelta(days=days_ago)
    db.session.commit()
    return issue


def test_archive_lists_sent_issues_and_shows_each_without_personal_links(client, db):
    sent = _issue(db, "Ausgabe <b>eins</b>", IssueState.SENT, days_ago=3)
    later = _issue(db, "Ausgabe zwei", IssueState.SENT, days_ago=1)
    draft = _issue(db, "Noch geheim", IssueState.DRAFT)
    cancelled = _issue(db, "Abgebrochen", IssueState.CANCELLED)
    page = text_of(client.get("/archive"))
    assert page.index("Ausgabe zwei") < page.index("Ausgabe &lt;b&gt;eins&lt;/b&gt;")
    assert "Noch geheim" not in page and "Abgebrochen" not in page
    web = client.get(f"/archive/{later.id}")
    assert web.status_code == 200
    body = text_of(web)
    assert "Ausgabe zwei" in body and "<strong>Welt</strong>" in body and "<script>alert" not in body
    assert "Artikel zu Ausgabe zwei" in body
    assert "__BEITRAG_SLOT" not in body and "abbestellen" not in body.lower()
    for hidden in (draft, cancelled):
        assert client.get(f"/archive/{hidden.id}").status_code == 404
    assert client.get("/archive/999999").status_code == 404
    assert sent.id != later.id


def test_the_mail_links_to_its_web_version(app, db, client):
    issue = _issue(db, "Ausgabe mit Link", IssueState.SENT)
    rendered = issues.render_issue(issue, base_url=app.config["BASE_URL"])
    assert f'href="http://localhost/archive/{issue.id}"' in rendered.html
    assert "Im Browser lesen" in rendered.html
    assert client.get(f"/archive/{issue.id}").status_code == 200


def test_atom_feed_of_sent_issues(client, db):
    _issue(db, "Ausgabe <b>eins</b> & mehr", IssueState.SENT, days_ago=2)
    _issue(db, "Noch geheim", IssueState.DRAFT)
    response = client.get("/archive/feed.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.title for e in parsed.entries] == ["Ausgabe <b>eins</b> & mehr"]
    assert parsed.entries[0].link.startswith("http://localhost/archive/")


def test_empty_archive_says_so(client, db):
    assert "noch keine Ausgaben versendet" in text_of(client.get("/archive"))
    assert not feedparser.parse(client.get("/archive/feed.atom").get_data()).bozo


def test_demo_load_brings_sent_issues_and_a_draft(runner, db, client):
    result = runner.invoke(args=["demo", "load", "--subscribers", "50"])
    assert result.exit_code == 0, result.output
    states = [i.state for i in db.session.query(Issue).order_by(Issue.id)]
    assert states.count(IssueState.SENT) >= 3 and states.count(IssueState.DRAFT) == 1
    assert all(i.items for i in db.session.query(Issue))
    page = text_of(client.get("/archive"))
    assert "Schwerpunkt: Wer haftet" in page and "Entwurf: Die KI-Woche" not in page
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code != 0
    assert db.session.query(Issue).count() == len(states)
