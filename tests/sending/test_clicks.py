"""Click counting (``CLICK_COUNTING``): an issue sent with it on carries counting links in the HTML and the
text of every captured mail, the same for every reader; following one counts it once and lands on the
article; the reader's own links and the web version stay as they were. Off (the default), nothing is
rewritten. Bad input tried: a link whose signature was changed, a link number that does not exist, a link
of another issue, a HEAD request (not counted)."""

from __future__ import annotations

import re

from sqlalchemy import select

from db import db as _db
from newsletter.editorial.models import Article, Issue, IssueArticle
from newsletter.platform.access import StaffRole
from newsletter.readers.models import Subscriber
from newsletter.sending import clicks, ledger
from tests.sending.factories import issue_with_readers, start_send
from tests.staff.factories import sign_in, staff_user
from tests.support.web import text_of
from tests.support.worker import run_jobs

ARTICLE_URL = "https://www.ki-kompass.example/artikel/sprachmodelle?teil=1&quelle=nl"
COUNTED = re.compile(r"http://localhost/l/(\d+)/(\d+)/([A-Za-z0-9_-]+)")


def _issue_with_article_link(db) -> Issue:
    intro = "Dazu auch [unser Dossier](https://www.ki-kompass.example/dossier)."
    issue = issue_with_readers(db, readers=("a@example.org", "b@example.org", "c@example.org"), intro=intro)
    article = db.session.get(Article, issue.items[0].article_id)
    article.canonical_url = ARTICLE_URL
    db.session.commit()
    return issue


def _send(app, db, issue):
    start_send(db, issue, **ledger.click_options(app.config))
    run_jobs(app)


def _parts(message):
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    return html, text


def test_links_are_rewritten_once_for_everyone_and_count_per_link(app, client, db, relay, monkeypatch):
    monkeypatch.setitem(app.config, "CLICK_COUNTING", True)
    issue = _issue_with_article_link(db)
    _send(app, db, issue)
    messages = relay.wait_for(3)
    assert len(messages) == 3

    html, text = _parts(messages[0])
    assert ARTICLE_URL not in html and ARTICLE_URL.replace("&", "&amp;") not in html
    assert "https://www.ki-kompass.example/dossier" not in html
    html_links = set(COUNTED.findall(html))
    text_links = set(COUNTED.findall(text))
    assert html_links and text_links
    # The reader's own links and the web version are not rewritten.
    assert f"http://localhost/archive/{issue.id}" in html and f"http://localhost/archive/{issue.id}" in text
    assert "http://localhost/unsubscribe/" in html and "/settings" in html
    assert "http://localhost/unsubscribe/" in text

    # No reader in the address: every reader's mail has the very same counting links.
    for other in messages[1:]:
        other_html, other_text = _parts(other)
        assert set(COUNTED.findall(other_html)) == html_links
        assert set(COUNTED.findall(other_text)) == text_links

    stored = dict(clicks.link_clicks(db.session, [issue.id])[issue.id])
    assert stored[ARTICLE_URL] == 0
    article_link = next(
        f"/l/{i}/{n}/{s}" for i, n, s in html_links
        if client.head(f"/l/{i}/{n}/{s}").headers["Location"] == ARTICLE_URL
    )  # fmt: skip
    assert dict(clicks.link_clicks(db.session, [issue.id])[issue.id])[ARTICLE_URL] == 0  # HEAD counts nothing

    # Two readers follow the article link (from two different mails): two clicks on that link.
    for message in messages[:2]:
        path = next(
            f"/l/{i}/{n}/{s}" for i, n, s in COUNTED.findall(_parts(message)[0])
            if f"/l/{i}/{n}/{s}" == article_link
        )  # fmt: skip
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == ARTICLE_URL
    _db.session.expire_all()
    counts = dict(clicks.link_clicks(db.session, [issue.id])[issue.id])
    assert counts[ARTICLE_URL] == 2
    assert counts["https://www.ki-kompass.example/dossier"] == 0
    # The donation ask is a counted link too; following it keeps the donate page's attribution.
    ask = [url for url in counts if "/spenden?issue=" in url]
    assert ask and f"issue={issue.id}" in ask[0]

    # The editor's issue statistics show the two clicks, in all and on the article's link.
    sign_in(client, staff_user(db, "editor-clicks@example.org", role=StaffRole.EDITOR))
    page = text_of(client.get("/staff/stats/issues?period=this_month&lang=en"))
    assert f"Clicks per link: {issue.subject}" in page
    link_row = page.split(ARTICLE_URL.replace("&", "&amp;"), 1)[1].split("</tr>", 1)[0]
    assert re.search(r">\s*2\s*<", link_row)
    exported = client.get("/staff/stats/export/clicks.csv?period=this_month").get_data(as_text=True)
    assert f"{issue.id},{issue.subject},{ARTICLE_URL},2" in exported.replace("\r", "")


def test_tampered_and_unknown_links_show_a_clear_page_and_count_nothing(app, client, db, relay, monkeypatch):
    monkeypatch.setitem(app.config, "CLICK_COUNTING", True)
    issue = _issue_with_article_link(db)
    _send(app, db, issue)
    html, _ = _parts(relay.wait_for(3)[0])
    issue_id, link_no, signature = next(iter(COUNTED.findall(html)))
    forged = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for path in (
        f"/l/{issue_id}/{link_no}/{forged}",  # signature changed
        f"/l/{issue_id}/999/{signature}",  # no such link
        f"/l/{int(issue_id) + 1}/{link_no}/{signature}",  # another issue
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        page = response.get_data(as_text=True)
        assert "Dieser Link funktioniert nicht" in page or "This link does not work" in page
        assert "Location" not in response.headers
    _db.session.expire_all()
    assert all(clicks == 0 for _, clicks in clicks.link_clicks(db.session, [issue.id])[issue.id])


def test_with_counting_off_links_are_untouched_and_nothing_is_registered(app, db, relay):
    assert app.config["CLICK_COUNTING"] is False  # the default
    issue = _issue_with_article_link(db)
    _send(app, db, issue)
    html, text = _parts(relay.wait_for(3)[0])
    assert ARTICLE_URL.replace("&", "&amp;") in html
    assert ARTICLE_URL in text
    assert "https://www.ki-kompass.example/dossier" in html
    assert not COUNTED.search(html) and not COUNTED.search(text)
    assert clicks.link_clicks(db.session, [issue.id]) == {}


def test_links_are_numbered_once_per_issue_across_variants(app, db, monkeypatch):
    """Preparing the send twice (Send pressed twice) numbers nothing twice; a link that appears in several
    variants (the article) has one number."""
    monkeypatch.setitem(app.config, "CLICK_COUNTING", True)
    issue = _issue_with_article_link(db)
    ledger.prepare_send(db.session, issue, **ledger.click_options(app.config))
    db.session.commit()
    first = clicks.link_clicks(db.session, [issue.id])[issue.id]
    ledger.prepare_send(db.session, db.session.get(Issue, issue.id), **ledger.click_options(app.config))
    db.session.commit()
    assert clicks.link_clicks(db.session, [issue.id])[issue.id] == first
    urls = [url for url, _ in first]
    assert len(urls) == len(set(urls))
    assert ARTICLE_URL in urls
    assert sum("/spenden?issue=" in url for url in urls) == 2  # the plain ask and "give monthly"
    assert not any("/archive/" in url or "/unsubscribe" in url or "/preferences" in url for url in urls)
    assert db.session.query(IssueArticle).count() == 1


def test_a_link_only_in_the_english_editorial_is_counted_in_the_english_copies(app, db, relay, monkeypatch):
    monkeypatch.setitem(app.config, "CLICK_COUNTING", True)
    issue = _issue_with_article_link(db)
    issue.intro_en = "See also [our guide](https://www.ki-kompass.example/en/guide)."
    reader = db.session.scalar(select(Subscriber).where(Subscriber.email == "b@example.org"))
    reader.locale = "en"
    db.session.commit()
    _send(app, db, issue)
    by_reader = {m["To"]: m for m in relay.wait_for(3)}
    english, german = _parts(by_reader["b@example.org"]), _parts(by_reader["a@example.org"])
    assert "our guide" in english[0] and "unser Dossier" in german[0]
    for html, text in (english, german):
        assert "ki-kompass.example/en/guide" not in html + text
        assert "ki-kompass.example/dossier" not in html + text
        assert ARTICLE_URL not in text
    # The article's link has one number in both languages.
    assert set(COUNTED.findall(english[1])) & set(COUNTED.findall(german[1]))
