"""Stripe's webhook: raw body -> signature (SDK, 300 s tolerance) -> livemode -> event store -> donations.

The event's id is written in the same transaction as its effect. A redelivery, or the same event arriving
ten times at once, finds the id (the unique key makes the later ones fail) and changes nothing; an event
whose effect failed left no id behind, so Stripe's retry applies it once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from payments import gateway
from payments.events import apply
from payments.models import StripeEvent

log = logging.getLogger(__name__)

HANDLED = frozenset({
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
})  # fmt: skip

TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 512 * 1024


class BadEvent(ValueError):
    """The request is not a genuine event for this installation (answered 400)."""


@dataclass(frozen=True)
class Outcome:
    status: int
    detail: str


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
        or not isinstance(event.get("type"), str)
    ):
        raise BadEvent("the body is not a Stripe event")
    if bool(event.get("livemode")) is not settings.livemode:
        raise BadEvent("the event's livemode does not match the configured key")
    return event


def apply_event(
    session: Session, event: dict[str, Any], settings: gateway.StripeSettings, *, base_url: str
) -> str:
    """Record the event and apply it, in the caller's transaction. Raises IntegrityError when the event is
    already recorded (by this or a concurrent delivery), :class:`apply.RetryLater` when it cannot be
    placed yet."""
    kind = event["type"]
    if kind not in HANDLED:
        return "ignored: not an event Beitrag uses"
    # The id first: a concurrent delivery of the same event waits here and then fails on the unique key,
    # before it has read anything.
    session.add(StripeEvent(id=event["id"], type=kind, created=int(event.get("created") or 0)))
    session.flush()
    obj = (event.get("data") or {}).get("object") or {}
    if kind.startswith("checkout.session."):
        return apply.apply_checkout_session(session, obj, event_type=kind, base_url=base_url)
    if kind == "invoice.paid":
        return apply.apply_invoice_paid(session, obj, base_url=base_url)
    if kind == "invoice.payment_failed":
        return apply.apply_invoice_payment_failed(session, obj, base_url=base_url)
    if kind.startswith("customer.subscription."):
        return apply.apply_subscription(
            session, obj, event_type=kind, event_created=int(event.get("created") or 0), base_url=base_url
        )
    if kind == "charge.refunded":
        return apply.apply_charge_refunded(session, obj, settings=settings)
    return apply.apply_dispute(session, obj, event_type=kind, settings=settings)


def is_recorded(session: Session, event_id: str) -> bool:
    return session.scalar(select(StripeEvent.id).where(StripeEvent.id == event_id)) is not None


def handle(
    session: Session, event: dict[str, Any], settings: gateway.StripeSettings, *, base_url: str
) -> Outcome:
    """Apply and commit one verified event; the answer for Stripe (200 applied, ignored or duplicate; 500
    retry). Nothing is half-written: any failure rolls the whole event back."""
    if is_recorded(session, event["id"]):
        return Outcome(200, "duplicate")
    try:
        detail = apply_event(session, event, settings, base_url=base_url)
        session.commit()
    except IntegrityError:
        session.rollback()
        if is_recorded(session, event["id"]):
            return Outcome(200, "duplicate")
        return Outcome(500, "conflict, retry")
    except apply.RetryLater as exc:
        session.rollback()
        return Outcome(500, f"retry later: {exc}")
    except Exception:  # a database or programming error: nothing stays, Stripe delivers it again
        session.rollback()
        log.exception("Stripe event %s (%s) failed; Stripe will deliver it again", event["id"], event["type"])
        return Outcome(500, "failed, retry")
    return Outcome(200, detail)
