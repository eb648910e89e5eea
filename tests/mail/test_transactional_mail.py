"""Transactional mail end to end: a staff button queues it, a worker renders the MJML template and hands it
to a real SMTP server, and the message that arrives is what a reader's mail program would show.
Bad inputs tried: a relay answering 451 (retried later, not lost), a template with a missing variable,
broken MJML, a header value with a line break."""

from __future__ import annotations

import pytest
from rq.registry import ScheduledJobRegistry

from newsletter.mail import mime, rendering
from newsletter.mail.tasks import queue_transactional_mail
from newsletter.platform.queues import get_queue
from tests.staff.factories import sign_in, staff_user
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


def test_staff_test_message_arrives_as_a_readable_german_mail(app, client, db, relay):
    sign_in(client, staff_user(db, "eda@example.org"))
    response = client.post("/staff/test-mail", data={"csrf_token": csrf_token(client, "/staff/")})
    assert response.status_code == 302
    assert "ist unterwegs" in text_of(client.get("/staff/"))
    assert relay.received == []  # queued, not sent from the web request
    run_jobs(app)
    [received] = relay.received
    assert received.rcpt_tos == ["eda@example.org"]
    message = received.message
    assert message["Subject"] == "Testnachricht von KI-Kompass"
    assert message["From"].addresses[0].display_name == "KI-Kompass"
    assert message["Message-ID"].endswith("@ki-kompass.example>")
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_payload()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert "Ihre Mail-Einstellungen funktionieren" in text.get_content()
    assert "Ihre Mail-Einstellungen funktionieren" in html.get_content()
    assert "fonts.googleapis" not in html.get_content()
    assert all(len(line) <= 998 for line in received.raw.split(b"\r\n"))


def test_english_staff_get_the_message_in_english(app, client, db, relay):
    sign_in(client, staff_user(db, "eda@example.org"))
    client.get("/staff/?lang=en")
    client.post("/staff/test-mail", data={"csrf_token": csrf_token(client, "/staff/")})
    run_jobs(app)
    assert relay.messages[0]["Subject"] == "Test message from KI-Kompass"


def test_a_temporary_refusal_is_retried_later_not_lost(app, relay):
    relay.replies.append("451 4.3.0 Try again later")
    job = queue_transactional_mail("test_message", "leser@example.org", {})
    run_jobs(app)
    assert relay.received == []
    assert job.id in ScheduledJobRegistry(queue=get_queue("transactional")).get_job_ids()


def test_missing_template_variable_fails_loudly(app):
    renderer = rendering.EmailRenderer(app.root_path + "/templates", globals_={})  # no newsroom_name
    with pytest.raises(rendering.RenderError, match="'newsroom_name' is undefined"):
        renderer.render("test_message", {})


def test_broken_mjml_is_a_readable_error():
    with pytest.raises(rendering.RenderError, match="the MJML is not valid"):
        rendering.mjml_to_html("<mjml><mj-body><mj-section>", origin="email/x/body.mjml")


def test_header_values_with_line_breaks_are_refused():
    rendered = rendering.RenderedEmail(subject="Hallo\r\nBcc: opfer@example.org", html="<p>x</p>", text="x")
    with pytest.raises(mime.HeaderInjection):
        mime.build_transactional(
            rendered, sender_name="KI", sender_address="a@ki.example", to="b@example.org"
        )
    safe = rendering.RenderedEmail(subject="Hallo", html="<p>x</p>", text="x")
    with pytest.raises(mime.HeaderInjection):
        mime.build_transactional(
            safe, sender_name="KI", sender_address="a@ki.example", to="b@example.org\nBcc: c@x"
        )
