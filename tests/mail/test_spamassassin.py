"""SpamAssassin's verdict on what readers get: a standard issue (eight articles with images, digest layout,
a preheader, sent through the send path to a real SMTP server, DKIM-signed with the test key as production
signs), the confirmation a sign-up sends and the receipt a paid donation sends, each as it arrived at the
test's SMTP server. Debian's SpamAssassin, local rules only
(no network tests); each must score 1.0 or less, and the rules that hit are printed either way (`pytest -s`).
Skipped where spamassassin is not installed (``.ci/run`` installs it)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db import utcnow
from newsletter.editorial.models import Article, Issue, IssueLayout
from newsletter.mail import rendering
from tests.editorial.factories import make_issue
from tests.payments.factories import donate
from tests.readers.factories import make_newsletter, make_reader
from tests.readers.web import sign_up
from tests.sending.factories import start_send
from tests.support import spamassassin
from tests.support import stripe_api as s
from tests.support.dkim import dkim_verifies
from tests.support.worker import run_jobs

pytestmark = [
    pytest.mark.slow,  # about two seconds of Perl per message
    pytest.mark.skipif(spamassassin.SPAMASSASSIN is None, reason="spamassassin is not installed "
                       "(apt-get install --no-install-recommends spamassassin; .ci/run does)"),
]  # fmt: skip

CEILING = 1.0
BASE = "https://ki-kompass.example"


@pytest.fixture
def newsroom(app, monkeypatch):
    """The newsroom at its public address, as in production (the tests' default is http://localhost)."""
    monkeypatch.setitem(app.config, "BASE_URL", BASE)
    monkeypatch.setitem(rendering.get_renderer(app).env.globals, "base_url", BASE)
    monkeypatch.setitem(app.config, "BOUNCE_DOMAIN", "bounces.ki-kompass.example")
    return app


def _score(raw: bytes, tmp_path, what: str) -> spamassassin.Report:
    try:
        report = spamassassin.check(raw, tmp_path / "home")
    except spamassassin.NoRules as exc:
        pytest.skip(f"spamassassin has no rules here (run sa-update where there is network): {exc}")
    print(f"SpamAssassin, {what}: {report}")
    return report


def _realistic(received) -> None:
    message = received.message
    assert message["From"].addresses[0].addr_spec == "redaktion@ki-kompass.example"
    assert message["Date"] and message["Message-ID"].endswith("@ki-kompass.example>")
    assert message["DKIM-Signature"]
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]


def _standard_issue(db) -> Issue:
    news = make_newsletter(db, is_default=True)
    make_reader(db, "leser@example.org", newsletters=[news])
    now = utcnow()
    articles = []
    for n in range(8):
        article = Article(
            slug=f"meldung-{n}",
            title=f"Meldung {n}: Was das neue Sprachmodell für Behörden und Schulen bedeutet",
            teaser="Städte und Gemeinden testen Sprachmodelle für Bürgeranfragen. Wir haben nachgefragt, "
            "was gut läuft, wo es hakt und wer haftet, wenn die Maschine irrt.",
            author="Mara Schulz",
            canonical_url=f"{BASE}/artikel/meldung-{n}",
            image_url=f"{BASE}/bilder/meldung-{n}.jpg",
            image_credit="Foto: Redaktion",
            published_at=now - timedelta(hours=n),
        )
        db.session.add(article)
        articles.append(article)
    return make_issue(
        db, articles=articles, newsletters=[news], subject="Die KI-Woche: Ämter, Schulen und Sprachmodelle",
        preheader="Die Woche in fünf Minuten", layout=IssueLayout.DIGEST,
        intro="Liebe Leserinnen und Leser,\n\nheute mit **drei Schwerpunkten**.",
    )  # fmt: skip


def test_a_standard_issue_scores_at_most_one_point(newsroom, db, relay, signed, tmp_path):
    start_send(db, _standard_issue(db))
    run_jobs(newsroom)
    [received] = relay.received
    _realistic(received)
    assert received.message["List-Unsubscribe"].startswith(f"<{BASE}/")
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert dkim_verifies(received.raw, signed) and len(received.raw) > 20_000
    report = _score(received.raw, tmp_path, "standard issue")
    assert report.score <= CEILING, report
    assert "HTML_FONT_LOW_CONTRAST" not in report.hits, report  # the preheader is not white on white


def test_the_confirmation_of_a_sign_up_scores_at_most_one_point(newsroom, client, db, relay, signed,
                                                                tmp_path):  # fmt: skip
    make_newsletter(db, is_default=True)
    db.session.commit()
    assert sign_up(client, "leser@example.org").status_code in (200, 302, 303)
    run_jobs(newsroom)
    [received] = relay.received
    _realistic(received)
    assert received.message["Auto-Submitted"] == "auto-generated"
    assert dkim_verifies(received.raw, signed)
    report = _score(received.raw, tmp_path, "confirmation")
    assert report.score <= CEILING, report


def test_a_donation_receipt_scores_at_most_one_point(newsroom, client, db, relay, signed, stripe_api,
                                                     tmp_path):  # fmt: skip
    donation = donate(client, db)
    s.post_event(client, s.event("checkout.session.completed", s.completed_session(donation)))
    run_jobs(newsroom)
    [received] = relay.received
    _realistic(received)
    assert received.message["Subject"].startswith("Danke für Ihre Spende – Quittung B-")
    assert dkim_verifies(received.raw, signed)
    report = _score(received.raw, tmp_path, "donation receipt")
    assert report.score <= CEILING, report
