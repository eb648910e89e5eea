"""No send from a sender that fails DMARC: an issue whose sender address does not share its organisational
domain with the DKIM signing domain and the bounce domain cannot be sent through the staff confirmation, the
CLI or a schedule, and the editor is told which records to publish; saving such an issue works, with a
warning. An aligned sender on a subdomain sends, and what a real SMTP server received has From, DKIM d= and
Return-Path on one organisational domain."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parseaddr

import pytest
from sqlalchemy import func, select

from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.mail import alignment, signing
from newsletter.platform.audit import AuditEntry
from newsletter.sending import control, progress
from newsletter.sending.models import Delivery
from tests.sending.factories import issue_with_readers
from tests.staff.factories import sign_in, staff_user
from tests.support.dkim import DKIM_SELECTOR, dkim_verifies
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


@pytest.fixture
def elsewhere(app, dkim_key_file, monkeypatch) -> signing.DKIMKey:
    """The settings of the issue report: mail signed and bounced on news.example.org."""
    key = signing.load_key(str(dkim_key_file), DKIM_SELECTOR, "news.example.org")
    monkeypatch.setitem(app.config, "DKIM_KEY", key)
    monkeypatch.setitem(app.config, "BOUNCE_DOMAIN", "news.example.org")
    return key


@pytest.fixture
def editor(client, db):
    return sign_in(client, staff_user(db, "eda@example.org"))


def _rows(db, issue_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.issue_id == issue_id))


def _state(db, issue_id: int) -> IssueState:
    db.session.expire_all()
    return db.session.get(Issue, issue_id).state


def test_the_staff_confirmation_refuses_a_misaligned_sender(app, client, db, elsewhere, editor):
    issue = issue_with_readers(db)  # from redaktion@ki-kompass.example
    edit = f"/staff/issues/{issue.id}"
    page = text_of(client.get(edit))
    assert "kann noch nicht gesendet werden" in page and "_dmarc.ki-kompass.example" in page
    assert "Jetzt senden" not in page

    shown = client.get(f"{edit}/send")
    assert shown.status_code == 302
    refused = client.post(f"{edit}/send", data={"csrf_token": csrf_token(client, edit)})
    message = text_of(client.get(refused.headers["Location"]))
    assert "Die Ausgabe wurde nicht gesendet" in message
    assert f"{DKIM_SELECTOR}._domainkey.ki-kompass.example" in message
    assert "_dmarc.ki-kompass.example" in message and "v=spf1" in message
    assert _rows(db, issue.id) == 0 and _state(db, issue.id) is IssueState.DRAFT


def test_the_cli_refuses_a_misaligned_sender(app, db, runner, elsewhere):
    issue = issue_with_readers(db)
    result = runner.invoke(args=["newsletter", "send", str(issue.id)])
    assert result.exit_code != 0
    assert "_domainkey.ki-kompass.example" in result.output and "_dmarc.ki-kompass.example" in result.output
    assert _rows(db, issue.id) == 0 and _state(db, issue.id) is IssueState.DRAFT


def test_a_scheduled_issue_that_stops_aligning_fails_visibly(app, db, client, editor, monkeypatch):
    issue = issue_with_readers(db)
    control.schedule(db.session, issue, utcnow() + timedelta(hours=1), app.config)
    # Before the time comes, the bounce domain moves to another organisation's domain.
    monkeypatch.setitem(app.config, "BOUNCE_DOMAIN", "bounces.news.example.org")
    assert (
        control.start_scheduled(db.session, issue.id, app.config, now=utcnow() + timedelta(hours=2)) is None
    )
    assert _rows(db, issue.id) == 0 and _state(db, issue.id) is IssueState.DRAFT
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "issue.schedule_failed")).one()
    assert entry.target_id == str(issue.id) and "_dmarc.ki-kompass.example" in entry.detail["reason"]
    page = text_of(client.get(f"/staff/issues/{issue.id}"))
    assert "kann noch nicht gesendet werden" in page and "bounces.news.example.org" in page


def test_scheduling_a_misaligned_sender_is_refused(app, db, elsewhere):
    issue = issue_with_readers(db)
    with pytest.raises(control.SendError):
        control.schedule(db.session, issue, utcnow() + timedelta(hours=1), app.config)
    assert _state(db, issue.id) is IssueState.DRAFT


def test_saving_warns_but_saves(app, client, db, editor):
    issue = issue_with_readers(db)
    edit = f"/staff/issues/{issue.id}"
    fields = {"csrf_token": csrf_token(client, edit), "subject": issue.subject, "sender_name": "KI-Kompass",
              "sender_address": "redaktion@news.example.org", "layout": "digest",
              "newsletters": [str(n.id) for n in issue.newsletters]}  # fmt: skip
    saved = client.post(edit, data=fields)
    assert saved.status_code == 302
    page = text_of(client.get(saved.headers["Location"]))
    assert "Die Ausgabe ist gespeichert" in page
    assert "kann mit dieser Absenderadresse nicht gesendet werden" in page and "_dmarc.example.org" in page
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).sender_address == "redaktion@news.example.org"

    fields["sender_address"] = "redaktion@ki-kompass.example"
    again = text_of(client.get(client.post(edit, data=fields).headers["Location"]))
    assert "Die Ausgabe ist gespeichert" in again and "nicht gesendet werden" not in again


def test_an_aligned_subdomain_sender_sends_with_one_organisational_domain(app, client, db, relay, editor,
                                                                       signed, monkeypatch):  # fmt: skip
    monkeypatch.setitem(app.config, "BOUNCE_DOMAIN", "bounces.ki-kompass.example")
    issue = issue_with_readers(db, sender_address="brief@news.ki-kompass.example")
    edit = f"/staff/issues/{issue.id}"
    sent = client.post(f"{edit}/send", data={"csrf_token": csrf_token(client, f"{edit}/send")})
    assert "Der Versand an 3 Leser*innen hat begonnen" in text_of(client.get(sent.headers["Location"]))
    run_jobs(app)
    relay.wait_for(3)
    assert progress.progress(db.session, issue.id)["sent"] == 3
    for received in relay.received:
        assert dkim_verifies(received.raw, signed)
        from_domain = parseaddr(received.message["From"])[1].rpartition("@")[2]
        tags = dict(
            p.strip().split("=", 1) for p in "".join(received.message["DKIM-Signature"].split()).split(";")
        )
        envelope_domain = received.mail_from.rpartition("@")[2]
        assert (from_domain, tags["d"], envelope_domain) == (
            "news.ki-kompass.example",
            "ki-kompass.example",
            "bounces.ki-kompass.example",
        )
        assert {alignment.organisational_domain(d) for d in (from_domain, tags["d"], envelope_domain)} == {
            "ki-kompass.example"}  # fmt: skip
