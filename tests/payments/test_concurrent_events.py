"""Events that touch one payment at the same moment, delivered through the signed webhook by threads that
start together (on PostgreSQL: real row locks between real connections). Each case runs on many payments,
and afterwards every payment holds Stripe's final totals and the statistics' summaries equal a
recomputation from the ledger. Cases: two partial refunds (300, then 600 cumulative), ten cumulative
refunds at once, a dispute created and closed (lost) at once, two first gifts of one new donor, the same
checkout twice with a refund between; also a foreign session naming our donation's id, and the stats API
for a period ending tomorrow."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from newsletter.stats.periods import parse_period
from payments.models import (
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    Donor,
    DonorMail,
    PaymentStatus,
)
from payments.reports import money
from tests.payments import ledger
from tests.payments.factories import open_donation
from tests.support import stripe_api as s


def deliver_at_once(app, events: list[dict]) -> list[int]:
    """POST every event from its own thread, all released together; the status codes in order."""
    payloads = [json.dumps(evt).encode() for evt in events]
    statuses = [0] * len(payloads)
    barrier = threading.Barrier(len(payloads))

    def post(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        answer = client.post("/webhooks/stripe", data=payloads[i],
                             headers={"Stripe-Signature": s.sign(payloads[i])})  # fmt: skip
        statuses[i] = answer.status_code

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _paid_one_time(client, db, amount: int = 1000, customer: str | None = None) -> Donation:
    donation = open_donation(db, DonationKind.ONE_TIME, amount)
    session = s.completed_session(donation, customer=customer or f"cus_{donation.id}",
                                  email=f"d{donation.id}@example.org")  # fmt: skip
    assert s.post_event(client, s.event("checkout.session.completed", session)).status_code == 200
    return donation


def _until_tomorrow():
    """A period from three days ago to the end of tomorrow: it holds every payment of the test."""
    now = datetime.now(UTC)
    start, end = (now - timedelta(days=3)).date(), (now + timedelta(days=1)).date()
    return parse_period("custom", start.isoformat(), end.isoformat(), zone="Europe/Berlin", now=now)


def _payment(db, donation_id: int) -> DonationPayment:
    db.session.expire_all()
    return db.session.scalars(select(DonationPayment).where(DonationPayment.donation_id == donation_id)).one()


def test_two_partial_refunds_at_once_end_at_stripes_total(app, client, db, stripe_api):
    donations = [_paid_one_time(client, db) for _ in range(20)]
    for donation in donations:
        first = s.event("charge.refunded", s.charge(donation, amount_refunded=300))
        second = s.event("charge.refunded", s.charge(donation, amount_refunded=600))
        assert deliver_at_once(app, [first, second]) == [200, 200]
    for donation in donations:
        payment = _payment(db, donation.id)
        assert (payment.refunded_cents, payment.status) == (600, PaymentStatus.PAID), donation.id
    ledger.assert_summaries_match(db.session)


def test_ten_cumulative_refunds_at_once_end_refunded_in_full(app, client, db, stripe_api):
    donations = [_paid_one_time(client, db) for _ in range(6)]
    for donation in donations:
        refunds = [s.charge(donation, amount_refunded=100 * (i + 1)) for i in range(10)]
        events = [s.event("charge.refunded", charge) for charge in refunds]
        assert deliver_at_once(app, events) == [200] * 10
    for donation in donations:
        payment = _payment(db, donation.id)
        assert (payment.refunded_cents, payment.status) == (1000, PaymentStatus.REFUNDED)
        assert db.session.get(Donation, donation.id).status is DonationStatus.REFUNDED
    ledger.assert_summaries_match(db.session)


def test_a_dispute_created_and_lost_at_once_ends_lost(app, client, db, stripe_api):
    donations = [_paid_one_time(client, db) for _ in range(12)]
    for donation in donations:
        created = s.event("charge.dispute.created", s.dispute(donation, status="needs_response"))
        closed = s.event("charge.dispute.closed", s.dispute(donation, status="lost"))
        assert deliver_at_once(app, [created, closed]) == [200, 200]
    for donation in donations:
        assert _payment(db, donation.id).dispute_status is DisputeStatus.LOST
    ledger.assert_summaries_match(db.session)
    # The figures follow: every lost dispute is deducted once.
    period = _until_tomorrow()
    total = money.dashboard(db.session, period, currency="eur")["revenue"]["total"]
    assert total["disputes_lost_cents"] == 12 * 1000 and total["net_cents"] == 0


def test_refunds_and_disputes_mixed_at_once_leave_the_summaries_exact(app, client, db, stripe_api):
    donations = [_paid_one_time(client, db, amount=500 + 100 * i) for i in range(8)]
    for donation in donations:
        events = [
            s.event("charge.refunded", s.charge(donation, amount_refunded=200)),
            s.event("charge.refunded", s.charge(donation, amount_refunded=donation.amount_cents)),
            s.event("charge.dispute.created", s.dispute(donation, status="needs_response")),
            s.event("charge.dispute.closed", s.dispute(donation, status="won")),
        ]  # fmt: skip
        assert deliver_at_once(app, events) == [200] * 4
    for donation in donations:
        payment = _payment(db, donation.id)
        assert payment.refunded_cents == donation.amount_cents and payment.dispute_status is DisputeStatus.WON
    ledger.assert_summaries_match(db.session)
    period = _until_tomorrow()
    assert money.dashboard(db.session, period, currency="eur") == money.dashboard(
        db.session, period, currency="eur", from_ledger=True
    )


def test_two_first_gifts_of_a_new_donor_at_once_make_one_donor(app, client, db, stripe_api):
    for pair in range(10):
        email = f"neu{pair}@example.org"
        first, second = (open_donation(db, DonationKind.ONE_TIME, 700) for _ in range(2))
        events = [
            s.event("checkout.session.completed",
                    s.completed_session(d, email=email.upper() if i else email, customer=f"cus_{d.id}"))
            for i, d in enumerate((first, second))
        ]  # fmt: skip
        assert deliver_at_once(app, events) == [200, 200], pair
        db.session.expire_all()
        donors = db.session.scalars(select(Donor).where(func.lower(Donor.email) == email)).all()
        assert len(donors) == 1
        linked = {db.session.get(Donation, d.id).donor_id for d in (first, second)}
        assert linked == {donors[0].id}
    assert db.session.scalar(select(func.count()).select_from(DonorMail)) == 20  # a receipt per gift
    ledger.assert_summaries_match(db.session)


def test_a_foreign_session_naming_our_donations_id_changes_nothing(app, client, db, stripe_api, relay):
    ours = open_donation(db, DonationKind.ONE_TIME, 1300, email="unser@example.org")
    foreign = s.completed_session(ours, email="fremd@example.org", customer="cus_foreign")
    foreign["amount_total"] = 99900
    foreign["metadata"] = {"donation_id": str(ours.id), "donation_reference": "another-installations-ref"}
    without_reference = {**foreign, "metadata": {"donation_id": str(ours.id)}}
    bare_id = {**foreign, "metadata": {}}  # only client_reference_id, a bare number
    for obj in (foreign, without_reference, bare_id):
        answer = s.post_event(client, s.event("checkout.session.completed", obj))
        assert answer.status_code == 200 and answer.get_json()["status"].startswith("ignored")
    db.session.expire_all()
    donation = db.session.get(Donation, ours.id)
    assert donation.status is DonationStatus.OPEN and donation.donor_id is None and donation.paid_at is None
    assert db.session.scalar(select(func.count()).select_from(DonationPayment)) == 0
    assert db.session.scalar(select(func.count()).select_from(Donor)) == 0
    assert db.session.scalar(select(func.count()).select_from(DonorMail)) == 0


def test_a_gift_is_dated_by_stripe_not_by_its_delivery(app, client, db, stripe_api):
    made = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # New Year's Eve in Berlin, 23:30
    donation = open_donation(db, DonationKind.ONE_TIME, 2500)
    evt = s.event("checkout.session.completed", s.completed_session(donation), created=int(made.timestamp()))
    # Delivered two days later (Stripe retried): still a gift of 2026.
    assert s.post_event(client, evt).status_code == 200
    db.session.expire_all()
    assert _payment(db, donation.id).paid_at == made == db.session.get(Donation, donation.id).paid_at


def test_the_same_checkout_and_a_refund_at_once_with_duplicates(app, client, db, stripe_api):
    donations = [open_donation(db, DonationKind.ONE_TIME, 800) for _ in range(8)]
    for donation in donations:
        completed = s.event("checkout.session.completed", s.completed_session(donation, customer="cus_same"))
        refund = s.event("charge.refunded", s.charge(donation, amount_refunded=800, customer="cus_same"))
        assert deliver_at_once(app, [completed, refund, completed, refund]) == [200] * 4
    db.session.expire_all()
    for donation in donations:
        payment = _payment(db, donation.id)
        assert payment.status is PaymentStatus.REFUNDED and payment.paid_at is not None
        assert payment.refunded_cents == 800
    receipts = select(func.count()).select_from(DonorMail).where(DonorMail.kind == "receipt")
    assert db.session.scalar(receipts) == 8
    assert db.session.scalar(select(func.count()).select_from(Donor)) == 1
    ledger.assert_summaries_match(db.session)


def test_forty_deliveries_on_one_payment_wait_their_turn_and_none_fails(app, client, db, stripe_api):
    donation = _paid_one_time(client, db, amount=4000)
    refunds = [s.charge(donation, amount_refunded=100 * (i + 1)) for i in range(40)]
    assert deliver_at_once(app, [s.event("charge.refunded", charge) for charge in refunds]) == [200] * 40
    payment = _payment(db, donation.id)
    assert payment.refunded_cents == 4000 and payment.status is PaymentStatus.REFUNDED
    ledger.assert_summaries_match(db.session)
