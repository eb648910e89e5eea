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
  confirmation mail, unless :data:`~newsletter.readers.outbox.MAILS_PER_DAY` went out in the last 24 hours
  (then "mail_held_back" in the history instead);
* addresses are matched regardless of case.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic
from typing import Any, NamedTuple

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session, scoped_session

from db import utcnow
from newsletter.readers.addresses import SubscriberError
from newsletter.readers.models import (
    AskFrequency,
    Newsletter,
    ReaderMail,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
)
from newsletter.readers.outbox import MAILS_PER_DAY, request_confirmation
from newsletter.readers.subscribers import find_subscriber, record_event

MAX_SOURCE_LENGTH = 255


def clean_source(raw: Any) -> str | None:
    """Where a reader came from (a UTM campaign, an article URL): control characters (line breaks, NUL,
    escapes) removed, whitespace collapsed, at most :data:`MAX_SOURCE_LENGTH` characters."""
    if not isinstance(raw, str):
        return None
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in raw)
    text = " ".join(text.split())[:MAX_SOURCE_LENGTH].strip()
    return text or None


@dataclass(frozen=True)
class SignupOutcome:
    """What happened, for logs and tests; the reader is told the same in every case."""

    subscriber_id: int | None
    action: str  # "created", "renewed", "already_active", "ignored"
    mailed: bool


def public_newsletters(session: Session) -> list[Newsletter]:
    return list(
        session.scalars(
            select(Newsletter)
            .where(Newsletter.is_public.is_(True))
            .order_by(Newsletter.position, Newsletter.id)
        )
    )


class OfferedNewsletter(NamedTuple):
    id: int
    slug: str
    name: str
    is_default: bool


OFFERED_NEWSLETTERS_SECONDS = 5.0  # how long a process reuses the list of public newsletters
_offered: dict[Any, tuple[float, int, list[OfferedNewsletter]]] = {}  # database URL -> (time, version, list)
_newsletters_version = 0  # bumped whenever this process changes a newsletter


def forget_offered_newsletters(*_: Any) -> None:
    """Newsletters changed: the next sign-up reads them again."""
    global _newsletters_version
    _newsletters_version += 1


for _event in ("after_insert", "after_update", "after_delete"):
    event.listen(Newsletter, _event, forget_offered_newsletters)


def offered_newsletters(session: Session) -> list[OfferedNewsletter]:
    """The public newsletters as plain tuples for the sign-up form and API, which need them on every
    request. They change rarely: each process keeps them for :data:`OFFERED_NEWSLETTERS_SECONDS` (a change
    made by staff in this process shows at once, one made elsewhere within those seconds)."""
    key = session.get_bind().url  # hashable; rendering it as text on every sign-up cost more than the lookup
    now = monotonic()
    cached = _offered.get(key)
    if (
        cached is not None
        and cached[1] == _newsletters_version
        and now - cached[0] < OFFERED_NEWSLETTERS_SECONDS
    ):
        return cached[2]
    version = _newsletters_version
    query = (
        select(Newsletter.id, Newsletter.slug, Newsletter.name, Newsletter.is_default)
        .where(Newsletter.is_public.is_(True))
        .order_by(Newsletter.position, Newsletter.id)
    )
    actual = session() if isinstance(session, scoped_session) else session
    if actual.in_transaction():  # the caller's transaction may hold changes of its own: read inside it
        rows = [OfferedNewsletter(*row) for row in session.execute(query)]
    else:  # a connection for this read only, back in the pool at once: a sign-up thread holds none while
        # it waits out the answer floor, and its statement (see _subscribe_postgresql) takes its own
        with session.get_bind().connect() as connection:
            rows = [OfferedNewsletter(*row) for row in connection.execute(query)]
    _offered[key] = (now, version, rows)
    return rows


def choose_newsletters(
    session: Session, slugs: list[str] | None, available: list[Any] | None = None
) -> list[Newsletter]:
    """The public newsletters named by ``slugs``; the default ones when none is named. Raises
    :class:`SubscriberError` for a slug that names no public newsletter (hidden ones cannot be chosen)."""
    available = available if available is not None else offered_newsletters(session)
    if not slugs:
        chosen = [n for n in available if n.is_default] or available[:1]
        if not chosen:
            raise SubscriberError("there is no newsletter to subscribe to yet")
        return chosen
    by_slug = {n.slug: n for n in available}
    unknown = [s for s in slugs if s not in by_slug]
    if unknown:
        raise SubscriberError("unknown newsletter")
    return [by_slug[s] for s in dict.fromkeys(slugs)]


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
    session: Session,
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
    whole; the answer goes out after PostgreSQL has made it durable."""
    source = clean_source(source)
    if session.get_bind().dialect.name == "postgresql":
        return _subscribe_postgresql(session, email, newsletters, locale, source, detail)
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
    session: Session,
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
    pooled = session.get_bind().raw_connection()
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
