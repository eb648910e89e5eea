"""What Beitrag asks Stripe, outside the webhook: the lookup of a parked event (a refund of a payment whose
checkout or invoice payment never arrived), and reconciliation of a period with events deliberately
dropped. Against the Stripe stand-in's world (its objects answer the SDK's list and retrieve calls).
Bad input tried: a foreign payment's refund, Stripe answering 500 to the lookup, a payment in our ledger
that says more than Stripe (a refund Stripe does not know)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from newsletter.stats.periods import parse_period
from payments.events import tasks
from payments.events.apply import HANDLED
from payments.models import (
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    EventState,
    PaymentStatus,
    StripeEvent,
)
from payments.reports import money
from tests.payments import ledger
from tests.payments.factories import open_donation
from tests.support import stripe_api as s

START = int(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp())


def _ours(donation: Donation) -> dict:
    return {"donation_id": str(donation.id), "donation_reference": donation.reference}


def _post_all(client, events, *, skip=lambda evt: False) -> list[dict]:
    """POST the events as Stripe would; those ``skip`` picks are dropped (returned)."""
    dropped = []
    for evt in events:
        if skip(evt):
            dropped.append(evt)
            continue
        answer = s.post_event(client, evt)
        assert answer.status_code == 200, (evt["type"], answer.get_json())
    return dropped


def _payment_of(db, intent: str) -> DonationPayment | None:
    db.session.expire_all()
    found = select(DonationPayment).where(DonationPayment.stripe_payment_intent_id == intent)
    return db.session.scalar(found)


def _parked(db) -> list[StripeEvent]:
    db.session.expire_all()
    return db.session.scalars(select(StripeEvent).where(StripeEvent.state == EventState.PARKED)).all()


def test_a_monthly_refund_without_its_invoice_payment_is_looked_up(app, client, db, stripe_api):
    world = stripe_api.world
    world.now = START
    donation = open_donation(db, DonationKind.MONTHLY, 1000)
    _, events = world.checkout(1000, monthly=True, metadata=_ours(donation))
    _post_all(client, events, skip=lambda evt: evt["type"] == "invoice_payment.paid")
    paid = next(e for e in events if e["type"] == "invoice.paid")
    assert "payment_intent" not in paid["data"]["object"]  # the invoice names no intent
    (link,) = world.invoice_payments.values()
    paying = link["payment"]["payment_intent"]
    world.advance(86400)
    _post_all(client, world.refund(paying, 400))
    (parked,) = _parked(db)
    assert parked.waits_for == f"pi:{paying}"
    with app.app_context():
        assert tasks.resolve_stripe_event(parked.id) == "applied"
    assert stripe_api.calls("GET", "/v1/invoice_payments")
    payment = _payment_of(db, paying)
    assert payment is not None and payment.refunded_cents == 400 and payment.status is PaymentStatus.PAID
    assert _parked(db) == []
    ledger.assert_summaries_match(db.session)


def test_a_refund_whose_checkout_was_dropped_brings_the_gift_in(app, client, db, stripe_api):
    world = stripe_api.world
    world.now = START
    donation = open_donation(db, DonationKind.ONE_TIME, 2500)
    session, events = world.checkout(2500, metadata=_ours(donation))
    _post_all(client, events, skip=lambda evt: evt["type"].startswith("checkout.session."))
    world.advance(3 * 86400)
    _post_all(client, world.refund(session["payment_intent"]))
    (parked,) = _parked(db)
    with app.app_context():
        assert tasks.resolve_stripe_event(parked.id) == "applied"
    db.session.expire_all()
    gift = db.session.get(Donation, donation.id)
    payment = _payment_of(db, session["payment_intent"])
    assert gift.status is DonationStatus.REFUNDED and payment.status is PaymentStatus.REFUNDED
    assert payment.refunded_cents == 2500 and payment.paid_at is not None
    ledger.assert_summaries_match(db.session)


def test_a_foreign_payments_refund_is_ignored_after_the_lookup(app, client, db, stripe_api):
    world = stripe_api.world
    world.now = START
    other = {"donation_id": "1", "donation_reference": "someone-elses"}
    session, events = world.checkout(99900, metadata=other)
    _post_all(client, events)
    _post_all(client, world.refund(session["payment_intent"], 500))
    (parked,) = _parked(db)
    with app.app_context():
        assert tasks.resolve_stripe_event(parked.id) == "ignored"
    db.session.expire_all()
    assert db.session.get(StripeEvent, parked.id).state is EventState.IGNORED
    assert db.session.get(StripeEvent, parked.id).payload is None
    assert db.session.scalar(select(func.count()).select_from(DonationPayment)) == 0


def test_a_lookup_that_stripe_refuses_keeps_the_event_for_the_next_try(app, client, db, stripe_api):
    world = stripe_api.world
    world.now = START
    donation = open_donation(db, DonationKind.ONE_TIME, 700)
    session, events = world.checkout(700, metadata=_ours(donation))
    _post_all(client, events, skip=lambda evt: evt["type"].startswith("checkout.session."))
    _post_all(client, world.refund(session["payment_intent"], 300))
    (parked,) = _parked(db)
    stripe_api.fail_next.extend([(500, {"error": {"type": "api_error", "message": "boom"}})] * 3)
    with app.app_context():
        try:
            tasks.resolve_stripe_event(parked.id)
        except Exception as exc:  # the queue retries it
            assert "boom" in str(exc) or "500" in str(exc)
        else:
            raise AssertionError("a failed lookup must fail the job, for the queue to retry it")
    (still,) = _parked(db)
    assert still.attempts == 1 and _payment_of(db, session["payment_intent"]) is None
    stripe_api.fail_next.clear()
    with app.app_context():
        assert tasks.resolve_stripe_event(parked.id) == "applied"
    assert _payment_of(db, session["payment_intent"]).refunded_cents == 300


def _lifecycles(world, db) -> tuple[list[dict], list[str]]:
    """A few months of gifts: one-time (card and SEPA), monthly with renewals, a failed renewal recovered,
    a cancellation, refunds and disputes. The events, and the payment intents to compare."""
    events, intents = [], []
    world.now = START
    monthly = []
    for i in range(6):
        donation = open_donation(db, DonationKind.MONTHLY, 500 + 100 * i)
        session, made = world.checkout(donation.amount_cents, monthly=True, metadata=_ours(donation))
        events += made
        monthly.append(session["subscription"])
    for i in range(6):
        donation = open_donation(db, DonationKind.ONE_TIME, 1000 + 50 * i)
        method = "sepa" if i % 3 == 0 else "card"
        session, made = world.checkout(donation.amount_cents, metadata=_ours(donation), method=method)
        events += made
        if method == "sepa":
            world.advance(3 * 86400)
            events += world.sepa_succeeds(session["id"])
        intents.append(session["payment_intent"])
        if i == 1:
            events += world.refund(session["payment_intent"], 300)
        if i == 2:
            made = world.dispute(session["payment_intent"])
            events += made
            events += world.close_dispute(made[0]["data"]["object"]["id"], won=False)
    for month in range(3):
        for n, sub in enumerate(monthly):
            if month == 1 and n == 0:
                made = world.renew(sub, fails=True)
                events += made
                failed = next(e for e in made if e["type"] == "invoice.payment_failed")
                world.advance(3 * 86400)
                events += world.retry_invoice(failed["data"]["object"]["id"], succeeds=True)
            elif month == 2 and n == 1:
                events += world.cancel(sub)
            else:
                events += world.renew(sub)
    for payment in world.invoice_payments.values():
        intents.append(payment["payment"]["payment_intent"])
    refundable = intents[-1]
    events += world.refund(refundable)
    return events, intents


def _mrr_matches(db, world) -> None:
    period = parse_period("custom", "2026-03-01", "2026-06-30", zone="UTC", now=datetime.now(UTC))
    for row in money.mrr_by_month(db.session, period, "eur"):
        expected = world.expected_mrr(int(row["at"].timestamp()), "eur")
        assert (row["mrr_cents"], row["supporters"]) == (expected.cents, expected.supporters), row["month"]


def _payments_match(db, world, intents) -> None:
    for intent in intents:
        expected = world.expected_payment(intent)
        payment = _payment_of(db, intent)
        assert payment is not None, intent
        dispute = payment.dispute_status.value if payment.dispute_status else None
        paid_at = int(payment.paid_at.timestamp()) if payment.paid_at else None
        assert (payment.amount_cents, payment.refunded_cents, dispute) == (
            expected.amount, expected.refunded, expected.dispute), intent  # fmt: skip
        assert paid_at is not None and expected.paid_at is not None, intent


def test_reconciliation_applies_what_was_dropped(app, client, db, stripe_api):
    world = stripe_api.world
    rng = random.Random(15)
    events, intents = _lifecycles(world, db)
    handled = [e for e in events if e["type"] in HANDLED]
    dropped = set(rng.sample(range(len(handled)), len(handled) // 3))
    _post_all(client, [e for i, e in enumerate(handled) if i not in dropped])
    runner = CliRunner()
    since = (datetime.fromtimestamp(START, UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    result = runner.invoke(app.cli, ["payments", "reconcile", "--since", since], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "repaired:" in result.output and "0 differences left" in result.output
    _payments_match(db, world, intents)
    _mrr_matches(db, world)
    ledger.assert_summaries_match(db.session)
    # Run again: nothing left to repair.
    again = runner.invoke(app.cli, ["payments", "reconcile", "--since", since], catch_exceptions=False)
    assert again.exit_code == 0 and " 0 repaired" in again.output, again.output


def test_reconciliation_reports_what_it_cannot_repair(app, client, db, stripe_api):
    world = stripe_api.world
    world.now = START
    donation = open_donation(db, DonationKind.ONE_TIME, 900)
    session, events = world.checkout(900, metadata=_ours(donation))
    _post_all(client, events)
    payment = _payment_of(db, session["payment_intent"])
    payment.refunded_cents = 500  # Beitrag says more than Stripe: never undone by reconciliation
    db.session.commit()
    world.advance(86400)
    world.refund(session["payment_intent"], 100)  # Stripe refunds 100; its event never arrives
    since = (datetime.fromtimestamp(START, UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    result = CliRunner().invoke(app.cli, ["payments", "reconcile", "--since", since])
    assert result.exit_code == 1
    assert f"difference: charge {world.payment_intents[session['payment_intent']]['latest_charge']}" in (
        result.output
    )
    assert "Stripe says 100 refunded, Beitrag records 500" in result.output


