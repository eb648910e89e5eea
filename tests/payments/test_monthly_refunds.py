"""Refunds and disputes of monthly gifts land like one-time ones. An invoice event does not say which
payment intent paid it (API 2026-10-28); ``invoice_payment.paid`` does, and a refund or dispute of an
intent not known yet waits (parked) until it is. Every order of a month's four events ends the same, and
the receipt marked "first" is the first billing period's, whichever month arrives first."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy import select

from payments.models import (
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonorMail,
    EventState,
    PaymentStatus,
    StripeEvent,
)
from tests.payments import ledger
from tests.payments.factories import open_donation
from tests.support import stripe_api as s

MONTH = 30 * 86400
T0 = int(datetime(2026, 9, 1, 6, 0, tzinfo=UTC).timestamp())


def invoice_payment(invoice_id: str, intent: str, amount: int, paid_at: int) -> dict:
    """An InvoicePayment as ``invoice_payment.paid`` carries it: the link between invoice and intent."""
    return {
        "id": f"inpay_{invoice_id}", "object": "invoice_payment", "amount_paid": amount,
        "amount_requested": amount, "created": paid_at, "currency": "eur", "invoice": invoice_id,
        "is_default": True, "livemode": False, "status": "paid",
        "payment": {"type": "payment_intent", "payment_intent": intent},
        "status_transitions": {"canceled_at": None, "paid_at": paid_at},
    }  # fmt: skip


def _month(donation, n: int, *, reason: str = "subscription_cycle") -> dict:
    invoice = s.invoice(donation, f"in_{donation.id}_{n}", created=T0 + n * MONTH)
    invoice["billing_reason"] = reason
    return invoice


def _started(client, db) -> Donation:
    donation = open_donation(db, DonationKind.MONTHLY, 1000, email="monat@example.org")
    completed = s.event("checkout.session.completed", s.completed_session(donation), created=T0)
    assert s.post_event(client, completed).status_code == 200
    return donation


def _payment(db, invoice_id: str) -> DonationPayment:
    db.session.expire_all()
    found = select(DonationPayment).where(DonationPayment.stripe_invoice_id == invoice_id)
    return db.session.scalars(found).one()


def test_every_order_of_a_months_payment_refund_and_dispute(client, db, stripe_api):
    for order in itertools.permutations(range(4)):
        donation = _started(client, db)
        invoice = _month(donation, 1)
        intent = f"pi_{donation.id}_1"
        refund = s.charge(donation, amount_refunded=400, payment_intent=intent)
        paid_at = invoice["created"] + 60
        events = [
            s.event("invoice.paid", invoice, created=paid_at),
            s.event("invoice_payment.paid", invoice_payment(invoice["id"], intent, 1000, paid_at),
                    created=paid_at + 1),
            s.event("charge.refunded", refund, created=invoice["created"] + 5 * 86400),
            s.event("charge.dispute.closed", s.dispute(donation, status="lost", payment_intent=intent),
                    created=invoice["created"] + 20 * 86400),
        ]  # fmt: skip
        for i in order:
            answer = s.post_event(client, events[i])
            assert answer.status_code == 200, (order, i, answer.get_json())
        payment = _payment(db, invoice["id"])
        assert payment.stripe_payment_intent_id == intent, order
        assert (payment.status, payment.refunded_cents, payment.dispute_status) == (
            PaymentStatus.PAID, 400, DisputeStatus.LOST), order  # fmt: skip
        assert payment.paid_at == datetime.fromtimestamp(invoice["created"] + 60, UTC), order
        ids = [e["id"] for e in events]
        states = db.session.scalars(select(StripeEvent.state).where(StripeEvent.id.in_(ids)))
        assert set(states) == {EventState.APPLIED}, order
    ledger.assert_summaries_match(db.session)


def test_a_refund_waits_for_its_invoice_payment_then_lands(client, db, stripe_api):
    donation = _started(client, db)
    invoice = _month(donation, 1)
    refund = s.event("charge.refunded", s.charge(donation, amount_refunded=1000, payment_intent="pi_m1"))
    answer = s.post_event(client, refund)
    assert answer.status_code == 200 and answer.get_json()["status"].startswith("parked")
    assert s.post_event(client, s.event("invoice.paid", invoice)).status_code == 200
    assert _payment(db, invoice["id"]).refunded_cents == 0  # still waiting: the invoice names no intent
    link = s.event("invoice_payment.paid", invoice_payment(invoice["id"], "pi_m1", 1000, invoice["created"]))
    assert s.post_event(client, link).status_code == 200
    payment = _payment(db, invoice["id"])
    assert (payment.status, payment.refunded_cents) == (PaymentStatus.REFUNDED, 1000)
    assert db.session.get(Donation, donation.id).status.value == "active"  # a refunded month ends nothing
    assert stripe_api.calls("GET", "/v1/") == []


def test_the_first_receipt_is_the_first_billing_periods_whatever_arrives_first(client, db, stripe_api):
    donation = _started(client, db)
    months = [_month(donation, 0, reason="subscription_create"), _month(donation, 1), _month(donation, 2)]
    for invoice in reversed(months):  # Stripe's retries can bring a later month first
        paid_at = invoice["created"] + 60
        assert s.post_event(client, s.event("invoice.paid", invoice, created=paid_at)).status_code == 200
    db.session.expire_all()
    receipts = db.session.scalars(
        select(DonorMail).where(DonorMail.donation_id == donation.id).order_by(DonorMail.id)
    ).all()  # fmt: skip
    assert [m.context["first"] for m in receipts] == [False, False, True]
    first_paid = datetime.fromtimestamp(months[0]["created"] + 60, UTC)
    assert db.session.get(Donation, donation.id).paid_at == first_paid  # the donation's start, for the MRR
