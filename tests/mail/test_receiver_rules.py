"""What receivers' software reads besides the words: every transactional mail says ``Auto-Submitted:
auto-generated`` (RFC 3834), so out-of-office replies stay away from confirmations and receipts, and the
signature covers that mark; a newsletter issue says ``Precedence: bulk`` beside its List-* headers and no
Auto-Submitted; the preheader is hidden in the message without the white-on-white text SpamAssassin scores.
Every kind is sent through the worker and the relay to a real SMTP server (aiosmtpd) and read there.
Bad inputs tried: a second Auto-Submitted put in front of a signed mail, and one taken away (the signature
breaks), markup in an editor's preheader (escaped), an empty preheader (nothing hidden is written)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.editorial import issues
from newsletter.mail import rendering
from newsletter.mail.tasks import queue_transactional_mail
from tests.sending.factories import issue_with_readers, start_send
from tests.support.dkim import dkim_verifies, signed_headers
from tests.support.worker import run_jobs

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"
BASE = "https://ki-kompass.example"

# One context per transactional template, as the code that queues it builds it. A new template without
# an entry here fails the test below: every kind has to be looked at.
CONTEXTS = {
    "confirm_subscription": {"confirm_url": f"{BASE}/confirm/abc", "newsletter_names": ["KI-News täglich"]},
    "preferences_link": {"preferences_url": f"{BASE}/preferences/abc"},
    "test_message": {},
    "staff_invitation": {"invitation_url": f"{BASE}/staff/invitation/abc", "role": "editor",
                         "inviter": "Mara Schulz", "hours": 72},
    "staff_password_reset": {"reset_url": f"{BASE}/staff/reset/abc", "hours": 2},
    "digest_draft": {"digest_subject": "KI am Morgen", "newsletter": "KI-News täglich", "articles": 3,
                     "slot": "07.12.2026 07:00", "held": False, "reason": "",
                     "issue_url": f"{BASE}/staff/issues/7"},
    "donation_receipt": {"amount": "5,00 €", "monthly": False, "first": True, "paid_on": "7. Dezember 2026",
                         "receipt_number": "B-1-1", "donate_url": f"{BASE}/spenden"},
    "donation_card_failed": {"amount": "5,00 €", "monthly": True, "manage_url": f"{BASE}/spenden/verwalten",
                             "donate_url": f"{BASE}/spenden"},
    "donation_ended": {"amount": "5,00 €", "monthly": True, "donate_url": f"{BASE}/spenden"},
    "tax_receipt": {"number": "ZB-000042", "year": 2026, "collective": True},
    "giving_statement": {"year": 2026, "address": "leser@example.org", "total": "15,00 €", "note": None,
                         "lines": [{"date": "07.12.2026", "amount": "15,00 €", "monthly": False}]},
}  # fmt: skip
ISSUE_TEMPLATES = {"issue_digest", "issue_feature"}
# Sent by a job of their own with the list headers of an issue; their tests check the same rules.
OWN_JOB_TEMPLATES = {"welcome": "tests/sending/test_welcome_mail.py"}


def _transactional_templates() -> list[str]:
    return sorted(p.name for p in TEMPLATES.iterdir() if p.is_dir() and not p.name.startswith("_"))


def test_every_template_is_either_an_issue_or_a_known_transactional_kind():
    assert set(_transactional_templates()) == set(CONTEXTS) | ISSUE_TEMPLATES | set(OWN_JOB_TEMPLATES)


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_every_transactional_kind_arrives_auto_generated_and_signed_so(app, relay, signed, template):
    queue_transactional_mail(template, "leser@example.org", CONTEXTS[template], locale="de")
    run_jobs(app)
    [received] = relay.received
    message = received.message
    assert message.get_all("Auto-Submitted") == ["auto-generated"]
    assert dkim_verifies(received.raw, signed)
    assert "auto-submitted" in signed_headers(received.raw)
    html = message.get_body(("html",)).get_content()
    assert 'class="preheader"' in html and "color:#ffffff;line-height:1px" not in html  # not mj-preview's


def test_a_changed_auto_submitted_breaks_the_signature(app, relay, signed):
    queue_transactional_mail("confirm_subscription", "leser@example.org", CONTEXTS["confirm_subscription"])
    run_jobs(app)
    raw = relay.received[0].raw
    assert dkim_verifies(raw, signed)
    assert not dkim_verifies(b"Auto-Submitted: no\r\n" + raw, signed)  # a second one in front
    stripped = re.sub(rb"(?m)^Auto-Submitted: auto-generated\r\n", b"", raw, count=1)
    assert stripped != raw and not dkim_verifies(stripped, signed)  # taken away on the way


def test_a_newsletter_issue_is_bulk_list_mail_not_auto_generated(app, db, relay, signed):
    issue = issue_with_readers(db, readers=["leser@example.org"], preheader="Chips <b>& Agenten</b>")
    start_send(db, issue)
    run_jobs(app)
    [received] = relay.received
    message = received.message
    assert message["Precedence"] == "bulk"
    assert message["List-Id"] and message["List-Unsubscribe"]
    assert message["Auto-Submitted"] is None
    assert dkim_verifies(received.raw, signed)
    assert not dkim_verifies(b"Auto-Submitted: auto-generated\r\n" + received.raw, signed)

    html = message.get_body(("html",)).get_content()
    body = html[html.index("<body") :]
    first_text = re.search(r">([^<>]+)<", body[body.index(">") + 1 :]).group(1)
    assert first_text == "Chips &lt;b&gt;&amp; Agenten&lt;/b&gt;"  # first in the body: the inbox preview
    [style] = re.findall(r'<div class="preheader" style="([^"]*)"', html)
    assert "display:none" in style and "max-height:0" in style and "opacity:0" in style
    assert "color:#1d2330" in style and "font-size:1px" not in style
    assert "color:#ffffff;line-height:1px" not in html  # mj-preview's white div is gone


def test_without_a_preheader_nothing_hidden_is_written(app, db):
    issue = issue_with_readers(db, preheader="")
    rendered = issues.render_issue(issue, base_url=BASE, locale="de")
    assert 'class="preheader"' not in rendered.html
    assert 'class="preheader"' in rendering.render_email("test_message", {}, "de").html
