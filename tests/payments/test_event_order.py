"""Stripe delivers events in any order: every order of a donation's events ends in the same state, with
the same receipts. Each order runs on its own donation, through the signed webhook."""

from __future__ import annotations

import itertools
import time

from sqlalchemy import select

from payments.models import (
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    DonorMail,
    PaymentStatus,
)
from payments.supporters.states import state_of_donations
from tests.payments.factories import open_donation
from tests.support import stripe_api as s


def _mails(db, donation_id: int) -> list[str]:
    return sorted(db.session.scalars(select(DonorMail.kind).where(DonorMail.donation_id == donation_id)))


def test_every_order_of_a_one_time_donations_events(client, db, stripe_api):
    orders = list(itertools.permutations(range(4)))
    assert len(orders) == 24
    for order in orders:
        donation = open_donation(db, DonationKind.ONE_TIME)
        intent = f"pi_test_for_{donation.id}"
        stripe_api.payment_intents[intent] = {
            "id": intent, "object": "payment_intent",
            "metadata": {"donation_id": str(donation.id), "donation_reference": donation.reference},
        }  # fmt: skip
        customer = f"cus_{donation.id}"
        events = [
            s.event("checkout.session.completed",
                    s.completed_session(donation, payment_status="unpaid", customer=customer)),
            s.event("checkout.session.async_payment_succeeded",
                    s.completed_session(donation, customer=customer)),
            s.event("charge.refunded", s.charge(donation, amount_refunded=200, customer=customer)),
            s.event("charge.dispute.closed", s.dispute(donation, status="won")),
        ]  # fmt: skip
        for i in order:
            assert s.post_event(client, events[i]).status_code == 200, (order, i)
        db.session.expire_all()
        donation = db.session.get(Donation, donation.id)
        payment = db.session.scalars(
            select(DonationPayment).where(DonationPayment.donation_id == donation.id)
        ).one()
        assert donation.status is DonationStatus.PAID, order
        assert (payment.status, payment.refunded_cents, payment.dispute_status) == (
            PaymentStatus.PAID, 200, DisputeStatus.WON), order  # fmt: skip
        assert _mails(db, donation.id) == ["receipt"], order
        assert state_of_donations([donation]) == "one_time"


def _monthly_events(donation, t0: int) -> list[dict]:
    customer = f"cus_{donation.id}"
    t1 = t0 + 30 * 86400
    first = s.invoice(donation, f"in_{donation.id}_1", created=t0, customer=customer)
    second = s.invoice(donation, f"in_{donation.id}_2", created=t1, paid=False, customer=customer)
    ended = s.subscription(donation, status="canceled", reason="payment_failed", customer=customer)
    active = s.subscription(donation, status="active", customer=customer)
    past_due = s.subscription(donation, status="past_due", customer=customer)
    return [
        s.event("checkout.session.completed", s.completed_session(donation, customer=customer), created=t0),
        s.event("invoice.paid", first, created=t0 + 1),
        s.event("customer.subscription.updated", active, created=t0 + 2),
        s.event("invoice.payment_failed", second, created=t1),
        s.event("customer.subscription.updated", past_due, created=t1 + 1),
        s.event("customer.subscription.deleted", ended, created=t1 + 20 * 86400),
    ]


def test_every_order_of_a_monthly_donations_main_events(client, db, stripe_api):
    t0 = int(time.time()) - 60 * 86400
    for order in itertools.permutations([0, 1, 3, 5]):
        donation = open_donation(db, DonationKind.MONTHLY)
        events = _monthly_events(donation, t0)
        for i in order:
            assert s.post_event(client, events[i]).status_code == 200, (order, i)
        db.session.expire_all()
        donation = db.session.get(Donation, donation.id)
        statuses = {p.stripe_invoice_id: p.status for p in donation.payments}
        assert donation.status is DonationStatus.ENDED and donation.cancel_reason == "payment_failed", order
        assert statuses == {
            f"in_{donation.id}_1": PaymentStatus.PAID,
            f"in_{donation.id}_2": PaymentStatus.FAILED,
        }, order
        assert state_of_donations([donation]) == "lapsed", order  # a monthly donation that ended
        # The card reminder only while the donation still runs; receipt and goodbye always, once.
        expected = ["ended", "receipt"] + (["card_failed"] if order.index(3) < order.index(5) else [])
        assert _mails(db, donation.id) == sorted(expected), order


def test_every_pair_of_monthly_events_swapped(client, db, stripe_api):
    t0 = int(time.time()) - 60 * 86400
    for i, j in itertools.combinations(range(6), 2):
        donation = open_donation(db, DonationKind.MONTHLY)
        events = _monthly_events(donation, t0)
        order = list(range(6))
        order[i], order[j] = order[j], order[i]
        for k in order:
            assert s.post_event(client, events[k]).status_code == 200, (i, j, k)
        db.session.expire_all()
        donation = db.session.get(Donation, donation.id)
        assert donation.status is DonationStatus.ENDED, (i, j)
        assert donation.subscription_status == "canceled", (i, j)
        assert state_of_donations([donation]) == "lapsed", (i, j)  # a monthly donation that ended
