"""The whole desk in one pass, as an editor does it in the browser: a feed in, a draft from the last days,
the preview, a test send that arrives. Bad inputs tried along the way: a feed item with a <script>, which
must not reach the mail."""

from __future__ import annotations

from newsletter.editorial.models import Article, Issue
from tests.support.feedserver import Route, rss, rss_item
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


def test_from_feed_to_a_previewed_test_sent_issue(
    app, client, db, editor, newsletter, feed_server, smtp, monkeypatch
):
    monkeypatch.setitem(app.config, "FEED_ALLOWED_LOOPBACK", ("127.0.0.1",))
    monkeypatch.setitem(app.config, "SMTP_URL", smtp.url)
    body = rss(
        rss_item("k-1", "Chips aus Europa", "Die EU fördert <b>Fabriken</b>.<script>alert(1)</script>"),
        rss_item("k-2", "Agenten im Büro", "Was Software-Agenten heute können."),
    ).replace(b"<pubDate>Mon, 23 Nov 2026 08:00:00 +0000</pubDate>", b"")
    # Without a date, an item counts as published when it is imported: it falls into "the last day".
    feed_server.routes["/rss"] = Route(body=body)

    token = csrf_token(client, "/staff/feeds")
    client.post(
        "/staff/feeds", data={"csrf_token": token, "url": feed_server.url("/rss"), "interval_minutes": 30}
    )
    run_jobs(app)
    assert db.session.query(Article).count() == 2

    response = client.post(
        "/staff/issues/from-recent", data={"csrf_token": csrf_token(client, "/staff/issues"), "days": "1"}
    )
    assert "Ein neuer Entwurf mit 2 Artikeln liegt bereit" in text_of(
        client.get(response.headers["Location"])
    )
    issue = db.session.query(Issue).one()

    preview = text_of(client.get(f"/staff/issues/{issue.id}/preview?variant=never_gave"))
    assert "Chips aus Europa" in preview and "Agenten im Büro" in preview
    client.post(
        f"/staff/issues/{issue.id}/test-send",
        data={"csrf_token": csrf_token(client, f"/staff/issues/{issue.id}/preview"), "variant": "never_gave"},
    )
    run_jobs(app)
    [message] = smtp.messages
    assert message["To"] == "eda@example.org"
    html = message.get_payload()[1].get_content()
    assert "Chips aus Europa" in html and "Die EU fördert Fabriken." in html
    assert "<script" not in html and "alert(1)" not in html
    assert "Unser Journalismus bleibt frei" in html
