"""Send safely: Send opens a confirmation page that names the newsletters and the exact number of readers,
warns about what an editor should know first, and only that page's form (with its CSRF token) starts the
send. An issue with nothing in it is not offered for sending at all."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.readers import addresses, subscribers
from newsletter.readers.models import SubscriberStatus, SuppressionReason
from newsletter.sending import progress
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_newsletter, make_reader
from tests.staff.factories import sign_in, staff_user
from tests.support.web import csrf_token, text_of


@pytest.fixture
def issue(db):
    ki = make_newsletter(db, is_default=True)
    weekly = make_newsletter(db, "woche", "Wochenrückblick")
    other = make_newsletter(db, "alltag", "KI im Alltag")
    for i in range(4):
        make_reader(db, f"leser{i}@example.org", newsletters=[ki])
    make_reader(db, "beide@example.org", newsletters=[ki, weekly])  # on both: counted once
    make_reader(db, "woche@example.org", newsletters=[weekly])
    make_reader(db, "anderswo@example.org", newsletters=[other])  # another list: not counted
    make_reader(db, "offen@example.org", status=SubscriberStatus.PENDING, newsletters=[ki])
    make_reader(db, "pause@example.org", newsletters=[ki], paused_until=utcnow() + timedelta(days=3))
    leaving = make_reader(db, "weg@example.org", newsletters=[ki])
    subscribers.unsubscribe(db.session, leaving, via="test")  # unsubscribed (and suppressed) the real way
    complained = make_reader(db, "spam@example.org", status=SubscriberStatus.COMPLAINED, newsletters=[ki])
    addresses.suppress(db.session, complained.email, SuppressionReason.COMPLAINED)
    article = make_article(db, "Sprachmodelle erklärt", teaser="Was steckt dahinter?", body="Text")
    return make_issue(db, articles=[article], newsletters=[ki, weekly])


@pytest.fixture
def editor(client, db):
    return sign_in(client, staff_user(db, "eda@example.org"))


def _warnings(page: str) -> set[str]:
    return set(re.findall(r'data-warning="([a-z_]+)"', page))


def test_send_opens_a_confirmation_with_the_newsletters_and_the_exact_count(app, client, db, issue, editor):
    edit = f"/staff/issues/{issue.id}"
    page = text_of(client.get(edit))
    assert "Jetzt senden …" in page and f'method="post" action="{edit}/send"' not in page  # a link

    confirm = client.get(f"{edit}/send")
    assert confirm.status_code == 200
    page = text_of(confirm)
    # 4 + the reader on both newsletters + the weekly reader; not the reader on another list, the pending,
    # paused, unsubscribed or complained (suppressed) ones.
    assert "Diese Ausgabe geht an 6 Leser*innen von: KI-News täglich, Wochenrückblick." in page
    assert "Jetzt an 6 Leser*innen senden" in page
    assert progress.progress(db.session, issue.id)["total"] == 0  # looking sends nothing

    response = client.post(f"{edit}/send", data={"csrf_token": csrf_token(client, f"{edit}/send")})
    assert response.status_code == 302
    assert "Der Versand an 6 Leser*innen hat begonnen" in text_of(client.get(edit))
    assert progress.progress(db.session, issue.id)["total"] == 6  # the rows the send wrote: the same number


def test_the_send_without_its_csrf_token_is_refused(client, db, issue, editor):
    response = client.post(f"/staff/issues/{issue.id}/send", data={})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.DRAFT
    assert progress.progress(db.session, issue.id)["total"] == 0


def test_an_issue_without_articles_and_intro_is_not_offered_and_cannot_be_sent(client, db, issue, editor):
    empty = make_issue(db, subject="Leer", newsletters=issue.newsletters)
    edit = f"/staff/issues/{empty.id}"
    page = text_of(client.get(edit))
    assert "kann noch nicht gesendet werden: fügen Sie vor dem Senden mindestens einen Artikel" in page
    assert "Jetzt senden" not in page

    shown = client.get(f"{edit}/send")  # typed by hand: back to the issue, with the reason
    assert shown.status_code == 302
    assert "nicht gesendet" in text_of(client.get(shown.headers["Location"]))

    token = csrf_token(client, edit)
    refused = client.post(f"{edit}/send", data={"csrf_token": token})
    assert "Die Ausgabe wurde nicht gesendet" in text_of(client.get(refused.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Issue, empty.id).state is IssueState.DRAFT
    assert progress.progress(db.session, empty.id)["total"] == 0


def test_the_confirmation_warns_before_a_first_test_and_without_donations(app, client, db, issue, editor):
    assert not app.config["STRIPE_SECRET_KEY"]
    page = text_of(client.get(f"/staff/issues/{issue.id}/send"))
    assert _warnings(page) == {"untested", "donations_off"}
    assert "Von dieser Ausgabe wurde noch kein Test gesendet" in page
    assert "Spenden sind nicht eingerichtet" in page
    assert "Jetzt an 6 Leser*innen senden" in page  # warnings do not block


def test_no_warning_after_a_test_send_with_donations_set_up(app, client, db, issue, editor, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_confirm")
    preview = f"/staff/issues/{issue.id}/preview"
    sent = client.post(f"/staff/issues/{issue.id}/test-send",
                       data={"csrf_token": csrf_token(client, preview), "variant": "default"})  # fmt: skip
    assert "ist unterwegs" in text_of(client.get(sent.headers["Location"]))
    page = text_of(client.get(f"/staff/issues/{issue.id}/send"))
    assert _warnings(page) == set()
    assert "Bevor Sie senden" not in page


def test_the_confirmation_warns_when_gmail_would_clip_the_issue(app, client, db, issue, editor):
    issue.intro = "Ein langer Satz über Sprachmodelle und ihre Grenzen. " * 2500  # about 130 KB of HTML
    db.session.commit()
    page = text_of(client.get(f"/staff/issues/{issue.id}/send"))
    assert "clipped" in _warnings(page)
    assert "Gmail zeigt nur die ersten 102 KB" in page


def test_scheduling_goes_through_the_same_confirmation(client, db, issue, editor):
    edit = f"/staff/issues/{issue.id}"
    when = f"{utcnow().year + 1}-06-01T07:00"
    confirm = client.get(f"{edit}/send", query_string={"send_at": when})
    page = text_of(confirm)
    assert "Ausgabe planen?" in page and "Diese Ausgabe geht an 6 Leser*innen" in page
    assert "1. Juni" in page and "untested" in _warnings(page)
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.DRAFT  # looking schedules nothing

    token = csrf_token(client, f"{edit}/send?send_at={when}")
    response = client.post(f"{edit}/schedule", data={"csrf_token": token, "send_at": when})
    assert "Die Ausgabe wird am" in text_of(client.get(response.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).state is IssueState.SCHEDULED

    no_time = client.get(f"{edit}/send", query_string={"send_at": ""})
    assert no_time.status_code == 302
