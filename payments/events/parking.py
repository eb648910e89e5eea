"""Events about payments we do not know yet: parked, then applied when the payment becomes known.

Stripe sends a refund, a dispute or the ``invoice_payment.paid`` that names a monthly payment's payment
intent whenever it likes, possibly before the checkout or invoice that makes the payment known to us. Such
an event is stored with its payload and the key it waits for (``pi:<payment intent>``,
``invoice:<invoice>``) and answered 200. Every transaction that makes a key known (the checkout, the
invoice, the invoice payment) applies the events waiting for it, under the same donation lock
(:func:`release`), so the outcome is the one of the natural order.

What never becomes known by itself (a dropped checkout event, or another installation's payment on the
same account) is looked up at Stripe by a job (:func:`resolve`): outside any transaction, with a short
timeout, retried by the queue; what the lookup finds is applied as the events would have, and an event of
someone else's payment is marked ignored. The clock sweeps parked events whose job was lost.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import utcnow
from payments import gateway
from payments.events import apply
from payments.models import EventState, StripeEvent

log = logging.getLogger(__name__)

MAX_LOOKUPS = 8  # a parked event asked about this often without an answer is given up (and logged)
SWEEP_AFTER = timedelta(minutes=2)  # a parked event older than this has its lookup queued again


def stored(result: apply.Result, event: dict) -> dict:
    """What the event's row says after applying it; a parked one keeps its payload until it is applied."""
    return {
        "state": result.state,
        "outcome": result.detail[:200],
        "waits_for": result.waits_for,
        "payload": event if result.state is EventState.PARKED else None,
    }


def store(row: StripeEvent, result: apply.Result, event: dict) -> None:
    for key, value in stored(result, event).items():
        setattr(row, key, value)


def release(session: Session, keys: list[str], *, base_url: str) -> int:
    """Apply the parked events waiting for ``keys``, and for the keys they make known in turn, in the
    caller's transaction (which holds the lock of the donation the keys belong to). Returns how many."""
    pending, seen, applied = list(keys), set(), 0
    while pending:
        key = pending.pop(0)
        if key in seen:
            continue
        seen.add(key)
        rows = session.execute(
            select(StripeEvent)
            .where(StripeEvent.waits_for == key, StripeEvent.state == EventState.PARKED)
            .order_by(StripeEvent.created, StripeEvent.id).with_for_update()
            .execution_options(populate_existing=True)
        ).scalars().all()  # fmt: skip
        for row in rows:
            event = row.payload or {}
            result = apply.apply_event(session, event, base_url=base_url)
            store(row, result, event)
            pending.extend(result.known)
            applied += result.state is not EventState.PARKED
    return applied


def _locked_parked(session: Session, event_id: str) -> StripeEvent | None:
    row = session.execute(
        select(StripeEvent).where(StripeEvent.id == event_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()  # fmt: skip
    return row if row is not None and row.state is EventState.PARKED else None


def settle(session: Session, event_id: str, *, base_url: str) -> bool:
    """Apply a parked event if its payment has become known meanwhile (no Stripe call). Commits; True when
    the event is no longer parked."""
    row = _locked_parked(session, event_id)
    if row is None:
        session.rollback()
        return True
    event = row.payload or {}
    result = apply.apply_event(session, event, base_url=base_url)
    store(row, result, event)
    release(session, result.known, base_url=base_url)
    session.commit()
    return result.state is not EventState.PARKED


def _lookup(settings: gateway.StripeSettings, key: str) -> list[tuple[str, dict, int]]:
    """What Stripe knows about a key, as (event type, object, Stripe's time) to apply: the invoice that an
    intent paid, or the Checkout session a one-time intent came from."""
    kind, _, object_id = key.partition(":")
    invoice_id = object_id if kind == "invoice" else None
    if kind == "pi":
        payments = gateway.invoice_payments_for_intent(settings, object_id)
        paid = [p for p in payments if p.get("status") == "paid"]
        if paid:
            invoice_id = apply.stripe_id(paid[0].get("invoice"))
        else:
            expand = ("latest_charge.balance_transaction",)
            intent = gateway.retrieve_payment_intent(settings, object_id, expand=expand)
            created = apply.money_moved_at(intent.get("latest_charge")) or (
                intent.get("created") if isinstance(intent.get("created"), int) else 0)  # fmt: skip
            return [("checkout.session.completed", s, created)
                    for s in gateway.checkout_sessions_for_intent(settings, object_id)]  # fmt: skip
    if invoice_id is None:
        return []
    invoice = gateway.retrieve_invoice(settings, invoice_id, with_payments=True)
    created = invoice.get("created") if isinstance(invoice.get("created"), int) else 0
    if invoice.get("status") == "paid":
        return [("invoice.paid", invoice, created)]
    if invoice.get("status") == "open" and invoice.get("attempted"):
        return [("invoice.payment_failed", invoice, created)]
    return []


def apply_found(session: Session, found: list[tuple[str, dict, int]], *, base_url: str) -> list[apply.Result]:
    """Apply objects fetched from Stripe as their events would have (no event row), and release what they
    make known. The caller commits."""
    results = []
    for kind, obj, created in found:
        result = apply.apply_object(apply.Context(session, base_url, created), kind, obj)
        release(session, result.known, base_url=base_url)
        results.append(result)
    return results


def resolve(session: Session, event_id: str, settings: gateway.StripeSettings, *, base_url: str) -> str:
    """The job for one parked event: applied if its payment is known by now; otherwise Stripe is asked
    (outside any transaction) and what it knows is applied; someone else's payment is marked ignored.
    :class:`gateway.GatewayError` propagates, for the queue to retry."""
    if settle(session, event_id, base_url=base_url):
        return "applied"
    key = session.scalar(select(StripeEvent.waits_for).where(StripeEvent.id == event_id)) or ""
    session.commit()  # no transaction stays open while Stripe answers
    try:
        found = _lookup(settings, key)
    except gateway.GatewayError:
        _count_lookup(session, event_id)
        raise
    results = apply_found(session, found, base_url=base_url)
    session.commit()
    if settle(session, event_id, base_url=base_url):
        return "applied"
    row = _locked_parked(session, event_id)
    if row is None:
        session.rollback()
        return "applied"
    row.attempts += 1
    if all(r.state is EventState.IGNORED for r in results) or row.attempts >= MAX_LOOKUPS:
        row.state = EventState.IGNORED
        row.outcome = "ignored: Stripe knows no donation of ours for it"
        row.payload = None
        outcome = "ignored"
    else:
        outcome = "still parked"
    session.commit()
    return outcome


def _count_lookup(session: Session, event_id: str) -> None:
    session.rollback()
    row = _locked_parked(session, event_id)
    if row is not None:
        row.attempts += 1
        if row.attempts >= MAX_LOOKUPS:
            log.warning("Stripe event %s stays parked: Stripe could not be asked %s times", event_id,
                        row.attempts)  # fmt: skip
    session.commit()


def due(session: Session, *, limit: int = 200) -> list[str]:
    """Parked events whose lookup is due again (older than :data:`SWEEP_AFTER`, not given up)."""
    return list(session.scalars(
        select(StripeEvent.id)
        .where(StripeEvent.state == EventState.PARKED, StripeEvent.received_at < utcnow() - SWEEP_AFTER,
               StripeEvent.attempts < MAX_LOOKUPS)
        .order_by(StripeEvent.received_at).limit(limit)
    ))  # fmt: skip
