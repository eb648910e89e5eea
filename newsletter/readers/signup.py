"""Sign-up: one reader asks for newsletters, from the site's form, the embeddable page or the JSON API.

:func:`subscribe` is written twice, side by side below: through the ORM for SQLite (the embedded default),
and as one SQL statement per case for PostgreSQL (``_NEW_READER_SQL``, ``_RENEW_READER_SQL``), where a
sign-up is one round trip. Both hold the same rules, and ``tests/readers/test_signup_rules.py`` holds them
to the same answer on each database:

* a new address: a pending reader with the chosen newsletters, the history lines "subscribed" and
  "confirmation_sent", and a confirmation mail in the outbox;
* an active reader: nothing changes and nothing is mailed (nobody can use the form to pester a reader);
* a pending, unsubscribed, bounced or complained reader: language and newsletters replaced by the new
  choice, the first source kept, status and suppression left until the reader confirms, a fresh
  confirmation mail, unless :data:`~newsletter.readers.reader_mails.MAILS_PER_DAY` went out in the last
  24 hours (then "mail_held_back" in the history instead);
* addresses are matched regardless of case.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.readers.errors import SubscriberError
from newsletter.readers.models import (
    AskFrequency,
    Newsletter,
    ReaderMail,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
)
from newsletter.readers.reader_mails import MAILS_PER_DAY, request_confirmation
from newsletter.readers.subscribers import find_subscriber, record_event

MAX_SOURCE_LENGTH = 255


def clean_source(raw: Any) -> str | None:
    """Where a reader came from (a UTM campaign, an article URL): control characters (line breaks, NUL,
    escapes) removed, whitespace collapsed, at most :data:`MAX_SOURCE_LENGTH` characters. Only the first
    ``4 * MAX_SOURCE_LENGTH`` characters are looked at, so a long value costs no more than a short one."""
    if not isinstance(raw, str):
        return None
    raw = raw[: 4 * MAX_SOURCE_LENGTH]
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in raw)
    text = " ".join(text.split())[:MAX_SOURCE_LENGTH].strip()
    return text or None


@dataclass(frozen=True)
class SignupOutcome:
    """What happened, for logs and tests; the reader is told the same in every case."""

    subscriber_id: int | None
    action: str  # "created", "renewed", "already_active", "ignored"
    mailed: bool


def set_subscriptions(session: Session, subscriber: Subscriber, newsletters: list[Newsletter]) -> None:
    wanted = {n.id for n in newsletters}
    current = {s.newsletter_id: s for s in subscriber.subscriptions}
    for newsletter_id, row in current.items():
        if newsletter_id not in wanted:
            subscriber.subscriptions.remove(row)
    for newsletter in newsletters:
        if newsletter.id not in current:
            subscriber.subscriptions.append(Subscription(newsletter_id=newsletter.id))


def subscribe(
    session: Session | Engine,
    email: str,
    *,
    newsletters: list[Newsletter],
    locale: str,
    source: str | None,
    **detail: Any,
) -> SignupOutcome:
    """A sign-up from the site or the JSON API, for an address already checked with :func:`normalize_email`.

    New address: a pending reader with the chosen newsletters and a confirmation mail. Pending,
    unsubscribed, bounced or complained: the choice is updated and a fresh confirmation goes out (capped
    per day); the status and any suppression stay until the reader confirms. Active: nothing changes and
    nothing is mailed, so nobody can use the form to pester a reader.

    SQLite: the caller commits. PostgreSQL: the sign-up is one statement (new address) or two (known
    address), each complete in itself, run on a pooled connection of its own in autocommit: one round trip
    each and nothing for the caller to commit (a transaction around one statement would cost a BEGIN and
    a COMMIT round trip more). Every write of a sign-up is in that one statement, so it stands or falls
    whole; the answer goes out after PostgreSQL has made it durable. There ``session`` may be the engine
    itself: the sign-up forms open no session (opening and closing one cost 7 % of a sign-up)."""
    source = clean_source(source)
    bind = session if isinstance(session, Engine) else session.get_bind()
    if bind.dialect.name == "postgresql":
        return _subscribe_postgresql(bind, email, newsletters, locale, source, detail)
    if isinstance(session, Engine):
        raise TypeError("a sign-up on SQLite runs in the caller's session")
    new_id = _insert_new_reader(session, email, newsletters, locale, source, detail)
    if new_id is not None:
        return SignupOutcome(new_id, "created", True)
    reader = find_subscriber(session, email)
    if reader is None:  # the address was erased between the insert and the select: let the caller retry
        raise SubscriberError("please try again")
    if reader.status is SubscriberStatus.ACTIVE:
        return SignupOutcome(reader.id, "already_active", False)
    reader.locale = locale
    reader.updated_at = utcnow()  # the pending sign-up is fresh again (see expire_pending_signups)
    if reader.source is None:
        reader.source = source
    set_subscriptions(session, reader, newsletters)
    record_event(
        session, reader, "subscribed", source=source, newsletters=[n.slug for n in newsletters], **detail
    )
    mailed = request_confirmation(session, reader)
    return SignupOutcome(reader.id, "renewed", mailed)


def _insert_new_reader(
    session: Session,
    email: str,
    newsletters: list[Any],
    locale: str,
    source: str | None,
    detail: dict[str, Any],
) -> int | None:
    """SQLite: a new address's reader, subscriptions, two history lines and the confirmation mail in the
    outbox, without the ORM's unit of work (four statements). Returns None, having written nothing, when
    the address is known (``ON CONFLICT DO NOTHING`` on the case-insensitive unique index), so known and
    new addresses both pay for the insert attempt."""
    from sqlalchemy.dialects import sqlite

    now = utcnow()
    events = [
        ("subscribed", {"source": source, "newsletters": [n.slug for n in newsletters], **detail}),
        ("confirmation_sent", {}),
    ]
    reader_insert = (
        sqlite.insert(Subscriber.__table__)
        .values(email=email, status=SubscriberStatus.PENDING, locale=locale, source=source,
                created_at=now, updated_at=now, ask_frequency=AskFrequency.NORMAL)
        .on_conflict_do_nothing()
        .returning(Subscriber.__table__.c.id)
    )  # fmt: skip
    new_id = session.execute(reader_insert).scalar()
    if new_id is None:
        return None
    session.execute(
        insert(Subscription.__table__),
        [{"subscriber_id": new_id, "newsletter_id": n.id, "created_at": now} for n in newsletters],
    )
    session.execute(
        insert(SubscriberEvent.__table__),
        [{"subscriber_id": new_id, "kind": kind, "created_at": now, "detail": d} for kind, d in events],
    )
    session.execute(
        insert(ReaderMail.__table__), [{"subscriber_id": new_id, "kind": "confirm", "created_at": now}]
    )
    return new_id


def _subscribe_postgresql(
    engine: Engine,
    email: str,
    newsletters: list[Any],
    locale: str,
    source: str | None,
    detail: dict[str, Any],
) -> SignupOutcome:
    """PostgreSQL's half of :func:`subscribe`: :data:`_NEW_READER_SQL`, and for a known address
    :data:`_RENEW_READER_SQL`, each in autocommit on the driver's connection (prepared; SQLAlchemy's
    statement cache, events and result wrapping cost more than the statement)."""
    now = utcnow()
    told = {"source": source, "newsletters": [n.slug for n in newsletters], **detail}
    pooled = engine.raw_connection()
    try:
        driver = pooled.driver_connection
        driver.autocommit = True
        try:
            parameters = {
                "email": email, "status": SubscriberStatus.PENDING.value, "locale": locale, "source": source,
                "now": now, "ask_frequency": AskFrequency.NORMAL.value,
                "newsletter_ids": [n.id for n in newsletters],
                "detail": json.dumps(told),
            }  # fmt: skip
            row = driver.execute(_NEW_READER_SQL, parameters, prepare=True).fetchone()
            if row is not None:
                return SignupOutcome(row[0], "created", True)
            return _renew_known_reader(driver, now, parameters)
        finally:
            driver.autocommit = False
    finally:
        pooled.close()


# PostgreSQL: a new reader with everything that goes with them in one statement. When the reader's
# insert returns no row (a known address), the data-modifying CTEs that select from it insert nothing.
# Placeholders in psycopg's own style: it runs on the driver's connection.
_NEW_READER_SQL = (
    """
    WITH reader AS (
        INSERT INTO subscribers (email, status, locale, source, created_at, updated_at, ask_frequency)
        VALUES (%(email)s, %(status)s, %(locale)s, %(source)s, %(now)s, %(now)s, %(ask_frequency)s)
        ON CONFLICT DO NOTHING
        RETURNING id
    ), subscriptions_added AS (
        INSERT INTO subscriptions (subscriber_id, newsletter_id, created_at)
        SELECT reader.id, chosen.id, %(now)s
        FROM reader, unnest(CAST(%(newsletter_ids)s AS integer[])) AS chosen(id)
    ), events_added AS (
        INSERT INTO subscriber_events (subscriber_id, kind, created_at, detail)
        SELECT reader.id, line.kind, %(now)s, line.detail
        FROM reader, (VALUES (1, 'subscribed', CAST(%(detail)s AS json)),
                             (2, 'confirmation_sent', CAST('{}' AS json))) AS line(n, kind, detail)
        ORDER BY line.n
    ), mail_added AS (
        INSERT INTO reader_mails (subscriber_id, kind, created_at)
        SELECT reader.id, 'confirm', %(now)s FROM reader
    )
    SELECT id FROM reader
    """
)


def _renew_known_reader(driver: Any, now: datetime, parameters: dict[str, Any]) -> SignupOutcome:
    """PostgreSQL: the known-address half of :func:`subscribe` in one statement (the same changes as the
    ORM path SQLite runs), so that a sign-up for a known address costs about as many round trips as one
    for a new address and the answer floor has less to hide."""
    parameters = {
        **parameters, "since": now - timedelta(days=1), "cap": MAILS_PER_DAY,
        "held": json.dumps({"mail": "confirm", "reason": "daily limit reached"}),
    }  # fmt: skip
    row = driver.execute(_RENEW_READER_SQL, parameters, prepare=True).fetchone()
    if row is None:  # the address was erased between the insert and now: let the caller retry
        raise SubscriberError("please try again")
    if row[1] == SubscriberStatus.ACTIVE.value:
        return SignupOutcome(row[0], "already_active", False)
    return SignupOutcome(row[0], "renewed", bool(row[2]))


# PostgreSQL: a pending, unsubscribed, bounced or complained reader signs up again. Their language, the
# time of the sign-up and (if none yet) the source are updated, the newsletters set to the choice, the
# history told, and a confirmation mail written to the outbox unless 3 went out in the last 24 hours. An
# active reader's row is locked and read, nothing else. Subscriptions dropped and added are disjoint sets,
# so the two CTEs on that table cannot meet.
_RENEW_READER_SQL = """
    WITH reader AS (
        SELECT id, status FROM subscribers WHERE lower(email) = lower(%(email)s) FOR UPDATE
    ), renewing AS (
        UPDATE subscribers
        SET locale = %(locale)s, updated_at = %(now)s, source = COALESCE(subscribers.source, %(source)s)
        FROM reader
        WHERE subscribers.id = reader.id AND reader.status <> 'active'
        RETURNING subscribers.id
    ), subscriptions_dropped AS (
        DELETE FROM subscriptions USING renewing
        WHERE subscriptions.subscriber_id = renewing.id
          AND subscriptions.newsletter_id <> ALL(CAST(%(newsletter_ids)s AS integer[]))
    ), subscriptions_added AS (
        INSERT INTO subscriptions (subscriber_id, newsletter_id, created_at)
        SELECT renewing.id, chosen.id, %(now)s
        FROM renewing, unnest(CAST(%(newsletter_ids)s AS integer[])) AS chosen(id)
        ON CONFLICT DO NOTHING
    ), sent AS (
        SELECT count(*) AS today FROM reader_mails, renewing
        WHERE reader_mails.subscriber_id = renewing.id AND reader_mails.kind = 'confirm'
          AND reader_mails.created_at >= %(since)s
    ), mail_added AS (
        INSERT INTO reader_mails (subscriber_id, kind, created_at)
        SELECT renewing.id, 'confirm', %(now)s FROM renewing, sent WHERE sent.today < %(cap)s
        RETURNING id
    ), events_added AS (
        INSERT INTO subscriber_events (subscriber_id, kind, created_at, detail)
        SELECT renewing.id, line.kind, %(now)s, line.detail
        FROM renewing, sent,
             (VALUES (1, 'subscribed', CAST(%(detail)s AS json), NULL),
                     (2, 'confirmation_sent', CAST('{}' AS json), true),
                     (3, 'mail_held_back', CAST(%(held)s AS json), false)) AS line(n, kind, detail, mailed)
        WHERE line.mailed IS NULL OR line.mailed = (sent.today < %(cap)s)
        ORDER BY line.n
    )
    SELECT reader.id, reader.status, (SELECT count(*) FROM mail_added) FROM reader
"""
