"""A flood must not turn Beitrag into a mail cannon: limits per client address and per e-mail address
(Flask-Limiter on Redis), and a daily cap of confirmation mails per address counted in the database, so
that it holds when Redis forgets. Bad inputs tried: 15 sign-ups from one IP, 20 sign-ups of one address from
20 IPs, and 10 sign-ups of one address with Redis flushed between them."""

from __future__ import annotations

import redis
from sqlalchemy import func, select

from newsletter.readers import subscribers
from newsletter.readers.models import ReaderMail, Subscriber
from tests.readers.web import form_token, sign_up
from tests.support.worker import run_jobs


def test_a_flood_from_one_ip_is_stopped(app, client, db, newsletters, relay):
    token = form_token(client)
    answers = [sign_up(client, f"flut{i}@example.org", token=token).status_code for i in range(15)]
    assert answers == [200] * 10 + [429] * 5
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 10
    limited = sign_up(client, "noch-einer@example.org", token=token)
    assert "Zu viele Versuche" in limited.get_data(as_text=True)


def test_a_flood_from_many_ips_against_one_address_sends_at_most_three_mails(
    app, client, db, newsletters, relay
):
    token = form_token(client)
    answers = [
        sign_up(client, "opfer@example.org", token=token, ip=f"203.0.113.{i}").status_code for i in range(20)
    ]
    assert answers[:5] == [200] * 5 and set(answers[5:]) == {429}
    run_jobs(app)
    assert len(relay.messages) == 3
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 1


def test_the_daily_cap_holds_when_redis_forgets(app, client, db, newsletters, relay, redis_url):
    token = form_token(client)
    for i in range(10):
        assert sign_up(client, "Opfer@Example.org", token=token, ip=f"203.0.113.{i}").status_code == 200
        run_jobs(app)
        redis.Redis.from_url(redis_url).flushdb()  # the limiter's counters are gone
    assert len(relay.messages) == 3
    reader = subscribers.find_subscriber(db.session, "opfer@example.org")
    assert db.session.scalar(select(func.count()).select_from(ReaderMail)) == 3
    assert [e.kind for e in reader.events].count("mail_held_back") == 7
