"""Both sign-up limits counted in one Redis round trip (newsletter/readers/limits.py): they still refuse per
client address and per e-mail address, share their counters between the form, the JSON API and "send me
my link", say when to come back, and keep counting in memory when the limiter's Redis is gone.

Bad inputs and faults tried: 12 sign-ups from one IP spread over the three forms; 6 sign-ups of one
address (in other case and with spaces) from 6 IPs; a flood while the limiter's Redis is a closed port;
a counter left without expiry in Redis."""

from __future__ import annotations

import json

import redis
from sqlalchemy import func, select

from newsletter.readers import limits, subscribers
from newsletter.readers.models import Subscriber
from tests.readers.web import form_token, sign_up
from tests.support.smtp import free_port
from tests.support.web import csrf_token, text_of


def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Subscriber))


def _api(client, email, ip):
    return client.post(
        "/api/subscribe", data=json.dumps({"email": email}), content_type="application/json",
        environ_base={"REMOTE_ADDR": ip},
    )  # fmt: skip


def test_one_ip_is_counted_across_the_form_the_api_and_the_link_request(app, client, db, newsletters, relay):
    ip = "198.51.100.20"
    token = form_token(client)
    answers = [sign_up(client, f"form{i}@example.org", token=token, ip=ip).status_code for i in range(4)]
    answers += [_api(client, f"api{i}@example.org", ip).status_code for i in range(4)]
    link_token = csrf_token(client, "/preferences")
    answers += [
        client.post(
            "/preferences", data={"email": f"link{i}@example.org", "csrf_token": link_token},
            environ_base={"REMOTE_ADDR": ip},
        ).status_code
        for i in range(2)
    ]  # fmt: skip
    assert answers == [200] * 4 + [202] * 4 + [200] * 2
    refused = sign_up(client, "elfter@example.org", token=token, ip=ip)
    assert refused.status_code == 429 and "Zu viele Versuche" in text_of(refused)
    assert _api(client, "zwoelfter@example.org", ip).status_code == 429
    assert _count(db) == 8  # nothing stored for the refused ones
    # Another client is not held by this one's window.
    assert sign_up(client, "anderer@example.org", token=token, ip="198.51.100.21").status_code == 200


def test_one_address_is_counted_whatever_its_spelling(app, client, db, newsletters, relay):
    token = form_token(client)
    spellings = ["opfer@example.org", "Opfer@Example.org", " OPFER@example.org ", "opfer@EXAMPLE.ORG"]
    answers = [
        sign_up(client, spellings[i % 4], token=token, ip=f"203.0.113.{i}").status_code for i in range(6)
    ]
    assert answers == [200] * 5 + [429]
    assert _count(db) == 1


def test_a_refusal_says_when_to_come_back_and_answers_carry_the_clients_window(
    app, client, db, newsletters, relay
):
    token = form_token(client)
    first = sign_up(client, "eins@example.org", token=token)
    assert first.headers["X-RateLimit-Limit"] == "10" and first.headers["X-RateLimit-Remaining"] == "9"
    # The address's own window (5 an hour) is not shown: it would tell how often others tried it.
    again = sign_up(client, "eins@example.org", token=token)
    assert again.headers["X-RateLimit-Limit"] == "10" and again.headers["X-RateLimit-Remaining"] == "8"
    for i in range(8):
        sign_up(client, f"n{i}@example.org", token=token)
    refused = sign_up(client, "zuviel@example.org", token=token)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert _api(client, "json@example.org", "198.51.100.1").json["error"]


def test_the_limits_hold_in_memory_while_the_limiters_redis_is_down(
    app, client, db, newsletters, relay, monkeypatch, caplog
):
    dead = limits._Counters(f"redis://127.0.0.1:{free_port()}/0", "beitrag-limits")
    monkeypatch.setitem(app.extensions, "beitrag.signup_limits", dead)
    token = form_token(client)
    answers = [sign_up(client, f"still{i}@example.org", token=token).status_code for i in range(11)]
    assert answers == [200] * 10 + [429]
    assert _count(db) == 10  # the readers are stored; the sign-ups did not fail with Redis
    assert "counted in memory" in caplog.text


def test_a_counter_without_expiry_gets_one(app, client, db, newsletters, relay, redis_url):
    """A window key left without a TTL (for example by a restore) must not hold a client for ever."""
    key = "beitrag-limits:signup-ip:198.51.100.1:10/60"
    connection = redis.Redis.from_url(redis_url)
    connection.set(key, 3)
    assert sign_up(client, "ttl@example.org").status_code == 200
    assert 0 < connection.ttl(key) <= 60 and int(connection.get(key)) == 4
    connection.close()
    assert subscribers.find_subscriber(db.session, "ttl@example.org") is not None


def test_the_counters_stay_in_redis_when_it_forgets_the_script_or_drops_the_connection(
    app, client, db, newsletters, relay, redis_url, caplog
):
    """The limits keep their own connection to Redis: a Redis that lost its scripts (restarted, or
    ``SCRIPT FLUSH``) gets the script again, and a connection that Redis closed is made anew, both
    without falling back to counting in memory (which each worker would do on its own)."""
    key = "beitrag-limits:signup-ip:198.51.100.9:10/60"
    connection = redis.Redis.from_url(redis_url)
    token = form_token(client)
    assert sign_up(client, "vorher@example.org", token=token, ip="198.51.100.9").status_code == 200
    connection.script_flush()
    assert sign_up(client, "geleert@example.org", token=token, ip="198.51.100.9").status_code == 200
    connection.client_kill_filter(_type="normal", skipme=True)  # every other client, the limiter's too
    assert sign_up(client, "getrennt@example.org", token=token, ip="198.51.100.9").status_code == 200
    assert int(connection.get(key)) == 3
    assert "counted in memory" not in caplog.text
    connection.close()
