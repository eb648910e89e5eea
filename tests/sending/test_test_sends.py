"""An editor's test send is a reader's copy: made by the send path's own assembly, signed and relayed alike,
to the newsroom's test addresses, in the variant and language the editor chose; its links answer as a
reader's do and change nothing.

Tried: a test to two test addresses next to a real reader's copy of the same issue (header by header, DKIM,
counted links); the English "payment failing" variant; the one-click POST without cookies, the GET pages
and the settings-link POST of a test link (no reader, subscription, event, suppression or reader mail
touched); a test token with its language changed, a reader's MAC under a test payload, a test token given
to the reader's token reader; a signed-out visitor on the test address page and the test send; eleven
addresses for one test; an address twice, and one that is not one."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from newsletter.editorial.models import TestReader
from newsletter.platform import tokens
from newsletter.platform.queues import get_queue
from newsletter.readers import links
from newsletter.readers.models import ReaderMail, Subscriber, SubscriberEvent, Subscription, Suppression
from newsletter.sending.models import Delivery
from tests.sending.factories import issue_with_readers, start_send
from tests.staff.factories import sign_in, staff_user
from tests.support.dkim import dkim_verifies, signed_headers
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

TEST_ADDRESSES = ("pruefung@ki-kompass.example", "chefin@ki-kompass.example")
LIST_UNSUBSCRIBE = re.compile(
    r"^<http://localhost/unsubscribe/(?P<token>[^>]+)>, "
    r"<mailto:unsubscribe@ki-kompass\.example\?subject=unsubscribe-(?P<mailto>[^>]+)>$"
)


@pytest.fixture(autouse=True)
def _unsubscribe_mailbox(app, monkeypatch):
    """A newsroom that reads mail to its unsubscribe address: the header carries the mailto half too."""
    monkeypatch.setitem(app.config, "MAIL_UNSUBSCRIBE_ADDRESS", "unsubscribe@ki-kompass.example")


@pytest.fixture
def editor(client, db):
    return sign_in(client, staff_user(db, "eda@example.org"))


def _add_test_reader(client, email: str, label: str = ""):
    return client.post(
        "/staff/test-readers",
        data={"csrf_token": csrf_token(client, "/staff/test-readers"), "email": email, "label": label},
    )


def _test_send(client, issue_id: int, **data):
    preview = f"/staff/issues/{issue_id}/preview"
    return client.post(
        f"/staff/issues/{issue_id}/test-send", data={"csrf_token": csrf_token(client, preview), **data}
    )


def _test_reader_ids(db) -> list[int]:
    return list(db.session.scalars(select(TestReader.id).order_by(TestReader.id)))


def _reader_rows(db) -> dict[str, list]:
    """Everything a reader's link could change."""
    db.session.expire_all()
    rows = {}
    for model in (Subscriber, Subscription, SubscriberEvent, Suppression, ReaderMail):
        table = model.__table__
        rows[table.name] = [
            tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key))
        ]
    db.session.commit()
    return rows


def _unsubscribe_token(message) -> str:
    match = LIST_UNSUBSCRIBE.match(message["List-Unsubscribe"])
    assert match, message["List-Unsubscribe"]
    assert match["token"] == match["mailto"]
    return match["token"]


def test_a_test_send_is_a_readers_copy_at_each_test_address(
    app, client, db, relay, signed, editor, monkeypatch
):
    monkeypatch.setitem(app.config, "CLICK_COUNTING", True)
    issue = issue_with_readers(db)
    article = issue.items[0].article
    article.canonical_url = "https://ki-kompass.example/artikel/sprachmodelle"
    db.session.commit()
    for address in TEST_ADDRESSES:
        assert _add_test_reader(client, address, "Redaktion").status_code == 302
    # A real send first: the reader's copy to compare with, and the issue's links numbered for counting.
    start_send(db, issue, **{"count_clicks": True, "base_url": "http://localhost"})
    run_jobs(app)
    relay.wait_for(3)
    reader_raw = next(r.raw for r in relay.received if r.rcpt_tos == ["a@example.org"])
    reader_copy = next(m for m in relay.messages if m["To"] == "a@example.org")
    variant = db.session.scalar(select(Delivery.variant).where(Delivery.subscriber_id.is_not(None)).limit(1))
    relay.received.clear()

    response = _test_send(client, issue.id, variant=variant, locale="de", test_readers=_test_reader_ids(db))
    assert response.status_code == 302
    assert "ist unterwegs" in text_of(client.get(response.headers["Location"]))
    assert relay.received == []  # queued, not sent by the web request
    run_jobs(app)
    tests = relay.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in relay.received) == sorted(TEST_ADDRESSES)  # not to the editor
    assert sorted(m["To"] for m in tests) == sorted(TEST_ADDRESSES)

    for test, raw in zip(tests, [r.raw for r in relay.received], strict=True):
        assert test["X-Beitrag-Test"] == "1" and reader_copy["X-Beitrag-Test"] is None
        assert sorted(set(test.keys()) - {"X-Beitrag-Test"}) == sorted(reader_copy.keys())
        for name in ("From", "Subject", "MIME-Version", "List-Id", "List-Unsubscribe-Post", "Feedback-ID"):
            assert test[name] == reader_copy[name], name
        assert test["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert test.get_content_type() == reader_copy.get_content_type() == "multipart/alternative"
        # Recipient-specific values, in the reader's shapes.
        assert _unsubscribe_token(test).startswith("t-de-")
        # reader, newsletter, issue
        assert re.fullmatch(r"\d+-\d+-\d+\.[\w-]+", _unsubscribe_token(reader_copy))
        test_id, reader_id = (re.fullmatch(r"<(\d+)\.(\w+)\.(\w+)@ki-kompass\.example>", m["Message-ID"])
                              for m in (test, reader_copy))  # fmt: skip
        assert test_id and reader_id and test_id[1] == reader_id[1] == str(issue.id)
        assert test_id[3] == reader_id[3]  # the installation's tag
        assert test["Date"] and test.defects == []
        # Signed like a reader's copy, the test marker under the signature.
        assert dkim_verifies(raw, signed)
        assert dkim_verifies(reader_raw, signed) and signed_headers(raw) == signed_headers(reader_raw)
        # The same body, the counted link in it.
        html = test.get_payload()[1].get_content()
        reader_html = reader_copy.get_payload()[1].get_content()
        assert f"http://localhost/l/{issue.id}/1/" in html
        assert "ki-kompass.example/artikel/sprachmodelle" not in html
        token, reader_token = _unsubscribe_token(test), _unsubscribe_token(reader_copy)
        # A test names no reader: its share link is the sign-up page where a reader's has their own code.
        reader_share = re.search(r"http://localhost/share/[\w-]+", reader_html).group(0)
        assert "http://localhost/share/" not in html
        assert html.replace(token, "T") == reader_html.replace(reader_token, "T").replace(
            reader_share, "http://localhost/subscribe"
        )
    assert _unsubscribe_token(tests[0]) != _unsubscribe_token(tests[1])


def test_the_chosen_variant_and_language_arrive(app, client, db, relay, editor):
    issue = issue_with_readers(db)
    response = _test_send(client, issue.id, variant="failing", locale="en", to_me="y")
    assert response.status_code == 302
    run_jobs(app)
    [message] = relay.wait_for(1)
    assert message["To"] == "eda@example.org"
    html = message.get_payload()[1].get_content()
    assert 'lang="en"' in html  # the locale reached render_email
    assert "Your last contribution did not go through" in html  # the "failing" ask, in English
    assert _unsubscribe_token(message).startswith("t-en-")


def test_test_links_answer_like_a_readers_and_change_nothing(app, client, db, relay, editor):
    issue = issue_with_readers(db)
    _test_send(client, issue.id, variant="default", locale="en", to_me="y")
    run_jobs(app)
    [message] = relay.wait_for(1)
    url = message["List-Unsubscribe"].split(",")[0].strip("<> ").removeprefix("http://localhost")
    before = _reader_rows(db)
    assert before["subscribers"]  # three readers who must stay as they are

    stranger = app.test_client()  # a mail provider: no cookie, no form token
    one_click = stranger.post(url, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert "This was a test link" in text_of(one_click) and "Nothing has changed" in text_of(one_click)
    page = stranger.get(url)
    assert page.status_code == 200 and "This was a test link" in text_of(page)
    assert "Yes, unsubscribe me" not in text_of(page)
    settings = stranger.get(f"{url}/settings")
    assert settings.status_code == 200 and "This was a test link" in text_of(settings)
    assert stranger.post(f"{url}/settings-link").status_code in (200, 400)
    assert _reader_rows(db) == before

    # In the language of the test: German for a German one.
    _test_send(client, issue.id, variant="default", locale="de", to_me="y")
    run_jobs(app)
    german = relay.wait_for(2)[-1]
    german_url = german["List-Unsubscribe"].split(",")[0].strip("<> ").removeprefix("http://localhost")
    answer = app.test_client().post(german_url, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "Das war ein Test-Link" in text_of(answer)
    assert _reader_rows(db) == before


def test_a_forged_or_tampered_test_token_is_refused(app, client, db, relay, editor):
    issue = issue_with_readers(db)
    _test_send(client, issue.id, variant="default", locale="de", to_me="y")
    run_jobs(app)
    [message] = relay.wait_for(1)
    token = _unsubscribe_token(message)
    secret = app.config["SECRET_KEY"]
    reader = db.session.scalar(select(Subscriber).where(Subscriber.email == "a@example.org"))
    reader_token = links.unsubscribe_token(secret, reader.id)
    before = _reader_rows(db)
    forged = [
        token.replace("t-de-", "t-en-", 1),  # another language under the same MAC
        token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),  # a changed MAC
        f"t-de-{reader.id}.{reader_token.rpartition('.')[2]}",  # a reader's MAC under a test payload
        f"{reader.id}-0.{token.rpartition('.')[2]}",  # a test MAC under a reader's payload
    ]
    stranger = app.test_client()
    for bad in forged:
        answer = stranger.post(f"/unsubscribe/{bad}", data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 400, bad
        assert "nicht gültig" in text_of(answer)
    assert _reader_rows(db) == before
    with pytest.raises(tokens.TokenError):
        links.read_unsubscribe_token(secret, token)
    with pytest.raises(tokens.TokenError):
        links.read_test_reader_token(secret, reader_token)


def test_only_signed_in_staff_manage_test_addresses_and_send_tests(app, db, relay):
    issue = issue_with_readers(db)
    stranger = app.test_client()
    token = csrf_token(stranger, "/staff/login")  # a valid form token: only the missing sign-in refuses
    for answer in (
        stranger.get("/staff/test-readers"),
        stranger.post("/staff/test-readers", data={"csrf_token": token, "email": "x@example.org"}),
        stranger.post(
            f"/staff/issues/{issue.id}/test-send", data={"csrf_token": token, "variant": "default"}
        ),
    ):
        assert answer.status_code == 302 and "/staff/login" in answer.headers["Location"]
    assert db.session.scalars(select(TestReader)).all() == []
    assert get_queue("transactional").count == 0


def test_more_than_ten_recipients_are_refused_with_the_reason(app, client, db, relay, editor):
    issue = issue_with_readers(db)
    for number in range(11):
        assert _add_test_reader(client, f"test{number}@ki-kompass.example").status_code == 302
    response = _test_send(client, issue.id, variant="default", locale="de", test_readers=_test_reader_ids(db))
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]))
    assert "höchstens 10 Adressen" in page
    assert get_queue("transactional").count == 0
    # Ten of them, the editor's own address not ticked: exactly those ten.
    response = _test_send(
        client, issue.id, variant="default", locale="de", test_readers=_test_reader_ids(db)[:10]
    )
    run_jobs(app)
    assert len(relay.wait_for(10)) == 10
    assert "eda@example.org" not in [r.rcpt_tos[0] for r in relay.received]


def test_the_test_address_page_adds_refuses_and_removes(app, client, db, editor):
    page = text_of(client.get("/staff/test-readers"))
    assert "Test-Adressen" in page
    assert _add_test_reader(client, "pruefung@ki-kompass.example", "Handy").status_code == 302
    again = _add_test_reader(client, "Pruefung@ki-kompass.example")
    assert again.status_code == 400 and "schon eine Test-Adresse" in text_of(again)
    broken = _add_test_reader(client, "keine adresse")
    assert broken.status_code == 400
    [kept] = db.session.scalars(select(TestReader)).all()
    assert (kept.email, kept.label, kept.created_by_id) == ("pruefung@ki-kompass.example", "Handy", editor.id)
    preview = text_of(client.get(f"/staff/issues/{issue_with_readers(db).id}/preview"))
    assert "Handy (pruefung@ki-kompass.example)" in preview and 'name="test_readers"' in preview
    removed = client.post(f"/staff/test-readers/{kept.id}/remove",
                          data={"csrf_token": csrf_token(client, "/staff/test-readers")})  # fmt: skip
    assert removed.status_code == 302
    assert db.session.scalars(select(TestReader)).all() == []
    from newsletter.platform.audit import AuditEntry

    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("test_reader.add") == 1 and actions.count("test_reader.remove") == 1
