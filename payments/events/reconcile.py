"""Reconciliation: what Stripe knows about a period, compared with our ledger, and what we missed applied.

Stripe retries an undelivered event for three days and keeps events for 30; an endpoint that was down, a
secret rotated at the wrong moment or an event type left out of the endpoint's list lose events for good.
:func:`reconcile` pages through the period's Checkout sessions, invoices and their payments, charges,
refunds, disputes and the account's subscriptions (through the API), applies every object through the same
code as its event would have (``apply``: ours only, states forward, Stripe's totals and times), and reports
what it repaired and every difference it could not (ours says more than Stripe, say a refund Stripe does
not show). Each object is applied in its own short transaction; no transaction is open while Stripe
answers. ``flask --app app payments reconcile --since DATE`` runs it; the clock runs it daily for the last
few days.

Times of repairs are Stripe's object times: an invoice's ``paid_at``, a refund's and a dispute's
``created``, and for a one-time gift found only now the moment its charge's money moved (the charge's
balance transaction; for SEPA the day the debit arrived, not the day it began). A monthly amount change
found only now is recorded from the moment it was found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, scoped_session

from db import utcnow
from payments import gateway
from payments.events import apply, parking
from payments.models import (
    DisputeStatus,
    Donation,
    DonationAmountChange,
    DonationPayment,
    DonationStatus,
    EventState,
)


@dataclass
class Report:
    seen: int = 0  # objects of ours looked at
    repaired: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)


# Written by every subscription it looks at (the time of the news), so not a repair by itself.
_BOOKKEEPING = frozenset({"subscription_status_at"})


def _changed(session: Session) -> bool:
    """Whether the pending work changes a donation, payment or amount history (not merely reads it)."""
    watched = (Donation, DonationPayment, DonationAmountChange)
    if any(isinstance(obj, watched) for obj in session.new):
        return True
    for obj in session.dirty:
        if isinstance(obj, watched):
            state = sa_inspect(obj)
            if any(attr.history.has_changes() for attr in state.attrs if attr.key not in _BOOKKEEPING):
                return True
    return False


class _Run:
    def __init__(self, session: Session, settings: gateway.StripeSettings, base_url: str, report: Report):
        self.session, self.settings, self.base_url, self.report = session, settings, base_url, report

    def apply(self, kind: str, obj: dict, created: int, what: str) -> apply.Result:
        """Apply one object in its own transaction; a payment it cannot place is looked up at Stripe
        (as a parked event's job would) and applied again."""
        result = self._apply_once(kind, obj, created, what)
        if result.state is EventState.PARKED and result.waits_for:
            self.session.commit()
            found = parking._lookup(self.settings, result.waits_for)
            for found_kind, found_obj, found_created in found:
                self._apply_once(found_kind, found_obj, found_created, f"{found_kind} {found_obj.get('id')}")
            result = self._apply_once(kind, obj, created, what)
        return result

    def _apply_once(self, kind: str, obj: dict, created: int, what: str) -> apply.Result:
        session = self.session
        ctx = apply.Context(session, self.base_url, created)
        changed = []
        watch = lambda s, *_: changed.append(_changed(s))  # noqa: E731 (every flush, before it writes)
        target = session() if isinstance(session, scoped_session) else session
        event.listen(target, "before_flush", watch)
        try:
            result = apply.apply_object(ctx, kind, obj)
            parking.release(session, result.known, base_url=self.base_url)
            session.flush()
            if result.state is EventState.APPLIED:
                self.report.seen += 1
                if any(changed):
                    self.report.repaired.append(f"{what}: {result.detail}")
            session.commit()
        except Exception:
            session.rollback()
            raise
        finally:
            event.remove(target, "before_flush", watch)
        return result

    def check(self, what: str, found: Callable[[], DonationPayment | None], compare) -> None:
        """Compare a payment of ours with Stripe's object after applying it; report what differs."""
        payment = found()
        if payment is not None:
            for line in compare(payment):
                self.report.differences.append(f"{what}: {line}")
        self.session.rollback()


def _payment_of(session: Session, *, invoice: str | None = None, intent: str | None = None):
    def find() -> DonationPayment | None:
        column = DonationPayment.stripe_invoice_id if invoice else DonationPayment.stripe_payment_intent_id
        return session.scalar(select(DonationPayment).where(column == (invoice or intent)))

    return find


def _created(obj: dict, *keys: str) -> int:
    for key in keys:
        value = obj
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


def reconcile(
    session: Session, settings: gateway.StripeSettings, *, since: datetime, until: datetime | None = None,
    base_url: str,
) -> Report:  # fmt: skip
    """Compare and repair everything Stripe made from ``since`` (to ``until``, default now)."""
    report = Report()
    run = _Run(session, settings, base_url, report)
    session.commit()
    window: dict[str, Any] = {"gte": int(since.timestamp())}
    if until is not None:
        window["lt"] = int(until.timestamp())
    lists = {
        kind: gateway.list_all(settings, kind, {"created": window})
        for kind in ("refunds", "disputes", "invoices", "invoice_payments", "checkout_sessions")
    }  # fmt: skip
    expand = ["data.balance_transaction"]
    lists["charges"] = gateway.list_all(settings, "charges", {"created": window, "expand": expand})
    subscriptions = gateway.list_all(settings, "subscriptions", {"status": "all"})
    charge_times = {c.get("payment_intent"): apply.money_moved_at(c) or _created(c, "created")
                    for c in lists["charges"] if c.get("status") == "succeeded"}  # fmt: skip

    for obj in lists["checkout_sessions"]:
        if obj.get("status") != "complete":
            continue
        intent = apply.stripe_id(obj.get("payment_intent"))
        created = charge_times.get(intent) or _created(obj, "created")
        run.apply("checkout.session.completed", obj, created, f"checkout session {obj.get('id')}")
    for obj in lists["invoices"]:
        invoice_id = obj.get("id")
        if obj.get("status") == "paid":
            run.apply("invoice.paid", obj, _created(obj, "status_transitions.paid_at", "created"),
                      f"invoice {invoice_id}")  # fmt: skip
            run.check(f"invoice {invoice_id}", _payment_of(session, invoice=invoice_id),
                      lambda p, o=obj: _compare_invoice(p, o))  # fmt: skip
        elif obj.get("status") == "open" and obj.get("attempted"):
            run.apply("invoice.payment_failed", obj, _created(obj, "created"), f"invoice {invoice_id}")
    for obj in lists["invoice_payments"]:
        if obj.get("status") == "paid":
            run.apply("invoice_payment.paid", obj, _created(obj, "status_transitions.paid_at", "created"),
                      f"invoice payment {obj.get('id')}")  # fmt: skip
    _refunds(run, lists)
    for obj in lists["disputes"]:
        kind = "charge.dispute.closed" if obj.get("status") in ("won", "lost") else "charge.dispute.created"
        run.apply(kind, obj, _created(obj, "created"), f"dispute {obj.get('id')}")
        intent = apply.stripe_id(obj.get("payment_intent"))
        run.check(f"dispute {obj.get('id')}", _payment_of(session, intent=intent),
                  lambda p, o=obj: _compare_dispute(p, o))  # fmt: skip
    now = int(utcnow().timestamp())
    for obj in subscriptions:
        kind = ("customer.subscription.deleted" if obj.get("status") == "canceled"
                else "customer.subscription.updated")  # fmt: skip
        run.apply(kind, obj, now, f"subscription {obj.get('id')}")
        _compare_subscription(run, obj)
    return report


def _refunds(run: _Run, lists: dict[str, list[dict]]) -> None:
    """Refunds of the period, of charges of any age: each charge's cumulative ``amount_refunded``."""
    charges = {c.get("id"): c for c in lists["charges"]}
    for refund in lists["refunds"]:
        charge_id = apply.stripe_id(refund.get("charge"))
        if charge_id and charge_id not in charges:
            charges[charge_id] = gateway.retrieve_charge(run.settings, charge_id)
    for charge in charges.values():
        if not charge.get("amount_refunded"):
            continue
        mine = [r for r in lists["refunds"] if apply.stripe_id(r.get("charge")) == charge.get("id")]
        times = [r.get("created") for r in mine if isinstance(r.get("created"), int)]
        created = max(times, default=_created(charge, "created"))
        run.apply("charge.refunded", charge, created, f"charge {charge.get('id')}")
        intent = apply.stripe_id(charge.get("payment_intent"))
        run.check(f"charge {charge.get('id')}", _payment_of(run.session, intent=intent),
                  lambda p, o=charge: _compare_refund(p, o))  # fmt: skip


def _compare_invoice(payment: DonationPayment, invoice: dict) -> list[str]:
    amount = invoice.get("amount_paid")
    lines = []
    if isinstance(amount, int) and amount != payment.amount_cents:
        lines.append(f"Stripe says {amount} paid, Beitrag records {payment.amount_cents}")
    if payment.paid_at is None:
        lines.append("paid at Stripe, not paid in Beitrag")
    return lines


def _compare_refund(payment: DonationPayment, charge: dict) -> list[str]:
    refunded = charge.get("amount_refunded")
    if isinstance(refunded, int) and refunded != payment.refunded_cents:
        return [f"Stripe says {refunded} refunded, Beitrag records {payment.refunded_cents}"]
    return []


def _compare_dispute(payment: DonationPayment, dispute: dict) -> list[str]:
    status = dispute.get("status")
    expected = {"won": DisputeStatus.WON, "lost": DisputeStatus.LOST}.get(status, DisputeStatus.OPEN)
    if payment.dispute_status is not expected:
        shown = payment.dispute_status.value if payment.dispute_status else "none"
        return [f"Stripe says the dispute is {status}, Beitrag records {shown}"]
    return []


def _compare_subscription(run: _Run, obj: dict) -> None:
    donation = run.session.scalar(select(Donation).where(Donation.stripe_subscription_id == obj.get("id")))
    if donation is None or not donation.kind.recurring:
        run.session.rollback()
        return
    ended = obj.get("status") in ("canceled", "incomplete_expired")
    if ended and donation.status is not DonationStatus.ENDED:
        run.report.differences.append(
            f"subscription {obj.get('id')}: ended at Stripe, donation {donation.id} is "
            f"{donation.status.value}"
        )
    if not ended and donation.status is DonationStatus.ENDED:
        run.report.differences.append(
            f"subscription {obj.get('id')}: {obj.get('status')} at Stripe, donation {donation.id} ended"
        )
    run.session.rollback()
