"""The development mail capture: a real SMTP conversation, and staff reading the message in the browser."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from newsletter.mail import capture as mail_capture
from tests.staff.factories import sign_in
from tests.support.smtp import free_port
from tests.support.web import text_of


@pytest.fixture
def capture(tmp_path):
    port = free_port()
    controller = mail_capture.serve(tmp_path / "mail", port=port)
    yield tmp_path / "mail", port
    controller.stop()


def _send(port: int, subject: str, html: str) -> None:
    msg = EmailMessage()
    msg["From"] = "KI-Kompass <redaktion@ki-kompass.example>"
    msg["To"] = "leserin@example.org"
    msg["Subject"] = subject
    msg.set_content("Hallo im Klartext")
    msg.add_alternative(html, subtype="html")
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(msg)


def test_captured_mail_is_readable_by_staff(app, make_app, capture):
    folder, port = capture
    _send(port, "Bitte bestätigen Sie Ihre Anmeldung", "<p>Hallo <b>HTML</b></p>")
    app = make_app(MAIL_CAPTURE_VIEWER=True, MAIL_CAPTURE_DIR=str(folder))
    with app.app_context():
        client = app.test_client()
        sign_in(client)  # an editor
        index = text_of(client.get("/staff/dev/mail"))
        assert "Bitte bestätigen Sie Ihre Anmeldung" in index and "leserin@example.org" in index
        name = mail_capture.list_messages(folder)[0].name
        page = text_of(client.get(f"/staff/dev/mail/{name}"))
        assert "Hallo im Klartext" in page
        assert "sandbox" in page
        html = client.get(f"/staff/dev/mail/{name}/html")
        assert b"<b>HTML</b>" in html.data
        assert "sandbox" in html.headers["Content-Security-Policy"]
        assert html.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert client.get("/staff/dev/mail/..%2Fsecret_key").status_code == 404


def test_capture_viewer_does_not_exist_outside_development(client, db):
    sign_in(client)  # an editor
    assert client.get("/staff/dev/mail").status_code == 404
