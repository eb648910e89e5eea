"""Readers: addresses, the suppression list, history, leaving and erasure. Plain functions; the caller
(view, job, CLI) owns the transaction.

The reader-facing flows (subscribe, confirm, preferences) build on these; staff actions and imports use
the same functions, so a suppressed address is refused the same way everywhere.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Any, NamedTuple

import redis
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.orm import Session, scoped_session

from db import utcnow

from .models import (
    AskFrequency,
    ConsentBasis,
    Newsletter,
    ReaderMail,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    Suppression,
    SuppressionReason,
)

log = logging.getLogger(__name__)

MAX_EMAIL_LENGTH = 254  # RFC 5321: the longest address a mail server must accept in a path


class SubscriberError(ValueError):
    """The request cannot be carried out; the message is meant for the person who made it."""


class InvalidEmail(SubscriberError):
    pass


class Suppressed(SubscriberError):
    pass


def normalize_email(raw: str) -> str:
    """The address as Beitrag stores it: validated (syntax only, no DNS), domain lower-cased and IDNA
    decoded to Unicode, local part as typed. Refuses line breaks, NUL and over-long addresses.

    Plain addresses (an ASCII dot-atom local part, an ASCII domain of letters, digits and hyphens with an
    alphabetic top-level domain, nothing special-use) are checked with two small patterns, the domain once
    per distinct domain: for them email-validator's normalized form is the address with its domain
    lower-cased. Everything else goes through :func:`normalize_email_by_validator`; a test holds both paths
    to the same answers."""
    candidate = _checked_candidate(raw)
    local, _, domain = candidate.partition("@")
    if len(local) <= 64 and _PLAIN_LOCAL.fullmatch(local):
        plain = _plain_domain(domain)
        if plain is not None:
            return f"{local}@{plain}"
    return _validated(candidate)


def normalize_email_by_validator(raw: str) -> str:
    """:func:`normalize_email` without the fast path: every address through email-validator."""
    return _validated(_checked_candidate(raw))


def _checked_candidate(raw: str) -> str:
    if not isinstance(raw, str):
        raise InvalidEmail("the e-mail address is missing")
    if "\n" in raw or "\r" in raw or "\0" in raw:
        raise InvalidEmail("the e-mail address contains a line break or a NUL character")
    candidate = raw.strip()
    if not candidate:
        raise InvalidEmail("the e-mail address is missing")
    if len(candidate) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"the e-mail address is longer than {MAX_EMAIL_LENGTH} characters")
    return candidate


def _validated(candidate: str) -> str:
    try:
        result = validate_email(candidate, check_deliverability=False, allow_quoted_local=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return result.normalized


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_PLAIN_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_SPECIAL_SUFFIXES = tuple(s for s in SPECIAL_USE_DOMAIN_NAMES if "." in s)
_SPECIAL_TLDS = frozenset(s for s in SPECIAL_USE_DOMAIN_NAMES if "." not in s)


@functools.lru_cache(maxsize=4096)  # few distinct domains: each is checked once per process
def _plain_domain(domain: str) -> str | None:
    """The domain lower-cased if it is a plain ASCII one that email-validator leaves as it is, else None
    (an ``@`` in it, IDN, ``xn--``, special use)."""
    if not _PLAIN_DOMAIN.fullmatch(domain):
        return None
    lower = domain.lower()
    if "--" in lower or lower.rpartition(".")[2] in _SPECIAL_TLDS:
        return None
    if any(lower == s or lower.endswith("." + s) for s in _SPECIAL_SUFFIXES):
        return None
    return lower


def email_hash(email: str) -> str:
    """SHA-256 of the lower-cased address: what the suppression list keeps."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(func.lower(Subscriber.email) == email.strip().lower()))


def is_suppressed(session: Session, email: str) -> bool:
    return session.get(Suppression, email_hash(email)) is not None


def suppression_reason(session: Session, email: str) -> SuppressionReason | None:
    row = session.get(Suppression, email_hash(email))
    return row.reason if row is not None else None


def suppress(session: Session, email: str, reason: SuppressionReason) -> None:
    """Put the address on the suppression list (once; the first reason is kept, except that erasure wins)."""
    key = email_hash(email)
    row = session.get(Suppression, key)
    if row is None:
        session.add(Suppression(email_hash=key, reason=reason))
    elif reason is SuppressionReason.ERASED:
        row.reason = reason


def lift_suppression(session: Session, email: str) -> None:
    """Only for the reader's own confirmed opt-in: they asked for mail again, from their own mailbox."""
    session.execute(delete(Suppression).where(Suppression.email_hash == email_hash(email)))


def record_event(session: Session, subscriber: Subscriber, kind: str, **detail: Any) -> SubscriberEvent:
    event = SubscriberEvent(subscriber=subscriber, kind=kind, detail=detail)
    session.add(event)
    return event


def unsubscribe(session: Session, subscriber: Subscriber, *, via: str, **detail: Any) -> bool:
    """Leave every newsletter at once. Idempotent: returns False when the reader had already left."""
    if subscriber.status is SubscriberStatus.UNSUBSCRIBED:
        return False
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    subscriber.unsubscribed_at = utcnow()
    suppress(session, subscriber.email, SuppressionReason.UNSUBSCRIBED)
    record_event(session, subscriber, "unsubscribed", via=via, **detail)
    return True


def erase(session: Session, subscriber: Subscriber, *, via: str) -> str:
    """Delete everything held about the reader; only the hash of the address stays, on the suppression
    list, so that no import can bring them back. Returns that hash."""
    from .api import supporter_erase

    key = email_hash(subscriber.email)
    suppress(session, subscriber.email, SuppressionReason.ERASED)
    supporter_erase(session, subscriber)  # the donations side forgets what it may (see its README part)
    session.delete(subscriber)
    session.flush()
    return key


# -- double opt-in ---------------------------------------------------------------------------------


def confirmation_token(subscriber: Subscriber) -> str:
    """Names the reader and the address: a token for an address that has since changed is void."""
    from . import tokens

    return tokens.make_token("confirm", {"s": subscriber.id, "h": email_hash(subscriber.email)[:16]})


def subscriber_for_confirmation(session: Session, token: str) -> Subscriber:
    """The reader a confirmation link belongs to. Raises ``tokens.TokenError`` for a bad or old link."""
    from . import tokens

    payload = tokens.read_token("confirm", token)
    subscriber = session.get(Subscriber, payload.get("s")) if isinstance(payload, dict) else None
    if subscriber is None or email_hash(subscriber.email)[:16] != payload.get("h"):
        raise tokens.TokenError("the link is not valid")
    return subscriber


def request_confirmation(session: Session, subscriber: Subscriber) -> bool:
    """Queue the double opt-in mail. It carries nothing the reader typed but the address itself.

    At most :data:`MAILS_PER_DAY` confirmation mails go to one address in 24 hours, counted in the
    database (so the cap holds when Redis forgets). The request is written as a :class:`ReaderMail` row in
    the caller's transaction; when Redis is unreachable the row stays unqueued and
    :func:`send_unqueued_reader_mails` sends it later. Returns False when the cap held the mail back."""
    return _request_reader_mail(session, subscriber, "confirm")


def confirm(session: Session, subscriber: Subscriber, **detail: Any) -> bool:
    """The reader confirmed from their mailbox: active, with double opt-in as the recorded consent.
    Their own confirmation lifts an earlier suppression. Idempotent: False when already active."""
    if subscriber.status is SubscriberStatus.ACTIVE:
        return False
    now = utcnow()
    subscriber.status = SubscriberStatus.ACTIVE
    subscriber.confirmed_at = now
    subscriber.unsubscribed_at = None
    subscriber.consent_basis = ConsentBasis.DOUBLE_OPT_IN
    subscriber.consent_at = now
    subscriber.consent_detail = "confirmed from the link in the confirmation mail"
    lift_suppression(session, subscriber.email)
    record_event(session, subscriber, "confirmed", **detail)
    return True


# -- subscribing -----------------------------------------------------------------------------------

MAILS_PER_DAY = 3  # confirmation (or preference-link) mails one address can receive in 24 hours
MAX_SOURCE_LENGTH = 255
PENDING_LIFETIME = timedelta(days=7)  # unconfirmed sign-ups are deleted after this
UNQUEUED_MAIL_LIFETIME = timedelta(days=3)  # the sweeper gives up on mails older than this
MAX_PAUSE = timedelta(days=366)


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


def _set_subscriptions(session: Session, subscriber: Subscriber, newsletters: list[Newsletter]) -> None:
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
    _set_subscriptions(session, reader, newsletters)
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


def expire_pending_signups(session: Session, *, now: datetime | None = None) -> int:
    """Delete sign-ups that were never confirmed within :data:`PENDING_LIFETIME` (their subscriptions,
    history and mail records go with them). Returns how many."""
    cutoff = (now or utcnow()) - PENDING_LIFETIME
    ids = list(
        session.scalars(
            select(Subscriber.id).where(
                Subscriber.status == SubscriberStatus.PENDING,
                Subscriber.confirmed_at.is_(None),
                Subscriber.updated_at < cutoff,
            )
        )
    )
    for start in range(0, len(ids), 1000):
        session.execute(delete(Subscriber).where(Subscriber.id.in_(ids[start : start + 1000])))
    return len(ids)


# -- mails a reader asks for (confirmation, preference link) ----------------------------------------


def mails_sent_today(
    session: Session, subscriber: Subscriber, kind: str, *, now: datetime | None = None
) -> int:
    since = (now or utcnow()) - timedelta(days=1)
    return session.scalar(
        select(func.count())
        .select_from(ReaderMail)
        .where(
            ReaderMail.subscriber_id == subscriber.id,
            ReaderMail.kind == kind,
            ReaderMail.created_at >= since,
        )
    )


def _request_reader_mail(
    session: Session, subscriber: Subscriber, kind: str, *, new_reader: bool = False
) -> bool:
    """``new_reader``: the reader was created in this transaction, so nothing was mailed to them yet."""
    if subscriber.id is None:
        session.flush()
    if not new_reader and mails_sent_today(session, subscriber, kind) >= MAILS_PER_DAY:
        record_event(session, subscriber, "mail_held_back", mail=kind, reason="daily limit reached")
        return False
    # The outbox: the row is written with the caller's commit, together with the reader; the sweeper
    # (send_unqueued_reader_mails, run every few seconds by the clock) puts it on the queue.
    session.add(ReaderMail(subscriber_id=subscriber.id, kind=kind, created_at=utcnow()))
    record_event(session, subscriber, "confirmation_sent" if kind == "confirm" else "preferences_link_sent")
    return True


def _reader_mail_job(kind: str, subscriber_id: int, email: str, locale: str, base_url: str) -> tuple:
    """(template, address, context, locale) of the message a reader mail row stands for."""
    from flask import current_app

    from . import links, tokens

    if kind == "confirm":
        token = tokens.make_token("confirm", {"s": subscriber_id, "h": email_hash(email)[:16]})
        return "confirm_subscription", email, {"confirm_url": f"{base_url}/confirm/{token}"}, locale
    url = links.preferences_url(base_url, current_app.config["SECRET_KEY"], subscriber_id)
    return "preferences_link", email, {"preferences_url": url}, locale


def send_unqueued_reader_mails(session: Session, *, base_url: str, limit: int = 1000) -> int:
    """The sweeper: claim up to ``limit`` reader mails that are not on the queue yet (not older than
    :data:`UNQUEUED_MAIL_LIFETIME`) and queue them in one Redis round trip. A confirmation for a reader
    who has confirmed meanwhile is dropped. Returns how many were queued.

    Safe to run on several hosts at once: the rows are claimed with ``UPDATE ... WHERE enqueued_at IS
    NULL RETURNING`` (on PostgreSQL ``FOR UPDATE SKIP LOCKED``), so two sweepers never queue one mail
    twice. When Redis is unreachable the claim is rolled back and the rows wait for the next sweep."""
    from . import api

    now = utcnow()
    table = ReaderMail.__table__
    waiting = (
        select(table.c.id)
        .where(table.c.enqueued_at.is_(None), table.c.created_at >= now - UNQUEUED_MAIL_LIFETIME)
        .order_by(table.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        waiting = waiting.with_for_update(skip_locked=True)
    try:
        with session.begin_nested():
            claimed = session.execute(
                update(table)
                .where(table.c.id.in_(waiting.scalar_subquery()), table.c.enqueued_at.is_(None))
                .values(enqueued_at=now)
                .returning(table.c.subscriber_id, table.c.kind)
            ).all()
            if not claimed:
                return 0
            readers = {
                row.id: row
                for row in session.execute(
                    select(Subscriber.id, Subscriber.email, Subscriber.locale, Subscriber.status).where(
                        Subscriber.id.in_({c.subscriber_id for c in claimed})
                    )
                )
            }
            messages = [
                _reader_mail_job(kind, reader.id, reader.email, reader.locale, base_url)
                for subscriber_id, kind in claimed
                if (reader := readers.get(subscriber_id)) is not None
                and not (kind == "confirm" and reader.status is SubscriberStatus.ACTIVE)
            ]
            api.send_transactional_mails(messages)
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unreachable, reader mails wait for the next sweep: %s", exc)
        return 0
    return len(messages)


def request_preferences_link(session: Session, subscriber: Subscriber) -> bool:
    """Mail the reader a signed link to their preference center (capped per day like confirmations)."""
    return _request_reader_mail(session, subscriber, "preferences")


# -- the preference center -------------------------------------------------------------------------


def parse_pause(value: date | None, *, today: date | None = None) -> datetime | None:
    """The end of a pause as a UTC datetime: the morning of ``value``. Raises for a past or far date."""
    if value is None:
        return None
    today = today or utcnow().date()
    if value <= today:
        raise SubscriberError("the end of the pause must lie in the future")
    if value > today + MAX_PAUSE:
        raise SubscriberError("a pause can last at most a year")
    return datetime.combine(value, time(0, 0), tzinfo=UTC)


def update_preferences(
    session: Session,
    subscriber: Subscriber,
    *,
    newsletters: list[Newsletter],
    locale: str,
    paused_until: datetime | None,
    ask_frequency: AskFrequency,
) -> dict[str, Any]:
    """Apply the reader's own choice from the preference center; records what changed. Returns it."""
    changes: dict[str, Any] = {}
    before = sorted(s.newsletter.slug for s in subscriber.subscriptions)
    after = sorted(n.slug for n in newsletters)
    if before != after:
        _set_subscriptions(session, subscriber, newsletters)
        changes["newsletters"] = after
    if subscriber.locale != locale:
        subscriber.locale = locale
        changes["locale"] = locale
    if subscriber.paused_until != paused_until:
        subscriber.paused_until = paused_until
        changes["paused_until"] = paused_until.date().isoformat() if paused_until else None
    if subscriber.ask_frequency is not ask_frequency:
        subscriber.ask_frequency = ask_frequency
        changes["ask_frequency"] = ask_frequency.value
    if changes:
        record_event(session, subscriber, "preferences_changed", via="preference center", **changes)
    return changes


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_data(session: Session, subscriber: Subscriber) -> dict[str, Any]:
    """Everything Beitrag holds about the reader (GDPR Art. 15 and 20), as plain JSON values."""
    from .api import supporter_export

    mails = session.scalars(
        select(ReaderMail).where(ReaderMail.subscriber_id == subscriber.id).order_by(ReaderMail.id)
    ).all()
    return {
        "subscriber": {
            "email": subscriber.email,
            "status": subscriber.status.value,
            "language": subscriber.locale,
            "source": subscriber.source,
            "created_at": _iso(subscriber.created_at),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "unsubscribed_at": _iso(subscriber.unsubscribed_at),
            "paused_until": _iso(subscriber.paused_until),
            "donation_asks": subscriber.ask_frequency.value,
        },
        "consent": {
            "basis": subscriber.consent_basis.value if subscriber.consent_basis else None,
            "given_at": _iso(subscriber.consent_at),
            "detail": subscriber.consent_detail,
        },
        "subscriptions": [
            {"newsletter": s.newsletter.name, "slug": s.newsletter.slug, "since": _iso(s.created_at)}
            for s in subscriber.subscriptions
        ],
        "events": [{"kind": e.kind, "at": _iso(e.created_at), "detail": e.detail} for e in subscriber.events],
        "mails_requested": [
            {"kind": m.kind, "at": _iso(m.created_at), "queued_at": _iso(m.enqueued_at)} for m in mails
        ],
        "donations": supporter_export(session, subscriber),
    }


def leave_newsletter(
    session: Session, subscriber: Subscriber, newsletter_id: int | None, *, via: str
) -> bool:
    """One-click unsubscribe: leave one newsletter (or, with ``None`` or when it was the last one,
    everything). Idempotent: False when nothing was left to leave."""
    if newsletter_id is not None:
        row = next((s for s in subscriber.subscriptions if s.newsletter_id == newsletter_id), None)
        remaining = [s for s in subscriber.subscriptions if s.newsletter_id != newsletter_id]
        if remaining:
            if row is None:
                return False
            subscriber.subscriptions.remove(row)
            record_event(session, subscriber, "left_newsletter", via=via, newsletter_id=newsletter_id)
            return True
    return unsubscribe(session, subscriber, via=via)
