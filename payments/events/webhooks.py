"""Stripe's webhook: bounded raw body -> signature (SDK, 300 s tolerance) -> livemode -> event store ->
donations.

The event's id is written in the same transaction as its effect, first (``INSERT ... ON CONFLICT DO
NOTHING``). A redelivery, or the same event arriving ten times at once, finds the id (a concurrent
delivery waits on the unique key until the first commits, then inserts nothing) and changes nothing; an
event whose effect failed left no id behind, so Stripe's retry applies it once. Nothing here calls
Stripe: an event that needs Stripe's API is parked and looked up by a job (``parking``), so a slow Stripe
never holds a database connection or a lock.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from db import dialect_insert
from payments import gateway
from payments.events import apply, parking
from payments.models import EventState, StripeEvent

log = logging.getLogger(__name__)

HANDLED = apply.HANDLED
TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 1024 * 1024  # Stripe's events are a few KB; the largest sample objects stay far below
_CHUNK = 64 * 1024
# PostgreSQL's deadlock and serialization failures: the transaction was rolled back whole, and running the
# event again is safe (nothing of it stayed).
_RETRYABLE = ("40P01", "40001")
ATTEMPTS = 3


class BadEvent(ValueError):
    """The request is not a genuine event for this installation (answered 400)."""


class TooLarge(ValueError):
    """The body is larger than :data:`MAX_BODY_BYTES` (answered 413, the rest left unread)."""


@dataclass(frozen=True)
class Outcome:
    status: int
    detail: str
    parked: str | None = None  # the id of an event parked for a lookup at Stripe


def read_body(stream: IO[bytes], content_length: int | None, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """At most ``limit`` bytes of the request body, chunked or not: a declared length above the limit is
    refused before anything is read, an undeclared one as soon as the limit is passed."""
    if content_length is not None and content_length > limit:
        raise TooLarge(f"the body is {content_length} bytes, more than {limit}")
    parts, size = [], 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body is more than {limit} bytes")


def read_event(payload: bytes, signature_header: str | None, settings: gateway.StripeSettings) -> dict:
    """The verified event as plain data, or :class:`BadEvent`."""
    if not settings.webhook_secret:
        raise BadEvent("STRIPE_WEBHOOK_SECRET is not set")
    if len(payload) > MAX_BODY_BYTES:
        raise BadEvent("the body is too large")
    try:
        gateway.verify_webhook(
            payload, signature_header, settings.webhook_secret, tolerance=TOLERANCE_SECONDS
        )
    except gateway.SignatureError as exc:
        raise BadEvent(f"signature: {exc}") from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise BadEvent("the body is not JSON") from None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not 0 < len(event["id"]) <= 255
        or not isinstance(event.get("type"), str)
        or not isinstance(event.get("data"), dict)
    ):
        raise BadEvent("the body is not a Stripe event")
    if bool(event.get("livemode")) is not settings.livemode:
        raise BadEvent("the event's livemode does not match the configured key")
    return event


class Duplicate(Exception):
    """The event is recorded already (by an earlier or a concurrent delivery)."""


def record_and_apply(session: Session, event: dict[str, Any], *, base_url: str) -> apply.Result:
    """Record the event and apply it, with the parked events it makes applicable, in the caller's
    transaction. Raises :class:`Duplicate` when the event is already recorded."""
    created = event.get("created")
    table = StripeEvent.__table__
    # The id first: a concurrent delivery of the same event waits here, before it has read anything.
    recorded = session.execute(
        dialect_insert(session, table)
        .values(id=event["id"], type=event["type"][:100], created=created if isinstance(created, int) else 0)
        .on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
    ).first()  # fmt: skip
    if recorded is None:
        raise Duplicate(event["id"])
    result = apply.apply_event(session, event, base_url=base_url)
    session.execute(update(table).where(table.c.id == event["id"]).values(**parking.stored(result, event)))
    parking.release(session, result.known, base_url=base_url)
    return result


def is_recorded(session: Session, event_id: str) -> bool:
    return session.scalar(select(StripeEvent.id).where(StripeEvent.id == event_id)) is not None


def _retryable(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE


def handle(session: Session, event: dict[str, Any], *, base_url: str) -> Outcome:
    """Apply and commit one verified event; the answer for Stripe (200 applied, parked, ignored or
    duplicate; 500 retry). Nothing is half-written: any failure rolls the whole event back."""
    if event["type"] not in HANDLED:
        return Outcome(200, "ignored: not an event Beitrag uses")
    for attempt in range(1, ATTEMPTS + 1):
        try:
            result = record_and_apply(session, event, base_url=base_url)
            session.commit()
        except Duplicate:
            session.rollback()
            return Outcome(200, "duplicate")
        except IntegrityError:
            session.rollback()
            if is_recorded(session, event["id"]):
                return Outcome(200, "duplicate")
            return Outcome(500, "conflict, retry")
        except OperationalError as exc:
            session.rollback()
            if _retryable(exc) and attempt < ATTEMPTS:
                log.info("Stripe event %s met a deadlock or serialization failure; applying it again",
                         event["id"])  # fmt: skip
                continue
            log.warning("Stripe event %s (%s) not applied: %s", event["id"], event["type"], exc.orig)
            return Outcome(500, "database busy, retry")
        except Exception:  # a programming error: nothing stays, Stripe delivers it again
            session.rollback()
            log.exception("Stripe event %s (%s) failed; Stripe will deliver it again", event["id"],
                          event["type"])  # fmt: skip
            return Outcome(500, "failed, retry")
        parked = event["id"] if result.state is EventState.PARKED else None
        return Outcome(200, result.detail, parked=parked)
    return Outcome(500, "database busy, retry")
