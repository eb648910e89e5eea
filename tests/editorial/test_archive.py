"""The public archive: sent issues only, one web version each, an Atom feed; no reader's personal links.
Each issue shows the articles as its readers got them, and issues to members-only newsletters stay out.

Bad inputs and attacks tried: a draft's, a cancelled issue's and an unknown issue's address (404); a subject
with markup (shown as text, escaped in the feed); demo data loaded twice (refused, nothing doubled); the
article of an issue rewritten by an editor while its send runs, then deleted (the mails, the archive and
the feed keep what was sent); an issue to a hidden newsletter looked for in the list and the feed, opened
by its id, with a made-up key and with another issue's key (absent, 404); the hidden newsletter made public
afterwards; the archive choice posted without a CSRF token and by someone not signed in."""

from __future__ import annotations

import re
from datetime import timedelta

import feedparser
from sqlalchemy import select

from db import utcnow
from newsletter.editorial import issues
from newsletter.editorial.models import Article, Issue, IssueState
from newsletter.platform.audit import AuditEntry
from newsletter.readers import newsletters as newsletter_service
from newsletter.sending import ledger
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_newsletter, make_reader
from tests.sending.factories import issue_with_readers, start_send
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


def _send(db, issue: Issue, days_ago: float = 0) -> Issue:
    """Send as the send path does (the issue sealed and made ``sending``, then ``sent`` when no row is
    open); these issues have no readers, so nothing is mailed."""
    ledger.prepare_send(db.session, issue)
    db.session.commit()
    assert ledger.finish_if_done(db.session, issue.id)
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    issue.sent_at = utcnow() - timedelta(days=days_ago)
    db.session.commit()
    return issue


def _issue(db, subject, state, days_ago=1, newsletters=None):
    make_article(db, f"Artikel zu {subject}", days_ago=days_ago + 0.5, sponsored=subject.startswith("A"))
    issue = issues.create_issue_from_recent(db.session, 90, sender_name="KI", sender_address="r@ki.example")
    issue.subject, issue.intro = subject, "Hallo **Welt** <script>alert(1)</script>"
    issue.newsletters = newsletters or [_public(db)]
    db.session.commit()
    if state == IssueState.SENT:
        return _send(db, issue, days_ago)
    issue.state = state
    db.session.commit()
    return issue


def _public(db):
    from newsletter.readers.models import Newsletter

    found = db.session.query(Newsletter).filter_by(slug="ki-news").first()
    return found or make_newsletter(db, is_default=True)


def _feed_titles(client) -> list[str]:
    parsed = feedparser.parse(client.get("/archive/feed.atom").get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [e.title for e in parsed.entries]


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
    config = app.config
    rendered = issues.render_issue(issue, base_url=config["BASE_URL"], secret_key=config["SECRET_KEY"])
    link = re.search(rf'href="(http://localhost/archive/{issue.id}\?k=\w+)"', rendered.html)[1]
    assert "Im Browser lesen" in rendered.html
    assert client.get(link.removeprefix("http://localhost")).status_code == 200
    assert client.get(f"/archive/{issue.id}").status_code == 200  # public: the plain address opens it too


def test_atom_feed_of_sent_issues(client, db):
    _issue(db, "Ausgabe <b>eins</b> & mehr", IssueState.SENT, days_ago=2)
    _issue(db, "Noch geheim", IssueState.DRAFT)
    response = client.get("/archive/feed.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.title for e in parsed.entries] == ["Ausgabe <b>eins</b> & mehr"]
    assert parsed.entries[0].link.startswith("http://localhost/archive/")
    assert "Artikel zu Ausgabe" in parsed.entries[0].content[0].value  # the articles, as sent
    assert "<script" not in parsed.entries[0].content[0].value


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


def _edit_article(client, article: Article, title: str, teaser: str):
    path = f"/staff/articles/{article.id}"
    data = {
        "csrf_token": csrf_token(client, path), "title": title, "teaser": teaser, "body": "Neu geschrieben.",
        "author": article.author, "canonical_url": article.canonical_url or "", "tags": "",
        "published_at": "2026-01-05T08:00",
    }  # fmt: skip
    response = client.post(path, data=data)
    assert response.status_code == 302, text_of(response)


def test_a_sent_issue_keeps_the_text_its_readers_got_when_the_article_changes(app, client, db, editor, relay):
    # The attack: change (or have a feed change) an article after an issue carried it, so that the
    # archive, and the mails of the batches still to go, say what the readers of the first ones never got.
    issue = issue_with_readers(db, subject="Die Woche")
    article = db.session.get(Article, issue.items[0].article_id)
    start_send(db, issue)  # Send pressed: the ledger written, the batches queued, nothing mailed yet
    _edit_article(client, article, "Umgeschrieben nach dem Versand", "Ein ganz anderer Anriss.")

    run_jobs(app)
    messages = relay.wait_for(3)
    for message in messages:
        text = message.get_body(("plain",)).get_content()
        assert "Sprachmodelle erklärt" in text and "Was steckt dahinter?" in text
        assert "Umgeschrieben" not in text
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.SENT

    page = text_of(client.get(f"/archive/{issue.id}"))
    assert "Sprachmodelle erklärt" in page and "Was steckt dahinter?" in page
    assert "Umgeschrieben" not in page and "ganz anderer" not in page
    feed = feedparser.parse(client.get("/archive/feed.atom").get_data())
    assert "Sprachmodelle erklärt" in feed.entries[0].content[0].value
    assert "Umgeschrieben" not in feed.entries[0].content[0].value

    # The article is deleted altogether: the issue still says what it said.
    db.session.delete(db.session.get(Article, article.id))
    db.session.commit()
    page = text_of(client.get(f"/archive/{issue.id}"))
    assert "Sprachmodelle erklärt" in page and "Was steckt dahinter?" in page
    assert "Sprachmodelle erklärt" in text_of(client.get(f"/staff/issues/{issue.id}"))  # and its editors
    # A draft, by contrast, shows the article as it is now: nothing is fixed before the send starts.
    other = make_article(db, "Entwurfsartikel")
    draft = make_issue(db, articles=[other], newsletters=issue.newsletters)
    _edit_article(client, other, "Entwurfsartikel, verbessert", "Besser.")
    db.session.expire_all()
    draft = db.session.get(Issue, draft.id)
    assert [a["title"] for a in issues.issue_articles(draft)] == ["Entwurfsartikel, verbessert"]


def _archive_choice(client, issue_id: int, shown: bool):
    token = csrf_token(client, f"/staff/issues/{issue_id}")
    data = {"csrf_token": token, **({"public_archive": "y"} if shown else {})}
    return client.post(f"/staff/issues/{issue_id}/archive", data=data)


def test_issues_to_hidden_newsletters_stay_out_of_the_archive_until_an_editor_publishes_them(
    app, client, db, editor, relay
):
    # The attack: read a members-only newsletter without being a member, in the public archive, its Atom
    # feed or by counting through /archive/<id>.
    public = make_newsletter(db, "ki-news", "KI-News täglich", is_default=True)
    members = make_newsletter(db, "foerderkreis", "Förderkreis-Briefing", is_public=False)
    member = make_reader(db, "mitglied@example.org", newsletters=[members])
    db.session.commit()
    article = make_article(db, "Nur für Mitglieder: die Zahlen")
    hidden = make_issue(db, subject="Förderkreis intern", articles=[article], newsletters=[members])
    both = make_issue(
        db, subject="Für alle und den Förderkreis", articles=[article], newsletters=[public, members]
    )
    start_send(db, hidden)
    start_send(db, both)
    run_jobs(app)
    [mail] = [m for m in relay.wait_for(2) if m["Subject"] == "Förderkreis intern"]
    assert mail["To"] == member.email

    stranger = app.test_client()
    assert "Förderkreis intern" not in text_of(stranger.get("/archive"))
    assert "Für alle und den Förderkreis" in text_of(stranger.get("/archive"))
    assert _feed_titles(stranger) == ["Für alle und den Förderkreis"]
    assert stranger.get(f"/archive/{hidden.id}").status_code == 404
    assert stranger.get(f"/archive/{hidden.id}?k=0123456789abcdef0123456789abcdef").status_code == 404
    other_key = issues.archive_key(app.config["SECRET_KEY"], both.id)
    assert stranger.get(f"/archive/{hidden.id}?k={other_key}").status_code == 404
    assert stranger.get(f"/archive/{hidden.id}?k=ä").status_code == 404

    # The member's "read in the browser" link opens it (the mail's key names the issue, not the reader),
    # and tells search engines to keep away.
    text = mail.get_body(("plain",)).get_content()
    web = re.search(rf"http://localhost(/archive/{hidden.id}\?k=\w+)", text)[1]
    opened = stranger.get(web)
    assert opened.status_code == 200 and "Nur für Mitglieder: die Zahlen" in text_of(opened)
    assert opened.headers["X-Robots-Tag"] == "noindex"

    # Making the newsletter public later does not publish what was sent to its members.
    newsletter_service.save_newsletter(
        db.session, members, name=members.name, slug=members.slug, description="", is_public=True,
        is_default=False, position=members.position,
    )  # fmt: skip
    db.session.commit()
    assert stranger.get(f"/archive/{hidden.id}").status_code == 404

    # The editor's page says so; the choice needs the form's token and a signed-in editor.
    page = text_of(client.get(f"/staff/issues/{hidden.id}"))
    assert "zeigen diese Ausgabe nicht" in page
    assert "checked" not in re.search(r'<input[^>]*name="public_archive"[^>]*>', page)[0]
    assert client.post(f"/staff/issues/{hidden.id}/archive", data={"public_archive": "y"}).status_code == 400
    token = csrf_token(stranger, "/preferences")  # a valid token of the stranger's own session
    refused = stranger.post(
        f"/staff/issues/{hidden.id}/archive", data={"public_archive": "y", "csrf_token": token}
    )
    assert refused.status_code in (302, 401, 403)
    assert "/staff/login" in refused.headers.get("Location", "/staff/login")
    assert stranger.get(f"/archive/{hidden.id}").status_code == 404

    response = _archive_choice(client, hidden.id, True)
    assert response.status_code == 302
    assert "im öffentlichen Archiv gezeigt" in text_of(client.get(response.headers["Location"]))
    assert stranger.get(f"/archive/{hidden.id}").status_code == 200
    assert "Förderkreis intern" in text_of(stranger.get("/archive"))
    assert set(_feed_titles(stranger)) == {"Förderkreis intern", "Für alle und den Förderkreis"}

    # And back out again; an issue to a public list can be taken out the same way.
    _archive_choice(client, hidden.id, False)
    _archive_choice(client, both.id, False)
    assert stranger.get(f"/archive/{hidden.id}").status_code == 404
    assert stranger.get(f"/archive/{both.id}").status_code == 404
    assert _feed_titles(stranger) == []
    # Each choice is in the audit log, with the editor who made it.
    choices = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "issue.archive")
                                 .order_by(AuditEntry.id)).all()  # fmt: skip
    assert [(c.target, c.detail["public"], c.actor) for c in choices] == [
        (f"issue:{hidden.id}", True, editor.email), (f"issue:{hidden.id}", False, editor.email),
        (f"issue:{both.id}", False, editor.email),
    ]


def test_a_draft_says_where_it_will_be_shown(client, db, editor):
    members = make_newsletter(db, "foerderkreis", "Förderkreis-Briefing", is_public=False)
    public = make_newsletter(db, "ki-news", "KI-News täglich", is_default=True)
    db.session.commit()
    hidden = make_issue(db, subject="Intern", newsletters=[members])
    open_to_all = make_issue(db, subject="Offen", newsletters=[public])
    assert "nur an versteckte Newsletter" in text_of(client.get(f"/staff/issues/{hidden.id}"))
    assert "an einen öffentlichen Newsletter" in text_of(client.get(f"/staff/issues/{open_to_all.id}"))
