"""Composing issues in the staff pages, previewing them per variant, and test-sending the real message.
Bad inputs tried: an issue with no articles; a 200-article issue (Gmail clipping warning) and a 201st
article; the same article twice; an unknown article, layout, variant and newsletter; an invalid sender
address; MJML-like markup and <script>/javascript:/style tricks in subject and editorial; editing a
cancelled issue; a template with a missing variable and broken MJML (readable error, no mail sent); a 21st
test send of one issue within the hour (refused with 429, nothing queued)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from newsletter.editorial import issues
from newsletter.editorial.models import Issue, IssueLayout, IssueState
from newsletter.mail import rendering
from tests.editorial.factories import make_article
from tests.staff.factories import sign_in, staff_user
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

HOSTILE_INTRO = """Liebe Leserinnen und Leser,

<script>alert(1)</script> <img src="https://img.example/x.png" onerror="alert(2)">
[hier](javascript:alert(3)) <a href="javascript:alert(4)">dort</a>
<p style="display:none">versteckt</p>

**Willkommen** zur Ausgabe."""


def _issue_form(client, url, **fields):
    data = {
        "csrf_token": csrf_token(client, url),
        "subject": "KI-News am Dienstag",
        "preheader": "Chips, Agenten",
        "intro": "Guten Morgen!",
        "layout": "digest",
        "sender_name": "KI-Kompass",
        "sender_address": "redaktion@ki-kompass.example",
    }
    data.update(fields)
    return client.post(url, data=data)


def _action(client, issue_id, url):
    return client.post(url, data={"csrf_token": csrf_token(client, f"/staff/issues/{issue_id}")})


def _order(db, issue_id):
    db.session.expire_all()
    return [a.title for a in db.session.get(Issue, issue_id).articles]


def test_editor_composes_an_issue_and_orders_its_articles(client, db, editor, newsletter):
    a = make_article(db, "Chips aus Europa")
    b = make_article(db, "Agenten im Büro", sponsored=True)
    c = make_article(db, "Open-Source-Modelle")
    response = _issue_form(client, "/staff/issues/new", newsletters=[str(newsletter.id)])
    assert response.status_code == 302
    issue = db.session.query(Issue).one()
    assert issue.state == IssueState.DRAFT and [n.slug for n in issue.newsletters] == ["ki-news"]
    base = f"/staff/issues/{issue.id}"
    ticked = f'<input checked id="newsletters-0" name="newsletters" type="checkbox" value="{newsletter.id}">'
    assert ticked in text_of(client.get(base))  # the choice is shown, as a ticked checkbox
    for article in (a, b, c):
        client.post(
            f"{base}/articles", data={"csrf_token": csrf_token(client, base), "article_id": article.id}
        )
    assert _order(db, issue.id) == ["Chips aus Europa", "Agenten im Büro", "Open-Source-Modelle"]
    _action(client, issue.id, f"{base}/articles/{c.id}/up")
    assert _order(db, issue.id) == ["Chips aus Europa", "Open-Source-Modelle", "Agenten im Büro"]
    _action(client, issue.id, f"{base}/articles/{a.id}/down")
    _action(client, issue.id, f"{base}/articles/{b.id}/down")  # already last: stays
    assert _order(db, issue.id) == ["Open-Source-Modelle", "Chips aus Europa", "Agenten im Büro"]
    _action(client, issue.id, f"{base}/articles/{a.id}/remove")
    assert _order(db, issue.id) == ["Open-Source-Modelle", "Agenten im Büro"]
    # The same article twice: refused with a reason, nothing changes.
    client.post(f"{base}/articles", data={"csrf_token": csrf_token(client, base), "article_id": c.id})
    assert "dieser Artikel ist schon in der Ausgabe" in text_of(client.get(base))
    assert _order(db, issue.id) == ["Open-Source-Modelle", "Agenten im Büro"]
    # The preview shows the same order, and the sponsored article is marked.
    preview = text_of(client.get(f"{base}/preview"))
    text_part = preview.split('class="mail-text">', 1)[1]
    assert text_part.index("Open-Source-Modelle") < text_part.index("Agenten im Büro")
    assert "[Anzeige] Agenten im Büro" in text_part


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("sender_address", "keine-adresse", "die Absenderadresse ist ungültig"),
        ("layout", "poster", "Keine gültige Auswahl"),
        ("newsletters", "999", "&#39;999&#39;"),
        ("subject", "   ", "Dieses Feld wird benötigt"),
    ],
)
def test_bad_issue_input_is_refused_and_stores_nothing(client, db, editor, newsletter, field, value, reason):
    response = _issue_form(client, "/staff/issues/new", **{field: value})
    assert response.status_code == 400
    assert reason in text_of(response)
    assert db.session.query(Issue).count() == 0


def test_new_issue_from_the_last_days_is_one_click(client, db, editor, newsletter):
    make_article(db, "Von gestern", days_ago=1)
    make_article(db, "Von vorgestern", days_ago=2)
    make_article(db, "Zu alt", days_ago=10)
    response = client.post(
        "/staff/issues/from-recent", data={"csrf_token": csrf_token(client, "/staff/issues"), "days": "3"}
    )
    assert response.status_code == 302
    issue = db.session.query(Issue).one()
    assert [a.title for a in issue.articles] == ["Von gestern", "Von vorgestern"]
    assert issue.subject == "Von gestern" and issue.newsletters == [newsletter]
    assert issue.sender_address == "redaktion@ki-kompass.example"
    bad = client.post(
        "/staff/issues/from-recent", data={"csrf_token": csrf_token(client, "/staff/issues"), "days": "0"}
    )
    assert bad.status_code == 302 and db.session.query(Issue).count() == 1


def test_hostile_subject_and_editorial_render_harmlessly(app, db, editor):
    make_article(db, "Ein Artikel")
    issue = issues.create_issue_from_recent(db.session, 7, sender_name="KI", sender_address="r@ki.example")
    issue.subject = 'Hallo </mj-title><mj-raw><script>alert(1)</script></mj-raw> "&"'
    issue.intro = HOSTILE_INTRO
    db.session.commit()
    rendered = issues.render_issue(issue, base_url="https://ki-kompass.example")
    html = rendered.html.lower()
    assert "<script" not in html and "onerror" not in html and 'href="javascript' not in html
    assert 'display:none">versteckt' not in html and "versteckt" in html
    assert "<strong>willkommen</strong>" in html
    assert "&lt;/mj-title&gt;" in html  # the subject is text, not markup
    assert rendered.subject.startswith("Hallo </mj-title>")
    assert "<script>" not in rendered.text and "Willkommen zur Ausgabe" in rendered.text


@pytest.mark.parametrize("layout", ["digest", "feature"])
def test_every_slot_survives_mjml_once_in_html_and_text(app, db, layout):
    make_article(db, "Ein Artikel")
    issue = issues.create_issue_from_recent(db.session, 7, sender_name="KI", sender_address="r@ki.example")
    issue.layout = IssueLayout(layout)
    rendered = issues.render_issue(issue, base_url="https://ki-kompass.example")
    for token in rendering.SLOTS.values():
        assert rendered.html.count(token) == 1 and rendered.text.count(token) == 1
    filled = rendering.fill_slots(
        rendered,
        {"unsubscribe_url": "https://x.example/u/TOKEN", "preferences_url": "https://x.example/p/TOKEN",
         "share_url": "https://x.example/share/CODE"},
    )  # fmt: skip
    assert (
        'href="https://x.example/u/TOKEN"' in filled.html
        and "__BEITRAG_SLOT" not in filled.html + filled.text
    )


def test_preview_has_frames_variant_switch_and_text_part(client, db, editor):
    make_article(db, "Chips aus Europa")
    issue = issues.create_issue_from_recent(db.session, 7, sender_name="KI", sender_address="r@ki.example")
    db.session.commit()
    page = text_of(client.get(f"/staff/issues/{issue.id}/preview"))
    assert page.count("<iframe sandbox") == 2  # desktop and mobile width
    assert "frame-desktop" in page and "frame-mobile" in page
    for variant in issues.VARIANTS:
        assert f"variant={variant}" in page
    assert "Chips aus Europa" in page.split('class="mail-text">', 1)[1]
    frame = client.get(f"/staff/issues/{issue.id}/preview/frame?variant=monthly")
    assert frame.status_code == 200
    csp = frame.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "script-src" not in csp and "default-src 'none'" in csp
    monthly, default = text_of(frame), text_of(client.get(f"/staff/issues/{issue.id}/preview/frame"))
    assert "regelmäßig unterstützen" in monthly and "regelmäßig" not in default  # the ask follows the variant
    assert "__BEITRAG_SLOT" not in default + page  # links filled as in a test send, no placeholder shown
    assert client.get(f"/staff/issues/{issue.id}/preview?variant=<x>").status_code == 200  # unknown: default


def test_an_issue_with_no_articles_previews_with_a_warning(client, db, editor):
    issue = issues.create_issue(
        db.session, issues.IssueInput(subject="Leer", sender_name="KI", sender_address="r@ki.example")
    )
    db.session.commit()
    page = text_of(client.get(f"/staff/issues/{issue.id}/preview"))
    assert "noch keine Artikel" in page
    assert "Leer" in page


def test_a_200_article_issue_warns_about_gmail_clipping_and_takes_no_201st(client, db, editor):
    for n in range(201):
        make_article(db, f"Meldung Nummer {n}", days_ago=0.001 * (n + 1), teaser="Ein längerer Anriss. " * 8)
    issue = issues.create_issue_from_recent(db.session, 7, sender_name="KI", sender_address="r@ki.example")
    db.session.commit()
    assert len(issue.items) == 200
    page = text_of(client.get(f"/staff/issues/{issue.id}/preview"))
    assert "Gmail" in page and "102 KB" in page
    extra = db.session.query(Issue).count()
    last = max(a.id for a in issue.articles) + 1  # the 201st (oldest) article
    base = f"/staff/issues/{issue.id}"
    client.post(f"{base}/articles", data={"csrf_token": csrf_token(client, base), "article_id": last})
    assert len(db.session.get(Issue, issue.id).items) == 200 and extra == 1


def test_a_small_issue_has_no_clipping_warning(client, db, editor):
    make_article(db, "Kurz")
    issue = issues.create_issue_from_recent(db.session, 7, sender_name="KI", sender_address="r@ki.example")
    db.session.commit()
    page = text_of(client.get(f"/staff/issues/{issue.id}/preview"))
    assert "Gmail" not in page
    # The size in the page's language: a decimal comma in German, a point in English. (The mail itself is
    # in that language too, so the two sizes may differ by a few bytes and round apart.)
    # A whole number of KB is written without a decimal ("12 KB").
    german = re.search(r"HTML-Größe: (\d+(?:,\d)?) KB", page)
    in_english = text_of(client.get(f"/staff/issues/{issue.id}/preview?lang=en"))
    english = re.search(r"HTML size: (\d+(?:\.\d)?) KB", in_english)
    assert german and english
    assert abs(float(english.group(1)) - float(german.group(1).replace(",", "."))) <= 0.11


def test_test_send_delivers_the_real_message_to_the_editor(app, client, db, editor, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", smtp.url)
    make_article(db, "Chips aus Europa", canonical_url="https://ki-kompass.example/artikel/chips")
    issue = issues.create_issue_from_recent(
        db.session, 7, sender_name="KI-Kompass Redaktion", sender_address="redaktion@ki-kompass.example"
    )
    issue.subject, issue.intro = "Chips und mehr", "Guten **Morgen**!"
    db.session.commit()
    url = f"/staff/issues/{issue.id}/preview"
    response = client.post(
        f"/staff/issues/{issue.id}/test-send",
        data={"csrf_token": csrf_token(client, url), "variant": "failing"},
    )
    assert response.status_code == 302
    assert smtp.received == []  # queued, not sent by the web request
    run_jobs(app)
    [received] = smtp.received
    assert received.rcpt_tos == ["eda@example.org"]
    message = received.message
    assert message["Subject"] == "Chips und mehr"
    assert message["From"].addresses[0].display_name == "KI-Kompass Redaktion"
    text, html = message.get_payload()
    body = html.get_content()
    assert "Chips aus Europa" in body and "https://ki-kompass.example/artikel/chips" in body
    assert "<strong>Morgen</strong>" in body
    assert "nicht geklappt" in body  # the "failing" variant's ask
    assert "__BEITRAG_SLOT" not in body and "__BEITRAG_SLOT" not in text.get_content()
    assert f"http://localhost/archive/{issue.id}" in text.get_content()  # "im Browser lesen"
    assert all(len(line) <= 998 for line in received.raw.split(b"\r\n"))
    # The same bytes as the rendered issue, its slots holding the test's own links (a test token in place
    # of a reader's: tests/sending/test_test_sends.py follows them).
    unsubscribe = message["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert unsubscribe.startswith("http://localhost/unsubscribe/t-de-")
    expected = rendering.fill_slots(
        issues.render_issue(
            issue, "failing", base_url="http://localhost", secret_key=app.config["SECRET_KEY"]
        ),
        # A test send names no reader: its share link is the plain sign-up page.
        {"unsubscribe_url": unsubscribe, "preferences_url": f"{unsubscribe}/settings",
         "share_url": "http://localhost/subscribe"},
    )

    def same(a: str, b: str) -> bool:  # the transfer encoding ends lines with CRLF
        return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()

    assert same(body, expected.html) and same(text.get_content(), expected.text)


def test_cancelled_issue_cannot_be_changed(client, db, editor):
    a = make_article(db, "Ein Artikel")
    issue = issues.create_issue_from_recent(db.session, 7, sender_name="KI", sender_address="r@ki.example")
    db.session.commit()
    _action(client, issue.id, f"/staff/issues/{issue.id}/cancel")
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state == IssueState.CANCELLED
    _action(client, issue.id, f"/staff/issues/{issue.id}/articles/{a.id}/remove")
    assert _order(db, issue.id) == ["Ein Artikel"]
    response = _issue_form(client, f"/staff/issues/{issue.id}", subject="Geändert")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).subject == "Ein Artikel"


def test_missing_template_variable_fails_loudly(app, db, tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(Path(app.root_path) / "templates", folder)
    card = folder / "email/_partials/article_card.mjml"
    card.write_text(card.read_text().replace("{{ article.title }}", "{{ article.headline }}", 1))
    renderer = rendering.EmailRenderer(
        folder, {"newsroom_name": "KI", "postal_address": "Berlin", "base_url": "http://x"}
    )
    make_article(db, "Ein Artikel")
    issue = issues.create_issue_from_recent(db.session, 7, sender_name="KI", sender_address="r@ki.example")
    context = issues.issue_context(issue, "default", base_url="http://x")
    with pytest.raises(rendering.RenderError, match="headline"):
        renderer.render("issue_digest", context)


def test_broken_mjml_reaches_the_editor_and_sends_nothing(make_app, db, tmp_path, smtp):
    folder = tmp_path / "templates"
    shutil.copytree(Path(__file__).resolve().parents[2] / "templates", folder)
    body = folder / "email/issue_digest/body.mjml"
    body.write_text(body.read_text().replace("{% endfor %}", "<mj-section><mj-column>{% endfor %}"))
    app = make_app(EMAIL_TEMPLATE_FOLDER=str(folder), SMTP_URL=smtp.url)
    with app.app_context():
        client = app.test_client()
        sign_in(client, staff_user(db, "eda@example.org"))
        make_article(db, "Ein Artikel")
        issue = issues.create_issue_from_recent(
            db.session, 7, sender_name="KI", sender_address="r@ki.example"
        )
        db.session.commit()
        page = client.get(f"/staff/issues/{issue.id}/preview")
        assert page.status_code == 422
        assert "email/issue_digest/body.mjml: the MJML is not valid" in text_of(page)
        assert client.get(f"/staff/issues/{issue.id}/preview/frame").status_code == 422
        url = f"/staff/issues/{issue.id}/preview"
        token = csrf_token(client, "/staff/issues")
        client.post(f"/staff/issues/{issue.id}/test-send", data={"csrf_token": token, "variant": "default"})
        run_jobs(app)
        assert smtp.received == []
        assert "the MJML is not valid" in text_of(client.get(url))


def test_test_sends_are_rate_limited_per_issue(app, client, db, editor):
    from newsletter.platform.queues import get_queue

    make_article(db, "Ein Artikel")
    issue = issues.create_issue_from_recent(db.session, 7, sender_name="KI", sender_address="r@ki.example")
    db.session.commit()
    token = csrf_token(client, f"/staff/issues/{issue.id}/preview")
    codes = [
        client.post(
            f"/staff/issues/{issue.id}/test-send", data={"csrf_token": token, "variant": "default"}
        ).status_code
        for _ in range(31)
    ]
    assert codes[:20] == [302] * 20 and codes[20:] == [429] * 11
    assert get_queue("transactional").count == 20  # the refused ones queued nothing
