"""Welcome mails: a reader who confirms gets the newsletter's welcome once, through the outbox, the queue
and a real SMTP server, in their language, with the list headers and footer an issue carries.

Bad inputs tried: the confirmation clicked twice, the row's job run twice and two sessions writing the
row at once, a welcome turned off, a delay not yet passed, a reader who left before it was due, a subject
of 5,000 characters and one with a line break, a script and an ``onerror`` in the Markdown, a delay of a
year, an unknown article, the edit form without CSRF token, signed out, and a test send without token."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.editorial import issues
from newsletter.editorial.models import IssueState
from newsletter.mail import smtp
from newsletter.platform.access import StaffRole
from newsletter.readers import subscribers, welcome_mails
from newsletter.readers.models import NewsletterWelcome, Subscriber, SubscriberStatus, WelcomeMail
from newsletter.sending import welcome
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_newsletter, make_pending_reader
from tests.staff.factories import sign_in, sign_out
from tests.support.dkim import dkim_verifies
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


@pytest.fixture
def news(db):
    newsletter = make_newsletter(db, "ki-news", "KI-News täglich", name_en="AI News Daily", is_default=True)
    db.session.commit()
    return newsletter


def _turn_on(db, newsletter, **fields) -> NewsletterWelcome:
    data = welcome.WelcomeInput(
        enabled=True, subject="Willkommen bei den KI-News", subject_en="Welcome to AI News",
        intro="Schön, dass Sie **da** sind.", intro_en="Glad to have you **here**.", content="latest_issue",
    )  # fmt: skip
    for name, value in fields.items():
        setattr(data, name, value)
    saved = welcome.save_welcome(db.session, newsletter.id, data)
    db.session.commit()
    return saved


def _sent_issue(db, newsletter, subject="Die KI-Woche", **fields):
    article = make_article(db, "Sprachmodelle erklärt", teaser="Was steckt dahinter?", body="Text")
    issue = make_issue(db, articles=[article], newsletters=[newsletter], subject=subject, **fields)
    issues.seal_for_sending(issue)
    issue.state, issue.sent_at = IssueState.SENT, utcnow()
    db.session.commit()
    return issue


def _confirm_link(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"http://localhost(/confirm/\S+)", text).group(1)


def _sign_up_and_confirm(app, client, db, relay, newsletter, email="leserin@example.org", locale="de",
                         clicks: int = 1):  # fmt: skip
    """A reader signs up (pending, confirmation in the outbox), opens the confirmation mail and presses
    its button ``clicks`` times; then the clock and a worker run."""
    reader = make_pending_reader(db, email, locale=locale, newsletters=[newsletter])
    db.session.commit()
    run_jobs(app)
    [confirmation] = [m for m in relay.messages if m["To"] == email]
    path = _confirm_link(confirmation)
    for _ in range(clicks):
        client.post(path, data={"csrf_token": csrf_token(client, path)})
    run_jobs(app)
    return reader


def _welcomes(relay, email="leserin@example.org"):
    return [m for m in relay.messages if m["To"] == email and m["List-Unsubscribe"]]


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_a_german_reader_who_confirms_gets_the_welcome_in_german(app, client, db, relay, news):
    _turn_on(db, news)
    _sent_issue(db, news, subject="Die KI-Woche: Agenten überall")
    _sign_up_and_confirm(app, client, db, relay, news)
    [mail] = _welcomes(relay)
    assert mail["Subject"] == "Willkommen bei den KI-News"
    assert "Schön, dass Sie da sind." in _text(mail)
    assert "<strong>da</strong>" in _html(mail)
    assert "Unsere neueste Ausgabe: Die KI-Woche: Agenten überall" in _text(mail)
    assert "Sprachmodelle erklärt" in _text(mail)
    assert "Abmelden" in _text(mail) and "Unterstützen Sie uns" in _html(mail)
    # the list headers of an issue: one-click unsubscribe that works
    unsubscribe = re.search(r"<(http://localhost/unsubscribe/[^>]+)>", mail["List-Unsubscribe"]).group(1)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Id"].startswith("KI-News täglich <ki-news.")
    assert unsubscribe in _text(mail)
    left = client.post(unsubscribe.removeprefix("http://localhost"), data={"List-Unsubscribe": "One-Click"})
    assert left.status_code in (200, 202)
    db.session.expire_all()
    reader = db.session.scalar(select(Subscriber).where(Subscriber.email == "leserin@example.org"))
    assert reader.status is SubscriberStatus.UNSUBSCRIBED


def test_an_english_reader_gets_the_welcome_in_english(app, client, db, relay, news):
    _turn_on(db, news)
    _sign_up_and_confirm(app, client, db, relay, news, email="reader@example.org", locale="en")
    [mail] = _welcomes(relay, "reader@example.org")
    assert mail["Subject"] == "Welcome to AI News"
    assert "Glad to have you here." in _text(mail)
    assert "Unsubscribe" in _text(mail) and "Abmelden" not in _text(mail)


def test_without_a_subject_or_intro_the_mail_greets_in_its_own_words(app, client, db, relay, news):
    _turn_on(db, news, subject="", subject_en="", intro="", intro_en="", content="nothing")
    _sign_up_and_confirm(app, client, db, relay, news, email="reader@example.org", locale="en")
    [mail] = _welcomes(relay, "reader@example.org")
    assert mail["Subject"] == "Welcome to AI News Daily"
    assert "thank you for subscribing to AI News Daily" in _text(mail)


def test_confirming_twice_sends_one_welcome(app, client, db, relay, news):
    _turn_on(db, news)
    _sign_up_and_confirm(app, client, db, relay, news, clicks=2)
    run_jobs(app)
    assert len(_welcomes(relay)) == 1


def test_the_row_is_written_once_and_its_job_sends_once(app, client, db, relay, news):
    """Two confirmations in two sessions at once (each saw the reader pending) write one row; the row's
    job run twice (two workers) sends one message."""
    _turn_on(db, news)
    reader = make_pending_reader(db, "leserin@example.org", newsletters=[news])
    assert subscribers.confirm(db.session, reader)
    db.session.commit()
    with Session(db.engine) as other:  # the second confirmation, which read the reader still pending
        second = other.get(Subscriber, reader.id)
        assert welcome_mails.request_welcome(other, second) == 0
        other.commit()
    assert db.session.scalar(select(func.count()).select_from(WelcomeMail)) == 1
    row_id = db.session.scalar(select(WelcomeMail.id))
    assert welcome.send_welcome_mail(db.session, row_id, _config(app, relay)).startswith("250")
    assert welcome.send_welcome_mail(db.session, row_id, _config(app, relay)) == "nothing to do"
    assert len(_welcomes(relay)) == 1


def _config(app, relay):
    return {**app.config, "SMTP_URL": relay.url}


def test_a_welcome_turned_off_sends_nothing(app, client, db, relay, news):
    _turn_on(db, news, enabled=False)
    _sign_up_and_confirm(app, client, db, relay, news)
    assert _welcomes(relay) == []
    assert db.session.scalar(select(func.count()).select_from(WelcomeMail)) == 0


def test_a_welcome_turned_off_after_the_confirmation_is_not_sent(app, client, db, relay, news):
    _turn_on(db, news, delay_minutes=60)
    _sign_up_and_confirm(app, client, db, relay, news)
    _turn_on(db, news, enabled=False)
    db.session.execute(update(WelcomeMail).values(due_at=utcnow() - timedelta(minutes=1)))  # an hour on
    db.session.commit()
    run_jobs(app)
    assert _welcomes(relay) == []
    assert welcome.welcome_figures(db.session, news.id)["skipped"] == 1


def test_the_delay_is_honoured(app, client, db, relay, news):
    _turn_on(db, news, delay_minutes=60)
    _sign_up_and_confirm(app, client, db, relay, news)
    run_jobs(app)
    assert _welcomes(relay) == []  # due in an hour
    row = db.session.scalar(select(WelcomeMail))
    assert timedelta(minutes=59) < row.due_at - row.created_at <= timedelta(minutes=60)
    assert row.enqueued_at is None
    db.session.execute(update(WelcomeMail).values(due_at=utcnow() - timedelta(seconds=1)))  # the hour passed
    db.session.commit()
    run_jobs(app)
    assert len(_welcomes(relay)) == 1
    assert welcome.welcome_figures(db.session, news.id)["sent"] == 1


def test_a_reader_who_left_before_the_welcome_was_due_does_not_get_it(app, client, db, relay, news):
    _turn_on(db, news, delay_minutes=60)
    reader = _sign_up_and_confirm(app, client, db, relay, news)
    db.session.expire_all()
    reader = db.session.get(Subscriber, reader.id)
    subscribers.leave_newsletter(db.session, reader, None, via="test")
    db.session.execute(update(WelcomeMail).values(due_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    run_jobs(app)
    assert _welcomes(relay) == []


def test_the_welcome_shows_chosen_articles_and_is_signed(app, client, db, relay, news, signed):
    first = make_article(db, "Was Agenten können", teaser="Ein Überblick.")
    second = make_article(db, "Warum Daten zählen", teaser="Eine Einordnung.")
    _turn_on(db, news, content="articles", article_ids=[second.id, first.id])
    _sign_up_and_confirm(app, client, db, relay, news)
    [received] = [r for r in relay.received if b"List-Unsubscribe:" in r.raw and b"leserin@" in r.raw]
    assert dkim_verifies(received.raw, signed)
    # A program sends it on confirmation: out-of-office replies stay away (RFC 3834), as for confirmations.
    assert received.message.get_all("Auto-Submitted") == ["auto-generated"]
    text = _text(received.message)
    assert text.index("Warum Daten zählen") < text.index("Was Agenten können")
    assert received.mail_from.startswith("bounces+")  # the signed bounce address, like transactional mail


def test_script_in_the_markdown_is_removed(app, client, db, relay, news):
    _turn_on(db, news, intro='Hallo <script>alert("x")</script> <img src=x onerror="alert(1)"> **Welt**')
    _sign_up_and_confirm(app, client, db, relay, news)
    [mail] = _welcomes(relay)
    html = _html(mail)
    assert "<script" not in html and "onerror" not in html and "alert(" not in html
    assert "<strong>Welt</strong>" in html


@pytest.fixture
def editor(client, db):
    return sign_in(client)


def _form(**fields) -> dict:
    data = {"enabled": "y", "delay_minutes": "0", "subject": "Willkommen", "intro": "Hallo", "subject_en": "",
            "intro_en": "", "content": "latest_issue"}  # fmt: skip
    data.update(fields)
    return data


def _save(client, news, **fields):
    url = f"/staff/newsletters/{news.id}/welcome"
    return client.post(url, data={**_form(**fields), "csrf_token": csrf_token(client, url)})


def test_an_editor_writes_previews_and_tests_the_welcome(app, client, db, relay, news, editor):
    page = client.get(f"/staff/newsletters/{news.id}")
    assert f"/staff/newsletters/{news.id}/welcome" in text_of(page)
    response = _save(client, news, subject="Willkommen an Bord", intro="Schön, dass Sie *da* sind.")
    assert response.status_code == 302
    assert "Willkommen an Bord" in text_of(client.get(response.headers["Location"]))
    preview = client.get(f"/staff/newsletters/{news.id}/welcome/preview?mail_lang=de")
    assert preview.status_code == 200 and "Willkommen an Bord" in text_of(preview)
    frame = client.get(f"/staff/newsletters/{news.id}/welcome/preview/frame?mail_lang=de")
    assert "<em>da</em>" in text_of(frame)
    url = f"/staff/newsletters/{news.id}/welcome/preview"
    data = {"csrf_token": csrf_token(client, url), "locale": "en", "variant": "monthly"}
    sent = client.post(f"/staff/newsletters/{news.id}/welcome/test-send", data=data)
    assert sent.status_code == 302
    run_jobs(app)
    [test] = [m for m in relay.messages if m["X-Beitrag-Test"] == "1"]
    assert test["To"] == "editor@example.org"
    assert "Thank you for supporting us regularly" in _text(test)
    assert test["List-Unsubscribe"]
    assert relay.received[-1].mail_from != "" and not relay.received[-1].mail_from.startswith("bounces+")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"subject": "x" * 5000}, "höchstens 200 Zeichen"),
        ({"subject": "Hallo\r\nBcc: opfer@example.org"}, "eine Zeile"),
        ({"delay_minutes": str(365 * 24 * 60)}, "30 Tagen"),
        ({"content": "articles", "article_ids": "999999"}, "gibt es nicht mehr"),
    ],
)
def test_bad_input_is_refused_with_a_message(client, db, news, editor, fields, says):
    response = _save(client, news, **fields)
    assert response.status_code == 422
    assert says in text_of(response)
    assert db.session.get(NewsletterWelcome, news.id) is None


def test_the_edit_form_needs_its_csrf_token(client, db, news, editor):
    response = client.post(f"/staff/newsletters/{news.id}/welcome", data=_form())
    assert response.status_code in (400, 422)
    assert db.session.get(NewsletterWelcome, news.id) is None
    url = f"/staff/newsletters/{news.id}/welcome/test-send"
    assert client.post(url, data={"locale": "de", "variant": "default"}).status_code == 400


def test_the_welcome_pages_are_for_staff_only(client, db, news):
    base = f"/staff/newsletters/{news.id}/welcome"
    for url in (base, f"{base}/preview", f"{base}/preview/frame"):
        response = client.get(url)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    for url in (base, f"{base}/test-send"):
        response = client.post(url, data=_form())
        assert response.status_code in (302, 400)
    assert db.session.get(NewsletterWelcome, news.id) is None
    sign_in(client, StaffRole.ADMIN)  # admins may do what editors do
    assert _save(client, news).status_code == 302
    assert db.session.get(NewsletterWelcome, news.id).enabled
    sign_out(client)
    assert client.get(base).status_code == 302


def test_a_temporary_refusal_gives_the_row_back_and_the_next_try_sends(app, db, relay, news):
    _turn_on(db, news)
    reader = make_pending_reader(db, "leserin@example.org", newsletters=[news])
    subscribers.confirm(db.session, reader)
    db.session.commit()
    row_id = db.session.scalar(select(WelcomeMail.id))
    relay.replies.append("451 4.3.0 Try again later")
    with pytest.raises(smtp.DeliveryError):  # RQ tries the job again later
        welcome.send_welcome_mail(db.session, row_id, _config(app, relay))
    assert db.session.get(WelcomeMail, row_id).status == "waiting"
    assert welcome.send_welcome_mail(db.session, row_id, _config(app, relay)).startswith("250")
    assert len(_welcomes(relay)) == 1
    assert welcome.welcome_figures(db.session, news.id) == {
        "sent": 1,
        "waiting": 0,
        "skipped": 0,
        "failed": 0,
        "uncertain": 0,
    }


def test_a_welcome_whose_worker_died_mid_send_is_in_doubt_and_never_sent_twice(
    app, client, db, relay, news, editor
):
    """A worker killed while it held the row leaves it "sending": in doubt once it is older than any
    sending takes, shown so on the welcome page, and never sent again, by the job or by the sweep."""
    _turn_on(db, news)
    reader = make_pending_reader(db, "leserin@example.org", newsletters=[news])
    subscribers.confirm(db.session, reader)
    db.session.commit()
    row_id = db.session.scalar(select(WelcomeMail.id))
    # What the killed worker left: its claim, and nothing after it.
    claimed_at = utcnow()
    db.session.execute(
        update(WelcomeMail).where(WelcomeMail.id == row_id).values(
            status="sending", claimed_at=claimed_at, enqueued_at=claimed_at
        )
    )
    db.session.commit()
    on_its_way = welcome.welcome_figures(db.session, news.id)
    assert (on_its_way["waiting"], on_its_way["uncertain"]) == (1, 0)  # just taken: on its way
    later = claimed_at + welcome.IN_DOUBT_AFTER + timedelta(seconds=1)
    in_doubt = welcome.welcome_figures(db.session, news.id, now=later)
    assert (in_doubt["waiting"], in_doubt["uncertain"]) == (0, 1)
    db.session.execute(
        update(WelcomeMail).values(claimed_at=claimed_at - welcome.IN_DOUBT_AFTER - timedelta(seconds=1))
    )
    db.session.commit()
    page = text_of(client.get(f"/staff/newsletters/{news.id}/welcome"))
    assert "Ungewiss: 1 (ein Worker brach beim Senden ab" in page and "wartend: 0" in page
    assert welcome.send_welcome_mail(db.session, row_id, _config(app, relay)) == "nothing to do"
    run_jobs(app)
    assert _welcomes(relay) == []


def test_a_reader_who_paused_gets_no_welcome(app, client, db, relay, news):
    _turn_on(db, news, delay_minutes=60)
    reader = _sign_up_and_confirm(app, client, db, relay, news)
    db.session.expire_all()
    db.session.get(Subscriber, reader.id).paused_until = utcnow() + timedelta(days=14)
    db.session.execute(update(WelcomeMail).values(due_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    run_jobs(app)
    assert _welcomes(relay) == []


def test_the_preview_speaks_the_chosen_language_and_unknown_newsletters_are_not_found(
    client, db, news, editor
):
    _turn_on(db, news)
    preview = client.get(f"/staff/newsletters/{news.id}/welcome/preview?mail_lang=en&variant=monthly")
    assert "Welcome to AI News" in text_of(preview)
    assert "Thank you for supporting us regularly" in text_of(preview)
    assert client.get("/staff/newsletters/999999/welcome").status_code == 404


def test_the_statistics_count_the_welcomes_sent(app, client, db, relay, news, editor):
    _turn_on(db, news)
    _sign_up_and_confirm(app, client, db, relay, news)
    page = text_of(client.get("/staff/stats/issues?period=30d"))
    assert "Im Zeitraum gesendete Willkommensmails" in page
    row = re.search(r"<th scope=\"row\">KI-News täglich</th><td class=\"num\">(\d+)</td>", page)
    assert row and row.group(1) == "1"
