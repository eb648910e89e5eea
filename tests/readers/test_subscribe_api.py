"""The JSON endpoint for the site's own forms: same rules as the form, answers in JSON, CORS only for the
configured origins.

Bad inputs tried: a body that is not JSON, JSON that is not an object, a missing, non-text or hostile
address (CR/LF, NUL, 300 characters, quoted local part), newsletters that are not a list, hidden or
unknown newsletters, an injected language, a source that is not text; a filled honeypot; an origin that
is not configured."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from newsletter.readers import subscribers
from newsletter.readers.models import Subscriber, SubscriberStatus
from tests.readers.factories import make_reader
from tests.support.worker import run_jobs


def _post(client, body, *, ip="198.51.100.7", **kw):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    kw.setdefault("content_type", "application/json")
    return client.post("/api/subscribe", data=data, environ_base={"REMOTE_ADDR": ip}, **kw)


def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Subscriber))


def test_a_json_sign_up_stores_the_reader_and_mails_the_confirmation(app, client, db, newsletters, relay):
    response = _post(
        client,
        {"email": "api@example.org", "newsletters": ["wochenrueckblick"], "language": "en",
         "source": "https://ki-kompass.example/artikel/eu-ai-act?utm_campaign=x"},
    )  # fmt: skip
    assert response.status_code == 202
    assert response.json["status"] == "accepted" and "Danke" in response.json["message"]
    reader = subscribers.find_subscriber(db.session, "api@example.org")
    assert reader.status is SubscriberStatus.PENDING and reader.locale == "en"
    assert [s.newsletter.slug for s in reader.subscriptions] == ["wochenrueckblick"]
    assert reader.source.startswith("https://ki-kompass.example/artikel/eu-ai-act")
    run_jobs(app)
    assert [m["To"] for m in relay.messages] == ["api@example.org"]


def test_the_json_answer_is_the_same_for_known_and_new_addresses(client, db, newsletters, relay):
    make_reader(db, "known@example.org")
    db.session.commit()
    known = _post(client, {"email": "known@example.org"})
    new = _post(client, {"email": "new@example.org"})
    assert (known.status_code, known.get_data()) == (new.status_code, new.get_data())


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json at all", 400, "invalid_json"),
        ("[1, 2]", 400, "invalid_json"),
        ({}, 400, "invalid_email"),
        ({"email": 42}, 400, "invalid_email"),
        ({"email": "x@example.org\r\nBcc: opfer@example.org"}, 400, "invalid_email"),
        ({"email": "x\0@example.org"}, 400, "invalid_email"),
        ({"email": "a" * 300 + "@example.org"}, 400, "invalid_email"),
        ({"email": '"quoted"@example.org'}, 400, "invalid_email"),
        ({"email": "x@example.org", "newsletters": "ki-news"}, 400, "invalid_newsletters"),
        ({"email": "x@example.org", "newsletters": ["intern"]}, 400, "invalid_newsletters"),
        ({"email": "x@example.org", "newsletters": ["nope"]}, 400, "invalid_newsletters"),
        ({"email": "x@example.org", "language": "de\r\nBcc: y"}, 400, "invalid_language"),
        ({"email": "x@example.org", "source": {"a": 1}}, 400, "invalid_source"),
    ],
)
def test_errors_are_json_with_a_clear_message_and_change_nothing(client, db, newsletters, body, status, code):
    response = _post(client, body)
    assert response.status_code == status
    assert response.is_json and response.json["error"] == code and response.json["message"]
    assert _count(db) == 0


def test_a_form_post_is_refused_with_json(client, db, newsletters):
    response = client.post("/api/subscribe", data={"email": "x@example.org"})
    assert response.status_code == 415 and response.json["error"] == "unsupported_media_type"
    assert _count(db) == 0


def test_the_honeypot_answers_the_same_and_stores_nothing(client, db, newsletters):
    response = _post(client, {"email": "bot@example.org", "website": "spam"})
    assert response.status_code == 202 and _count(db) == 0


def test_cors_only_for_configured_origins(app, client, newsletters, relay, monkeypatch):
    monkeypatch.setitem(app.config, "EMBED_ORIGINS", ("https://www.example.org",))
    preflight = client.options(
        "/api/subscribe",
        headers={"Origin": "https://www.example.org", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.example.org"
    allowed = _post(client, {"email": "a@example.org"}, headers={"Origin": "https://www.example.org"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.example.org"
    other = _post(client, {"email": "b@example.org"}, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_api_needs_no_csrf_token_but_the_limit_answers_in_json(client, db, newsletters, relay):
    answers = [_post(client, {"email": f"r{i}@example.org"}).status_code for i in range(12)]
    assert answers[:10] == [202] * 10 and answers[10:] == [429, 429]
    limited = _post(client, {"email": "late@example.org"})
    assert limited.is_json and limited.json["error"]
    assert _count(db) == 10
