"""The captured-mail viewer of development: pages of 50 with the count, a search by recipient or subject,
the HTML part in a sandboxed frame whose links open in a new tab, and links in the text part.

Messages arrive through the real capture server (aiosmtpd) over SMTP. Bad inputs tried: a mail whose text
and HTML carry <script> and a javascript: address (escaped text, no link; no scripts in the frame), a
search far longer than allowed, a page number out of range, and the viewer signed out."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage

import pytest

from newsletter.mail import capture as mail_capture
from tests.staff.factories import sign_in
from tests.support.smtp import free_port
from tests.support.web import text_of


@pytest.fixture
def folder(tmp_path):
    """The capture server's folder, with 57 messages to leser00..leser56 (subject "Ausgabe NN") and one
    hostile one, sent in one SMTP session."""
    port = free_port()
    controller = mail_capture.serve(tmp_path / "mail", port=port)
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for n in range(57):
                msg = EmailMessage()
                msg["From"] = "KI-Kompass <redaktion@ki-kompass.example>"
                msg["To"] = f"leser{n:02d}@example.org"
                msg["Subject"] = f"Ausgabe {n:02d}" + (" Spendenaufruf" if n % 10 == 0 else "")
                msg.set_content(f"Hallo {n}")
                smtp.send_message(msg)
            msg = EmailMessage()
            msg["From"] = "KI-Kompass <redaktion@ki-kompass.example>"
            msg["To"] = "boese@example.org"
            msg["Subject"] = "Böse Post"
            msg.set_content(
                "Lesen Sie https://ki-kompass.example/a?x=1&y=2. Und <script>alert(1)</script> "
                'javascript:alert(2) "https://ki-kompass.example/zitat" (https://ki-kompass.example/klammer)'
            )
            msg.add_alternative(
                '<html><head><title>t</title></head><body><a href="https://ki-kompass.example/">Link</a>'
                "<script>alert(3)</script></body></html>",
                subtype="html",
            )
            smtp.send_message(msg)
    finally:
        controller.stop()
    return tmp_path / "mail"


@pytest.fixture
def viewer(make_app, folder, db):
    app = make_app(MAIL_CAPTURE_VIEWER=True, MAIL_CAPTURE_DIR=str(folder))
    with app.app_context():
        client = app.test_client()
        sign_in(client)  # an editor
        yield client


def _subjects(page: str) -> list[str]:
    return re.findall(r'href="/staff/dev/mail/[^"]+">([^<]+)</a>', page)


def test_pages_of_fifty_with_the_count(viewer):
    first = text_of(viewer.get("/staff/dev/mail"))
    assert 'data-mail-total="58"' in first and "58 Nachrichten abgefangen." in first
    assert len(_subjects(first)) == 50 and _subjects(first)[0] == "Böse Post"  # newest first
    assert "Seite 1 von 2" in first and 'rel="next" href="/staff/dev/mail?page=2"' in first
    second = text_of(viewer.get("/staff/dev/mail?page=2"))
    assert len(_subjects(second)) == 8 and _subjects(second)[-1] == "Ausgabe 00 Spendenaufruf"
    assert "Seite 2 von 2" in second and 'rel="prev"' in second and 'rel="next"' not in second
    assert not set(_subjects(first)) & set(_subjects(second))
    assert "Seite 2 von 2" in text_of(viewer.get("/staff/dev/mail?page=99"))  # out of range: the last
    assert "Seite 1 von 2" in text_of(viewer.get("/staff/dev/mail?page=abc"))


def test_search_by_recipient_or_subject(viewer):
    by_subject = text_of(viewer.get("/staff/dev/mail?q=spendenaufruf"))
    assert "6 Nachrichten passen." in by_subject
    assert sorted(_subjects(by_subject)) == [f"Ausgabe {n:02d} Spendenaufruf" for n in range(0, 57, 10)]
    by_recipient = text_of(viewer.get("/staff/dev/mail?q=leser42%40example.org"))
    assert "1 Nachricht passt." in by_recipient and _subjects(by_recipient) == ["Ausgabe 42"]
    none = viewer.get("/staff/dev/mail?q=" + "x" * 5000)
    assert none.status_code == 200 and "Keine abgefangene Mail passt" in text_of(none)
    assert 'value="' + "x" * 200 + '"' in text_of(none)  # the query is cut to 200 characters


def test_text_links_and_a_sandboxed_frame_whose_links_open_in_a_new_tab(viewer, folder):
    [hostile] = [m for m in mail_capture.list_messages(folder) if m.subject == "Böse Post"]
    page = text_of(viewer.get(f"/staff/dev/mail/{hostile.name}"))
    text = page.split('<pre class="mail-text">', 1)[1].split("</pre>", 1)[0]
    assert (
        '<a href="https://ki-kompass.example/a?x=1&amp;y=2" target="_blank" rel="noopener noreferrer">'
        "https://ki-kompass.example/a?x=1&amp;y=2</a>." in text
    )  # the full stop after it is not part of the link
    assert '<a href="https://ki-kompass.example/klammer" ' in text and "klammer</a>)" in text
    assert '<a href="https://ki-kompass.example/zitat" ' in text and "zitat</a>&#34;" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script" not in text
    assert 'href="javascript' not in text and "javascript:alert(2)" in text
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert "allow-scripts" not in page and "allow-same-origin" not in page

    frame = viewer.get(f"/staff/dev/mail/{hostile.name}/html")
    policy = frame.headers["Content-Security-Policy"]
    assert "sandbox allow-popups allow-popups-to-escape-sandbox" in policy and "allow-scripts" not in policy
    assert "default-src 'none'" in policy  # no script runs in the frame, whatever the mail holds
    assert '<head><base target="_blank"><title>' in text_of(frame)


def test_the_viewer_refuses_a_visitor_without_a_staff_session(make_app, folder, db):
    app = make_app(MAIL_CAPTURE_VIEWER=True, MAIL_CAPTURE_DIR=str(folder))
    with app.app_context():
        visitor = app.test_client()
        name = mail_capture.list_messages(folder)[0].name
        for path in ("/staff/dev/mail", "/staff/dev/mail?q=leser", f"/staff/dev/mail/{name}",
                     f"/staff/dev/mail/{name}/html"):  # fmt: skip
            response = visitor.get(path)
            assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
