"""The limits on signing in: attackers guessing passwords are stopped, and nobody can use the limits to
lock a staff member out. Attacks tried: cycling passwords from one address; guessing through many accounts
from one address; guessing spread over several addresses; the lock-out of issue 17 (31 wrong passwords
over four addresses, then the owner from a fifth); parallel guesses racing the counter; rotating through
the addresses of one IPv6 network; telling known from unknown addresses by the refusals; guessing while
the limiter's Redis is down."""

from __future__ import annotations

import threading
import time

import redis

from newsletter.staff import signin_limits
from tests.staff.factories import PASSWORD, client_at, staff_user
from tests.support.web import csrf_token, login, text_of

OWNER = "chefin@example.org"
WRONG = "Die E-Mail-Adresse oder das Passwort stimmt nicht."
REFUSED = "Zu viele Versuche"


GUESS = "Sommer2026!"  # an attacker's guess


def _guess(client, email: str = OWNER, password: str = GUESS):
    return login(client, email, password)


def _signed_in(client) -> bool:
    return client.get("/staff/").status_code == 200


def test_cycling_passwords_from_one_address_is_stopped(app, db, redis_url):
    staff_user(db, OWNER)
    attacker = client_at(app, "203.0.113.50")
    answers = [_guess(attacker, password=f"Passwort{n}!") for n in range(7)]
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 2
    assert WRONG in text_of(answers[0])
    assert REFUSED in text_of(answers[5])
    assert 0 < int(answers[5].headers["Retry-After"]) <= 15 * 60
    # The right password is refused too, so the sixth guess tells nothing, whatever it was.
    lucky = _guess(attacker, password=PASSWORD)
    assert lucky.status_code == 429 and not _signed_in(attacker)
    # Redis holds counters, not the addresses typed.
    keys = redis.Redis.from_url(redis_url).keys("*")
    assert keys and not any(b"chefin" in key for key in keys)


def test_guessing_through_many_accounts_from_one_address_is_stopped(app, db):
    for n in range(3):
        staff_user(db, f"redaktion{n}@example.org")
    attacker = client_at(app, "203.0.113.51")
    targets = [f"redaktion{n}@example.org" for n in range(3)] + [f"wer{n}@example.org" for n in range(7)]
    assert [_guess(attacker, email).status_code for email in targets] == [401] * 10
    # The eleventh failure within the minute is refused, for a known address as for an unknown one.
    known, unknown = _guess(attacker, "redaktion0@example.org", PASSWORD), _guess(attacker, "neu@example.org")
    assert known.status_code == unknown.status_code == 429
    assert 0 < int(known.headers["Retry-After"]) <= 60
    # Another machine is not held back by this one's failures.
    assert _guess(client_at(app, "192.0.2.7"), "redaktion0@example.org", PASSWORD).status_code == 302


def test_guessing_spread_over_addresses_is_slowed_for_the_account(app, db):
    staff_user(db, OWNER)
    attackers = [client_at(app, f"203.0.113.{60 + n}") for n in range(4)]
    answers = [_guess(attackers[n % 4], password=f"Passwort{n}!") for n in range(40)]
    statuses = [a.status_code for a in answers]
    # Ten failures on the account from anywhere, then every address that failed on it waits (at least
    # 30 s, doubling): of forty guesses, ten reached a password check.
    assert statuses == [401] * 10 + [429] * 30
    assert all(int(a.headers["Retry-After"]) >= 30 for a in answers[10:])
    assert all(_guess(a, password=PASSWORD).status_code == 429 for a in attackers)


def test_failures_from_other_addresses_do_not_lock_the_owner_out(app, db):
    """Issue 17, item 2: 31 wrong passwords spread over four addresses, then the right one from a fifth
    was answered 429 for the rest of the hour."""
    staff_user(db, OWNER)
    attackers = [client_at(app, f"203.0.113.{70 + n}") for n in range(4)]
    for n in range(31):
        _guess(attackers[n % 4], password=f"Passwort{n}!")
    laptop = client_at(app, "192.0.2.10")
    assert _guess(laptop, password=PASSWORD).status_code == 302
    assert _signed_in(laptop)
    # The attack goes on; the owner's phone, on another network, still gets in.
    for n in range(31):
        _guess(attackers[n % 4], password=f"Passwort{n + 31}!")
    phone = client_at(app, "198.51.100.20")
    assert _guess(phone, password=PASSWORD).status_code == 302


def test_a_typo_during_an_attack_costs_the_owner_a_short_wait(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_SLOWDOWN_SECONDS", 4.0)  # not 30: the test waits it out
    staff_user(db, OWNER)
    attackers = [client_at(app, f"203.0.113.{80 + n}") for n in range(4)]
    for n in range(12):
        _guess(attackers[n % 4], password=f"Passwort{n}!")
    laptop = client_at(app, "192.0.2.11")
    assert _guess(laptop, password="correct horse battery stapel").status_code == 401  # the typo
    held = _guess(laptop, password=PASSWORD)
    assert held.status_code == 429 and 1 <= int(held.headers["Retry-After"]) <= 4
    time.sleep(int(held.headers["Retry-After"]) + 0.2)
    assert _guess(laptop, password=PASSWORD).status_code == 302


def test_right_passwords_are_not_counted_as_failures(app, db):
    """The old limit counted every attempt: twelve sign-ins in a minute from one office were refused."""
    staff_user(db, OWNER)
    office = client_at(app, "192.0.2.12")
    for _ in range(12):
        assert _guess(office, password=PASSWORD).status_code == 302
        office.post("/staff/logout", data={"csrf_token": csrf_token(office, "/staff/")})
    # A right password also clears this machine's failures for the account: four typos, in, four more.
    statuses = []
    for _ in range(2):
        statuses += [_guess(office).status_code for _ in range(4)]
        statuses.append(_guess(office, password=PASSWORD).status_code)
        office.post("/staff/logout", data={"csrf_token": csrf_token(office, "/staff/")})
    assert statuses == [401] * 4 + [302] + [401] * 4 + [302]


def test_known_and_unknown_addresses_are_refused_alike(app, db):
    staff_user(db, OWNER)
    known = [_guess(client_at(app, "203.0.113.90"), OWNER) for _ in range(6)]
    unknown = [_guess(client_at(app, "203.0.113.91"), "niemand@example.org") for _ in range(6)]
    assert [a.status_code for a in known] == [a.status_code for a in unknown] == [401] * 5 + [429]
    assert text_of(known[0]).count(WRONG) == text_of(unknown[0]).count(WRONG) == 1
    assert abs(int(known[5].headers["Retry-After"]) - int(unknown[5].headers["Retry-After"])) <= 1


def test_parallel_guesses_cannot_slip_past_the_limit(app, db):
    """Twelve guesses sent at the same moment from one address: each attempt is counted when it starts,
    so no more than the five the pair may have reach a password check."""
    staff_user(db, OWNER)
    clients = [client_at(app, "203.0.113.95") for _ in range(12)]
    tokens = [csrf_token(c, "/staff/login") for c in clients]
    start, statuses = threading.Barrier(len(clients)), []

    def guess(client, token, n):
        start.wait()
        form = {"email": OWNER, "password": f"Passwort{n}!", "csrf_token": token}
        answer = client.post("/staff/login", data=form)
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=guess, args=(client, token, n))
               for n, (client, token) in enumerate(zip(clients, tokens, strict=True))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 5 + [429] * 7


def test_addresses_of_one_ipv6_network_count_as_one_client(app, db):
    staff_user(db, OWNER)
    statuses = [_guess(client_at(app, f"2001:db8:1:2::{n + 1:x}")).status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert _guess(client_at(app, "2001:db8:1:3::1"), password=PASSWORD).status_code == 302  # next network


def test_limits_hold_while_the_limiters_redis_is_down(app, db, monkeypatch):
    """Redis unreachable (nothing listens on port 1): the counters move into the process's memory."""
    down = signin_limits.SignInLimits("redis://127.0.0.1:1/0", "beitrag-limits", app.config["SECRET_KEY"])
    monkeypatch.setitem(app.extensions, "beitrag.signin_limits", down)
    staff_user(db, OWNER)
    attacker = client_at(app, "203.0.113.99")
    assert [_guess(attacker).status_code for _ in range(6)] == [401] * 5 + [429]
    assert _guess(client_at(app, "192.0.2.13"), password=PASSWORD).status_code == 302
